"""The bot as several sharded processes against one index (NEWSBOT_DISCORD_SHARD_ID /
_COUNT): each shard identifies with its [id, count], the local Discord routes a server's
events to the shard that owns it as Discord does, questions are answered once, and the
once-per-bot work (command sync, the watch loop and its headlines) is done by shard 0
alone, even when shard 0 does not hold the news channel's server."""

import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import story, write_article
from test_discord_cli import read_lines, start_bot

from bot.cli import cli
from bot.discord.client import NewsbotClient
from bot.settings import bot_settings
from retrieval.app import NewsApp
from retrieval.errors import SettingsError
from retrieval.feedback import FeedbackStore
from retrieval.index.embedding import HashEmbedder
from standins.discord_payloads import World
from standins.discord_server import ClientThread, FakeDiscord


def world_on_shard(shard: int, count: int = 2) -> World:
    """A world whose one server belongs to `shard` ((guild_id >> 22) % count)."""
    world = World()
    while (world.guild_id >> 22) % count != shard:
        time.sleep(0.001)  # the next millisecond gives the next snowflake timestamp
        world = World()
    return world


def answered_once(server: FakeDiscord, question: str) -> dict:
    ref = server.slash("ask", {"question": question})
    server.wait_until(lambda: ref.acked == 5, timeout=10)
    server.wait_until(lambda: any(m.embeds for m in server.messages_in(server.channel_id())
                                  if m.id == ref.original), timeout=30)
    time.sleep(0.3)  # a second shard answering too would have acked by now
    callbacks = [r for r in server.interaction_responses(ref.id) if r.path.endswith("/callback")]
    assert len(callbacks) == 1
    return next(m for m in server.messages_in(server.channel_id()) if m.id == ref.original
                ).embeds[0]


def test_two_shards_in_one_process_split_the_work(tmp_path: Path) -> None:
    corpus = tmp_path / "news"
    write_article(corpus, "first.md", "Harbour reopens after the storm", story("harbour"))
    server = FakeDiscord(world_on_shard(1), heartbeat_interval=0.5)
    news = server.channel_id("news")
    base = bot_settings(corpus_dir=corpus, decline_below=0.0, discord_watch=True,
                        discord_news_channel=news, watch_debounce_s=0.3,
                        discord_user_cooldown=0.0, discord_shard_count=2, discord_shard_id=0)
    app = NewsApp.open(base, embedder=HashEmbedder(), chat_model=None, create=True)
    feedback = FeedbackStore(base.answers.feedback_db)
    bots = []
    with server.running():
        try:
            for shard in (0, 1):
                settings = base.replace(discord_shard_id=shard)
                client = NewsbotClient(app, settings, feedback, guild_ready_timeout=0.1)
                bots.append(ClientThread(client, server.token).start())
            zero, one = (b.client for b in bots)
            assert sorted(tuple(i["shard"]) for i in server.identifies) == [(0, 2), (1, 2)]
            assert (zero.shard_id, zero.shard_count, one.shard_id) == (0, 2, 1)
            assert not zero.guilds and [g.id for g in one.guilds] == [server.guild_id]
            # Shard 0 alone: the commands synced once, the watch loop, the headline posted
            # once although the news channel's server is shard 1's.
            assert len(server.requests("PUT", "/commands")) == 1
            assert zero.watcher is not None and one.watcher is None
            server.wait_for_message(news, lambda m: "Harbour reopens" in str(m.embeds),
                                    timeout=20)
            write_article(corpus, "second.md", "Tram line opens downtown", story("trams"))
            server.wait_for_message(news, lambda m: "Tram line opens" in str(m.embeds),
                                    timeout=20)
            time.sleep(1.0)  # time for a second poster to show itself
            headlines = [m for m in server.messages_in(news) if m.embeds]
            assert len(headlines) == 2, [m.embeds[0]["description"] for m in headlines]
            # A question goes to shard 1, which owns the server, and is answered once.
            embed = answered_once(server, "Which tram line opened downtown?")
            assert "[1]" in embed["description"]
        finally:
            for bot in bots:
                bot.stop()
    feedback.close()
    app.close()


