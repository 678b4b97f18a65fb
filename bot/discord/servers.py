"""Which Discord servers the bot serves, and its slash commands there.

NEWSBOT_DISCORD_GUILDS lists the servers it answers in; it leaves every other one, those it
is in at start and any it is invited to later (a public bot can be invited by anyone who
has its link). Unset, it answers in every server it is in. Each shard sees, and so checks,
only its own servers. `--guild` syncs the commands to one server, which Discord refuses
(403 Missing Access) until the bot is invited there: the bot then goes on and syncs them
when it joins that server."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import discord

from retrieval.errors import NewsbotError

if TYPE_CHECKING:
    from discord import app_commands

    from bot.settings import BotSettings

log = logging.getLogger("newsbot.discord")


class Shard(Protocol):
    """What the server list needs of the bot process (the client, without importing it)."""

    settings: BotSettings
    tree: app_commands.CommandTree[Any]

    @property
    def guilds(self) -> Any: ...

    @property
    def shard_id(self) -> int | None: ...

    @property
    def shard_count(self) -> int | None: ...


def check_server_list(settings: BotSettings) -> None:
    """The `--guild` server must be one the bot stays in."""
    guild, listed = settings.discord.guild, settings.discord.guilds
    if guild and listed and guild not in listed:
        raise NewsbotError(f"--guild / NEWSBOT_DISCORD_GUILD {guild} is not in "
                           "NEWSBOT_DISCORD_GUILDS: add it there, or the bot would leave it")


class Servers:
    """The allow list of one bot process, and the servers it has left (each logged once)."""

    def __init__(self, client: Shard) -> None:
        self.client = client
        self.listed = frozenset(client.settings.discord.guilds)
        self.left: set[int] = set()

    def serves(self, guild_id: int | None) -> bool:
        """Whether the bot answers there (guild_id None: a direct message). With a list,
        only in its servers: not elsewhere, and not in direct messages."""
        return not self.listed or guild_id in self.listed

    async def keep_to_listed(self, guilds: Iterable[discord.Guild]) -> None:
        """Leave each of `guilds` the list does not name."""
        for guild in guilds:
            if self.serves(guild.id):
                continue
            if guild.id not in self.left:
                self.left.add(guild.id)
                log.warning("leaving server %s (%s): it is not in NEWSBOT_DISCORD_GUILDS",
                            guild.name, guild.id)
            try:
                await guild.leave()
            except discord.HTTPException as exc:  # it stays, and still gets no answer
                log.warning("could not leave server %s (%s): %s", guild.name, guild.id, exc)

    def describe(self) -> str:
        """Where this process (or shard) is, and where it answers, for the log at start."""
        client = self.client
        held = ", ".join(f"{g.name} ({g.id})" for g in client.guilds) or "none yet"
        if not self.listed:
            return (f"in servers: {held}; answering in every server it is in or invited to "
                    "(NEWSBOT_DISCORD_GUILDS is unset)")
        count = client.shard_count or 1
        mine = sorted(g for g in self.listed if (g >> 22) % count == (client.shard_id or 0))
        named = {g.id: g.name for g in client.guilds}
        answering = ", ".join(f"{named[g]} ({g})" if g in named else f"{g} (not invited yet)"
                              for g in mine) or "none on this shard"
        return f"in servers: {held}; answering only in: {answering}"


async def sync_commands(client: Shard) -> None:
    """Sync the slash commands: to the `--guild` server (at once) or globally (Discord
    shows global ones within about an hour)."""
    guild = client.settings.discord.guild
    if not guild:
        synced = await client.tree.sync()
        log.info("synced %d commands", len(synced))
        return
    target = discord.Object(id=guild)
    client.tree.copy_global_to(guild=target)
    try:
        synced = await client.tree.sync(guild=target)
    except discord.Forbidden:
        log.warning("server %s refused the slash commands (403 Missing Access): the bot must "
                    "be invited there before --guild works; open the invite link above. "
                    "Going on: they are synced when it joins", guild)
        return
    log.info("synced %d commands to server %s", len(synced), guild)
