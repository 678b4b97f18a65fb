"""Schema versions for every database newsbot keeps (the index on SQLite or PostgreSQL,
the feeds store, the votes): a store's schema is a list of steps, step i bringing it from
version i to i + 1, and its version is how many steps it has run. Steps are only ever
appended, so a database made by any older newsbot opens and catches up.

Here (in `corpus`) because the feeds store uses it and `corpus` imports nothing of ours;
the index and the votes use it from above. Each store says where its number is kept
(`PRAGMA user_version`, or a row of a meta table) and runs `apply` inside a transaction
of its own; a store newer than this code is a `NewerSchema` for it to word."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

Conn = TypeVar("Conn")


class NewerSchema(Exception):
    """The database was written by a newer newsbot: its schema has steps this one lacks."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"schema {found}, this newsbot knows {known}")
        self.found, self.known = found, known


@dataclass(frozen=True)
class Migrations(Generic[Conn]):
    """A store's steps, with how to read and write its version on a connection."""

    steps: Sequence[tuple[str, Callable[[Conn], None]]]
    read_version: Callable[[Conn], int]
    write_version: Callable[[Conn, int], None]

    @property
    def version(self) -> int:
        return len(self.steps)

    def current(self, conn: Conn) -> int:
        """The version of the database behind `conn` (a cheap read, so that opening a
        current database writes nothing); `NewerSchema` when it is ahead of this code."""
        return self._checked(self.read_version(conn))

    def needed(self, conn: Conn) -> bool:
        """Whether the database behind `conn` is behind this code."""
        return self.current(conn) < self.version

    def apply(self, tx: Conn) -> int:
        """Run the missing steps inside the caller's transaction; returns the version found.
        The version is read again here: another process may have migrated meanwhile."""
        found = self._checked(self.read_version(tx))
        for _, step in self.steps[found:]:
            step(tx)
        if found < self.version:
            self.write_version(tx, self.version)
        return found

    def _checked(self, found: int) -> int:
        if found > self.version:
            raise NewerSchema(found, self.version)
        return found


# --- SQLite ----------------------------------------------------------------------------
def run_script(db: Any, script: str) -> None:
    """Each statement of `script` on its own: `executescript` would commit the migration's
    transaction half way."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def set_user_version(db: sqlite3.Connection, version: int) -> None:
    db.execute(f"PRAGMA user_version = {int(version)}")


def sqlite_meta_version(db: sqlite3.Connection) -> int:
    """The version kept as `schema_version` in a `meta (key, value)` table (0: no table,
    or no such row: a database from before versions were kept)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
                      ).fetchone():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def set_sqlite_meta_version(db: sqlite3.Connection, version: int) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))


def migrate_sqlite(db: sqlite3.Connection, migrations: Migrations[sqlite3.Connection]) -> None:
    """Bring an SQLite database up to date in one `BEGIN IMMEDIATE` transaction (two
    processes opening an old file at once: one migrates, the other then finds it done)."""
    if not migrations.needed(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
