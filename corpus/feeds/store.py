"""The feeds newsbot polls and the items it already fetched, in one SQLite file. All of
its SQL is here.

Items are kept by the feed's URL, not by the feed's row, so removing a feed and adding
it again does not fetch its articles a second time. Removing a feed keeps its items, as
its articles stay in the feeds folder. Items are recorded per feeds folder (where their
articles were written): an index with a folder of its own fetches them for itself even
when it shares this file with another index."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corpus.errors import safe_name
from corpus.feeds.errors import FeedError
from corpus.migrations import (
    Migrations,
    NewerSchema,
    migrate_sqlite,
    run_script,
    set_user_version,
    user_version,
)

# Schema 1: feeds, and items kept by feed URL (a file of any version starts here).
_BASE = """
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
# `folder`: the feeds folder the item's article went to; '' (items recorded before
# schema 2 with no article to write) counts for every folder.
_ITEMS = """
CREATE TABLE IF NOT EXISTS items (
    folder TEXT NOT NULL,
    feed_url TEXT NOT NULL,
    guid TEXT NOT NULL,
    url TEXT NOT NULL,
    path TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (folder, feed_url, guid)
)"""
_ITEMS_BY_URL = "CREATE INDEX IF NOT EXISTS items_by_url ON items (folder, url) WHERE url != ''"


def _items_per_folder(db: sqlite3.Connection) -> None:
    """Schema 1 to 2: items recorded per feeds folder. A recorded item keeps the folder
    its article was written to (its file's grandparent: FOLDER/FEED/FILE.md); a feed's
    validators are for no folder yet, so each folder's next poll is a full one."""
    db.execute("ALTER TABLE feeds ADD COLUMN validators_for TEXT NOT NULL DEFAULT ''")
    rows = db.execute("SELECT feed_url, guid, url, path, fetched_at FROM items").fetchall()
    db.execute("DROP INDEX IF EXISTS items_by_url")
    db.execute("ALTER TABLE items RENAME TO items_v1")
    db.execute(_ITEMS)
    db.executemany("INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?)",
                   [(str(Path(path).parent.parent) if path else "", feed_url, guid, url, path,
                     fetched_at) for feed_url, guid, url, path, fetched_at in rows])
    db.execute("DROP TABLE items_v1")
    db.execute(_ITEMS_BY_URL)


# The version is the file's `user_version` (stores of version 1 already carry it).
MIGRATIONS: Migrations[sqlite3.Connection] = Migrations([
    ("feeds and the items fetched from them", lambda db: run_script(db, _BASE)),
    ("items recorded per feeds folder, validators per folder", _items_per_folder),
], user_version, set_user_version)
SCHEMA_VERSION = MIGRATIONS.version


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a feeds database (SQLite's backup: safe while it is in use),
    written whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        with closing(sqlite3.connect(source, timeout=10)) as old, \
                closing(sqlite3.connect(partial)) as new:
            old.backup(new)
        partial.replace(target)
    except sqlite3.DatabaseError as exc:
        partial.unlink(missing_ok=True)
        raise FeedError(f"cannot copy the feeds database {safe_name(source)}: {exc}") \
            from None


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
    validators_for: str = ""  # the feeds folder the etag and last_modified came for


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
            migrate_sqlite(self._db, MIGRATIONS)  # one process creates or migrates it
        except NewerSchema as exc:
            self._db.close()
            raise FeedError(f"{safe_name(path)} was written by a newer newsbot ({exc}); "
                            "upgrade newsbot") from None
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
            "SELECT id, name, url, etag, last_modified, last_polled, last_error, validators_for "
            "FROM feeds "
            "ORDER BY name COLLATE NOCASE")
        return [Feed(*row) for row in rows]

    def find(self, name_or_url: str) -> Feed | None:
        row = self._db.execute(
            "SELECT id, name, url, etag, last_modified, last_polled, last_error, validators_for "
            "FROM feeds "
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
    def known(self, folder: Path, feed_url: str, guid: str, url: str) -> bool:
        """Whether this item was fetched into `folder` before: its guid in this feed, or
        its link in any."""
        where = str(folder)
        if self._db.execute("SELECT 1 FROM items WHERE folder IN (?, '') AND feed_url = ? "
                            "AND guid = ?", (where, feed_url, guid)).fetchone():
            return True
        return bool(url) and self._db.execute(
            "SELECT 1 FROM items WHERE folder IN (?, '') AND url = ? AND url != '' LIMIT 1",
            (where, url)).fetchone() is not None

    def article_count(self, feed_url: str, folder: Path) -> int:
        row = self._db.execute("SELECT count(*) FROM items WHERE feed_url = ? AND folder = ? "
                               "AND path != ''", (feed_url, str(folder))).fetchone()
        return int(row[0])

    def article_folders(self, feed_url: str) -> list[Path]:
        """The folders holding the articles fetched from this feed, for every feeds folder."""
        rows = self._db.execute("SELECT DISTINCT path FROM items WHERE feed_url = ? AND "
                                "path != ''", (feed_url,))
        return sorted({Path(row[0]).parent for row in rows})

    def record_poll(self, feed: Feed, folder: Path, items: Iterable[FetchedItem], *,
                    etag: str | None, last_modified: str | None, error: str = "") -> None:
        """One poll's outcome, in one transaction: the items fetched into `folder`, and the
        validators for the next conditional request (None: keep the stored one). The
        validators are only stored together with every item they cover, so a run that
        dies between the two polls the feed in full again instead of hearing "not
        modified". They belong to one folder: another folder's are replaced, not kept."""
        now = _now()
        owner = None  # validators_for unchanged
        if feed.validators_for != str(folder) and (etag, last_modified) != (None, None):
            etag, last_modified, owner = etag or "", last_modified or "", str(folder)
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO items (folder, feed_url, guid, url, path, fetched_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(str(folder), feed.url, i.guid, i.url, i.path, now) for i in items])
            self._db.execute(
                "UPDATE feeds SET etag = coalesce(?, etag), "
                "last_modified = coalesce(?, last_modified), "
                "validators_for = coalesce(?, validators_for), last_polled = ?, "
                "last_error = ? WHERE id = ?", (etag, last_modified, owner, now, error, feed.id))