def test_two_shard_processes_against_one_index(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0  # the sample corpus
    with FakeDiscord(heartbeat_interval=0.5).running() as server:
        bots = [start_bot(tmp_path, server, server.token,
                          {"NEWSBOT_DISCORD_SHARD_ID": str(i), "NEWSBOT_DISCORD_SHARD_COUNT": "2",
                           "NEWSBOT_DISCORD_FEEDBACK_DB": str(tmp_path / f"feedback{i}.sqlite")})
                for i in (0, 1)]
        outputs = [read_lines(bot) for bot in bots]
        try:
            for i, (bot, lines) in enumerate(zip(bots, outputs, strict=True)):
                deadline = time.monotonic() + 60
                while not any(f"(shard {i} of 2); in servers:" in line for line in lines):
                    assert bot.poll() is None and time.monotonic() < deadline, "".join(lines)
                    time.sleep(0.1)
            assert sorted(tuple(i["shard"]) for i in server.identifies) == [(0, 2), (1, 2)]
            server.wait_until(lambda: len(server.requests("PUT", "/commands")) == 1, timeout=10)
            embed = answered_once(server, "Who won the World Cup final in Qatar?")
            assert "[1]" in embed["description"]
            assert len(server.requests("PUT", "/commands")) == 1
        finally:
            for bot in bots:
                bot.send_signal(signal.SIGTERM)
            for bot in bots:
                bot.wait(timeout=30)
        time.sleep(0.2)
        for bot, lines in zip(bots, outputs, strict=True):
            assert bot.returncode == 0 and "Traceback" not in "".join(lines), "".join(lines)


@pytest.mark.parametrize(("env", "expected"), [
    ({"NEWSBOT_DISCORD_SHARD_ID": "0"}, "sharding needs both NEWSBOT_DISCORD_SHARD_ID and "
     "NEWSBOT_DISCORD_SHARD_COUNT: NEWSBOT_DISCORD_SHARD_ID is set but "
     "NEWSBOT_DISCORD_SHARD_COUNT is not"),
    ({"NEWSBOT_DISCORD_SHARD_COUNT": "2"}, "sharding needs both NEWSBOT_DISCORD_SHARD_ID and "
     "NEWSBOT_DISCORD_SHARD_COUNT: NEWSBOT_DISCORD_SHARD_COUNT is set but "
     "NEWSBOT_DISCORD_SHARD_ID is not"),
    ({"NEWSBOT_DISCORD_SHARD_ID": "2", "NEWSBOT_DISCORD_SHARD_COUNT": "2"},
     "NEWSBOT_DISCORD_SHARD_ID='2' is not accepted: it should be less than "
     "NEWSBOT_DISCORD_SHARD_COUNT=2 (ids run from 0)"),
    ({"NEWSBOT_DISCORD_SHARD_ID": "-1", "NEWSBOT_DISCORD_SHARD_COUNT": "2"},
     "NEWSBOT_DISCORD_SHARD_ID='-1' is not accepted: it should be greater than or equal to 0"),
    ({"NEWSBOT_DISCORD_SHARD_ID": "0", "NEWSBOT_DISCORD_SHARD_COUNT": "0"},
     "NEWSBOT_DISCORD_SHARD_COUNT='0' is not accepted: it should be greater than or equal to 1"),
])
def test_shard_settings_are_both_or_neither_and_in_range(monkeypatch, env, expected) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        bot_settings()
    assert str(caught.value) == expected


def test_the_cli_says_a_shard_setting_error_in_one_line(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("NEWSBOT_DISCORD_SHARD_ID", "1")
    result = CliRunner().invoke(cli, ["discord"])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "NEWSBOT_DISCORD_SHARD_COUNT is not" in lines[0], result.output


def test_unsharded_by_default() -> None:
    settings = bot_settings()
    assert (settings.discord.shard_id, settings.discord.shard_count) == (None, None)
