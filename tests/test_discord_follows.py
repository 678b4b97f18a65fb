"""Follows in Discord end to end: the real bot (discord.py, its watch loop polling real
feeds on the loopback feed server) against the local Discord-protocol stand-in. An admin
follows a topic; a story on it brought by a feed fetch is posted as an embed within 60 s,
with a button that asks about it in a thread; its copy from another outlet adds no post;
a member's /follow is refused; a 429 on a post is retried and the notice is not lost;
/unfollow stops the posts; nothing ever pings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FERRY, story, write_article
from feed_server import Canned, FeedServer, page, rss

import bot.discord.notices as notices
import corpus.feeds.download as download
from bot.discord.client import NewsbotClient
from bot.settings import bot_settings
from corpus.feeds import FeedStore, add_feed
from retrieval.app import NewsApp
from retrieval.feedback import FeedbackStore
from retrieval.index.embedding import HashEmbedder
from standins.discord_server import ClientThread, FakeDiscord, StoredMessage

TOPIC = "river ferry strike"
FERRY_DEAL = ("The river ferry strike ended on Sunday night when the crews' union accepted "
              "a deal on night shifts, and the first ferries left the northern pier at six "
              "on Monday morning. The ferry operator agreed to hire forty more crew and to "
              "end split shifts by the summer. Commuters said the ferries were fuller than "
              "usual after a week of queueing for buses, and the city closed the extra bus "
              "lane on the old bridge, which it had opened on the first day of the strike.")
FERRY_FARES = ("River ferry fares will rise by a fifth from June to pay for the deal that "
               "ended the ferry strike, the operator said on Wednesday. The union called "
               "the rise unfair to the commuters who waited for buses through the strike, "
               "and the council asked the ferry operator to keep the cheaper early-morning "
               "ticket for shift workers. The northern river ferries lost money during the "
               "week the crews stayed out, and the operator said the fares of the night "
               "ferries would not change until the end of the year.")
ORCHARD = ("Apple growers in the southern valley began the harvest two weeks early after a "
           "warm spring, and the orchards hired twice as many pickers as last year. The "
           "growers' cooperative said the fruit was smaller but sweeter, and that prices at "
           "the market would fall once the cold stores fill, while the valley's tourist "
           "office reported more visitors than in any autumn since it opened its doors.")
PUBLISHED = "Thu, 09 May 2024 08:00:00 GMT"


class Feeds:
    """Two outlets' feeds on the loopback feed server; each publish is a new version."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: dict[str, list[dict[str, str]]] = {"gazette": [], "wire": []}
        for name in self.items:
            self._serve(name)

    def _serve(self, name: str) -> None:
        self.server.routes[f"/{name}.xml"] = Canned(
            rss(self.items[name], title=name.title()), content_type="application/rss+xml",
            etag=f'"{len(self.items[name])}"')

    def publish(self, name: str, slug: str, title: str, text: str) -> None:
        outlet = {"gazette": "Harbour Gazette", "wire": "Valley Wire"}[name]
        self.server.routes[f"/{slug}"] = Canned(page(title, *text.split(". "), site=outlet,
                                                     date="2024-05-09T08:00:00Z"))
        self.items[name].append({"title": title, "link": self.server.url(f"/{slug}"),
                                 "guid": slug, "pubDate": PUBLISHED})
        self._serve(name)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    monkeypatch.setattr(notices, "CHECK_EVERY_S", 0.3)  # not 5 s: the test waits less
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.01,))
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    corpus = tmp_path / "news"
    write_article(corpus, "parks.md", "Parks reopen after the storm", story("parks"))
    settings = bot_settings(corpus_dir=corpus, decline_below=0.0, discord_watch=True,
                            watch_debounce_s=0.3, watch_poll_minutes=0.01,
                            fetch_timeout=2, discord_user_cooldown=0.0,
                            discord_feedback_db=tmp_path / "feedback.sqlite")
    app = NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)
    feedback = FeedbackStore(settings.answers.feedback_db)
    discord = FakeDiscord(heartbeat_interval=0.5)
    with FeedServer() as server, discord.running():
        feeds = Feeds(server)
        with FeedStore(settings.feeds.db) as store:
            add_feed(store, server.url("/gazette.xml"), "Gazette")
            add_feed(store, server.url("/wire.xml"), "Wire")
        bot = ClientThread(NewsbotClient(app, settings, feedback, guild_ready_timeout=0.1),
                           discord.token).start()
        try:
            yield discord, feeds, app
        finally:
            bot.stop()
    feedback.close()
    app.close()


def reply_text(server: FakeDiscord, ref) -> str:
    server.wait_until(lambda: bool(server.interaction_responses(ref.id)), timeout=10)
    data = server.interaction_responses(ref.id)[0].json["data"]
    return data.get("content") or str(data.get("embeds"))


def notices_in(server: FakeDiscord, channel: int) -> list[StoredMessage]:
    return [m for m in server.messages_in(channel) if m.embeds
            and m.embeds[0].get("footer", {}).get("text", "").startswith("Following:")]


