"""`newsbot discord`: the bot, running until Ctrl-C or SIGTERM, reconnecting by itself
(discord.py resumes the gateway session after a network failure). Discord unreachable at
start (no network, a name that does not resolve) is one line and exit 1; under systemd
the unit in the README starts it again with a growing delay."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket

import aiohttp
import discord

from bot.discord.client import NewsbotClient
from bot.discord.servers import check_server_list
from bot.settings import BotSettings
from retrieval.app import NewsApp
from retrieval.errors import NewsbotError

log = logging.getLogger("newsbot.discord")

# What the bot needs, and nothing more: answer, show embeds, open and post in threads,
# read the message a member replied to.
PERMISSIONS = discord.Permissions(send_messages=True, embed_links=True,
                                  create_public_threads=True, send_messages_in_threads=True,
                                  read_message_history=True)
SCOPES = ("bot", "applications.commands")
REJECTED = ("Discord rejected the token in DISCORD_TOKEN; copy it again from the Developer "
            "Portal (Bot → Reset Token)")


def token_rejected() -> NewsbotError:
    """What the bot and `newsbot doctor` say when Discord answers 401 to DISCORD_TOKEN."""
    return NewsbotError(REJECTED)


def invite_link(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


def show_invite(application_id: int) -> None:
    """The invite link, first thing after logging in (before the command sync, which
    Discord refuses in a server the bot is not invited to yet)."""
    log.info("invite link: %s", invite_link(application_id))
    print(f"Invite newsbot to a server: {invite_link(application_id)}", flush=True)


def why_unreachable(exc: BaseException) -> str:
    """A connection failure in a few words: from urllib (URLError.reason) or aiohttp
    (ClientConnectorError.os_error) alike."""
    cause = getattr(exc, "reason", None) or getattr(exc, "os_error", None) or exc
    if isinstance(cause, socket.gaierror) or isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "the name does not resolve (DNS)"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, TimeoutError):
        return "no answer in time"
    return str(cause) or type(cause).__name__


def unreachable(where: str, exc: BaseException) -> NewsbotError:
    return NewsbotError(f"cannot reach Discord at {where}: {why_unreachable(exc)}; check the "
                        "network connection (and NEWSBOT_DISCORD_API_URL if set)")


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
            raise token_rejected() from None
        raise NewsbotError(f"NEWSBOT_DISCORD_API_URL={api_url} does not answer GET /gateway "
                           f"({exc}); check the address") from None
    except OSError as exc:  # urllib's URLError too
        raise unreachable(f"NEWSBOT_DISCORD_API_URL={api_url}", exc) from None
    except (ValueError, KeyError) as exc:
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
            await client.login(token)  # also prints the invite link and syncs the commands
        except discord.LoginFailure:
            raise token_rejected() from None
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:  # refused, DNS, reset
            raise unreachable(discord.http.Route.BASE.split("/api")[0], exc) from None
        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise NewsbotError("NEWSBOT_DISCORD_MESSAGE_CONTENT is on, but the bot may not "
                               "read message content: turn it on in the Developer Portal "
                               "(Bot → Privileged Gateway Intents) or set it to false") \
                from None


def require_token(settings: BotSettings) -> str:
    if settings.discord.token is None or not settings.discord.token.get_secret_value():
        raise NewsbotError("DISCORD_TOKEN is not set; put the bot's token in the environment "
                           "or in .env (see README, 'Discord')")
    return settings.discord.token.get_secret_value()


def run_discord(app: NewsApp, settings: BotSettings) -> None:
    token = require_token(settings)
    check_server_list(settings)
    discord.utils.setup_logging(level=logging.INFO)  # discord's and newsbot's lines
    # The bot has no voice: discord.py's warnings that its voice libraries (PyNaCl, davey)
    # are missing would be the first lines a user reads, about nothing newsbot uses.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    point_at(settings.discord.api_url, token)
    app.ready()  # an unusable index fails here, before logging in
    app.answerer  # noqa: B018 - loads the LLM provider now, not on the event loop later
    app.votes()  # an unreadable vote store fails here, before logging in
    client = NewsbotClient(app, settings, on_login=show_invite)
    try:
        asyncio.run(serve(client, token))
    finally:
        log.info("stopped")
