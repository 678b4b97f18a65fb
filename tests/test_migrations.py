"""Every store's schema through the one migration helper (`corpus/migrations.py`): files
made by older newsbots (their DDL copied here as they wrote it) open, keep their rows and
catch up; a store newer than the code is one clear line."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from corpus.feeds.errors import FeedError
from corpus.feeds.store import FeedStore
from corpus.migrations import Migrations, NewerSchema, migrate_sqlite, user_version
from retrieval.errors import IndexSchemaError, NewsbotError
from retrieval.feedback import FeedbackStore
from retrieval.index.sqlite import SCHEMA_VERSION, SqliteDatabase
from retrieval.types import SearchFilters
from standins.servers import database

# The index as newsbot wrote it at schema version 1 (no stems, no stories).
INDEX_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE articles (id TEXT PRIMARY KEY, content_hash TEXT NOT NULL,
    body_hash TEXT NOT NULL, duplicate_of TEXT, origin TEXT NOT NULL,
    origin_file TEXT NOT NULL, title TEXT NOT NULL, url TEXT NOT NULL, source TEXT NOT NULL,
    author TEXT NOT NULL, section TEXT NOT NULL, published_at TEXT, published_ts REAL,
    chars INTEGER NOT NULL, indexed_at TEXT NOT NULL);
CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL, ord INTEGER NOT NULL, text TEXT NOT NULL);
CREATE TABLE pending_chunks (id TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text,
    tokenize = 'porter unicode61 remove_diacritics 2');
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO articles VALUES ('a1', 'c', 'b', NULL, '/n/1.md', '/n/1.md', 'Lava flows',
    'https://news.example/1', 'Orbit Wire', '', '', NULL, NULL, 20, '2024-01-01');
INSERT INTO chunks VALUES (7, 'a1:0', 'a1', 0, 'Lava reached the sea.');
INSERT INTO chunks_fts (rowid, title, text) VALUES (7, 'Lava flows', 'Lava reached the sea.');
"""
# The feeds store as newsbot wrote it (user_version 1).
FEEDS_V1 = """
CREATE TABLE feeds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL
    UNIQUE, etag TEXT NOT NULL DEFAULT '', last_modified TEXT NOT NULL DEFAULT '',
    last_polled TEXT NOT NULL DEFAULT '', last_error TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL);
CREATE TABLE items (feed_url TEXT NOT NULL, guid TEXT NOT NULL, url TEXT NOT NULL,
    path TEXT NOT NULL, fetched_at TEXT NOT NULL, PRIMARY KEY (feed_url, guid));
CREATE INDEX items_by_url ON items (url) WHERE url != '';
INSERT INTO feeds (name, url, added_at) VALUES ('wire', 'http://127.0.0.1/feed', 'then');
INSERT INTO items VALUES ('http://127.0.0.1/feed', 'g1', 'http://127.0.0.1/1',
    '/news/feeds/wire/1.md', 'then');
PRAGMA user_version = 1;
"""
# The vote store as newsbot wrote it: no version at all.
VOTES_UNVERSIONED = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE answers (id TEXT PRIMARY KEY, asked_at TEXT NOT NULL, question TEXT NOT NULL,
    standalone TEXT NOT NULL, text TEXT NOT NULL, declined INTEGER NOT NULL,
    sources TEXT NOT NULL, guild_id INTEGER, channel_id INTEGER);
CREATE TABLE votes (answer_id TEXT NOT NULL, user_hash TEXT NOT NULL, vote INTEGER NOT NULL,
    voted_at TEXT NOT NULL, PRIMARY KEY (answer_id, user_hash));
INSERT INTO meta VALUES ('salt', 'pepper');
INSERT INTO answers VALUES ('x1', '2024-01-01T00:00:00', 'Who?', 'Who?', 'Her [1].', 0,
    '[{"n": 1, "url": "u", "title": "t", "quote": "q"}]', NULL, NULL);
