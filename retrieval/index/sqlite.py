"""The index's SQLite file (`manifest.sqlite`): one writer connection, one reader
connection per thread, and the schema kept current by a list of migration steps.

Readers and the writer never share a connection: with WAL, a search reads the last
committed state while an index run writes, and neither aborts the other's statements.
Opening an index to read writes nothing unless its schema must be migrated."""

from __future__ import annotations

import errno
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from corpus.migrations import (
    Migrations,
    NewerSchema,
    run_script,
    set_sqlite_meta_version,
    sqlite_meta_version,
)
from retrieval.errors import (
    DiskFull,
    Fix,
    IndexDamaged,
    IndexMissing,
    IndexSchemaError,
    VectorStoreError,
)
from retrieval.index.catalog import Catalog
from retrieval.index.dialect import SQLITE
from retrieval.index.keywords import KEYWORD_SCHEMA, KeywordStore
from retrieval.index.lease import StoreLease
from retrieval.index.lock import index_lock, index_run_going
from retrieval.index.report import folder_bytes
from retrieval.index.schema import CATALOG_SCHEMA, STORY_SCHEMA

FILE_NAME = "manifest.sqlite"
BUSY_TIMEOUT_S = 60.0  # a reader or second writer waits this long for a lock
DISCARD_WAIT_S = 60.0  # discarding a damaged index waits this long for searches to let go


def _add_stems(db: sqlite3.Connection) -> None:
    columns = {r[1] for r in db.execute("PRAGMA table_info(chunks)")}
    if "stems" not in columns:  # indexes of version 1 may already have it
        db.execute("ALTER TABLE chunks ADD COLUMN stems TEXT")


def _add_stories(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE articles ADD COLUMN story_id TEXT")
    run_script(db, STORY_SCHEMA)


# The version is the meta table's `schema_version`; only ever append a step.
MIGRATIONS: Migrations[sqlite3.Connection] = Migrations([
    ("articles, chunks, pending writes, meta and the FTS5 keyword index",
     lambda db: run_script(db, CATALOG_SCHEMA + KEYWORD_SCHEMA)),
    ("per-sentence stems of every chunk, for the reranker", _add_stems),
    ("stories: copies of one story across outlets (MinHash signatures)", _add_stories),
], sqlite_meta_version, set_sqlite_meta_version)
SCHEMA_VERSION = MIGRATIONS.version


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


def nearly_full(where: Path, margin: int = 32 * 1024**2) -> bool:
    try:
        return shutil.disk_usage(where).free < margin
    except OSError:
        return False


@contextmanager
def storage_errors(where: Path) -> Iterator[None]:
    """A full disk or a damaged file under `where` as a one-line domain error. Chroma
    says nothing of space when a write fails, so its failures on a disk with almost no
    room left count as a full disk too."""
    try:
        yield
    except (sqlite3.DatabaseError, OSError, VectorStoreError) as exc:
        if is_disk_full(exc) or nearly_full(where):
            raise DiskFull(f"the disk holding {where} is full (what was indexed before is "
                           "kept): free some space", fix=Fix.INDEX_AGAIN) from None
        if isinstance(exc, VectorStoreError):
            raise
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, sqlite3.OperationalError | sqlite3.IntegrityError):
            raise IndexDamaged(f"the index in {where} is damaged ({str(exc).splitlines()[0]})",
                               fix=Fix.REBUILD) from None
        raise


def discard_files(index_dir: Path) -> None:
    """Delete the SQLite file and the embedded Chroma store (for a rebuild from damage)."""
    for name in (FILE_NAME, f"{FILE_NAME}-wal", f"{FILE_NAME}-shm"):
        (index_dir / name).unlink(missing_ok=True)
    shutil.rmtree(index_dir / "chroma", ignore_errors=True)


def open_local(index_dir: Path, create: bool, discard_damaged: bool = False) -> SqliteDatabase:
    """The index's SQLite file. With `discard_damaged` (a rebuild), a file too damaged to
    open, or that fails its check, is deleted with the Chroma store beside it and started
    afresh, once no other process has either open."""
    try:
        database = SqliteDatabase(index_dir / FILE_NAME, create)
        if discard_damaged:
            try:
                database.check(keywords=True)
            except IndexDamaged:
                database.close()
                raise
        return database
    except IndexDamaged:
        if not discard_damaged:
            raise
        lease = StoreLease(index_dir)
        with index_lock(index_dir):
            if not lease.acquire(DISCARD_WAIT_S, "index"):
                raise
            try:
                discard_files(index_dir)
            finally:
                lease.release()
        return SqliteDatabase(index_dir / FILE_NAME, create=True)


