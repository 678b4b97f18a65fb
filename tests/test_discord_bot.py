"""The Discord bot end to end: real discord.py, the real app over the sample corpus, and
a local Discord-protocol server on 127.0.0.1 (standins/discord_server.py) standing in for
Discord. Assertions are on what the bot sent."""

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.discord.client import NewsbotClient
from bot.discord.cooldowns import Cooldowns
from bot.settings import BotSettings, bot_settings
from retrieval.app import NewsApp
from retrieval.feedback import FeedbackStore
from retrieval.index.embedding import HashEmbedder
from standins import discord_payloads as p
from standins.discord_payloads import member, snowflake, user
from standins.discord_server import ClientThread, FakeDiscord

READERS = 50  # extra members, for the load test


def sample_bot_app(tmp: Path) -> tuple[NewsApp, BotSettings, FeedbackStore]:
    """The app over the bundled sample corpus (hash embedder), with no cooldowns and a
    vote store, as the bot tests run it."""
    settings = bot_settings(index_dir=tmp / "index", decline_below=0.0,
                            discord_user_cooldown=0.0, discord_guild_per_minute=10_000,
                            discord_feedback_db=tmp / "feedback.sqlite")
    app = NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)
    app.index()  # the bundled sample corpus
    return app, settings, FeedbackStore(settings.answers.feedback_db)


@pytest.fixture(scope="module")
def discord_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    app, settings, feedback = sample_bot_app(tmp_path_factory.mktemp("discord"))
    server = FakeDiscord(heartbeat_interval=0.5)
    for i in range(READERS):
        server.world.members.append(member(user(snowflake(), f"reader{i}"), []))
    with server.running():
        client = NewsbotClient(app, settings, feedback, guild_ready_timeout=0.1)
        bot = ClientThread(client, server.token).start()
        yield server, client, feedback
        bot.stop()
    feedback.close()
    app.close()


def original_embeds(server: FakeDiscord, ref, timeout: float = 20.0) -> dict:
    """The final state of an interaction's answer (the edited @original)."""
    server.wait_until(lambda: ref.original is not None and any(
        m.embeds for m in server.messages_in(int(ref.payload["channel_id"]))
        if m.id == ref.original), timeout=timeout)
    message = next(m for m in server.messages_in(int(ref.payload["channel_id"]))
                   if m.id == ref.original)
    return {"embeds": message.embeds, "components": message.components,
            "allowed": message.allowed_mentions, "message": message}


def test_commands_are_synced_with_descriptions(discord_world) -> None:
    server, _, _ = discord_world
    put = server.requests("PUT", "/commands")[-1]
    names = {c["name"]: c for c in put.json}
    assert {"ask", "sources", "latest", "stats", "reindex", "Ask newsbot"} <= set(names)
    assert names["ask"]["description"] and names["ask"]["options"][0]["name"] == "question"
    assert any(o.get("autocomplete") for o in names["ask"]["options"] if o["name"] == "source")


def test_ask_is_deferred_then_answered_with_sources_and_votes(discord_world) -> None:
    server, _, feedback = discord_world
    ref = server.slash("ask", {"question": "Who scored the winning penalty in the World Cup "
                                           "final? @everyone"})
    server.wait_until(lambda: ref.acked is not None, timeout=3)
    assert ref.acked == 5  # deferred within Discord's three seconds
    got = original_embeds(server, ref)
    embed = got["embeds"][0]
    assert "[1]" in embed["description"]
    assert embed["fields"][0]["name"].startswith("[1] ")
    assert "Argentina" in " ".join(f["name"] for f in embed["fields"])
    assert got["allowed"] == {"parse": []}  # no mention can ping anyone
    buttons = [c["custom_id"] for row in got["components"] for c in row["components"]]
    assert len(buttons) == 2 and all(b.startswith("newsbot:vote:") for b in buttons)
    click = server.click(buttons[0], got["message"].id)
    server.wait_until(lambda: click.acked is not None, timeout=5)
    assert feedback.stats()["up"] >= 1


def test_sources_latest_and_stats(discord_world) -> None:
    server, _, _ = discord_world
    ask = server.slash("ask", {"question": "When did Queen Elizabeth die?"})
    original_embeds(server, ask)
    sources = server.slash("sources")
    server.wait_until(lambda: sources.acked is not None, timeout=5)
    reply = server.interaction_responses(sources.id)[0].json
    assert reply["data"]["flags"] & 64 and reply["data"]["embeds"][0]["fields"]
    for name, expected in (("latest", "Newest articles"), ("stats", "What newsbot has read")):
        ref = server.slash(name)
        assert original_embeds(server, ref)["embeds"][0]["title"] == expected


