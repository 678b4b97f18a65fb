"""`newsbot feeds` (the feeds to poll: add, list, remove, import, export) and
`newsbot fetch` (poll them, write the new articles, index them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.context import index_dir_option, open_app, settings_of

if TYPE_CHECKING:
    from retrieval.app import Feeds, FetchReport

def _note(text: str) -> None:
    click.secho(f"note: {text}", dim=True, err=True)


def _feeds(ctx: click.Context) -> Feeds:
    """The feed list of this command's index, closed when the command ends."""
    from retrieval.app import Feeds

    feeds = Feeds(settings_of(ctx), _note)
    ctx.call_on_close(feeds.close)
    return feeds


@click.group()
def feeds() -> None:
    """The news feeds (RSS, Atom, JSON Feed) that `newsbot fetch` polls.

    Example: newsbot feeds add https://www.example.com/rss.xml --name Example
    """


@feeds.command(name="add")
@click.argument("url")
@click.option("--name", help="What to call it (default: the feed's own title, else the "
              "site's host name).")
@index_dir_option
@click.pass_context
def feeds_add(ctx: click.Context, url: str, name: str | None) -> None:
    """Subscribe to the feed at URL. It is read once to check that it is a feed (a 404 or
    a web page is refused); its articles come with `newsbot fetch`.

    Example: newsbot feeds add https://www.example.com/rss.xml --name Example
    """
    feed = _feeds(ctx).add(url, name)
    click.echo(f"added {feed.name!r}: {feed.url}")


@feeds.command(name="list")
@index_dir_option
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """List the feeds: name, URL, articles fetched, last poll and its error, if any.

    Example: newsbot feeds list
    """
    from bot.render import plural

    feeds = _feeds(ctx)
    listed = feeds.listed()
    if not listed:
        click.echo("No feeds yet; add one with `newsbot feeds add URL`.")
    for feed in listed:
        polled = f"polled {feed.last_polled}" if feed.last_polled else "never polled"
        count = plural(feeds.article_count(feed), "article")
        click.echo(f"{feed.name}  {feed.url}  ·  {count}  ·  {polled}")
        if feed.last_error:
            click.secho(f"    last error: {feed.last_error}", fg="yellow")


@feeds.command(name="remove")
@click.argument("name_or_url")
@index_dir_option
@click.pass_context
def feeds_remove(ctx: click.Context, name_or_url: str) -> None:
    """Stop polling a feed, named by its name or URL. Its articles stay (and stay indexed);
    delete their files to drop them.

    Example: newsbot feeds remove Example
    """
    feed, folders = _feeds(ctx).remove(name_or_url)
    where = " and ".join(str(f) for f in folders)
    click.echo(f"removed {feed.name!r}; its articles stay in {where}" if folders else
               f"removed {feed.name!r}; no article was fetched from it")


@feeds.command(name="import")
@click.argument("file", type=click.Path(path_type=Path))
@index_dir_option
@click.pass_context
def feeds_import(ctx: click.Context, file: Path) -> None:
    """Subscribe to every feed in an OPML file (what feed readers export). Feeds already
    there are kept as they are.

    Example: newsbot feeds import subscriptions.opml
    """
    report = _feeds(ctx).import_opml(file)
    for problem in report.refused:
        click.secho(f"skipped {problem}", fg="yellow", err=True)
    click.echo(f"imported {len(report.added)}, already there {report.already}, "
               f"skipped {len(report.refused)}")


@feeds.command(name="export")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@index_dir_option
@click.pass_context
def feeds_export(ctx: click.Context, file: Path | None) -> None:
    """Write the feeds as OPML 2.0 to FILE (default: print it), for another feed reader.

    Example: newsbot feeds export subscriptions.opml
    """
    text, count = _feeds(ctx).export_opml(file)
    if file is None:
        click.echo(text, nl=False)
        return
    click.echo(f"wrote {count} feed{'s' if count != 1 else ''} to {file}")


def _print_fetch(report: FetchReport) -> None:
    for result in report.poll.results:
        for note in result.notes:
            click.secho(f"note {result.feed.name}: {note}", dim=True, err=True)
    for result in report.poll.failures:
        click.secho(f"failed {result.feed.name} ({result.feed.url}): {result.error}",
                    fg="red", err=True)
    poll = report.poll
    summary = (f"feeds polled {poll.polled}, not modified {poll.not_modified}, "
               f"new articles {poll.new_articles}, failed {len(poll.failures)}")
    if report.indexed is None:  # e.g. the index is busy: the articles are written, say so
        click.echo(f"{summary} (not indexed yet: the next fetch indexes them)")
        return
    for error in report.indexed.errors:
        click.secho(f"skipped {error}", fg="yellow", err=True)
    click.echo(f"{summary} (indexed: added {report.indexed.added}, updated "
               f"{report.indexed.updated}, removed {report.indexed.removed})")


@click.command()
@index_dir_option
@click.pass_context
def fetch(ctx: click.Context) -> None:
    """Poll every feed, write each new article to the feeds folder and index it.

    Feeds are asked only for what changed (a "not modified" answer costs nothing); each
    new item's page is downloaded once, politely (robots.txt, a timeout, a size cap, a
    few requests at once per host), and read like any HTML article; when it cannot be
    had, the item's own text is kept. Articles are Markdown files under
    NEWSBOT_FEEDS_DIR (default: `feeds` in the index folder); they stay when they scroll
    off their feed. A feed that fails is named with the reason and tried again next
    time; the exit status is then 1 (as it is when an article file cannot be read).

    Example: newsbot fetch
    """
    from bot.follow_commands import print_notices
    from bot.progress import progress_bar
    from retrieval.errors import Fix, NewsbotError

    no_feeds = NewsbotError("there are no feeds to fetch", fix=Fix.ADD_FEED)
    if not _feeds(ctx).listed():  # before the app creates an index (and says any note once)
        raise no_feeds
    app = open_app(ctx, create=True)
    with progress_bar(False) as progress:
        report = app.fetch_and_index(progress=progress)
    if report is None:  # the last feed was removed meanwhile
        raise no_feeds
    _print_fetch(report)
    if report.not_indexed is not None:
        raise report.not_indexed
    print_notices(app)  # the stories of your follows that this fetch brought
    if report.failed:
        ctx.exit(1)
