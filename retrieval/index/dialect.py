"""The little that differs between SQLite's SQL and PostgreSQL's in the catalog's
statements: the placeholder, a list of values (`IN (?, ?)` against `= ANY(%s)`), an
upsert, an insert that skips rows already there, emptying a table, the chunk key column,
a newline and joining lines in an aggregate. `catalog.py` writes each statement once and
asks its database's dialect for these parts. (Both accept `RETURNING`: SQLite >= 3.35.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dialect:
    name: str
    mark: str               # the placeholder of one value
    any_list: bool          # a list is one array value (`= ANY(%s)`), not one mark per item
    chunk_key: str          # the chunks table's integer key, which keyword rows are keyed by
    newline: str            # a newline as an SQL expression
    lines_agg: str          # joins {expr} with newlines, in {order} where the SQL allows
    empty_table: str        # empties table {} (PostgreSQL's TRUNCATE is far faster)
    replace_conflict: bool  # `INSERT OR REPLACE` (SQLite) or `ON CONFLICT ... DO UPDATE`

    def marks(self, n: int) -> str:
        return ", ".join([self.mark] * n)

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` is one of `values`: the condition and its parameters."""
        if self.any_list:
            return f"{column} = ANY({self.mark})", [list(values)]
        return f"{column} IN ({self.marks(len(values))})", list(values)

    def upsert(self, table: str, columns: Sequence[str], key: str) -> str:
        """Insert a row, or replace the one with the same `key`."""
        if self.replace_conflict:
            return f"INSERT OR REPLACE INTO {table} VALUES ({self.marks(len(columns))})"
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
        return (f"INSERT INTO {table} VALUES ({self.marks(len(columns))}) "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates}")

    def insert_new(self, table: str, n: int) -> str:
        """Insert a row unless one with the same key is there."""
        if self.replace_conflict:
            return f"INSERT OR IGNORE INTO {table} VALUES ({self.marks(n)})"
        return f"INSERT INTO {table} VALUES ({self.marks(n)}) ON CONFLICT DO NOTHING"


SQLITE = Dialect(name="sqlite", mark="?", any_list=False, chunk_key="rowid",
                 newline="char(10)", lines_agg="group_concat({expr}, char(10))",
                 empty_table="DELETE FROM {}", replace_conflict=True)
POSTGRES = Dialect(name="postgres", mark="%s", any_list=True, chunk_key="key",
                   newline="E'\\n'", lines_agg="string_agg({expr}, E'\\n' ORDER BY {order})",
                   empty_table="TRUNCATE {}", replace_conflict=False)
