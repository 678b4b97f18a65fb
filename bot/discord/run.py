"""`newsbot discord`: the bot, running until Ctrl-C or SIGTERM, reconnecting by itself
(discord.py resumes the gateway session after a network failure)."""

from __future__ import annotations

import asyncio
import logging
import signal

import discord

from bot.discord.client import NewsbotClient
from bot.feedback import FeedbackStore
from retrieval.app import NewsApp
from retrieval.errors import NewsbotError
from retrieval.settings import Settings

log = logging.getLogger("newsbot.discord")

# What the bot needs, and nothing more: answer, show embeds, open and post in threads,
# read the message a member replied to.
PERMISSIONS = discord.Permissions(send_messages=True, embed_links=True,
                                  create_public_threads=True, send_messages_in_threads=True,
                                  read_message_history=True)
SCOPES = ("bot", "applications.commands")
REJECTED = ("Discord rejected the token in DISCORD_TOKEN; copy it again from the Developer "
            "Portal (Bot → Reset Token)")


def invite_link(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


def point_at(api_url: str | None, token: str) -> None:
    """Use a Discord-compatible API instead of Discord's own: REST calls go to `api_url`,
    and the gateway is the one its `GET /gateway` names (discord.py otherwise connects to
    Discord's gateway without asking)."""
    if not api_url:
        return
    import json
    import urllib.error
    import urllib.request

    import yarl

    base = api_url.rstrip("/")
    try:
        asking = urllib.request.Request(f"{base}/gateway",
                                        headers={"Authorization": f"Bot {token}"})
        with urllib.request.urlopen(asking, timeout=10) as answer:
            gateway = json.loads(answer.read())["url"]
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise NewsbotError(REJECTED) from None
        raise NewsbotError(f"NEWSBOT_DISCORD_API_URL={api_url} does not answer GET /gateway "
                           f"({exc}); check the address") from None
    except (OSError, ValueError, KeyError) as exc:
        raise NewsbotError(f"NEWSBOT_DISCORD_API_URL={api_url} does not answer GET /gateway "
                           f"({exc}); check the address") from None
    discord.http.Route.BASE = base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


async def serve(client: NewsbotClient, token: str) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(client.close()))
    async with client:
        try:
            await client.login(token)
        except discord.LoginFailure:
            raise NewsbotError(REJECTED) from None
        if client.application_id:
            log.info("invite link: %s", invite_link(client.application_id))
            print(f"Invite newsbot to a server: {invite_link(client.application_id)}",
                  flush=True)
        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise NewsbotError("NEWSBOT_DISCORD_MESSAGE_CONTENT is on, but the bot may not "
                               "read message content: turn it on in the Developer Portal "
                               "(Bot → Privileged Gateway Intents) or set it to false") \
                from None


def require_token(settings: Settings) -> str:
    if settings.discord_token is None or not settings.discord_token.get_secret_value():
        raise NewsbotError("DISCORD_TOKEN is not set; put the bot's token in the environment "
                           "or in .env (see README, 'Discord')")
    return settings.discord_token.get_secret_value()


def run_discord(app: NewsApp, settings: Settings) -> None:
    token = require_token(settings)
    discord.utils.setup_logging(level=logging.INFO)  # discord's and newsbot's lines
    point_at(settings.discord_api_url, token)
    app.ready()  # an unusable index fails here, before logging in
    app.answerer  # noqa: B018 - loads the LLM provider now, not on the event loop later
    feedback = FeedbackStore(settings.discord_feedback_db.expanduser())
    client = NewsbotClient(app, settings, feedback)
    try:
        asyncio.run(serve(client, token))
    finally:
        feedback.close()
        log.info("stopped")
