"""/follow, /unfollow and /follows: topics whose new stories this channel is told of,
once per story (`notices.py` posts them). Following and unfollowing take Manage Server
or an allow-listed role, like /reindex; anyone may see what a channel follows."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord.commands import outlet_completer, refused_here
from bot.discord.format import DESCRIPTION_CHARS, clip, plain
from bot.discord.notices import AskButton, keep_posting, owner_of
from bot.discord.replies import NONE, InteractionReply
from retrieval.errors import NewsbotError

if TYPE_CHECKING:
    from bot.discord.host import BotHost

REFUSED = "🔒 Only members with Manage Server (or an allow-listed role) can change follows."


def register_follows(client: Any) -> None:
    """The follow commands and the "Ask about this" button, on every shard; the posting
    loop once per bot (its shard 0), as the watch loop is."""
    _register_commands(client)
    client.add_dynamic_items(AskButton)  # notices posted before a restart keep working
    if client.once_per_bot:
        client.posting_follows = asyncio.create_task(keep_posting(client))


async def _allowed(client: BotHost, interaction: discord.Interaction) -> bool:
    """In a channel the bot answers in, and by an admin."""
    if await refused_here(client, interaction):
        return False
    if not client.is_admin(interaction.user):
        await InteractionReply(interaction).say(REFUSED)
        return False
    return True


async def _say(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(clip(text, 2000), allowed_mentions=NONE)


def _register_commands(client: BotHost) -> None:
    tree = client.tree

    @tree.command(name="follow", description="Post new stories on a topic here, once each "
                  "(admins only)")
    @app_commands.describe(topic="The topic in plain words, e.g. Gaza ceasefire",
                           outlet="Only stories from this outlet")
    @app_commands.autocomplete(outlet=outlet_completer(client))
    async def follow(interaction: discord.Interaction, topic: str,
                     outlet: str | None = None) -> None:
        if not await _allowed(client, interaction):
            return
        owner = owner_of(interaction.channel_id or 0)
        try:
            added = await asyncio.to_thread(client.app.follows.add, topic,
                                            (outlet,) if outlet else (), owner)
        except NewsbotError as exc:
            await InteractionReply(interaction).say(f"⚠️ {exc}")
            return
        only = f" from {plain(added.outlets[0])}" if added.outlets else ""
        await _say(interaction, f"🔔 Following **{plain(added.topic)}**{only}: each new "
                   "story on it is posted here once.")

    @tree.command(name="unfollow", description="Stop posting a topic here (admins only)")
    @app_commands.describe(topic="The topic, as /follows lists it")
    async def unfollow(interaction: discord.Interaction, topic: str) -> None:
        if not await _allowed(client, interaction):
            return
        owner = owner_of(interaction.channel_id or 0)
        try:
            removed = await asyncio.to_thread(client.app.follows.remove, topic, owner)
        except NewsbotError as exc:
            await InteractionReply(interaction).say(f"⚠️ {exc}")
            return
        await _say(interaction, f"🔕 No longer following **{plain(removed.topic)}** here.")

    @unfollow.autocomplete("topic")
    async def followed_topics(interaction: discord.Interaction, current: str
                              ) -> list[app_commands.Choice[str]]:
        listed = await asyncio.to_thread(client.app.follows.listed,
                                         owner_of(interaction.channel_id or 0))
        return [app_commands.Choice(name=clip(f.topic, 100), value=clip(f.topic, 100))
                for f in listed if current.lower() in f.topic.lower()][:25]

    @tree.command(name="follows", description="The topics followed in this channel")
    async def follows(interaction: discord.Interaction) -> None:
        if await refused_here(client, interaction):
            return
        listed = await asyncio.to_thread(client.app.follows.listed,
                                         owner_of(interaction.channel_id or 0))
        lines = [f"• **{plain(f.topic)}**" + (f" (only {plain(', '.join(f.outlets))})"
                                               if f.outlets else "") for f in listed]
        text = "\n".join(lines) or "Nothing is followed here yet: an admin can add a topic " \
                                   "with `/follow`."
        embed = discord.Embed(title="Followed here", description=clip(text, DESCRIPTION_CHARS))
        await interaction.response.send_message(embed=embed, ephemeral=True,
                                                allowed_mentions=NONE)
