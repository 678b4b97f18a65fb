"""`newsbot feeds` (the feeds to poll: add, list, remove, import, export) and
`newsbot fetch` (poll them, write the new articles, index them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.context import index_dir_option, open_app, settings_of

if TYPE_CHECKING:
    from corpus.feeds import FeedStore, FetchOptions, PollReport
    from retrieval.app import NewsApp
    from retrieval.index.report import IndexReport
    from retrieval.settings import Settings

log = logging.getLogger("newsbot.feeds")


def feeds_dir_of(settings: Settings) -> Path:
    """Where feed articles are written: NEWSBOT_FEEDS_DIR, else `feeds` in the index folder
    (beside it, two indexes in one parent folder would index each other's articles; a
    rebuild keeps it: only the index's own files are ever discarded)."""
    if settings.feeds_dir is not None:
        return Path(settings.feeds_dir).expanduser().absolute()
    index_dir = Path(settings.index_dir).expanduser().absolute()
    folder = index_dir / "feeds"
    legacy = index_dir.parent / "feeds"
    if not folder.exists() and legacy.is_dir() and (index_dir / "feeds.sqlite").exists():
        click.secho(f"note: feed articles now go to {folder}, in the index folder; those in "
                    f"{legacy} stay indexed (set NEWSBOT_FEEDS_DIR={legacy} to keep writing "
                    "there)", dim=True, err=True)
    return folder


def fetch_options(settings: Settings) -> FetchOptions:
    from corpus.feeds import FetchOptions

    return FetchOptions(user_agent=settings.fetch_user_agent, timeout=settings.fetch_timeout,
                        max_page_mb=settings.fetch_max_page_mb,
                        per_host=settings.fetch_per_host,
                        allow_hosts=tuple(settings.fetch_allow_hosts))


def feeds_db_of(settings: Settings) -> Path:
    """The feeds database: NEWSBOT_FEEDS_DB, else `feeds.sqlite` in the index folder.
    An index made before each had its own gets a copy of the file they all shared, so
    nobody loses a feed list (the old file stays, for the other indexes); a new index
    starts with none."""
    if settings.feeds_db is not None:
        return Path(settings.feeds_db).expanduser()
    path = Path(settings.index_dir).expanduser() / "feeds.sqlite"
    shared = legacy_feeds_db()
    if not path.exists() and path.parent.is_dir() and shared.is_file():
        from corpus.feeds.store import copy_database

        copy_database(shared, path)
        click.secho(f"note: copied the feed list from {shared} to {path}; each index now "
                    "keeps its own", dim=True, err=True)
    return path


def legacy_feeds_db() -> Path:
    """Where every index's feeds were kept before each index had its own."""
    from retrieval.settings import data_home

    return data_home() / "feeds.sqlite"


def _store(ctx: click.Context, create: bool = True) -> FeedStore | None:
    """The feeds database, closed when the command ends; None when it does not exist
    and `create` is false (commands that only read create nothing)."""
    from corpus.feeds import FeedStore

    path = feeds_db_of(settings_of(ctx))
    if not create and not path.exists():
        return None
    store = FeedStore(path)
    ctx.call_on_close(store.close)
    return store


@click.group()
def feeds() -> None:
    """The news feeds (RSS, Atom, JSON Feed) that `newsbot fetch` polls.

    Example: newsbot feeds add https://www.example.com/rss.xml --name Example
    """


@feeds.command(name="add")
@click.argument("url")
@click.option("--name", help="What to call it (default: the site's host name).")
@index_dir_option
@click.pass_context
def feeds_add(ctx: click.Context, url: str, name: str | None) -> None:
    """Subscribe to the feed at URL. It is read once to check that it is a feed (a 404 or
    a web page is refused); its articles come with `newsbot fetch`.

    Example: newsbot feeds add https://www.example.com/rss.xml --name Example
    """
    from corpus.feeds import add_feed
    from corpus.feeds.manage import check_url
    from corpus.feeds.poll import check_feed

    store = _store(ctx)
    if store.find(check_url(url)) is None:  # (a URL already there is refused below)
        check_feed(check_url(url), fetch_options(settings_of(ctx)))
    feed = add_feed(store, url, name)
    click.echo(f"added {feed.name!r}: {feed.url}")


@feeds.command(name="list")
@index_dir_option
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """List the feeds: name, URL, articles fetched, last poll and its error, if any.

    Example: newsbot feeds list
    """
    from bot.render import plural

    store = _store(ctx, create=False)
    listed = store.feeds() if store else []
    if not listed:
        click.echo("No feeds yet; add one with `newsbot feeds add URL`.")
    folder = feeds_dir_of(settings_of(ctx))
    for feed in listed:
        polled = f"polled {feed.last_polled}" if feed.last_polled else "never polled"
        count = plural(store.article_count(feed.url, folder), "article")
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
    from corpus.feeds import FeedError, find_feed

    store = _store(ctx, create=False)
    if store is None:
        raise FeedError("there are no feeds yet; `newsbot feeds add URL` adds one")
    feed = find_feed(store, name_or_url)
    folders = store.article_folders(feed.url)  # where they were written, whatever the index
    store.remove(feed)
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
    from corpus.feeds import import_feeds, read_opml

    entries = read_opml(file)  # a bad file is one error, before the database is created
    report = import_feeds(_store(ctx), entries)
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
    from corpus.feeds.opml import opml_text
    from corpus.feeds.write import write_atomic

    store = _store(ctx, create=False)
    listed = store.feeds() if store else []
    text = opml_text([(feed.name, feed.url) for feed in listed])
    if file is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomic(file.expanduser(), text)
    except OSError as exc:
        from corpus.feeds import FeedError

        raise FeedError(f"cannot write {file}: {exc.strerror or exc}") from None
    click.echo(f"wrote {len(listed)} feed{'s' if len(listed) != 1 else ''} to {file}")


def _print_poll(report: PollReport) -> None:
    for result in report.results:
        for note in result.notes:
            click.secho(f"note {result.feed.name}: {note}", dim=True, err=True)
    for result in report.failures:
        click.secho(f"failed {result.feed.name} ({result.feed.url}): {result.error}",
                    fg="red", err=True)


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
    from bot.progress import progress_bar
    from corpus.errors import NewsbotError
    from corpus.feeds import FeedError, poll_feeds

    settings = settings_of(ctx)
    store = _store(ctx, create=False)
    if store is None or not store.feeds():
        raise FeedError("no feeds to fetch; add one with `newsbot feeds add URL` or "
                        "`newsbot feeds import FILE.opml`")
    folder = feeds_dir_of(settings)
    report = poll_feeds(store, folder, fetch_options(settings))
    _print_poll(report)
    summary = (f"feeds polled {report.polled}, not modified {report.not_modified}, "
               f"new articles {report.new_articles}, failed {len(report.failures)}")
    folder.mkdir(parents=True, exist_ok=True)  # an empty folder indexes as nothing
    try:
        with progress_bar(False) as progress:
            indexed = open_app(ctx, create=True).index([folder], progress=progress)
    except NewsbotError:  # e.g. the index is busy: the articles are written, say so
        click.echo(f"{summary} (not indexed yet: the next fetch indexes them)")
        raise
    for error in indexed.errors:
        click.secho(f"skipped {error}", fg="yellow", err=True)
    click.echo(f"{summary} (indexed: added {indexed.added}, updated {indexed.updated}, "
               f"removed {indexed.removed})")
    if report.failures or indexed.failed:
        ctx.exit(1)


def feed_poller(app: NewsApp, settings: Settings) -> Callable[[], IndexReport | None]:
    """For the watch loop: polls every feed and indexes the feeds folder."""
    from corpus.feeds import FeedStore, poll_feeds

    path = feeds_db_of(settings)
    options = fetch_options(settings)
    folder = feeds_dir_of(settings)

    def poll() -> IndexReport | None:
        if not path.exists():  # no feed yet: one may be added while the watch runs
            return None
        store = FeedStore(path)
        try:
            if not store.feeds():
                return None
            report = poll_feeds(store, folder, options)
        finally:
            store.close()
        for failed in report.failures:
            log.warning("feed %s failed: %s", failed.feed.name, failed.error)
        for result in report.results:  # a feed leading into the private network
            for refused in result.refused:
                log.warning("feed %s: %s", result.feed.name, refused)
        if not folder.exists():
            return None
        # The whole folder: articles written while an earlier indexing failed come in too.
        return app.index([folder])

    return poll
