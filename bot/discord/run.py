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


def invite_link(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


def point_at(api_url: str | None) -> None:
    """Use a Discord-compatible REST API instead of Discord's own (the gateway address
    comes from that API's /gateway/bot answer)."""
    if api_url:
        discord.http.Route.BASE = api_url.rstrip("/")


async def serve(client: NewsbotClient, token: str) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(client.close()))
    async with client:
        try:
            await client.login(token)
        except discord.LoginFailure:
            raise NewsbotError("Discord rejected the token in DISCORD_TOKEN; copy it again "
                               "from the Developer Portal (Bot → Reset Token)") from None
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
    point_at(settings.discord_api_url)
    app.ready()  # an unusable index fails here, before logging in
    feedback = FeedbackStore(settings.discord_feedback_db.expanduser())
    client = NewsbotClient(app, settings, feedback)
    try:
        asyncio.run(serve(client, token))
    finally:
        feedback.close()
        log.info("stopped")
