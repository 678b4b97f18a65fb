"""Feeds for every index: each index keeps its feed list and its record of what was fetched
(in its own folder), a database shared through NEWSBOT_FEEDS_DB still gives every index the
articles its feeds folder lacks, the feed list every index shared before is copied, not
lost, and `feeds add` refuses what is not a feed. Against the loopback feed server."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from feed_server import Canned, FeedServer, failing, page, rss, story

import corpus.feeds.download as download
from bot.cli import cli
from corpus.feeds import FeedStore

RSS = "application/rss+xml"


@pytest.fixture(autouse=True)
def _default_feeds_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSBOT_FEEDS_DB")  # the default: one in each index folder
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))  # where the old one was
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "2")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.01,))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        running.routes["/rss.xml"] = Canned(rss([{
            "title": "Harbour bridge opens", "link": running.url("/a/1"), "guid": "g1",
            "pubDate": "Tue, 02 Jan 2024 10:00:00 GMT", "description": "The bridge."}]),
            content_type=RSS, etag='"v1"')
        running.routes["/a/1"] = Canned(page("Harbour bridge opens", *story("harbour bridge")))
        yield running


def run(index: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--index-dir", str(index), *args])


def titles(index: Path) -> list[str]:
    found = run(index, "search", "harbour bridge", "--json")
    return [p["title"] for p in json.loads(found.output)]


def test_each_index_has_its_own_feeds_and_gets_the_articles(
        server: FeedServer, tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "index", tmp_path / "two" / "index"
    assert run(first, "feeds", "add", server.url("/rss.xml"), "--name", "Gazette").exit_code == 0
    assert (first / "feeds.sqlite").exists()
    assert "new articles 1," in run(first, "fetch").output
    assert "No feeds yet" in run(second, "feeds", "list").output  # the list is the index's
    run(second, "feeds", "add", server.url("/rss.xml"), "--name", "Gazette")
    fetched = run(second, "fetch")
    assert "new articles 1, failed 0 (indexed: added 1," in fetched.output
    assert titles(second) == ["Harbour bridge opens"]


def test_a_shared_feeds_db_still_gives_every_index_its_articles(
        server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FEEDS_DB", str(tmp_path / "shared.sqlite"))
    first, second = tmp_path / "one" / "index", tmp_path / "two" / "index"
    run(first, "feeds", "add", server.url("/rss.xml"), "--name", "Gazette")
    assert "new articles 1," in run(first, "fetch").output
    # The first index's validators must not make the feed "not modified" for the second.
    assert "not modified 0, new articles 1," in run(second, "fetch").output
    assert "if-none-match" not in server.hits("/rss.xml")[-1].headers
    assert titles(second) == ["Harbour bridge opens"]
    assert "new articles 0," in run(first, "fetch").output  # known there: not fetched again
    assert len(server.hits("/a/1")) == 2  # once per feeds folder
    listed = run(second, "feeds", "list").output
    assert "·  1 article  ·" in listed
    removed = run(second, "feeds", "remove", "Gazette").output
    assert f"its articles stay in {first / 'feeds' / 'gazette'} and " \
        f"{second / 'feeds' / 'gazette'}" in removed


_SCHEMA_1 = """
CREATE TABLE feeds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL UNIQUE, etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '', last_polled TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '', added_at TEXT NOT NULL);
CREATE TABLE items (feed_url TEXT NOT NULL, guid TEXT NOT NULL, url TEXT NOT NULL,
    path TEXT NOT NULL, fetched_at TEXT NOT NULL, PRIMARY KEY (feed_url, guid));
