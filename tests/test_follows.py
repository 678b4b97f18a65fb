"""Follows in the core: a topic matched against the articles each index run adds, one
notice per follow and story (a later copy from another outlet, a second run or a restart
posts nothing again), outlets kept to, and a follow store that is damaged or newer said
in one line with the file left as it was. Real SQLite and Chroma, the hash embedder."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import write_article

from retrieval.app import NewsApp
from retrieval.errors import FollowError
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import get_settings

TRAM = ("The new tram line across the harbour district opened on Monday, with trams every "
        "six minutes between the ferry terminal and the university. City engineers said "
        "the tram line cost less than planned, and riders queued before dawn for the "
        "first tram. The council expects the tram line to carry forty thousand riders a "
        "day once the second phase reaches the stadium next spring, and shops along the "
        "route reported their busiest morning of the year as the trams began running.")
LIBRARY = ("The central library reopened after a two-year renovation that added a rooftop "
           "reading room and a children's wing. Librarians said the library lent more books "
           "on its first day than in any week before it closed, and the mayor thanked the "
           "volunteers who moved the collection twice during the works on the old building.")


def open_app(index_dir: Path) -> NewsApp:
    settings = get_settings(index_dir=index_dir)
    return NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[NewsApp]:
    opened = open_app(tmp_path / "index")
    yield opened
    opened.close()


def arrive(app: NewsApp, folder: Path, name: str, title: str, body: str, source: str) -> None:
    path = write_article(folder, name, title, body, source=source,
                         url=f"https://{source.lower().replace(' ', '')}.example/{name}",
                         published_at="2024-03-04")
    app.index_changes([path])


def test_a_story_is_noticed_once_for_each_follow_however_its_copies_arrive(
        app: NewsApp, tmp_path: Path) -> None:
    news = tmp_path / "news"
    tram = app.follows.add("harbour tram line")
    library = app.follows.add("central library reopened")
    arrive(app, news, "tram.md", "Harbour tram line opens", TRAM, "Ledger Daily")
    first = app.follows.take()
    assert [(n.topic, n.title, n.source) for n in first] == [
        ("harbour tram line", "Harbour tram line opens", "Ledger Daily")]
    assert first[0].follow_id == tram.id and first[0].why and "tram" in first[0].why.lower()
    # The same story from another outlet (a rewritten first line), later: no second notice.
    arrive(app, news, "tram-copy.md", "Trams start running across the harbour",
           "Trams run at last. " + TRAM, "Valley Wire")
    arrive(app, news, "library.md", "Library reopens", LIBRARY, "Ledger Daily")
    second = app.follows.take()
    assert [(n.follow_id, n.title) for n in second] == [(library.id, "Library reopens")]
    assert app.follows.take() == []  # each notice is handed out once
    assert app.follows.pending() == []


def test_copies_in_one_run_are_one_notice_naming_the_other_outlets(
        app: NewsApp, tmp_path: Path) -> None:
    app.follows.add("harbour tram line")
    news = tmp_path / "news"
    write_article(news, "a.md", "Harbour tram line opens", TRAM, source="Ledger Daily",
                  url="https://ledger.example/a")
    write_article(news, "b.md", "Trams start running", "Trams run at last. " + TRAM,
                  source="Valley Wire", url="https://valley.example/b")
    app.index([news])
    notices = app.follows.take()
    assert len(notices) == 1
    shown = {notices[0].source, *notices[0].also_in}
    assert shown == {"Ledger Daily", "Valley Wire"}


def test_nothing_is_noticed_twice_across_a_restart(tmp_path: Path) -> None:
    news = tmp_path / "news"
    first = open_app(tmp_path / "index")
    first.follows.add("harbour tram line")
    arrive(first, news, "tram.md", "Harbour tram line opens", TRAM, "Ledger Daily")
    assert len(first.follows.pending()) == 1  # matched, not shown yet when it "crashes"
    first.close()
    again = open_app(tmp_path / "index")
    try:
        assert [f.topic for f in again.follows.listed()] == ["harbour tram line"]
        arrive(again, news, "tram-copy.md", "Trams start running", "Trams run. " + TRAM,
               "Valley Wire")
        again.index([news])  # everything again: nothing new
        assert [n.title for n in again.follows.take()] == ["Harbour tram line opens"]
        assert again.follows.take() == []
    finally:
        again.close()


def test_a_follow_limited_to_an_outlet_ignores_the_others(app: NewsApp, tmp_path: Path) -> None:
    news = tmp_path / "news"
    arrive(app, news, "old.md", "Library reopens", LIBRARY, "Valley Wire")
    app.follows.add("harbour tram line", ("valley wire",))
    arrive(app, news, "tram.md", "Harbour tram line opens", TRAM, "Ledger Daily")
    assert app.follows.take() == []
    with pytest.raises(FollowError, match="no indexed article comes from 'Daily Planet'"):
        app.follows.add("anything", ("Daily Planet",))


def test_follows_are_managed_per_owner(app: NewsApp) -> None:
    app.follows.add("harbour tram line")
    app.follows.add("harbour tram line", owner="discord:42")  # another channel may, too
    with pytest.raises(FollowError, match="already followed here"):
        app.follows.add("Harbour  TRAM line")
    with pytest.raises(FollowError, match="the topic is empty"):
        app.follows.add("   ")
    assert [f.owner for f in app.follows.listed(None)] == ["local", "discord:42"]
    removed = app.follows.remove("HARBOUR tram line")
    assert removed.owner == "local" and app.follows.listed() == []
    with pytest.raises(FollowError, match="is not followed here"):
        app.follows.remove("harbour tram line")
    assert [f.owner for f in app.follows.listed(None)] == ["discord:42"]


def test_an_index_without_follows_gets_no_follow_store(app: NewsApp, tmp_path: Path) -> None:
    arrive(app, tmp_path / "news", "tram.md", "Harbour tram line opens", TRAM, "Ledger Daily")
    assert not (tmp_path / "index" / "follows.sqlite").exists()
    assert app.follows.listed() == [] and app.follows.pending() == []


def test_check_shows_what_a_topic_would_have_matched_without_recording_it(
        app: NewsApp, tmp_path: Path) -> None:
    news = tmp_path / "news"
    arrive(app, news, "tram.md", "Harbour tram line opens", TRAM, "Ledger Daily")
    arrive(app, news, "library.md", "Library reopens", LIBRARY, "Ledger Daily")
    found = app.follows.check("harbour tram line", days=7)
    assert [n.title for n in found] == ["Harbour tram line opens"]
    assert app.follows.check("volcanic eruption in Iceland", days=7) == []
    assert not (tmp_path / "index" / "follows.sqlite").exists()


def test_a_damaged_follow_store_is_one_line_and_kept(app: NewsApp, tmp_path: Path) -> None:
    store = tmp_path / "index" / "follows.sqlite"
    store.write_bytes(b"this is not a database, but somebody's follows" * 40)
    before = store.read_bytes()
    with pytest.raises(FollowError) as caught:
        app.follows.listed()
    message = str(caught.value)
    assert str(store) in message and "cannot be read" in message and "\n" not in message
    assert store.read_bytes() == before
    # An index run still indexes; the matching failure is only logged.
    arrive(app, tmp_path / "news", "tram.md", "Harbour tram line opens", TRAM, "Ledger")
    assert app.stats()["articles"] == 1 and store.read_bytes() == before


def test_a_follow_store_from_a_newer_newsbot_is_refused(tmp_path: Path) -> None:
    app = open_app(tmp_path / "index")
    app.follows.add("harbour tram line")
    app.close()
    store = tmp_path / "index" / "follows.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA user_version = 99")
    again = open_app(tmp_path / "index")
    try:
        with pytest.raises(FollowError, match="written by a newer newsbot .*upgrade newsbot"):
            again.follows.listed()
    finally:
        again.close()
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT topic FROM follows").fetchall() == [("harbour tram line",)]


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting the topics (queries) it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return super().embed_query(text)


def test_a_topic_is_embedded_when_followed_and_never_by_an_index_run(tmp_path: Path) -> None:
    settings = get_settings(index_dir=tmp_path / "index")
    first = CountingEmbedder()
    app = NewsApp.open(settings, embedder=first, chat_model=None, create=True)
    app.follows.add("harbour tram line")
    assert first.queries == 1
    app.close()
    restarted = CountingEmbedder()  # a new process: nothing kept in memory
    app = NewsApp.open(settings, embedder=restarted, chat_model=None, create=True)
    arrive(app, tmp_path / "news", "tram.md", "Harbour tram line opens", TRAM, "Ledger")
    assert [n.title for n in app.follows.take()] == ["Harbour tram line opens"]
    assert restarted.queries == 0
    # A follow kept before vectors were (or under another model) is embedded once, then kept.
    with sqlite3.connect(tmp_path / "index" / "follows.sqlite") as db:
        db.execute("DELETE FROM follow_vectors")
    arrive(app, tmp_path / "news", "library.md", "Library reopens", LIBRARY, "Ledger")
    arrive(app, tmp_path / "news", "tram-2.md", "Harbour tram line extended",
           "A second phase was approved. " + TRAM.replace("Monday", "Friday"), "Valley Wire")
    assert restarted.queries == 1
    with sqlite3.connect(tmp_path / "index" / "follows.sqlite") as db:
        assert db.execute("SELECT topic, model FROM follow_vectors").fetchall() == [
            ("harbour tram line", "hash:256")]
    app.close()


def test_server_mode_keeps_follows_and_vectors_in_the_index_schema(
        postgres_url: str, chroma_port: int, tmp_path: Path) -> None:
    settings = get_settings(database_url=postgres_url, chroma_host="127.0.0.1",
                            chroma_port=chroma_port, collection="follows",
                            index_dir=tmp_path / "index")
    app = NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)
    app.follows.add("harbour tram line")
    arrive(app, tmp_path / "news", "tram.md", "Harbour tram line opens", TRAM, "Ledger")
    assert [n.title for n in app.follows.take()] == ["Harbour tram line opens"]
    app.close()
    embedder = CountingEmbedder()
    app = NewsApp.open(settings, embedder=embedder, chat_model=None, create=True)
    arrive(app, tmp_path / "news", "tram-copy.md", "Trams start running across the harbour",
           "Trams run at last. " + TRAM, "Valley Wire")
    assert app.follows.take() == [] and embedder.queries == 0  # kept: story and vector
    assert [f.topic for f in app.follows.listed()] == ["harbour tram line"]
    app.close()
    assert not (tmp_path / "index" / "follows.sqlite").exists()
