"""What every command shares: the index folder option, the settings and the app of this
command, and the options and output helpers several commands take. Command modules import
from here, never from `bot.cli`, so the CLI can import them at its top."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from retrieval.errors import Fix, NewsbotError

if TYPE_CHECKING:
    from bot.settings import BotSettings
    from retrieval.app import NewsApp
    from retrieval.types import SearchFilters


# What to do about an error, said to someone at a shell (the CLI and the terminal chat).
FIX_AT_SHELL = {
    Fix.INDEX: "run `newsbot index` first",
    Fix.INDEX_AGAIN: "run `newsbot index` again",
    Fix.REBUILD: "run `newsbot index --rebuild`",
    Fix.AWAIT_REBUILD: "ask again when `newsbot index --rebuild` is done",
    Fix.AWAIT_INDEX: "ask again in a moment: articles can be searched as `newsbot index` "
                     "commits them",
    Fix.ADD_FEED: "`newsbot feeds add URL` adds one",
    Fix.LIST_FEEDS: "`newsbot feeds list` shows them",
}


def with_fix(message: str, fix: Fix | None) -> str:
    return f"{message}; {FIX_AT_SHELL[fix]}" if fix else message


def error_text(exc: NewsbotError) -> str:
    """A domain error as one line for the terminal, with the command that fixes it."""
    return with_fix(str(exc), exc.fix)


def _remember_index_dir(ctx: click.Context, _: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["index_dir"] = value
        ctx.find_root().ensure_object(dict)["index_dir"] = value


def index_dir_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """--index-dir, accepted before the command name and after it."""
    return click.option(
        "--index-dir", type=click.Path(path_type=Path), expose_value=False,
        callback=_remember_index_dir, is_eager=True,
        help="Index folder (default: NEWSBOT_INDEX_DIR or ~/.local/share/newsbot/index).",
    )(command)


def settings_of(ctx: click.Context) -> BotSettings:
    from bot.settings import bot_settings

    return bot_settings(index_dir=(ctx.find_root().obj or {}).get("index_dir"))


def open_app(ctx: click.Context, create: bool = False, rebuild: bool = False) -> NewsApp:
    """The app for this command, closed when the command ends."""
    from retrieval.app import NewsApp
    from retrieval.errors import IndexMissing

    settings = settings_of(ctx)
    try:
        app = NewsApp.open(settings, create=create, discard_damaged=rebuild)
    except IndexMissing as exc:  # where the folder was named: a typo is mended there
        raise IndexMissing(f"{exc} ({index_dir_origin(ctx, settings)})", fix=exc.fix) \
            from None
    ctx.call_on_close(app.close)
    return app


def index_dir_origin(ctx: click.Context, settings: BotSettings) -> str:
    """Which argument or setting named the index folder."""
    if (ctx.find_root().obj or {}).get("index_dir") is not None:
        return "named by --index-dir"
    if "dir" in settings.index.model_fields_set:
        return f"named by {settings.index.env_name('dir')}"
    return "the default folder; NEWSBOT_INDEX_DIR or --index-dir names another"


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2023-03-31", param_hint=name) \
            from None


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--source, --since, --until and --today, shared by search and ask."""
    for option in reversed([
        click.option("--source", "sources", multiple=True,
                     help="Only this outlet (repeatable)."),
        click.option("--since", help="Only articles published on or after this date "
                     "(YYYY-MM-DD)."),
        click.option("--until", help="Only articles published on or before this date "
                     "(YYYY-MM-DD)."),
        click.option("--today", help="The date time words such as 'last week' count from."),
    ]):
        command = option(command)
    return command


def filters_of(sources: tuple[str, ...], since: str | None, until: str | None
               ) -> SearchFilters:
    from retrieval.types import SearchFilters

    return SearchFilters(tuple(sources), parse_day(since, "--since"), parse_day(until, "--until"))


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