CREATE INDEX items_by_url ON items (url) WHERE url != '';
PRAGMA user_version = 1;
"""


def test_the_feed_list_every_index_shared_is_copied_and_migrated(
        server: FeedServer, tmp_path: Path) -> None:
    """A feeds.sqlite of schema 1 in ~/.local/share/newsbot, its item fetched for the
    default index's folder and its validators stored: an index made before, without
    feeds of its own, starts from a copy, and fetches that item for itself; a new index
    starts with no feeds."""
    old = tmp_path / "home" / "newsbot" / "feeds.sqlite"
    old.parent.mkdir(parents=True)
    elsewhere = tmp_path / "home" / "newsbot" / "feeds"
    with sqlite3.connect(old) as db:
        db.executescript(_SCHEMA_1)
        db.execute("INSERT INTO feeds (name, url, etag, added_at) VALUES (?, ?, ?, ?)",
                   ("Gazette", server.url("/rss.xml"), '"v1"', "2024-01-01T00:00:00+00:00"))
        db.execute("INSERT INTO items VALUES (?, 'g1', ?, ?, '2024-01-02')",
                   (server.url("/rss.xml"), server.url("/a/1"),
                    str(elsewhere / "Gazette" / "harbour.md")))
    db.close()
    assert "No feeds yet" in run(tmp_path / "brand-new", "feeds", "list").output
    assert not (tmp_path / "brand-new").exists()
    index = tmp_path / "new" / "index"
    (tmp_path / "nothing").mkdir()
    assert run(index, "index", str(tmp_path / "nothing")).exit_code == 0  # an index, made
    listed = run(index, "feeds", "list")
    assert f"note: copied the feed list from {old}" in listed.output
    assert "Gazette" in listed.output and "·  0 articles  ·" in listed.output
    assert old.exists()  # still there for the other indexes
    fetched = run(index, "fetch")
    assert "not modified 0, new articles 1," in fetched.output
    with FeedStore(index / "feeds.sqlite") as store:
        assert store.known(elsewhere, server.url("/rss.xml"), "g1", "")  # kept its folder
        assert store.article_count(server.url("/rss.xml"), index / "feeds") == 1
    with FeedStore(old) as store:  # the old file migrates in place too
        assert store.article_folders(server.url("/rss.xml")) == [elsewhere / "Gazette"]


@pytest.mark.parametrize(("route", "reason"), [
    (failing(404), "HTTP 404"),
    (Canned(b"<html><body><p>A web page.</p></body></html>", content_type="text/html"),
     "not an RSS, Atom or JSON feed"),
])
def test_adding_what_is_not_a_feed_is_refused_at_once(
        server: FeedServer, tmp_path: Path, route: Canned, reason: str) -> None:
    server.routes["/page"] = route
    index = tmp_path / "index"
    refused = run(index, "feeds", "add", server.url("/page"))
    assert refused.exit_code == 1
    line = refused.output.strip().splitlines()[-1]
    assert line.startswith(f"error: {server.url('/page')} is not a feed newsbot can read: ")
    assert reason in line
    assert "No feeds yet" in run(index, "feeds", "list").output


def test_two_indexes_in_one_folder_keep_their_feed_articles_apart(
        server: FeedServer, tmp_path: Path) -> None:
    server.routes["/other.xml"] = Canned(rss([{
        "title": "Harbour ferry strike", "link": server.url("/b/1"), "guid": "o1",
        "pubDate": "Tue, 02 Jan 2024 11:00:00 GMT", "description": "The ferries."}]),
        content_type=RSS)
    server.routes["/b/1"] = Canned(page("Harbour ferry strike", *story("harbour ferry")))
    first, second = tmp_path / "indexes" / "a", tmp_path / "indexes" / "b"
    run(first, "feeds", "add", server.url("/rss.xml"), "--name", "Gazette")
    run(second, "feeds", "add", server.url("/other.xml"), "--name", "Post")
    assert "new articles 1," in run(first, "fetch").output
    assert "new articles 1, failed 0 (indexed: added 1," in run(second, "fetch").output
    assert "added 0," in run(first, "fetch").output  # nothing of the other index's
    assert titles(first) == ["Harbour bridge opens"]
    assert titles(second) == ["Harbour ferry strike"]
