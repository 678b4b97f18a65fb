"""The `newsbot` command line: a thin client over `retrieval.app.NewsApp`.

Heavy libraries (torch, chromadb) are imported inside commands, so `--help` is instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.context import (
    echo_json,
    error_text,
    filter_options,
    filters_of,
    index_dir_option,
    open_app,
    parse_day,
    settings_of,
)
from bot.discord_commands import discord_, feedback
from bot.doctor_command import doctor
from bot.eval_command import eval_
from bot.feeds_commands import feeds, fetch
from bot.follow_commands import follow
from bot.watch_command import watch
from retrieval.errors import NewsbotError


class NewsbotGroup(click.Group):
    """Turns domain errors into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NewsbotError as exc:
            click.secho(f"error: {error_text(exc)}", fg="red", err=True)
            ctx.exit(1)
        except click.UsageError as exc:  # a bad option or argument: one line, not usage
            where = exc.ctx.command_path if exc.ctx else "newsbot"
            click.secho(f"error: {exc.format_message()} (see `{where} --help`)", fg="red",
                        err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=NewsbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsbot-qa")
@index_dir_option
def cli() -> None:
    """newsbot: ask questions about news articles and get answers with cited passages."""


class _ReadsFiles(click.Command):
    """A command whose help names the file types from the readers' own list (loaded
    only when the help is shown: `newsbot --help` stays quick)."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from retrieval.types import ARTICLE_SUFFIXES

        *most, last = ARTICLE_SUFFIXES
        self.help = (self.help or "").replace("FILE_TYPES", f"{', '.join(most)} and {last}")
        super().format_help_text(ctx, formatter)


@cli.command(cls=_ReadsFiles)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Delete the index first (e.g. to switch models).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("-v", "--verbose", is_flag=True, help="Also name the files of other types "
              "(photos, style sheets) passed over in the folders.")
@index_dir_option
@click.pass_context
def index(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, as_json: bool,
          verbose: bool) -> None:
    """Index articles from PATHS (files or folders; default: the configured corpus).

    New articles are embedded, changed ones re-embedded, removed ones deleted and
    unchanged ones skipped. Reads FILE_TYPES; other files in the folders are passed
    over (counted in --json, named with -v).

    Example: newsbot index ~/news/ feeds/today.jsonl.gz
    """
    from bot.progress import progress_bar
    from bot.render import plural
    from retrieval.errors import InvalidRequest

    missing = [path for path in paths if not path.expanduser().exists()]
    if paths and len(missing) == len(paths):  # a typo: no index folder made for nothing
        raise InvalidRequest(f"{missing[0]}: no such file or folder; nothing was "
                             + ("rebuilt" if rebuild else "indexed"))
    app = open_app(ctx, create=True, rebuild=rebuild)
    try:
        with progress_bar(as_json) as progress:
            report = app.index(list(paths), rebuild=rebuild, progress=progress)
    except KeyboardInterrupt:  # each batch is committed: say that none of it is lost
        click.echo("interrupted; what was embedded so far is kept, and `newsbot index` "
                   "again embeds the rest", err=True)
        ctx.exit(130)
    for error in report.errors:
        click.secho(f"failed {error}", fg="yellow", err=True)  # counted in "failed N"
    for unusable in report.unusable:  # not a failure: a user's folder holds such files
        click.secho(f"skipped {unusable}", dim=True, err=True)
    for note in report.notes:
        click.secho(f"note: {note}", fg="cyan", err=True)
    if verbose:
        for name in report.skipped:
            click.secho(f"passed over {name}: not an article type", dim=True, err=True)
        click.secho(f"passed over {plural(len(report.skipped), 'file')} of other types",
                    dim=True, err=True)
    summary = report.as_dict()
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(
            "added {added}, updated {updated}, removed {removed}, unchanged {unchanged}, "
            "duplicates {duplicates}, failed {failed}".format(**summary)
            + (f", skipped {len(report.unusable)} unusable"
               if report.unusable else "")
            + f" ({plural(report.chunks_embedded, 'chunk')} embedded in "
            f"{report.seconds:.1f} s)")
        from bot.follow_commands import print_notices

        print_notices(app)  # the stories of your follows that this run brought
    if report.failed:
        ctx.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@index_dir_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show what the index holds: articles, chunks, sources, dates, model, size.

    Example: newsbot stats --json
    """
    from bot.render import stats_lines

    data = open_app(ctx).stats()
    if as_json:
        echo_json(data)
        return
    for line in stats_lines(data):
        click.echo(line)


@cli.command()
@click.argument("question")
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many passages.")
@filter_options
@click.option("--all-copies", is_flag=True, help="Show every outlet's copy of a story, not "
              "one copy naming the others.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, best first.")
@index_dir_option
@click.pass_context
def search(ctx: click.Context, question: str, k: int, sources: tuple[str, ...],
           since: str | None, until: str | None, today: str | None, all_copies: bool,
           as_json: bool) -> None:
    """Find the passages that best match QUESTION.

    Dense and keyword search are fused and reranked; time words in the question
    ("last week", "in 2023", "since March") narrow or favour dates.

    Example: newsbot search "Who won the World Cup final?" -k 5 --source "Touchline Press"
    """
    from rich.console import Console

    from bot.render import print_passages

    filters = filters_of(sources, since, until)
    result = open_app(ctx).search(question, k=k, filters=filters,
                                  today=parse_day(today, "--today"), all_copies=all_copies)
    if as_json:
        echo_json([p.to_dict() for p in result.passages])
        return
    if result.keyword_only:
        click.secho(f"{result.keyword_only_why}: keyword search only", dim=True)
    if result.window:
        span = f"{result.window.since or '…'} .. {result.window.until or '…'}"
        kind = "only" if result.window.strict else "preferring"
        click.secho(f"'{result.window.phrase}': {kind} articles from {span}", dim=True)
    print_passages(Console(highlight=False), result.passages)


@cli.command()
@click.argument("question")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
@index_dir_option
@click.pass_context
def ask(ctx: click.Context, question: str, sources: tuple[str, ...], since: str | None,
        until: str | None, today: str | None, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, citing passages as [n].

    Without an LLM configured the answer is extractive: the best passage sentences,
    word for word. With NEWSBOT_LLM_PROVIDER set, a chat model writes it and every
    citation is checked against its passage.

    Example: newsbot ask "Who won the World Cup final in Qatar?"
    """
    from rich.console import Console

    from bot.render import print_answer

    filters = filters_of(sources, since, until)
    app = open_app(ctx)
    console = Console(highlight=False)
    streamed = not as_json and console.is_terminal and app.streams
    on_token = (lambda t: console.print(t, end="", markup=False)) if streamed else None
    answer = app.answer(question, filters=filters, today=parse_day(today, "--today"),
                        on_token=on_token)
    if as_json:
        echo_json(answer.to_dict())
        return
    if streamed:
        console.print()
    # A model that failed mid-stream leaves an extractive answer still to show.
    print_answer(console, answer, streamed=streamed and answer.answerer == "llm")


@cli.command()
@click.argument("topic", required=False)
@click.option("-n", "limit", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many articles.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, newest first.")
@index_dir_option
@click.pass_context
def latest(ctx: click.Context, topic: str | None, limit: int, as_json: bool) -> None:
    """List the newest indexed articles, or the newest ones about TOPIC.

    Example: newsbot latest "World Cup" -n 5
    """
    from bot.render import outlet
    from retrieval.types import day_of

    articles = open_app(ctx).latest(limit, topic)
    if as_json:
        echo_json([a.to_dict() for a in articles])
        return
    if not articles:
        click.echo("No articles found.")
    for a in articles:
        click.echo(f"{day_of(a.published_at)}  {a.title}  ·  {outlet(a.source)}")


@cli.command()
@index_dir_option
@click.pass_context
def chat(ctx: click.Context) -> None:
    """A terminal chat: ask, ask follow-ups, see the sources.

    Commands inside the chat: /sources, /reset, /help, /quit. Ctrl-C cancels an
    answer, Ctrl-D or /quit leaves.

    Example: newsbot chat
    """
    from bot.chat import run_chat

    app = open_app(ctx)
    app.ready()  # an unusable index fails here, not at the first question
    run_chat(app, settings_of(ctx).chat.history_file)


def main() -> None:
    cli(prog_name="newsbot")


cli.add_command(eval_)
cli.add_command(feeds)
cli.add_command(fetch)
cli.add_command(follow)
cli.add_command(watch)
cli.add_command(discord_)
cli.add_command(feedback)
cli.add_command(doctor)