INSERT INTO votes VALUES ('x1', 'someone', 1, '2024-01-01T00:00:00');
"""


def made_by(path: Path, script: str) -> Path:
    db = sqlite3.connect(path)
    db.executescript(script)
    db.close()
    return path


def test_only_missing_steps_run_and_the_version_follows(tmp_path: Path) -> None:
    ran: list[str] = []
    steps = [(name, lambda db, name=name: ran.append(name)) for name in ("one", "two", "three")]
    migrations = Migrations(steps, user_version, lambda db, v: db.execute(
        f"PRAGMA user_version = {v}"))
    db = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)
    db.execute("PRAGMA user_version = 1")
    migrate_sqlite(db, migrations)
    assert ran == ["two", "three"] and user_version(db) == 3
    migrate_sqlite(db, migrations)  # current: nothing runs
    assert ran == ["two", "three"]
    db.execute("PRAGMA user_version = 4")
    with pytest.raises(NewerSchema):
        migrate_sqlite(db, migrations)


def test_an_index_of_schema_1_opens_and_catches_up(tmp_path: Path) -> None:
    path = made_by(tmp_path / "manifest.sqlite", INDEX_V1)
    db = SqliteDatabase(path, create=False)
    catalog, keywords = db.stores()
    assert catalog.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert list(catalog.indexed_articles()) == ["a1"]
    row = catalog.chunk_rows(["a1:0"])["a1:0"]
    assert (row.text, row.stems, row.story_id) == ("Lava reached the sea.", None, None)
    assert catalog.articles_without_story() == {"a1": "Lava reached the sea."}
    assert keywords.search(["lava"], SearchFilters(), 5) == ["a1:0"]
    with db.transaction() as tx:  # the old chunk keeps its key for the keyword index
        assert catalog.remove_article(tx, "a1") == [(7, "a1:0")]
    db.close()


def test_an_index_from_a_newer_newsbot_is_one_line(tmp_path: Path) -> None:
    path = made_by(tmp_path / "manifest.sqlite",
                   INDEX_V1.replace("('schema_version', '1')", "('schema_version', '99')"))
    with pytest.raises(IndexSchemaError, match="newer newsbot .*schema 99"):
        SqliteDatabase(path, create=False)


def test_a_postgres_index_keeps_its_version(postgres_url: str) -> None:
    from retrieval.index.postgres import SCHEMA_VERSION as PG_VERSION
    from retrieval.index.postgres import PostgresDatabase

    url = database(postgres_url, "migrations")
    PostgresDatabase(url, "old").close()
    again = PostgresDatabase(url, "old", create=False)  # no create: it must exist as it is
    assert again.one("SELECT value FROM meta WHERE key = 'schema_version'") == (str(PG_VERSION),)
    again.rows("UPDATE meta SET value = '99' WHERE key = 'schema_version' RETURNING key")
    again.close()
    with pytest.raises(IndexSchemaError, match="newer newsbot"):
        PostgresDatabase(url, "old", create=False)


def test_a_feeds_store_of_version_1_opens(tmp_path: Path) -> None:
    path = made_by(tmp_path / "feeds.sqlite", FEEDS_V1)
    with FeedStore(path) as store:
        assert [f.name for f in store.feeds()] == ["wire"]
        # An item of schema 1 now belongs to the feeds folder its article was written to.
        assert store.known(Path("/news/feeds"), "http://127.0.0.1/feed", "g1", "")
        assert not store.known(Path("/elsewhere"), "http://127.0.0.1/feed", "g1", "")
        assert store.feeds()[0].validators_for == ""
    made_by(tmp_path / "new.sqlite", FEEDS_V1.replace("user_version = 1", "user_version = 9"))
    with pytest.raises(FeedError, match="newer newsbot"):
        FeedStore(tmp_path / "new.sqlite")


def test_a_vote_store_without_a_version_opens_and_keeps_its_votes(tmp_path: Path) -> None:
    path = made_by(tmp_path / "feedback.sqlite", VOTES_UNVERSIONED)
    store = FeedbackStore(path)
    assert store.stats()["up"] == 1 and store.stats()["answers"] == 1
    assert store.user_hash(5) == hashlib.sha256(b"pepper:5").hexdigest()[:24]  # its old salt
    assert store.vote("x1", 5, up=False)
    version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == ("1",)
    store.db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(NewsbotError, match="newer newsbot"):
        FeedbackStore(path)