def test_reindex_is_refused_to_members_and_run_for_admins(discord_world) -> None:
    server, _, _ = discord_world
    refused = server.slash("reindex")
    server.wait_until(lambda: refused.acked is not None, timeout=5)
    answer = server.interaction_responses(refused.id)[0].json
    assert answer["data"]["flags"] & 64 and "Manage Server" in answer["data"]["content"]
    run = server.slash("reindex", user=server.admin_id)
    server.wait_until(lambda: any(
        "Index run finished" in (m.content or "") for m in server.messages_in(
            server.channel_id()) if m.id == run.original), timeout=30)
    # Meanwhile, and after, questions are answered.
    assert original_embeds(server, server.slash("ask", {"question": "Who won the Super "
                                                                    "Bowl?"}))["embeds"]


def test_a_mention_opens_a_thread_where_follow_ups_have_history(discord_world) -> None:
    server, client, _ = discord_world
    channel = server.channel_id()
    asked = server.message_create(f"<@{server.bot_id}> Which country joined NATO in 2023?",
                                  mentions_bot=True, channel_id=channel)
    answer = server.wait_for_message(channel, lambda m: m.message_reference is not None and
                                     m.message_reference.get("message_id") == asked["id"]
                                     and bool(m.embeds), timeout=20)
    assert answer.allowed_mentions == {"parse": []}
    server.wait_for(lambda r: r.method == "POST" and f"/messages/{answer.id}/threads" in r.path)
    thread_id = answer.id  # a thread started from a message has the message's id
    # As a member would, follow up once the thread is there (the bot has seen it open).
    server.wait_until(lambda: client.conversations.thread_history(thread_id) is not None)
    server.message_create(f"<@{server.bot_id}> and when was that?", mentions_bot=True,
                          channel_id=thread_id)
    server.wait_for_message(thread_id, lambda m: bool(m.embeds), timeout=20)
    server.wait_until(lambda: len(client.conversations.thread_history(thread_id) or []) == 2)
    history = client.conversations.thread_history(thread_id)
    assert "NATO" in history[1][0]  # the follow-up was made standalone from the thread


def test_a_reply_to_an_answer_is_a_follow_up(discord_world) -> None:
    server, client, _ = discord_world
    channel = server.channel_id("news")
    first = server.message_create(f"<@{server.bot_id}> Who won the World Cup final in Qatar?",
                                  mentions_bot=True, channel_id=channel)
    answer = server.wait_for_message(channel, lambda m: bool(m.embeds) and (
        m.message_reference or {}).get("message_id") == first["id"], timeout=20)
    server.wait_until(lambda: client.conversations.knows(answer.id))
    follow = server.message_create(f"<@{server.bot_id}> and who scored the winning penalty?",
                                   mentions_bot=True, channel_id=channel,
                                   reference=answer.id)
    second = server.wait_for_message(channel, lambda m: bool(m.embeds) and (
        m.message_reference or {}).get("message_id") == follow["id"], timeout=20)
    server.wait_until(lambda: client.conversations.knows(second.id))
    chain = client.conversations.chain(second.id)
    assert len(chain) == 2 and chain[0][0].startswith("Who won the World Cup")


def test_cooldown_and_long_questions_get_a_friendly_reply(discord_world) -> None:
    server, client, _ = discord_world
    old = client.cooldowns
    client.cooldowns = Cooldowns(user_seconds=60, guild_per_minute=1000)
    try:
        first = server.slash("ask", {"question": "What happened at the coronation?"})
        original_embeds(server, first)
        again = server.slash("ask", {"question": "And then?"})
        server.wait_until(lambda: again.acked is not None, timeout=5)
        reply = server.interaction_responses(again.id)[0].json["data"]
        assert reply["flags"] & 64 and "One moment" in reply["content"]
    finally:
        client.cooldowns = old
    long = server.slash("ask", {"question": "why " * 200})
    server.wait_until(lambda: long.acked is not None, timeout=5)
    assert "the limit is 500" in server.interaction_responses(long.id)[0].json["data"]["content"]


def test_an_error_is_a_message_with_the_id_of_its_log_line(discord_world, monkeypatch,
                                                           caplog) -> None:
    server, client, _ = discord_world

    def broken(*args, **kwargs):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(client.app, "answer", broken)
    with caplog.at_level(logging.ERROR, logger="newsbot.discord"):
        ref = server.slash("ask", {"question": "Will this work?"})
        server.wait_until(lambda: any("error" in (r.json or {}).get("content", "")
                                      for r in server.requests(path_contains=ref.token)),
                          timeout=10)
    said = next(r.json["content"] for r in server.requests(path_contains=ref.token)
                if "error" in (r.json or {}).get("content", ""))
    error_id = re.search(r"error ([0-9a-f]{8})", said).group(1)
    assert "Something went wrong" in said and error_id in caplog.text


def test_fifty_questions_at_once_are_all_answered_on_time(discord_world) -> None:
    server, _, _ = discord_world
    readers = [int(m["user"]["id"]) for m in server.world.members[-READERS:]]
    started = time.monotonic()
    refs = [server.slash("ask", {"question": f"Who won the World Cup final? ({i})"}, user=u)
            for i, u in enumerate(readers)]
    server.wait_until(lambda: all(r.acked == 5 for r in refs), timeout=10)
    for ref in refs:
        assert original_embeds(server, ref, timeout=120)["embeds"][0]["fields"]
    assert time.monotonic() - started < 120
    server.assert_heartbeats_on_time(slack=0.5)  # the event loop was never blocked


