"""The fake Discord in discord_server.py, driven by real discord.py: login, gateway, slash
commands, components, context menus, replies, threads, errors, RESUME and heartbeats.

The bot runs on its own loop in a thread (ClientThread), the way it runs in production;
test_bot_in_the_test_loop shows the other arrangement. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import discord
import pytest
from discord import app_commands
from discord.http import Route

from standins.discord_payloads import EPHEMERAL, LOADING, MANAGE_GUILD
from standins.discord_server import ClientThread, FakeDiscord


class ToyBot(discord.Client):
    """Default intents (no privileged ones): message content only when mentioned."""

    def __init__(self) -> None:
        # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE
        # before on_ready (2 s by default).
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.seen: list[discord.Message] = []
        self.errors: list[BaseException] = []
        self.answered: list[int] = []  # interactions whose response (and view) are done
        self.slow_seconds = 0.0

        @self.tree.command(description="Check the bot answers")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            await interaction.followup.send("pong")

        @self.tree.command(description="Ask about the news")
        async def ask(interaction: discord.Interaction, query: str) -> None:
            view = discord.ui.View()
            view.add_item(More(query))
            await interaction.response.send_message(f"asked {query}", view=view)
            self.answered.append(interaction.id)

        @ask.autocomplete("query")
        async def ask_choices(interaction: discord.Interaction, current: str
                              ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f"{current} news", value=current)]

        @self.tree.command(description="Answers after a while")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(self.slow_seconds)
            await interaction.response.send_message("late")

        @self.tree.context_menu(name="Cite")
        async def cite(interaction: discord.Interaction, message: discord.Message) -> None:
            await interaction.response.send_message(f"cited: {message.content}", ephemeral=True)

        @self.tree.error
        async def on_tree_error(interaction: discord.Interaction,
                                error: app_commands.AppCommandError) -> None:
            self.errors.append(getattr(error, "original", error))

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:  # Discord echoes the bot's own messages back
            return
        self.seen.append(message)
        if self.user in message.mentions:
            await message.reply("on it", mention_author=False)


class More(discord.ui.Button[discord.ui.View]):
    def __init__(self, query: str) -> None:
        super().__init__(label="More", custom_id="more")
        self.query = query

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(content=f"more about {self.query}", view=None)


def callback_of(server: FakeDiscord, ref_id: int, timeout: float = 3.0) -> dict:
    rec = server.wait_for(lambda r: r.path.startswith(f"/interactions/{ref_id}/"), timeout)
    return rec.json


@pytest.fixture(scope="class")
def env() -> Iterator[tuple[FakeDiscord, ClientThread]]:
    """One server and one logged-in bot for the whole class (login is the slow part)."""
    with FakeDiscord(heartbeat_interval=0.5).running() as server:
        bot = ClientThread(ToyBot(), server.token).start()
        try:
            yield server, bot
        finally:
            bot.stop()


class TestAgainstDiscordPy:

    def test_login_and_gateway_handshake(self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, bot = env
        me = server.requests("GET", "/users/@me")[0]
        assert me.headers["Authorization"] == f"Bot {server.token}"
        query = server.gateway_queries[0]
        assert query["v"] == "10" and query["encoding"] == "json"
        assert query["compress"] in ("zstd-stream", "zlib-stream")  # both are implemented
        assert server.identifies[0]["intents"] == discord.Intents.default().value
        client = bot.client
        assert client.user is not None and client.user.id == server.bot_id
        assert client.application_id == server.app_id
        guild = client.get_guild(server.guild_id)
        assert guild is not None and guild.get_channel(server.channel_id("news")) is not None
        editors = discord.utils.get(guild.roles, name="Editors")
        assert editors is not None and editors.permissions.value == MANAGE_GUILD

    def test_sync_registers_commands(self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, bot = env
        synced = bot.call(bot.client.tree.sync())
        put = server.requests("PUT", f"/applications/{server.app_id}/commands")[-1]
        assert {c["name"] for c in put.json} == {"ping", "ask", "slow", "Cite"}
        assert put.status == 200
        assert {c.id for c in synced} == {int(c["id"]) for c in server.commands[None]}

    def test_slash_command_defers_then_follows_up(self, env: tuple[FakeDiscord, ClientThread]
                                                  ) -> None:
        server, _ = env
        ref = server.slash("ping")
        callback = server.wait_for(lambda r: r.path.startswith(f"/interactions/{ref.id}/"), 3)
        assert callback.json["type"] == 5 and callback.at - ref.created < 3
        followup = server.wait_for(
            lambda r: r.method == "POST" and r.path == f"/webhooks/{server.app_id}/{ref.token}")
        assert followup.json["content"] == "pong"
        # The first followup after a deferral fills in the "thinking..." message.
        message = server.last_message(server.channel_id())
        assert message is not None and message.id == ref.original
        assert message.content == "pong" and not message.flags & LOADING
        assert [r.status for r in server.interaction_responses(ref.id)] == [200, 200]

    def test_mention_gets_a_reply(self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, _ = env
        news = server.channel_id("news")
        sent = server.message_create("what is new?", mentions_bot=True, channel_id=news)
        post = server.wait_for(lambda r: r.method == "POST"
                               and r.path == f"/channels/{news}/messages")
        assert str(post.json["message_reference"]["message_id"]) == sent["id"]
        reply = server.last_message(news)
        assert reply is not None and reply.content == "on it"
        assert reply.message_reference and reply.message_reference["message_id"] == sent["id"]
        assert reply.allowed_mentions is not None
        assert reply.allowed_mentions["replied_user"] is False
        time.sleep(0.2)  # the echo of its own reply must not make it answer again
        assert len(server.requests("POST", f"/channels/{news}/messages")) == 1

    def test_content_is_blank_without_the_intent(self, env: tuple[FakeDiscord, ClientThread]
                                                 ) -> None:
        server, bot = env
        sent = server.message_create("not for the bot", channel_id=server.channel_id("bot-log"))
        server.wait_until(lambda: any(str(m.id) == sent["id"] for m in bot.client.seen))
        seen = next(m for m in bot.client.seen if str(m.id) == sent["id"])
        assert seen.content == ""  # Discord blanks it: message_content is privileged

    def test_autocomplete_component_and_context_menu(
            self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, bot = env
        general = server.channel_id()
        typed = server.interaction_create("ask", {"query": "rat"}, type=4, focused="query")
        assert callback_of(server, typed.id)["type"] == 8
        assert server.interactions[typed.id].choices == [{"name": "rat news", "value": "rat"}]

        asked = server.slash("ask", {"query": "rates"})
        assert callback_of(server, asked.id)["type"] == 4
        answer = server.wait_for_message(general, lambda m: m.content == "asked rates")
        assert answer.components[0]["components"][0]["custom_id"] == "more"
        # discord.py only routes clicks to the view once send_message has returned; a
        # person is never that fast, a test is.
        server.wait_until(lambda: asked.id in bot.client.answered)

        click = server.click("more", answer.id)
        assert callback_of(server, click.id)["type"] == 7
        server.wait_until(lambda: answer.content == "more about rates")
        assert answer.components == []

        target = server.message_create("Rates rose today.", channel_id=general)
        cite = server.interaction_create("Cite", command_type=3, target_id=int(target["id"]))
        data = callback_of(server, cite.id)
        assert data["type"] == 4 and data["data"]["flags"] & EPHEMERAL
        cited = server.wait_for_message(general, lambda m: m.interaction_id == cite.id)
        assert cited.ephemeral and cited.content == "cited: Rates rose today."

    def test_too_late_for_the_first_response(self, env: tuple[FakeDiscord, ClientThread]
                                             ) -> None:
        server, bot = env
        server.interaction_deadline, bot.client.slow_seconds = 0.2, 0.4
        try:
            ref = server.slash("slow")
            rec = server.wait_for(lambda r: r.path.startswith(f"/interactions/{ref.id}/"))
            assert rec.status == 404 and rec.response["code"] == 10062
            server.wait_until(lambda: bool(bot.client.errors))
            assert isinstance(bot.client.errors[-1], discord.NotFound)
        finally:
            server.interaction_deadline = 3.0

    def test_threads_and_fetching_messages(self, env: tuple[FakeDiscord, ClientThread]
                                           ) -> None:
        server, bot = env
        general = server.channel_id()
        sent = server.message_create("Budget vote tonight", mentions_bot=True)

        async def start_thread() -> tuple[int, str]:
            channel = bot.client.get_channel(general)
            assert isinstance(channel, discord.TextChannel)
            message = await channel.fetch_message(int(sent["id"]))
            thread = await message.create_thread(name="Budget")
            await thread.send("details here")
            return thread.id, message.content

        thread_id, content = bot.call(start_thread())
        assert thread_id == int(sent["id"])  # a thread started from a message has its id
        assert content.endswith("Budget vote tonight")
        assert isinstance(bot.client.get_channel(thread_id), discord.Thread)  # THREAD_CREATE
        in_thread = server.last_message(thread_id)
        assert in_thread is not None and in_thread.content == "details here"

    def test_errors_look_like_discord(self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, bot = env
        channel = bot.client.get_channel(server.channel_id("bot-log"))
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as too_long:
            bot.call(channel.send("x" * 2001))
        assert too_long.value.code == 50035 and "content" in str(too_long.value)
        audit = Route("GET", "/guilds/{guild_id}/audit-logs", guild_id=server.guild_id)
        with pytest.raises(discord.NotFound):
            bot.call(bot.client.http.request(audit))
        assert server.requests("GET", "/audit-logs")[0].status == 404

        server.fail_next("POST", f"/channels/{channel.id}/messages", 429, retry_after=0.05)
        bot.call(channel.send("after the rate limit"))
        statuses = [r.status for r in server.requests("POST", f"/channels/{channel.id}/")]
        assert statuses[-2:] == [429, 200]

    def test_resume_after_a_dropped_connection(self, env: tuple[FakeDiscord, ClientThread]
                                               ) -> None:
        server, _ = env
        server.drop_connection(4000)
        server.wait_until(lambda: any(op["op"] == 6 for op in server.gateway_received))
        assert len(server.identifies) == 1  # resumed, not re-identified
        bot_log = server.channel_id("bot-log")
        server.message_create("still there?", mentions_bot=True, channel_id=bot_log)
        server.wait_for_message(bot_log, lambda m: m.content == "on it")

    def test_heartbeats_on_time(self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, _ = env
        time.sleep(1.6)
        server.assert_heartbeats_on_time(slack=0.3)
        assert sum(len(b) for b in server.heartbeat_times()) >= 4

    def test_a_blocked_loop_shows_as_a_late_heartbeat(
            self, env: tuple[FakeDiscord, ClientThread]) -> None:
        server, bot = env
        assert bot.loop is not None
        bot.loop.call_soon_threadsafe(time.sleep, 1.0)  # what sync work in a handler does
        time.sleep(1.1)
        with pytest.raises(AssertionError, match="heartbeats late"):
            server.assert_heartbeats_on_time(slack=0.3)


def test_bot_in_the_test_loop() -> None:
    """The bot on the test's own loop: use the async waiters, which never block it."""

    async def main() -> None:
        with FakeDiscord(heartbeat_interval=0.5).running() as server:
            client = ToyBot()
            async with client:
                running = asyncio.create_task(client.start(server.token))
                await asyncio.wait_for(client.wait_until_ready(), 10)
                server.message_create("hello", mentions_bot=True)
                rec = await server.await_for(lambda r: r.path.endswith("/messages"))
                assert rec.json["content"] == "on it"
                await asyncio.sleep(1.1)
                server.assert_heartbeats_on_time(slack=0.3)
                await client.close()
                await running

    asyncio.run(main())
