"""The application commands: /ask, /sources, /latest, /stats, /reindex, the message
menu's "Ask newsbot", and the 👍/👎 buttons under each answer (persistent: the answer's
id is in the button, so votes count after a restart)."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.discord.format import (
    DESCRIPTION_CHARS,
    articles_embed,
    clip,
    plain,
    stats_embed,
)
from bot.discord.replies import NONE, InteractionReply
from retrieval.errors import InvalidRequest
from retrieval.types import SearchFilters

if TYPE_CHECKING:
    from bot.discord.host import BotHost

PROGRESS_EVERY_S = 2.0


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                 template=r"newsbot:vote:(?P<vote>up|down):(?P<answer>[0-9a-f]{12})"):
    def __init__(self, vote: str, answer_id: str) -> None:
        super().__init__(discord.ui.Button(
            emoji="👍" if vote == "up" else "👎", style=discord.ButtonStyle.secondary,
            custom_id=f"newsbot:vote:{vote}:{answer_id}"))
        self.vote, self.answer_id = vote, answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: Any) -> VoteButton:
        return cls(match["vote"], match["answer"])

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        client: BotHost = interaction.client  # type: ignore[assignment]
        return client.servers.serves(interaction.guild_id)  # no vote off the server list

    async def callback(self, interaction: discord.Interaction) -> None:
        client: BotHost = interaction.client  # type: ignore[assignment]
        known = await asyncio.to_thread(client.app.vote, self.answer_id,
                                        interaction.user.id, self.vote == "up")
        text = "Thanks, noted." if known else "I no longer have that answer on record."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NONE)


def vote_view(answer_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton("up", answer_id))
    view.add_item(VoteButton("down", answer_id))
    return view


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(f"`{clip(value, 40)}` is not a date like 2023-03-31") from None


def register(client: BotHost) -> None:
    """Add every command to the client's tree, in three groups."""
    _register_questions(client)
    _register_reading(client)
    _register_admin(client)


async def refused_here(client: BotHost, interaction: discord.Interaction) -> bool:
    if client.allowed_here(interaction.channel):
        return False
    await InteractionReply(interaction).say("I don't answer in this channel.")
    return True


def outlet_completer(client: BotHost) -> Any:
    """The outlets' autocomplete; the list is read again at most once a minute."""
    outlets: dict[str, Any] = {"at": 0.0, "names": []}

    async def outlet_names(interaction: discord.Interaction, current: str
                           ) -> list[app_commands.Choice[str]]:
        if time.monotonic() - outlets["at"] > 60:
            names = await asyncio.to_thread(client.app.outlets)
            outlets.update(at=time.monotonic(), names=names)
        wanted = current.lower()
        return [app_commands.Choice(name=clip(n, 100), value=clip(n, 100))
                for n in outlets["names"] if wanted in n.lower()][:25]
    return outlet_names


def _register_questions(client: BotHost) -> None:
    """/ask and the message menu's "Ask newsbot"."""
    tree = client.tree

    @tree.command(name="ask", description="Ask a question about the news I have read")
    @app_commands.describe(question="What you want to know",
                           source="Only this outlet", since="Only articles since (YYYY-MM-DD)")
    @app_commands.autocomplete(source=outlet_completer(client))
    async def ask(interaction: discord.Interaction, question: str, source: str | None = None,
                  since: str | None = None) -> None:
        if await refused_here(client, interaction):
            return
        filters = SearchFilters((source,) if source else (), _day(since))
        result = await client.answer(InteractionReply(interaction), question,
                                     user=interaction.user, channel=interaction.channel,
                                     filters=filters)
        if result and client.settings.discord.threads and \
                isinstance(interaction.channel, discord.TextChannel):
            await client.open_thread(result[1], result[0])

    @tree.context_menu(name="Ask newsbot")
    async def ask_about(interaction: discord.Interaction, message: discord.Message) -> None:
        if await refused_here(client, interaction):
            return
        await client.answer(InteractionReply(interaction), message.content,
                            user=interaction.user, channel=interaction.channel)


def _register_reading(client: BotHost) -> None:
    """/sources, /latest and /stats: what the bot read and cited."""
    tree = client.tree

    @tree.command(name="sources", description="The passages behind my last answer here")
    async def sources(interaction: discord.Interaction) -> None:
        if await refused_here(client, interaction):
            return
        answer = client.conversations.last_answer.get(getattr(interaction.channel, "id", 0))
        if answer is None or not answer.sources:
            await InteractionReply(interaction).say("No answer with sources here yet.")
            return
        embed = discord.Embed(title=clip(f"Sources: {plain(answer.question)}", 256))
        for source in answer.sources[:10]:
            text = plain(source.passage or source.quote)
            embed.add_field(name=clip(f"[{source.n}] {source.title}", 256),
                            value=clip(f"{source.url}\n{text}", 1024), inline=False)
        while len(embed) > 6000:
            embed.remove_field(-1)
        await interaction.response.send_message(embed=embed, ephemeral=True,
                                                allowed_mentions=NONE)

    @tree.command(name="latest", description="The newest articles I have read")
    @app_commands.describe(topic="Only articles about this")
    async def latest(interaction: discord.Interaction, topic: str | None = None) -> None:
        if await refused_here(client, interaction):
            return
        await interaction.response.defer(thinking=True)
        articles = await asyncio.to_thread(client.app.latest, 10, topic)
        title = f"Newest on {clip(topic, 200)}" if topic else "Newest articles"
        await interaction.edit_original_response(embed=articles_embed(title, articles),
                                                 allowed_mentions=NONE)

    @tree.command(name="stats", description="What I have read: articles, sources, dates")
    async def stats(interaction: discord.Interaction) -> None:
        if await refused_here(client, interaction):
            return
        await interaction.response.defer(thinking=True)
        data = await asyncio.to_thread(client.app.stats)
        await interaction.edit_original_response(embed=stats_embed(data), allowed_mentions=NONE)


def _register_admin(client: BotHost) -> None:
    """/reindex, for admins only."""

    @client.tree.command(name="reindex", description="Read the corpus again (admins only)")
    async def reindex(interaction: discord.Interaction) -> None:
        if not client.is_admin(interaction.user):
            await InteractionReply(interaction).say(
                "🔒 Only members with Manage Server (or an allow-listed role) can re-index.")
            return
        if client.reindexing.locked():
            await InteractionReply(interaction).say("An index run is already going.")
            return
        async with client.reindexing:
            await interaction.response.defer(thinking=True)
            await run_reindex(client, interaction)


async def run_reindex(client: BotHost, interaction: discord.Interaction) -> None:
    state = {"done": 0, "total": 0}

    def progress(done: int, total: int) -> None:  # called from the indexing thread
        state.update(done=done, total=total)

    work = asyncio.create_task(asyncio.to_thread(client.app.index, None, progress=progress))
    while not work.done():
        await asyncio.wait({work}, timeout=PROGRESS_EVERY_S)
        if not work.done() and state["total"]:
            await interaction.edit_original_response(
                content=f"Indexing… {state['done']}/{state['total']} articles embedded.")
    report = work.result()  # its errors reach the tree's error handler
    summary = report.as_dict()
    text = ("Index run finished: added {added}, updated {updated}, removed {removed}, "
            "unchanged {unchanged}, failed {failed}.").format(**summary)
    if report.errors:
        text += "\n" + "\n".join(f"• {clip(str(e), 180)}" for e in report.errors[:5])
    await interaction.edit_original_response(content=clip(text, DESCRIPTION_CHARS // 2))
