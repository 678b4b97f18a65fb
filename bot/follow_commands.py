"""`newsbot follow`: topics whose new stories are shown as they arrive (by `newsbot watch`,
`newsbot fetch` and `newsbot index`), and a check of what a topic would have matched, to
tune it first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bot.context import echo_json, index_dir_option, open_app

if TYPE_CHECKING:
    from retrieval.app import NewsApp


def print_notices(app: NewsApp) -> int:
    """Print the local follows' notices not shown yet (each is shown once); how many."""
    notices = app.follows.take()
    for notice in notices:
        lines = notice.lines()
        click.secho(f"🔔 {lines[0]}", bold=True)
        for line in lines[1:]:
            click.echo(line)
    return len(notices)


def _follow_dict(follow: Any) -> dict[str, Any]:
    return {"id": follow.id, "topic": follow.topic, "outlets": list(follow.outlets),
            "owner": follow.owner, "created_at": follow.created_at}


@click.group()
def follow() -> None:
    """Follow a story: new articles on a topic, shown once per story.

    When an index run (`newsbot watch`, `newsbot fetch`, `newsbot index`) adds articles,
    each follow is matched against them, and every story that matches is shown once by
    the next of them to print (`newsbot index --json` prints none), with its copies from
    other outlets named.

    Example: newsbot follow add "Gaza ceasefire"
    """


@follow.command(name="add")
@click.argument("topic")
@click.option("--outlet", "outlets", multiple=True,
              help="Only articles from this outlet (repeatable), as `newsbot stats` names it.")
@index_dir_option
@click.pass_context
def follow_add(ctx: click.Context, topic: str, outlets: tuple[str, ...]) -> None:
    """Follow TOPIC, in plain words: its new stories are shown as they arrive.

    Try it first with `newsbot follow check TOPIC`.

    Example: newsbot follow add "Apple antitrust case" --outlet Reuters
    """
    added = open_app(ctx, create=True).follows.add(topic, outlets)
    where = f" (only {', '.join(added.outlets)})" if added.outlets else ""
    click.echo(f"following {added.topic!r}{where}; new stories show in `newsbot watch`, "
               "`newsbot fetch` and `newsbot index`")


@follow.command(name="list")
@click.option("--all", "everyone", is_flag=True,
              help="Also the follows of Discord channels.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@index_dir_option
@click.pass_context
def follow_list(ctx: click.Context, everyone: bool, as_json: bool) -> None:
    """List the follows: id, topic, outlets and since when.

    Example: newsbot follow list
    """
    app = open_app(ctx)
    follows = app.follows.listed(None) if everyone else app.follows.listed()
    if as_json:
        echo_json([_follow_dict(f) for f in follows])
        return
    if not follows:
        click.echo("no follows yet; add one with `newsbot follow add TOPIC`")
    for f in follows:
        outlets = f"  [only {', '.join(f.outlets)}]" if f.outlets else ""
        owner = f"  ({f.owner})" if everyone else ""
        click.echo(f"{f.id:>4}  {f.topic}{outlets}  since {f.created_at[:10]}{owner}")


@follow.command(name="remove")
@click.argument("topic_or_id")
@index_dir_option
@click.pass_context
def follow_remove(ctx: click.Context, topic_or_id: str) -> None:
    """Stop following a topic (named as listed, or by its id).

    Example: newsbot follow remove "Gaza ceasefire"
    """
    removed = open_app(ctx).follows.remove(topic_or_id)
    click.echo(f"no longer following {removed.topic!r}")


@follow.command(name="check")
@click.argument("topic", required=False)
@click.option("--days", default=7, show_default=True, type=click.IntRange(min=1),
              help="Look at the articles of the last N days of the index.")
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, best first.")
@index_dir_option
@click.pass_context
def follow_check(ctx: click.Context, topic: str | None, days: int, outlets: tuple[str, ...],
                 as_json: bool) -> None:
    """What following TOPIC (default: each of your follows) would have shown over the
    last N days of the index (counted back from its newest article): one line per
    story, best first. Nothing is recorded.

    Example: newsbot follow check "Gaza ceasefire" --days 14
    """
    app = open_app(ctx)
    wanted = [(topic, outlets)] if topic else [(f.topic, f.outlets) for f in app.follows.listed()]
    if not wanted:
        raise click.UsageError("name a TOPIC, or add follows with `newsbot follow add`")
    found = {t: app.follows.check(t, days, o) for t, o in wanted}
    if as_json:
        echo_json({t: [n.__dict__ for n in notices] for t, notices in found.items()})
        return
    for checked, notices in found.items():
        click.secho(f"{checked}: {len(notices)} stories in the last {days} days", bold=True)
        for n in notices:
            also = f" (also in: {', '.join(n.also_in)})" if n.also_in else ""
            click.echo(f"  {n.day}  {n.source or '?'}: {n.title}{also}  {n.url}")
