"""What the slash commands and the vote buttons need of the bot they run in. They are typed
against this, not against `NewsbotClient`, so `client` imports `commands` and nothing
imports back."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import discord
    from discord import app_commands

    from bot.discord.conversation import Conversations
    from bot.discord.replies import Reply
    from bot.discord.servers import Servers
    from bot.settings import BotSettings
    from retrieval.app import NewsApp
    from retrieval.types import Answer


class BotHost(Protocol):
    app: NewsApp
    settings: BotSettings
    servers: Servers
    conversations: Conversations
    reindexing: asyncio.Lock
    tree: app_commands.CommandTree[Any]

    async def answer(self, reply: Reply, question: str, *, user: discord.abc.User,
                     channel: Any, conversation: Any = None, filters: Any = None
                     ) -> tuple[Answer, discord.Message] | None: ...

    async def open_thread(self, sent: discord.Message, answer: Answer) -> None: ...

    def allowed_here(self, channel: Any) -> bool: ...

    def is_admin(self, user: discord.abc.User) -> bool: ...
