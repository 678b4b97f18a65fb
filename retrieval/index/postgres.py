"""Server mode's database: one index's catalog, keyword index and meta values on
PostgreSQL (the one `Catalog` with this database's dialect, and `pg_keywords.py`), and the
lock that lets one index run at a time across machines.

An index owns one schema, named like its Chroma collection: two indexes share a
database without touching each other's rows, and a rebuild clears only its own tables.
Connections come from a pool (psycopg 3), each with `search_path` set to that schema, so
the statements name bare tables. Writes take a `tx` connection inside one transaction, as
on SQLite; readers use other pool connections and see only committed rows (MVCC).

"One index run at a time" is a session-level advisory lock held on a connection of its
own: a run that is killed (even `kill -9`) drops its connection, and PostgreSQL releases
the lock at once. A second run waits for it, and says who holds it if that takes too long.

Faults: a pooled connection is checked as it is taken, so one the server dropped (a
restart, an idle timeout) is replaced before a statement uses it, and a read that still
meets a broken connection is tried once more. A run whose lock connection died has lost
the lock with it: its next write transaction stops it (`RunLockLost`), and the next run
recovers as after `kill -9`.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from corpus.migrations import Migrations, NewerSchema
from retrieval.errors import (
    Fix,
    IndexBusy,
    IndexDatabaseError,
    IndexMissing,
    IndexSchemaError,
    RunLockLost,
)
from retrieval.index.dialect import POSTGRES

if TYPE_CHECKING:
    from pathlib import Path

    from retrieval.index.stores import CatalogStore, KeywordIndex
    from retrieval.settings import Settings

RUN_WAIT_S = 600.0     # a second index run waits this long for the first
LOCK_POLL_S = 0.2
POOL_TIMEOUT_S = 30.0  # a statement waits this long for a free connection
CONNECT_TIMEOUT_S = 10
RESERVED_SCHEMAS = ("public", "information_schema")


def _step_base(tx: Any) -> None:
    from retrieval.index.pg_keywords import KEYWORD_SCHEMA
    from retrieval.index.schema import POSTGRES_CATALOG_SCHEMA

    tx.execute(POSTGRES_CATALOG_SCHEMA)
    tx.execute(KEYWORD_SCHEMA)


def _version(conn: Any) -> int:
    """`schema_version` in this schema's meta table (0: no table yet)."""
    has_meta = conn.execute("SELECT 1 FROM information_schema.tables WHERE "
                            "table_schema = current_schema() AND table_name = 'meta'"
                            ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _set_version(tx: Any, version: int) -> None:
    tx.execute(POSTGRES.upsert("meta", ("key", "value"), "key"), ("schema_version", str(version)))


# The version is the meta table's `schema_version`; only ever append a step.
MIGRATIONS: Migrations[Any] = Migrations([
    ("articles, chunks with stems, stories, pending writes, meta, keyword rows and their "
     "BM25 totals", _step_base),
], _version, _set_version)
SCHEMA_VERSION = MIGRATIONS.version


def shown_url(url: str) -> str:
    """The URL without its password or query string: fit for a message."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"


# Who holds an advisory lock, by its key's halves (a 64-bit key is classid:objid).
HOLDER_SQL = (
    "SELECT a.application_name, host(a.client_addr), a.pid FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
    "AND l.granted AND l.classid = %s::bigint::oid AND l.objid = %s::bigint::oid "
    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
    "WHERE datname = current_database())")


def lock_key(*names: str) -> int:
    """A signed 64-bit advisory lock key for these names."""
    digest = hashlib.sha256(":".join(("newsbot", *names)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_server(settings: Settings, index_dir: Path, create: bool
                ) -> tuple[PostgresDatabase, Any]:
    """Server mode's two stores: this database (first, so that a wrong URL is what is
    said first) and a client of the Chroma server."""
    from retrieval.index.vectors import open_client

    index = settings.index
    assert index.database_url is not None
    database = PostgresDatabase(index.database_url.get_secret_value(), index.collection, create)
    try:
        return database, open_client(index_dir, index.chroma_host, index.chroma_port,
                                     index.chroma_token, index.chroma_ssl)
    except BaseException:
        database.close()
        raise


class PostgresDatabase:
    dialect = POSTGRES

    def __init__(self, url: str, schema: str = "newsbot", create: bool = True,
                 pool_size: int = 8) -> None:
        try:
            import psycopg
            from psycopg import sql
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise IndexDatabaseError("NEWSBOT_DATABASE_URL needs psycopg: install newsbot "
                                     "with its server extra (pip install '.[server]' in its "
                                     "checkout)"
                                     ) from None
        if schema.lower() in RESERVED_SCHEMAS or schema.lower().startswith("pg_"):
            raise IndexDatabaseError(f"NEWSBOT_COLLECTION={schema!r} cannot name this index's "
                                     "PostgreSQL schema; choose another collection name")
        self._psycopg, self._sql = psycopg, sql
        self.url, self.schema = url, schema
        self.where = f"schema {schema} of {shown_url(url)}"
        self._schema_sql = sql.Identifier(schema)
        self._connect_args = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S,
                              "application_name": f"newsbot on {socket.gethostname()}"[:63]}
        with self.errors():
            psycopg.connect(url, **self._connect_args).close()  # a clear error, not a timeout
            # `check`: a connection the server dropped is replaced as it is taken.
            self.pool = ConnectionPool(url, min_size=1, max_size=pool_size,
                                       kwargs=self._connect_args, configure=self._configure,
                                       check=ConnectionPool.check_connection,
                                       timeout=POOL_TIMEOUT_S, open=True)
        self._run_conn: Any = None  # the connection holding this process's run lock
        try:
            self._migrate(create)
        except BaseException:
            self.pool.close()
            raise

    def _configure(self, conn: Any) -> None:
        conn.execute(self._sql.SQL("SET search_path TO {}").format(self._schema_sql))

    def stores(self) -> tuple[CatalogStore, KeywordIndex]:
        from retrieval.index.catalog import Catalog
        from retrieval.index.pg_keywords import PgKeywords

        return Catalog(self), PgKeywords(self)

    # --- statements ------------------------------------------------------------------------
    @contextmanager
    def errors(self) -> Iterator[None]:
        """A failure of the database as a one-line domain error (no password in it)."""
        try:
            yield
        except self._psycopg.Error as exc:
            raise IndexDatabaseError(f"the index database ({self.where}) failed: "
                                     f"{_first_line(exc)}") from exc

    def rows(self, query: str, params: Sequence[Any] | dict[str, Any] = ()
             ) -> list[tuple[Any, ...]]:
        """One read on a pool connection: committed rows only. A read that meets a
        connection broken since it was checked is tried once more on a fresh one."""
        with self.errors():
            try:
                with self.pool.connection() as conn:
                    return conn.execute(query, params).fetchall()
            except self._psycopg.OperationalError:
                with self.pool.connection() as conn:
                    return conn.execute(query, params).fetchall()

    def one(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        found = self.rows(query, params)
        return found[0] if found else None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction, rolled back on any error; the connection is the `tx`."""
        self._check_run_lock()
        with self.errors(), self.pool.connection() as conn, conn.transaction():
            yield conn

    def _check_run_lock(self) -> None:
        """During a run, that its lock is still held: a lock connection that died (the
        server restarted) released it, and another run may have started since."""
        if self._run_conn is None:
            return
        try:
            self._run_conn.execute("SELECT 1")
        except self._psycopg.Error as exc:
            raise RunLockLost(f"the index run lost its connection to {self.where} "
                              f"({_first_line(exc)}) and stopped; what it committed is kept",
                              fix=Fix.INDEX_AGAIN) from exc

    def footprint(self) -> tuple[str, int]:
        """Where the index is, and the size of its tables (the vectors are elsewhere)."""
        row = self.one("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relkind = 'r'", (self.schema,))
        return self.where, int(row[0]) if row else 0

    def check(self) -> None:
        """The database answers (its own checks keep its pages whole)."""
        self.rows("SELECT 1")

    def close(self) -> None:
        self.pool.close()

    # --- one index run at a time -----------------------------------------------------------
    @contextmanager
    def run_lock(self, wait_s: float = RUN_WAIT_S) -> Iterator[None]:
        """Held for a whole index run (or rebuild) on a connection of its own."""
        key = lock_key("run", self.schema)
        args = dict(self._connect_args, application_name=(
            f"newsbot index run on {socket.gethostname()} pid {os.getpid()}")[:63])
        with self.errors():
            conn = self._psycopg.connect(self.url, **args)
        try:
            deadline = time.monotonic() + wait_s
            with self.errors():
                while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                    if time.monotonic() > deadline:
                        raise IndexBusy(f"another index run (newsbot index, watch or "
                                        f"/reindex: {self._holder(conn, key)}) is updating "
                                        f"the index in {self.where}; it was not done "
                                        f"within {wait_s:g} s")
                    time.sleep(LOCK_POLL_S)
            self._run_conn = conn
            yield
        finally:
            self._run_conn = None
            conn.close()  # ends the session, which releases the lock

    def run_going(self) -> bool:
        """Whether an index run (from any host) holds the run lock now."""
        key = lock_key("run", self.schema)
        return self.one(HOLDER_SQL, ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)) is not None

    @staticmethod
    def _holder(conn: Any, key: int) -> str:
        """Who holds the advisory lock `key` (a 64-bit key is classid:objid in pg_locks)."""
        row = conn.execute(HOLDER_SQL, ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF)).fetchone()
        if row is None:
            return "holder unknown"
        return f"{row[0] or 'newsbot'}, from {row[1] or 'a local socket'}, server pid {row[2]}"

    # --- schema --------------------------------------------------------------------------
    def _migrate(self, create: bool) -> None:
        try:
            with self.errors(), self.pool.connection() as conn:
                version = MIGRATIONS.current(conn)
            if version == SCHEMA_VERSION:
                return
            if version == 0 and not create:
                raise IndexMissing(f"no index in {self.where}", fix=Fix.INDEX)
            with self.transaction() as tx:
                # Two processes opening a new index at once: one creates, the other waits.
                tx.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("migrate", self.schema),))
                tx.execute(self._sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(self._schema_sql))
                MIGRATIONS.apply(tx)
        except NewerSchema as exc:
            raise IndexSchemaError(f"the index in {self.where} was written by a newer newsbot "
                                   f"({exc}); upgrade newsbot") from None
