"""Where an answer goes: back to a slash command (deferred at once, then followed up) or
as a reply to a message. Both stream an LLM's answer by editing one message at most
about once a second, then put the finished embeds in its place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

import discord

from bot.discord.format import MESSAGE_CHARS, clip, group_for_messages

log = logging.getLogger("newsbot.discord")
NONE = discord.AllowedMentions.none()
EDIT_EVERY_S = 1.0  # Discord allows about five edits in five seconds per message


class Reply(Protocol):
    async def begin(self) -> None: ...
    async def stream(self, text: str) -> None: ...
    async def finish(self, embeds: list[discord.Embed], view: discord.ui.View | None
                     ) -> discord.Message: ...
    async def say(self, text: str) -> None: ...


class InteractionReply:
    def __init__(self, interaction: discord.Interaction, ephemeral: bool = False) -> None:
        self.interaction = interaction
        self.ephemeral = ephemeral

    async def begin(self) -> None:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(thinking=True, ephemeral=self.ephemeral)

    async def stream(self, text: str) -> None:
        await self.interaction.edit_original_response(content=clip(text, MESSAGE_CHARS),
                                                      allowed_mentions=NONE)

    async def finish(self, embeds: list[discord.Embed], view: discord.ui.View | None
                     ) -> discord.Message:
        groups = group_for_messages(embeds)
        message = await self.interaction.edit_original_response(
            content=None, embeds=groups[0], view=view, allowed_mentions=NONE)
        for group in groups[1:]:
            await self.interaction.followup.send(embeds=group, allowed_mentions=NONE,
                                                 ephemeral=self.ephemeral)
        return message

    async def say(self, text: str) -> None:
        if self.interaction.response.is_done():
            await self.interaction.followup.send(clip(text, MESSAGE_CHARS), ephemeral=True,
                                                 allowed_mentions=NONE)
        else:
            await self.interaction.response.send_message(clip(text, MESSAGE_CHARS),
                                                         ephemeral=True, allowed_mentions=NONE)


class PostedReply:
    """An answer posted as messages: the first (streamed into by edits, then its embeds)
    by `_first`, any further embeds by `_more`; no one is ever pinged."""

    sent: discord.Message | None = None

    async def _first(self, content: str | None = None, **parts: object) -> discord.Message:
        raise NotImplementedError

    async def _more(self, **parts: object) -> None:
        raise NotImplementedError

    async def begin(self) -> None:
        return None

    async def stream(self, text: str) -> None:
        text = clip(text, MESSAGE_CHARS)
        if self.sent is None:
            self.sent = await self._first(text, allowed_mentions=NONE)
        else:
            await self.sent.edit(content=text, allowed_mentions=NONE)

    async def finish(self, embeds: list[discord.Embed], view: discord.ui.View | None
                     ) -> discord.Message:
        groups = group_for_messages(embeds)
        if self.sent is None:
            self.sent = await self._first(embeds=groups[0], view=view, allowed_mentions=NONE)
        else:
            self.sent = await self.sent.edit(content=None, embeds=groups[0], view=view,
                                             allowed_mentions=NONE)
        for group in groups[1:]:
            await self._more(embeds=group, allowed_mentions=NONE)
        return self.sent

    async def say(self, text: str) -> None:
        await self._first(clip(text, MESSAGE_CHARS), allowed_mentions=NONE)


class MessageReply(PostedReply):
    """An answer replying to the message that asked."""

    def __init__(self, message: discord.Message) -> None:
        self.message = message
        self.typing: asyncio.Task[None] | None = None

    async def _first(self, content: str | None = None, **parts: object) -> discord.Message:
        return await self.message.reply(content, **parts)  # type: ignore[arg-type]

    async def _more(self, **parts: object) -> None:
        await self.message.channel.send(**parts)  # type: ignore[arg-type]

    async def begin(self) -> None:
        # Only a hint that an answer is coming, so sent aside: a refused (403) or failing
        # indicator neither stops nor delays the answer.
        self.typing = asyncio.create_task(self._show_typing())

    async def _show_typing(self) -> None:
        try:
            await self.message.channel.typing()
        except discord.HTTPException as exc:
            log.info("no typing indicator in channel %s: %s", self.message.channel.id, exc)


class Streamer:
    """Collects an LLM's tokens (from the worker thread) and shows them on the reply,
    editing at most once every `EDIT_EVERY_S`."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.parts: list[str] = []
        self._shown = 0

    def on_token(self, token: str) -> None:  # called from the answering thread
        self.parts.append(token)

    async def run(self, done: asyncio.Event) -> None:
        last = 0.0
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=EDIT_EVERY_S)
            count = len(self.parts)
            if count != self._shown and not done.is_set() and time.monotonic() - last >= \
                    EDIT_EVERY_S:
                self._shown, last = count, time.monotonic()
                try:
                    await self.reply.stream("".join(self.parts[:count]) + " …")
                except discord.HTTPException:  # a lost preview edit; the answer still comes
                    continue