class SqliteDatabase:
    dialect = SQLITE

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise IndexMissing(f"no index at {self.path.parent}", fix=Fix.INDEX)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._readers: dict[int, sqlite3.Connection] = {}  # by thread id
        self._lock = threading.RLock()  # guards the writer connection and the reader list
        self._writer: sqlite3.Connection | None = None
        self._migrate()

    # --- what NewsIndex asks of its database (`postgres.py` answers the same) ------------
    def stores(self) -> tuple[Catalog, KeywordStore]:
        return Catalog(self), KeywordStore(self)

    def run_lock(self) -> AbstractContextManager[None]:
        """One index run at a time: `index.lock` beside the file."""
        return index_lock(self.path.parent)

    def run_going(self) -> bool:
        """Whether an index run holds the lock now."""
        return index_run_going(self.path.parent)

    def errors(self) -> AbstractContextManager[None]:
        return storage_errors(self.path.parent)

    def footprint(self) -> tuple[str, int]:
        """Where the index is, and its size on disk (the Chroma folder included)."""
        return str(self.path.parent), folder_bytes(self.path.parent)

    # --- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise IndexSchemaError(f"cannot open {self.path}: {exc}") from None
        return db

    @property
    def writer(self) -> sqlite3.Connection:
        with self._lock:
            if self._writer is None:
                db = self._connect()
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                self._writer = db
            return self._writer

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection, opened on first use."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            with storage_errors(self.path.parent):
                KeywordStore.prepare_reader(db)  # a temp table: before it reads only
                db.execute("PRAGMA query_only=ON")
            self._local.db = db
            with self._lock:
                self._close_readers_of_ended_threads()
                self._readers[threading.get_ident()] = db
        return db

    def _close_readers_of_ended_threads(self) -> None:
        """A thread's reader outlives the thread unless closed here: the answer chain
        (LangChain) runs its steps on a new thread per question, so a long-lived bot would
        otherwise keep a connection, and its page cache, per question asked."""
        alive = {thread.ident for thread in threading.enumerate()}
        for ident in [i for i in self._readers if i not in alive or
                      i == threading.get_ident()]:  # an id reused by a new thread
            self._readers.pop(ident).close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the writer connection, rolled back on any error."""
        with self._lock:
            db = self.writer
            with storage_errors(self.path.parent):
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    if db.in_transaction:  # SQLite has already rolled back after some errors
                        db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for db in self._readers.values():
                db.close()
            self._readers.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self._local = threading.local()

    # --- reading -------------------------------------------------------------------------
    def rows(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """One read on this thread's reader: the last committed state."""
        return self.reader().execute(query, params).fetchall()

    def one(self, query: str, params: Sequence[Any] = ()) -> Any:
        return self.reader().execute(query, params).fetchone()

    # --- schema --------------------------------------------------------------------------

    def check(self, keywords: bool = False) -> None:
        """SQLite's quick check of every page (fast: tens of ms for a small index): damage
        inside the file is an `IndexDamaged` error, not a wrong answer later. With
        `keywords` (a rebuild), also FTS5's own check of the keyword index, whose pages
        can be garbled while the file's structure holds."""
        with storage_errors(self.path.parent):
            problems = [r[0] for r in self.writer.execute("PRAGMA quick_check(3)")]
            if keywords and problems == ["ok"]:  # FTS5's own check: raises when garbled
                self.writer.execute("INSERT INTO chunks_fts (chunks_fts) "
                                    "VALUES ('integrity-check')")
        if problems != ["ok"]:
            detail = " ".join(" ".join(problems).split())[:160]
            raise IndexDamaged(f"the index in {self.path.parent} is damaged ({detail})",
                               fix=Fix.REBUILD)

    def _migrate(self) -> None:
        try:
            try:
                needed = MIGRATIONS.needed(self.reader())
            except sqlite3.DatabaseError as exc:
                raise IndexDamaged(f"{self.path} cannot be read as an index ({exc})",
                                   fix=Fix.REBUILD) from None
            if needed:
                with self.transaction() as db:
                    MIGRATIONS.apply(db)
        except NewerSchema as exc:
            raise IndexSchemaError(f"the index in {self.path.parent} was written by a newer "
                                   f"newsbot ({exc}); upgrade newsbot") from None
