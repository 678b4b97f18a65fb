"""The feeds newsbot polls and the items it already fetched, in one SQLite file. All of
its SQL is here.

Items are kept by the feed's URL, not by the feed's row, so removing a feed and adding
it again does not fetch its articles a second time. Removing a feed keeps its items, as
its articles stay in the feeds folder."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corpus.errors import safe_name
from corpus.feeds.errors import FeedError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL UNIQUE,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    last_polled TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    feed_url TEXT NOT NULL,
    guid TEXT NOT NULL,
    url TEXT NOT NULL,
    path TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (feed_url, guid)
);
CREATE INDEX IF NOT EXISTS items_by_url ON items (url) WHERE url != '';
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Feed:
    id: int
    name: str
    url: str
    etag: str = ""
    last_modified: str = ""
    last_polled: str = ""
    last_error: str = ""


@dataclass(frozen=True)
class FetchedItem:
    guid: str
    url: str
    path: str  # the article file written for it


class FeedStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=10)
            self._db.executescript(_SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise FeedError(f"{safe_name(path)} was written by a newer newsbot")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise FeedError(f"cannot use the feeds database {safe_name(path)}: {exc}") \
                from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FeedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- feeds ------------------------------------------------------------------------------
    def feeds(self) -> list[Feed]:
        rows = self._db.execute(
            "SELECT id, name, url, etag, last_modified, last_polled, last_error FROM feeds "
            "ORDER BY name COLLATE NOCASE")
        return [Feed(*row) for row in rows]

    def find(self, name_or_url: str) -> Feed | None:
        row = self._db.execute(
            "SELECT id, name, url, etag, last_modified, last_polled, last_error FROM feeds "
            "WHERE name = ? OR url = ? ORDER BY name = ? DESC LIMIT 1",
            (name_or_url, name_or_url, name_or_url)).fetchone()
        return Feed(*row) if row else None

    def add(self, url: str, name: str) -> Feed:
        """A new feed; a `FeedError` when the URL or the name is taken."""
        for column, value in (("url", url), ("name", name)):
            taken = self._db.execute(f"SELECT name FROM feeds WHERE {column} = ?",
                                     (value,)).fetchone()
            if taken:
                raise FeedError(f"there is already a feed with that {column}: {taken[0]!r}")
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO feeds (name, url, added_at) VALUES (?, ?, ?)", (name, url, _now()))
        return Feed(int(cursor.lastrowid or 0), name, url)

    def remove(self, feed: Feed) -> None:
        with self._db:
            self._db.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))

    def name_taken(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM feeds WHERE name = ?", (name,)).fetchone() \
            is not None

    # --- items --------------------------------------------------------------------------------
    def known(self, feed_url: str, guid: str, url: str) -> bool:
        """Whether this item was fetched before: its guid in this feed, or its link in any."""
        if self._db.execute("SELECT 1 FROM items WHERE feed_url = ? AND guid = ?",
                            (feed_url, guid)).fetchone():
            return True
        return bool(url) and self._db.execute(
            "SELECT 1 FROM items WHERE url = ? AND url != '' LIMIT 1", (url,)).fetchone() \
            is not None

    def article_count(self, feed_url: str) -> int:
        row = self._db.execute("SELECT count(*) FROM items WHERE feed_url = ? AND path != ''",
                               (feed_url,)).fetchone()
        return int(row[0])

    def record_poll(self, feed: Feed, items: Iterable[FetchedItem], *, etag: str | None,
                    last_modified: str | None, error: str = "") -> None:
        """One poll's outcome, in one transaction: the items fetched, and the validators
        for the next conditional request (None: keep the stored one). The validators are
        only stored together with every item they cover, so a run that dies between the
        two polls the feed in full again instead of hearing "not modified"."""
        now = _now()
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO items (feed_url, guid, url, path, fetched_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(feed.url, i.guid, i.url, i.path, now) for i in items])
            self._db.execute(
                "UPDATE feeds SET etag = coalesce(?, etag), "
                "last_modified = coalesce(?, last_modified), last_polled = ?, last_error = ? "
                "WHERE id = ?", (etag, last_modified, now, error, feed.id))
