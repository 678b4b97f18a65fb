"""The Discord client: answers mentions, replies to its own messages and follow-ups in
the threads it opened, and carries the slash commands (`commands.py`). Slow work (the
embedding, the search, an LLM) runs in worker threads, never on the event loop; every
failure becomes a short message with an id that matches the log line."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from bot.context import error_text as shell_error_text
from bot.discord.commands import VoteButton, register, vote_view
from bot.discord.conversation import Conversations
from bot.discord.cooldowns import Cooldowns, wait_message
from bot.discord.follows import register_follows
from bot.discord.format import THREAD_NAME_CHARS, answer_embeds, clip, error_text
from bot.discord.health import watch_health, watches_anything
from bot.discord.replies import Reply, Streamer
from bot.discord.servers import Servers, sync_commands
from bot.settings import BotSettings
from retrieval.app import Conversation, FeedbackStore, NewsApp, clean_question
from retrieval.errors import InvalidRequest, NewsbotError
from retrieval.types import Answer, SearchFilters

log = logging.getLogger("newsbot.discord")
_MENTION = re.compile(r"<@!?\d+>")


class NewsbotClient(discord.Client):
    def __init__(self, app: NewsApp, settings: BotSettings, votes: FeedbackStore | None = None, *,
                 on_login: Callable[[int], None] | None = None, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.discord.message_content
        if settings.discord.shard_count is not None:  # one of several processes
            options.update(shard_id=settings.discord.shard_id,
                           shard_count=settings.discord.shard_count)
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(),
                         **options)
        self.app = app
        self.settings = settings
        if votes is not None:  # a store the caller opened (tests); else the app opens its own
            app.use_votes(votes)
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self.on_command_error
        self.servers = Servers(self)
        # No command, menu or autocomplete is answered in a server off the list.
        self.tree.interaction_check = self._in_served_server  # type: ignore[method-assign]
        self.on_login = on_login  # given the application id before the command sync
        self.cooldowns = Cooldowns(settings.discord.user_cooldown,
                                   settings.discord.guild_per_minute)
        self.conversations = Conversations()
        self.reindexing = asyncio.Lock()
        self.watcher: Any = None  # retrieval.watch.Watcher, when the bot runs the loop
        self._health: asyncio.Task | None = None  # the watch on PostgreSQL, Chroma, the LLM
        self.posting_follows: asyncio.Task | None = None  # the follows' notices (notices.py)

    async def setup_hook(self) -> None:
        register(self)
        register_follows(self)  # /follow, /unfollow, /follows; posting their notices
        self.add_dynamic_items(VoteButton)  # votes on answers given before a restart count
        if self.on_login is not None and self.application_id:
            self.on_login(self.application_id)
        if watches_anything(self.settings):
            self._health = asyncio.create_task(watch_health(self.settings))
        if not self.once_per_bot:
            log.info("shard %s of %s: shard 0 syncs the commands and watches", self.shard_id,
                     self.shard_count)
            return
        await sync_commands(self)
        if self.settings.discord.watch:
            self.start_watching()

    @property
    def once_per_bot(self) -> bool:
        """Whether this process does the work a bot does once, not once per shard: shard 0,
        or the only process. That is syncing the slash commands (one bulk overwrite of the
        bot's command list, which Discord rate-limits; every shard still registers them, as
        each answers the interactions of its own servers) and the watch loop (one indexer of
        the shared index, so a new article is indexed and its headline posted once)."""
        return not self.shard_id

    def start_watching(self) -> None:
        """The watch loop (the corpus and the feeds) in a thread of its own; what it
        indexes is announced here."""
        import threading

        loop = asyncio.get_running_loop()

        def announce(report: Any) -> None:  # called from the watch thread
            if report.added_ids:
                posted = asyncio.run_coroutine_threadsafe(
                    self.post_headlines(report.added_ids), loop)
                posted.add_done_callback(
                    lambda f: f.exception() and log.error("posting headlines failed",
                                                          exc_info=f.exception()))

        # Its log is read by whoever runs the bot, at a shell: the CLI's words for a fix.
        self.watcher = self.app.watcher([self.settings.index.corpus_dir], on_indexed=announce,
                                        describe=shell_error_text)
        self._watching = threading.Thread(target=self.watcher.run, name="newsbot-watch",
                                          daemon=True)
        self._watching.start()

    async def post_headlines(self, article_ids: list[str]) -> None:
        """One message for a batch of new articles, in the news channel, pinging no one."""
        channel_id = self.settings.discord.news_channel
        if not channel_id:
            return
        try:  # shard 0 need not hold the channel's server: then the API is asked for it
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
        except discord.HTTPException as exc:
            log.warning("news channel %s: %s; %d headlines not posted", channel_id, exc,
                        len(article_ids))
            return
        from bot.discord.format import articles_embed

        articles = await asyncio.to_thread(self.app.summaries, article_ids[:10])
        title = "Newly indexed" + (f" ({len(article_ids)}, newest 10)"
                                   if len(article_ids) > 10 else "")
        try:
            await channel.send(embed=articles_embed(title, articles),
                               allowed_mentions=discord.AllowedMentions.none())
        except discord.HTTPException:
            log.exception("could not post %d new headlines", len(article_ids))

    async def close(self) -> None:
        for task in (self._health, self.posting_follows):
            if task is not None:
                task.cancel()
        if self.watcher is not None:  # stops between two batches; the index closes after
            self.watcher.stop.set()
            await asyncio.to_thread(self._watching.join, 120)
        await super().close()

    async def on_ready(self) -> None:
        shard = f" (shard {self.shard_id} of {self.shard_count})" if self.shard_count else ""
        log.info("logged in as %s%s; %s", self.user, shard, self.servers.describe())
        await self.servers.keep_to_listed(self.guilds)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.servers.keep_to_listed([guild])
        if guild.id == self.settings.discord.guild:  # invited after a refused --guild sync
            await sync_commands(self)

    async def _in_served_server(self, interaction: discord.Interaction) -> bool:
        return self.servers.serves(interaction.guild_id)

    # --- who and where -----------------------------------------------------------------------
    def allowed_here(self, channel: Any) -> bool:
        if not self.servers.serves(getattr(getattr(channel, "guild", None), "id", None)):
            return False
        allowed = self.settings.discord.channels
        if not allowed:
            return True
        parent = getattr(channel, "parent_id", None)
        return channel.id in allowed or (parent is not None and parent in allowed)

    def is_admin(self, user: discord.abc.User) -> bool:
        if user.id in self.settings.discord.admin_users:
            return True
        if isinstance(user, discord.Member):
            return user.guild_permissions.manage_guild or any(
                role.id in self.settings.discord.admin_roles for role in user.roles)
        return False

    def check_question(self, question: str, user: discord.abc.User, guild_id: int | None
                       ) -> str | None:
        """Why this question is not answered now, or None."""
        limit = self.settings.discord.max_question_chars  # at most the core's own limit
        if len(question) > limit:
            return f"That question is {len(question)} characters long; the limit is {limit}."
        try:
            clean_question(question)
        except InvalidRequest:  # under the length cap, only an empty question is refused
            return "Ask me a question about the news, e.g. `@newsbot who won the final?`"
        wait = self.cooldowns.wait_for(user.id, guild_id)
        return wait_message(wait) if wait else None

    # --- answering ---------------------------------------------------------------------------
    async def answer(self, reply: Reply, question: str, *, user: discord.abc.User,
                     channel: Any, conversation: Conversation | None = None,
                     filters: SearchFilters | None = None
                     ) -> tuple[Answer, discord.Message] | None:
        """Answer in place, in the conversation given (else a new one); None when nothing
        was answered (refused or failed, and said)."""
        guild_id = getattr(getattr(channel, "guild", None), "id", None)
        problem = self.check_question(question, user, guild_id)
        if problem:
            await reply.say(problem)
            return None
        try:
            await reply.begin()
            streamer = Streamer(reply) if self.app.streams else None
            done = asyncio.Event()
            showing = asyncio.create_task(streamer.run(done)) if streamer else None
            def work() -> tuple[Answer, Conversation, str]:
                # One trip to the worker pool: a second one would queue behind every
                # question asked meanwhile.
                answer, after = (conversation or Conversation()).ask(
                    self.app, question, filters=filters,
                    on_token=streamer.on_token if streamer else None)
                return answer, after, self.app.record_answer(answer, guild_id, channel.id)

            try:
                answer, after, answer_id = await asyncio.to_thread(work)
            finally:
                done.set()
                if showing:
                    await showing
            footer = f"{answer.answerer} · {answer.seconds:.1f} s · rate it below"
            sent = await reply.finish(answer_embeds(answer, footer), vote_view(answer_id))
        except Exception as exc:  # every failure is said, never silence
            await self.report(reply, exc)
            return None
        self.conversations.remember(sent.id, answer, after, channel.id)
        return answer, sent

    async def report(self, reply: Reply, exc: BaseException) -> None:
        if self.is_closed():  # shutting down: the answer in flight is cut short, not failed
            log.info("an answer was cut short by the shutdown")
            return
        error_id = secrets.token_hex(4)
        if isinstance(exc, NewsbotError):
            log.warning("error %s: %s", error_id, exc)
            text = f"⚠️ {error_text(exc)} (error {error_id})"
        else:
            log.error("error %s", error_id, exc_info=exc)
            text = f"⚠️ Something went wrong on my side (error {error_id}); it is in the log."
        try:
            await reply.say(text)
        except discord.HTTPException:
            log.exception("error %s: could not tell the user", error_id)

    async def on_command_error(self, interaction: discord.Interaction,
                               error: app_commands.AppCommandError) -> None:
        from bot.discord.replies import InteractionReply

        await self.report(InteractionReply(interaction), getattr(error, "original", error))

    # --- messages ----------------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or not self.allowed_here(message.channel):
            return
        replied = await self._conversation_of(message)
        in_thread = self.conversations.in_thread(message.channel.id)
        mentioned = self.user in message.mentions
        if replied is None and in_thread is None and not mentioned:
            return
        from bot.discord.replies import MessageReply

        question = _MENTION.sub("", message.content).strip()
        if not question and not mentioned:
            return  # a thread message whose text the bot may not read (no content intent)
        result = await self.answer(MessageReply(message), question, user=message.author,
                                   channel=message.channel,
                                   conversation=replied if replied is not None else in_thread)
        if result is None:
            return
        answer, sent = result
        if in_thread is not None:
            self.conversations.carry_on_thread(message.channel.id, sent.id)
        elif self.settings.discord.threads and isinstance(message.channel, discord.TextChannel):
            await self.open_thread(sent, answer)

    async def open_thread(self, sent: discord.Message, answer: Answer) -> None:
        if answer.declined:
            return
        try:
            thread = await sent.create_thread(name=clip(answer.question, THREAD_NAME_CHARS))
        except discord.HTTPException as exc:  # no permission: the answer stands alone
            log.info("no thread for message %s: %s", sent.id, exc)
            return
        self.conversations.open_thread(thread.id, [(answer.standalone_question, answer.text)])

    async def _conversation_of(self, message: discord.Message) -> Conversation | None:
        """The conversation a reply to an answer carries on; None for other messages."""
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        if self.conversations.knows(ref.message_id):
            return self.conversations.replying_to(ref.message_id)
        replied = ref.resolved
        if not isinstance(replied, discord.Message):
            try:
                replied = await message.channel.fetch_message(ref.message_id)
            except discord.HTTPException:
                return None
        if self.user is None or replied.author.id != self.user.id or not replied.embeds:
            return None
        embed = replied.embeds[0]  # an answer from before a restart: its question and text
        return Conversation.of([(embed.title or "", embed.description or "")])