def indexed(app: NewsApp, *titles: str) -> bool:
    rows = app.index_store.db.rows("SELECT title FROM articles")
    return set(titles) <= {r[0] for r in rows}


def settle(server: FakeDiscord) -> None:
    """Long enough for several rounds of the posting loop."""
    time.sleep(8 * notices.CHECK_EVERY_S + notices.POST_GAP_S)


def test_a_followed_story_is_posted_once_within_a_minute(world) -> None:
    server, feeds, app = world
    channel = server.channel_id()
    refused = server.slash("follow", {"topic": TOPIC})  # a member, not an admin
    assert "Manage Server" in reply_text(server, refused)
    assert app.follows.listed(None) == []
    followed = server.slash("follow", {"topic": TOPIC}, user=server.admin_id)
    assert f"Following **{TOPIC}**" in reply_text(server, followed)
    listed = server.slash("follows")
    assert TOPIC in reply_text(server, listed)

    published = time.monotonic()
    feeds.publish("gazette", "ferry", "Ferry strike strands river commuters", FERRY)
    first = server.wait_for_message(channel, lambda m: bool(notices_in(server, channel)),
                                    timeout=60)
    assert time.monotonic() - published < 60
    embed = first.embeds[0]
    assert embed["title"] == "Ferry strike strands river commuters"
    assert embed["url"] == feeds.server.url("/ferry")
    assert {f["name"]: f["value"] for f in embed["fields"]}["Outlet"] == "Harbour Gazette"
    assert "ferry" in embed["description"].lower()
    buttons = [c["custom_id"] for row in first.components for c in row["components"]]
    assert len(buttons) == 1 and buttons[0].startswith("newsbot:story:")
    # "Ask about this" opens a thread on the post (the thread has the post's id) and
    # answers there.
    asked = server.click(buttons[0], first.id)
    server.wait_for(lambda r: r.method == "POST" and f"/messages/{first.id}/threads" in r.path,
                    timeout=10)
    server.wait_for_message(first.id, lambda m: bool(m.embeds), timeout=60)
    assert "Asking in" in reply_text(server, asked)

    # The same story from another outlet, and an unrelated one: no second post.
    feeds.publish("wire", "ferry-copy", "River ferries stop as crews strike",
                  "Commuters were stranded on Thursday. " + FERRY)
    feeds.publish("wire", "orchard", "Early apple harvest in the valley", ORCHARD)
    server.wait_until(lambda: indexed(app, "River ferries stop as crews strike",
                                      "Early apple harvest in the valley"), timeout=60)
    settle(server)
    assert len(notices_in(server, channel)) == 1
    checked = app.follows.check(TOPIC, 30)  # the copy joined the story, named as a copy
    assert [(n.title, n.also_in) for n in checked] == [
        ("Ferry strike strands river commuters", ["Valley Wire"])]

    # A 429 on the next post: retried by discord.py, then by the loop once discord.py
    # gives up (it tries five times); the notice is posted, once.
    server.fail_next("POST", f"/channels/{channel}/messages", 429, retry_after=0.05, times=6)
    deal = "River ferry strike ends with a deal on shifts"
    feeds.publish("wire", "ferry-deal", deal, FERRY_DEAL)
    server.wait_until(lambda: len(notices_in(server, channel)) == 2, timeout=60)
    limited = [r for r in server.requests("POST", f"/channels/{channel}/messages")
               if r.status == 429]
    assert len(limited) == 6
    settle(server)
    assert [m.embeds[0]["title"] for m in notices_in(server, channel)] == [
        "Ferry strike strands river commuters", deal]
    assert app.follows.pending() == [] and app.follows.pending(None, "discord:") == []

    # /unfollow: a later story on the topic is indexed and not posted.
    refused = server.slash("unfollow", {"topic": TOPIC})
    assert "Manage Server" in reply_text(server, refused)
    stopped = server.slash("unfollow", {"topic": TOPIC}, user=server.admin_id)
    assert "No longer following" in reply_text(server, stopped)
    feeds.publish("gazette", "ferry-fares", "River ferry fares to rise after the strike",
                  FERRY_FARES)
    server.wait_until(lambda: indexed(app, "River ferry fares to rise after the strike"),
                      timeout=60)
    settle(server)
    assert len(notices_in(server, channel)) == 2
    fares = "River ferry fares to rise after the strike"
    assert fares in {n.title for n in app.follows.check(TOPIC, 30)}  # it would have matched

    # Nothing the bot sent could ping anyone.
    sends = [r for r in server.recorded if r.method in ("POST", "PATCH") and r.status < 300
             and ("/messages" in r.path or "/callback" in r.path)
             and not r.path.endswith("/threads")]  # a thread's name, no message
    assert sends
    for request in sends:
        body = request.json.get("data", request.json) if "/callback" in request.path \
            else request.json
        assert body.get("allowed_mentions") == {"parse": []}, request.path