def test_the_message_menu_and_outlet_autocomplete(discord_world) -> None:
    server, _, _ = discord_world
    channel = server.channel_id("news")
    said = server.message_create("Who won the World Cup final in Qatar?", channel_id=channel)
    menu = server.interaction_create("Ask newsbot", command_type=3, target_id=int(said["id"]),
                                     channel_id=channel)
    assert "[1]" in original_embeds(server, menu)["embeds"][0]["description"]
    typed = server.interaction_create("ask", {"question": "x", "source": "touch"}, type=4,
                                      focused="source")
    server.wait_until(lambda: typed.choices is not None, timeout=5)
    assert [c["value"] for c in typed.choices] == ["Touchline Press"]


def test_an_llm_answer_streams_by_edits_about_once_a_second(discord_world, monkeypatch
                                                            ) -> None:
    server, client, _ = discord_world
    real_answer = client.app.answer

    def slow_llm(question, history=None, filters=None, today=None, on_token=None):
        for word in ["Argentina", "won", "the", "final", "on", "penalties"] * 3:
            on_token(word + " ")
            time.sleep(0.2)
        return real_answer(question, history=history, filters=filters, today=today)

    monkeypatch.setattr(type(client.app), "streams", property(lambda self: True))
    monkeypatch.setattr(client.app, "answer", slow_llm)
    ref = server.slash("ask", {"question": "Who won the World Cup final?"})
    got = original_embeds(server, ref)
    edits = [r for r in server.requests("PATCH", ref.token) if (r.json or {}).get("content")]
    assert len(edits) >= 2 and "Argentina" in edits[0].json["content"]
    gaps = [b.at - a.at for a, b in zip(edits, edits[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    assert got["embeds"][0]["description"]  # the streamed text gives way to the embed


def test_a_bad_date_is_a_plain_message_not_an_error(discord_world) -> None:
    server, _, _ = discord_world
    ref = server.slash("ask", {"question": "Who won?", "since": "last tuesday"})
    server.wait_until(lambda: any("not a date" in str(r.json) for r in server.requests(
        path_contains=ref.token)) or any("not a date" in str(r.json) for r in
                                         server.interaction_responses(ref.id)), timeout=10)
    said = " ".join(str(r.json) for r in server.requests(path_contains=ref.token))
    assert "Something went wrong" not in said


def test_a_refused_typing_indicator_does_not_spoil_the_answer(discord_world) -> None:
    server, _, _ = discord_world
    channel = server.channel_id("bot-log")
    server.fail_next("POST", f"/channels/{channel}/typing", 403, code=50013,
                     message="Missing Permissions")
    asked = server.message_create(f"<@{server.bot_id}> Who won the World Cup final in Qatar?",
                                  mentions_bot=True, channel_id=channel)
    answer = server.wait_for_message(channel, lambda m: bool(m.embeds) and (
        m.message_reference or {}).get("message_id") == asked["id"], timeout=20)
    assert [r.status for r in server.requests("POST", f"/channels/{channel}/typing")] == [403]
    embed = answer.embeds[0]
    assert "[1]" in embed["description"] and embed["fields"][0]["name"].startswith("[1] ")
    said = [m.content for m in server.messages_in(channel) if m.content]
    assert not any("Something went wrong" in text for text in said), said


def test_a_refused_thread_leaves_the_answer_standing(discord_world) -> None:
    server, _, _ = discord_world
    channel = server.channel_id("news")
    server.world.set_bot_permission(p.CREATE_PUBLIC_THREADS, False)
    try:
        asked = server.message_create(f"<@{server.bot_id}> Which country joined NATO in "
                                      "2023?", mentions_bot=True, channel_id=channel)
        answer = server.wait_for_message(channel, lambda m: bool(m.embeds) and (
            m.message_reference or {}).get("message_id") == asked["id"], timeout=20)
        slash = server.slash("ask", {"question": "When did Queen Elizabeth die?"},
                             channel_id=channel)
        embeds = original_embeds(server, slash)["embeds"]
        refused = server.wait_for(lambda r: r.method == "POST" and r.path.endswith(
            f"/messages/{slash.original}/threads"), timeout=10)
    finally:
        server.world.set_bot_permission(p.CREATE_PUBLIC_THREADS, True)
    thread_posts = server.requests("POST", f"/messages/{answer.id}/threads")
    assert [r.status for r in thread_posts] == [403] and refused.status == 403
    assert "[1]" in answer.embeds[0]["description"] and "[1]" in embeds[0]["description"]
    said = [m.content for m in server.messages_in(channel) if m.content]
    assert not any("Something went wrong" in text for text in said), said
