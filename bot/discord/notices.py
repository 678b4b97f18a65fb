"""Posting the notices of the channels' follows: one embed per story, paced under
Discord's rate limits, pinging no one, with an "Ask about this" button that opens a
thread and answers a question about the story there.

Notices are written by whatever index run brought the story (this bot's watch loop,
`/reindex`, a `newsbot index` or `fetch` elsewhere on the same index); this loop posts
those still pending every few seconds and marks each one posted only once Discord has
taken it. discord.py waits out a 429 and sends again; a post that still fails stays
pending and is tried on the next round, so no notice is lost and none is posted twice."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.format import (
    DESCRIPTION_CHARS,
    FIELD_VALUE_CHARS,
    THREAD_NAME_CHARS,
    TITLE_CHARS,
    clip,
    plain,
)
from bot.discord.replies import NONE, InteractionReply, PostedReply

if TYPE_CHECKING:
    from bot.discord.host import BotHost

log = logging.getLogger("newsbot.discord")
OWNER_PREFIX = "discord:"
CHECK_EVERY_S = 5.0   # how often pending notices are looked for
POST_GAP_S = 1.0      # between two posts: well under five messages in five seconds a channel
FOLLOW_COLOUR = 0x2B6CB0


def owner_of(channel_id: int) -> str:
    """The follow store's owner name for a channel."""
    return f"{OWNER_PREFIX}{channel_id}"


def notice_embed(notice: Any) -> discord.Embed:
    """Headline (linking the article), why it matched, outlet, date, and the copies."""
    url = notice.url if notice.url.startswith(("http://", "https://")) else None
    embed = discord.Embed(title=clip(plain(notice.title or "Untitled"), TITLE_CHARS), url=url,
                          description=clip(plain(notice.why), DESCRIPTION_CHARS // 4),
                          colour=FOLLOW_COLOUR)
    embed.add_field(name="Outlet", value=clip(plain(notice.source or "unknown"), 200))
    embed.add_field(name="Date", value=notice.day)
    if notice.also_in:
        embed.add_field(name="Also in", value=clip(plain(", ".join(notice.also_in)),
                                                   FIELD_VALUE_CHARS), inline=False)
    embed.set_footer(text=clip(f"Following: {notice.topic}", 200))
    return embed


class AskButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                template=r"newsbot:story:(?P<story>[0-9A-Za-z_-]{1,64})"):
    """Opens a thread on the notice and answers "what is the latest on it" there; the
    headline is read from the notice itself, so the button works after a restart."""

    def __init__(self, story: str) -> None:
        super().__init__(discord.ui.Button(label="Ask about this", emoji="💬",
                                           style=discord.ButtonStyle.secondary,
                                           custom_id=f"newsbot:story:{story}"))
        self.story = story

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> AskButton:
        return cls(match["story"])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        client: BotHost = interaction.client  # type: ignore[assignment]
        return client.servers.serves(interaction.guild_id)

    async def callback(self, interaction: discord.Interaction) -> None:
        client: BotHost = interaction.client  # type: ignore[assignment]
        message = interaction.message
        headline = (message.embeds[0].title if message and message.embeds else None) or ""
        question = f"What is the latest on: {headline}?"
        thread = None
        if message is not None and isinstance(interaction.channel, discord.TextChannel):
            try:
                thread = await message.create_thread(name=clip(headline or "This story",
                                                               THREAD_NAME_CHARS))
            except discord.HTTPException as exc:  # a thread is there already, or no right
                log.info("no thread on notice %s: %s", message.id, exc)
        if thread is None:  # answered under the button instead
            await client.answer(InteractionReply(interaction), question,
                                user=interaction.user, channel=interaction.channel)
            return
        await interaction.response.send_message(f"Asking in {thread.mention}.", ephemeral=True,
                                                allowed_mentions=NONE)
        result = await client.answer(ThreadReply(thread), question, user=interaction.user,
                                     channel=thread)
        if result is not None:
            answer = result[0]
            client.conversations.open_thread(thread.id, [(answer.standalone_question,
                                                          answer.text)])


class ThreadReply(PostedReply):
    """An answer posted as a message of its own in a thread (no message to reply to)."""

    def __init__(self, thread: discord.Thread) -> None:
        self.thread = thread

    async def _first(self, content: str | None = None, **parts: object) -> discord.Message:
        return await self.thread.send(content, **parts)  # type: ignore[arg-type]

    async def _more(self, **parts: object) -> None:
        await self.thread.send(**parts)  # type: ignore[arg-type]


def ask_view(story_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AskButton(story_id))
    return view


async def post_notice(client: Any, notice: Any) -> bool:
    """Post one notice; True when it is done with (posted, or its channel is gone)."""
    channel_id = int(notice.owner.removeprefix(OWNER_PREFIX))
    try:
        channel = client.get_channel(channel_id) or await client.fetch_channel(channel_id)
        await channel.send(embed=notice_embed(notice), view=ask_view(notice.story_id),
                           allowed_mentions=NONE)
    except (discord.NotFound, discord.Forbidden) as exc:  # never postable: do not retry
        log.warning("follow %s: cannot post in channel %s (%s); notice dropped",
                    notice.follow_id, channel_id, exc)
    except discord.HTTPException as exc:  # 5xx, or a 429 discord.py gave up on
        log.warning("follow %s: posting in channel %s failed (%s); tried again shortly",
                    notice.follow_id, channel_id, exc)
        return False
    return True


async def post_pending(client: Any) -> int:
    """Post every pending notice of the channels' follows, paced; how many were posted."""
    follows = client.app.follows
    pending = await asyncio.to_thread(follows.pending, None, OWNER_PREFIX)
    posted = 0
    for notice in pending:
        if client.is_closed():
            break
        if await post_notice(client, notice):
            await asyncio.to_thread(follows.delivered, notice)
            posted += 1
            await asyncio.sleep(POST_GAP_S)
    return posted


async def keep_posting(client: Any, every_s: float | None = None) -> None:
    """Until the client closes: pending notices posted every `every_s` seconds (default
    CHECK_EVERY_S, read each round so that a test can shorten it)."""
    while not client.is_closed():
        try:
            await post_pending(client)
        except Exception:  # one failure never ends the loop (a store busy, a lost link)
            log.exception("posting follow notices failed; trying again shortly")
        await asyncio.sleep(every_s if every_s is not None else CHECK_EVERY_S)
