"""`newsbot discord` and `newsbot feedback`: the bot, and what its users thought of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.context import index_dir_option, open_app, settings_of

if TYPE_CHECKING:
    from retrieval.app import FeedbackStore


@click.command(name="discord")
@click.option("--guild", type=int, help="Sync the slash commands to this server only (at "
              "once; for testing). Default: NEWSBOT_DISCORD_GUILD, else everywhere.")
@index_dir_option
@click.pass_context
def discord_(ctx: click.Context, guild: int | None) -> None:
    """Run the Discord bot until Ctrl-C or SIGTERM.

    The token comes from DISCORD_TOKEN (environment or .env). Members ask with /ask,
    by mentioning the bot, or with "Ask newsbot" on a message; see the README's
    Discord section for every setting.

    Example: DISCORD_TOKEN=... newsbot discord --guild 123456789012345678
    """
    from bot.discord.run import require_token, run_discord
    from bot.discord.servers import check_server_list

    settings = settings_of(ctx)
    require_token(settings)
    if guild:
        settings = settings.replace(discord_guild=guild)
    check_server_list(settings)  # before the index is opened
    run_discord(open_app(ctx), settings)


def _open_store(ctx: click.Context) -> FeedbackStore:
    """The vote store as it is: reading votes creates none."""
    from retrieval.app import open_votes

    return open_votes(settings_of(ctx), existing=True)


@click.group()
def feedback() -> None:
    """What people thought of the answers (the 👍/👎 under each Discord answer).

    Example: newsbot feedback stats
    """


@feedback.command(name="export")
@click.argument("out", type=click.Path(path_type=Path))
@index_dir_option
@click.pass_context
def feedback_export(ctx: click.Context, out: Path) -> None:
    """Write the up-voted answers as a question file that `newsbot eval` reads.

    Each line holds the question, the date it was asked, the answer's first quoted
    sentence as the text a good passage must contain, and the cited urls as gold urls.

    Example: newsbot feedback export liked.jsonl && newsbot eval liked.jsonl
    """
    from retrieval.errors import NewsbotError

    store = _open_store(ctx)
    try:
        written = store.export(out)
    except OSError as exc:
        raise NewsbotError(f"{out}: cannot write ({exc.strerror})") from None
    finally:
        store.close()
    click.echo(f"wrote {written} question{'s' if written != 1 else ''} to {out}")


@feedback.command(name="stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@index_dir_option
@click.pass_context
def feedback_stats(ctx: click.Context, as_json: bool) -> None:
    """Votes so far: answers given and rated, 👍 and 👎, the most disliked questions.

    Example: newsbot feedback stats
    """
    store = _open_store(ctx)
    try:
        data = store.stats()
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(f"answers {data['answers']}, rated {data['rated']}: "
               f"{data['up']} 👍, {data['down']} 👎 ({100 * data['share_up']:.0f} % up)")
    for item in data["most_disliked"]:
        click.echo(f"  👎 {item['down']} 👍 {item['up']}  {item['question']}")
