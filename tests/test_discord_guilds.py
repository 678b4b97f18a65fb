"""NEWSBOT_DISCORD_GUILDS: the bot answers only in the servers listed, leaves every other
one (those it is in at start, and any it is invited to later), logs each it leaves once,
and says at start where it is and where it answers. Against the Discord stand-in
(standins/discord_server.py) with several servers, sharded or not."""

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_discord_bot import sample_bot_app
from test_discord_shards import world_on_shard

from bot.cli import cli
from bot.discord.client import NewsbotClient
from bot.settings import BotSettings, bot_settings
from retrieval.app import NewsApp
from retrieval.feedback import FeedbackStore
from standins.discord_payloads import World
from standins.discord_server import ClientThread, FakeDiscord

QUESTION = "Who won the World Cup final in Qatar?"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NewsApp, BotSettings,
                                                                         FeedbackStore]]:
    app, settings, feedback = sample_bot_app(tmp_path_factory.mktemp("guilds"))
    yield app, settings, feedback
    feedback.close()
    app.close()


def start(indexed: tuple, server: FakeDiscord, **changes: object) -> ClientThread:
    app, settings, feedback = indexed
    client = NewsbotClient(app, settings.replace(**changes), feedback,
                           guild_ready_timeout=0.1)
    return ClientThread(client, server.token).start()


def answered(server: FakeDiscord, channel: int, question: str = QUESTION) -> dict:
    asked = server.message_create(question, mentions_bot=True, channel_id=channel)
    return server.wait_for_message(channel, lambda m: bool(m.embeds) and (
        m.message_reference or {}).get("message_id") == asked["id"], timeout=20).embeds[0]


def left(server: FakeDiscord, world: World) -> None:
    """Wait until the bot has left `world` (its DELETE answered 204)."""
    server.wait_for(lambda r: r.method == "DELETE" and r.status == 204
                    and r.path == f"/users/@me/guilds/{world.guild_id}", timeout=10)


def test_unlisted_servers_are_left_at_start_and_when_invited(indexed, caplog) -> None:
    server = FakeDiscord(heartbeat_interval=0.5)
    strangers = server.add_guild("Strangers")  # the bot is in it from the first READY
    with server.running(), caplog.at_level(logging.INFO, logger="newsbot.discord"):
        bot = start(indexed, server, discord_guilds=[server.guild_id])
        try:
            left(server, strangers)
            crashers = server.add_guild("Gatecrashers")  # invited by someone, later
            left(server, crashers)
            server.wait_until(lambda: [g.id for g in bot.client.guilds] == [server.guild_id])
            assert "[1]" in answered(server, server.channel_id())["description"]
        finally:
            bot.stop()
    assert server.joined == [server.guild_id]
    said = [r.getMessage() for r in caplog.records]
    start_line = next(line for line in said if line.startswith("logged in as"))
    assert start_line.endswith(f"in servers: Newsroom ({server.guild_id}), Strangers "
                               f"({strangers.guild_id}); answering only in: Newsroom "
                               f"({server.guild_id})")
    for world in (strangers, crashers):
        assert said.count(f"leaving server {world.guild_name} ({world.guild_id}): it is not "
                          "in NEWSBOT_DISCORD_GUILDS") == 1, said


def test_an_unlisted_server_gets_no_answer_even_while_the_bot_is_there(indexed,
                                                                      caplog) -> None:
    server = FakeDiscord(heartbeat_interval=0.5)
    strangers = server.add_guild("Strangers")
    # The leave fails once (Discord in trouble): the bot stays in the server meanwhile.
    server.fail_next("DELETE", f"/users/@me/guilds/{strangers.guild_id}", 503)
    elsewhere = strangers.channel_id("general")
    with server.running(), caplog.at_level(logging.INFO, logger="newsbot.discord"):
        bot = start(indexed, server, discord_guilds=[server.guild_id])
        try:
            server.wait_for(lambda r: r.method == "DELETE" and r.status == 503, timeout=10)
            assert strangers.guild_id in [g.id for g in bot.client.guilds]
            server.message_create(QUESTION, mentions_bot=True, channel_id=elsewhere)
            refs = [server.slash("ask", {"question": QUESTION}, channel_id=elsewhere),
                    server.interaction_create("ask", {"question": "x", "source": "t"},
                                              type=4, focused="source", channel_id=elsewhere)]
            # The same question in the listed server is answered: everything sent before it
            # has been seen by then.
            assert "[1]" in answered(server, server.channel_id())["description"]
            time.sleep(0.3)  # an answer in the other server would have begun by now
        finally:
            bot.stop()
    assert server.messages_in(elsewhere) == []
    assert server.requests(path_contains=f"/channels/{elsewhere}/") == []  # no typing either
    assert all(server.interaction_responses(ref.id) == [] for ref in refs)
    said = [r.getMessage() for r in caplog.records]
    assert sum(line.startswith("leaving server Strangers") for line in said) == 1
    assert sum(line.startswith("could not leave server Strangers") for line in said) == 1


def test_each_shard_leaves_only_its_own_unlisted_servers(indexed, caplog) -> None:
    server = FakeDiscord(world_on_shard(0), heartbeat_interval=0.5)
    strangers = World(guild_name="Strangers", same_bot_as=server.world)
    while (strangers.guild_id >> 22) % 2 != 1:  # a server of shard 1
        time.sleep(0.001)
        strangers = World(guild_name="Strangers", same_bot_as=server.world)
    server.add_guild(strangers)
    with server.running(), caplog.at_level(logging.INFO, logger="newsbot.discord"):
        bots = [start(indexed, server, discord_guilds=[server.guild_id],
                      discord_shard_count=2, discord_shard_id=shard) for shard in (0, 1)]
        try:
            left(server, strangers)
            zero, one = (b.client for b in bots)
            assert (zero.servers.left, one.servers.left) == (set(), {strangers.guild_id})
            server.wait_until(lambda: not one.guilds)  # its GUILD_DELETE has come
            assert [g.id for g in zero.guilds] == [server.guild_id]
            assert "[1]" in answered(server, server.channel_id())["description"]
        finally:
            for bot in bots:
                bot.stop()
    starts = sorted(r.getMessage() for r in caplog.records
                    if r.getMessage().startswith("logged in as"))
    assert starts[0].endswith(f"(shard 0 of 2); in servers: Newsroom ({server.guild_id}); "
                              f"answering only in: Newsroom ({server.guild_id})")
    assert starts[1].endswith(f"(shard 1 of 2); in servers: Strangers ({strangers.guild_id})"
                              "; answering only in: none on this shard")


def test_the_list_is_read_like_the_other_id_lists(monkeypatch) -> None:
    monkeypatch.setenv("NEWSBOT_DISCORD_GUILDS", " 123456789012345678, 223456789012345678")
    assert bot_settings().discord.guilds == [123456789012345678, 223456789012345678]
    monkeypatch.setenv("NEWSBOT_DISCORD_GUILDS", "")
    assert bot_settings().discord.guilds == []


def test_a_guild_off_the_list_is_one_line(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("NEWSBOT_DISCORD_GUILDS", "1")
    result = CliRunner().invoke(cli, ["discord", "--guild", "2"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: --guild / NEWSBOT_DISCORD_GUILD 2 is not in NEWSBOT_DISCORD_GUILDS: add it "
        "there, or the bot would leave it"]
