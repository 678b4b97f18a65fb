"""Where follows and their notices are kept, beside the index: `follows.sqlite` in the
index folder locally, tables of the index's own schema in PostgreSQL in server mode.
Both run the same statements (`?` marks, turned into the database's own) and keep their
schema current with `corpus.migrations`, like every other store.

A notice is keyed by (follow, story): writing one for a story already noticed for that
follow does nothing, so a later copy of a story, a second index run over the same
articles or a restart never posts a story twice. A notice stays `pending` until a front
end has shown it (printed it, or posted it to its channel)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from corpus.migrations import (
    Migrations,
    NewerSchema,
    migrate_sqlite,
    run_script,
    set_user_version,
    user_version,
)
from retrieval.errors import FollowError

FILE_NAME = "follows.sqlite"

_FOLLOWS = """
CREATE TABLE IF NOT EXISTS follows (id {key}, owner TEXT NOT NULL, topic TEXT NOT NULL,
    topic_key TEXT NOT NULL, outlets TEXT NOT NULL, created_at TEXT NOT NULL,
    UNIQUE (owner, topic_key));
CREATE TABLE IF NOT EXISTS follow_notices (follow_id INTEGER NOT NULL, story_id TEXT NOT NULL,
    article_id TEXT NOT NULL, owner TEXT NOT NULL, matched_at TEXT NOT NULL,
    delivered_at TEXT, body TEXT NOT NULL, PRIMARY KEY (follow_id, story_id));
CREATE INDEX IF NOT EXISTS follow_notices_pending ON follow_notices (delivered_at, owner)
"""
# A topic's vector, per embedding model: embedded once (when the follow is added), so an
# index run never loads the question model nor embeds a topic again.
_VECTORS = """
CREATE TABLE IF NOT EXISTS follow_vectors (topic TEXT NOT NULL, model TEXT NOT NULL,
    vector {blob} NOT NULL, PRIMARY KEY (topic, model))
"""
SQLITE_KEY = "INTEGER PRIMARY KEY AUTOINCREMENT"
POSTGRES_KEY = "bigserial PRIMARY KEY"

SQLITE_MIGRATIONS: Migrations[sqlite3.Connection] = Migrations([
    ("follows and the notices of each (one per follow and story)",
     lambda db: run_script(db, _FOLLOWS.format(key=SQLITE_KEY))),
    ("each topic's vector, per embedding model", lambda db: run_script(
        db, _VECTORS.format(blob="BLOB"))),
], user_version, set_user_version)


def _pg_version(conn: Any) -> int:
    """`version` of the follow_meta table in the index's schema (0: no table yet)."""
    found = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = "
                         "current_schema() AND table_name = 'follow_meta'").fetchone()
    if not found:
        return 0
    row = conn.execute("SELECT value FROM follow_meta WHERE key = 'version'").fetchone()
    return int(row[0]) if row else 0


def _pg_set_version(tx: Any, version: int) -> None:
    tx.execute("CREATE TABLE IF NOT EXISTS follow_meta (key text PRIMARY KEY, value text)")
    tx.execute("INSERT INTO follow_meta VALUES ('version', %s) ON CONFLICT (key) "
               "DO UPDATE SET value = excluded.value", (str(version),))


def _pg_base(tx: Any) -> None:
    for statement in _FOLLOWS.format(key=POSTGRES_KEY).split(";"):
        tx.execute(statement)


POSTGRES_MIGRATIONS: Migrations[Any] = Migrations([
    ("follows and the notices of each (one per follow and story)", _pg_base),
    ("each topic's vector, per embedding model",
     lambda tx: tx.execute(_VECTORS.format(blob="bytea"))),
], _pg_version, _pg_set_version)


class SqliteFollowDb:
    """The local follow store: one file, created only by a write. Each use opens its own
    connection and closes it (follows are read a few times a run, never in a hot loop),
    so nothing is left open for the app to close."""

    mark = "?"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        with self._connection() as conn:
            try:
                migrate_sqlite(conn, SQLITE_MIGRATIONS)
            except NewerSchema as exc:
                raise FollowError(f"the follow store {path} was written by a newer newsbot "
                                  f"({exc}); upgrade newsbot (your follows are kept in it)"
                                  ) from None

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                yield conn
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise FollowError(f"the follow store {self.path} cannot be read ({exc}); it is "
                              "left as it is, with your follows: move it aside to start a "
                              "new one, or restore it from a backup") from None

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(query, params).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


class PostgresFollowDb:
    """Server mode: the follow tables live in the index's schema, on its connection pool."""

    mark = "%s"

    def __init__(self, database: Any) -> None:
        self.database = database
        self.where = database.where
        try:
            with database.errors(), database.pool.connection() as conn:
                needed = POSTGRES_MIGRATIONS.needed(conn)
            if needed:
                with database.transaction() as tx:
                    tx.execute("SELECT pg_advisory_xact_lock(hashtext('newsbot follows'))")
                    POSTGRES_MIGRATIONS.apply(tx)
        except NewerSchema as exc:
            raise FollowError(f"the follows in {self.where} were written by a newer newsbot "
                              f"({exc}); upgrade newsbot (your follows are kept there)"
                              ) from None

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.database.rows(query, params)

    def transaction(self) -> AbstractContextManager[Any]:
        return self.database.transaction()


FollowDb = SqliteFollowDb | PostgresFollowDb
