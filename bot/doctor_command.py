"""`newsbot doctor`: one screen on whether this newsbot can work. The checks are the
library's (`retrieval/health.py`); the Discord token's is here, beside the bot."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from bot.context import index_dir_option, settings_of, with_fix
from retrieval.errors import NewsbotError

if TYPE_CHECKING:
    from bot.settings import BotSettings
    from retrieval.app import Check

DISCORD_API = "https://discord.com/api/v10"


def discord_check(settings: BotSettings) -> Check:
    """The bot's token is valid: `GET /users/@me` answers with the bot's user."""
    from retrieval.app import http_get, timed

    def probe() -> str:
        assert settings.discord.token is not None
        base = (settings.discord.api_url or DISCORD_API).rstrip("/")
        try:
            me = http_get(f"{base}/users/@me",
                          {"Authorization": f"Bot {settings.discord.token.get_secret_value()}",
                           "User-Agent": "DiscordBot (newsbot doctor, 1)"})
        except NewsbotError as exc:
            if getattr(exc, "status", None) != 401:
                raise
            from bot.discord.run import token_rejected  # discord.py: only when needed

            raise token_rejected() from None  # as the bot says it, with how to reset it
        return f"the token is valid: logged in as {me.get('username', '?')} ({me.get('id')})"

    return timed("Discord", probe)


def all_checks(settings: BotSettings, with_index: bool = True) -> list[Check]:
    from retrieval.app import index_checks, service_checks

    checks = index_checks(settings) if with_index else []
    checks += service_checks(settings)
    if settings.discord.token and settings.discord.token.get_secret_value():
        checks.append(discord_check(settings))
    return checks


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@index_dir_option
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the index and every configured service, with their latency.

    The index (its stores agree, pending writes, the embedding model), the answer reader,
    PostgreSQL, the Chroma server, the LLM server and the Discord token, where they are
    configured. The exit status is 1 when any check fails (for a supervisor or a cron job).

    Example: newsbot doctor --json
    """
    checks = all_checks(settings_of(ctx))
    healthy = all(c.ok for c in checks)
    if as_json:
        click.echo(json.dumps({"ok": healthy, "checks": [c.to_dict() for c in checks]}))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            mark = click.style("ok  ", fg="green") if check.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {check.name:<{width}}  {check.seconds * 1000:7.0f} ms  "
                       f"{with_fix(check.detail, check.fix)}")
    if not healthy:
        ctx.exit(1)
