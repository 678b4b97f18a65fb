"""The keyword index: an SQLite FTS5 table of every chunk's headline and text (Porter
stems). It gives candidates, ranked inside FTS5 by `bm25()`, which computes
`retrieval/bm25.py`'s `rank_score` (its k1 and b are FTS5's; the headline weight is passed
in), and document frequencies. Every SQL statement about it lives here. Rows are keyed by
the catalog's chunk row key, so a chunk and its keyword row are written in one
transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.bm25 import TITLE_WEIGHT
from retrieval.types import SearchFilters

if TYPE_CHECKING:
    from retrieval.index.stores import Hits, Tx

KEYWORD_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


def _any_of(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"' for t in terms)


class ReadConnections(Protocol):
    """What the keyword store needs of its database (`sqlite.py`'s, which owns it)."""

    def reader(self) -> sqlite3.Connection: ...


class KeywordStore:
    def __init__(self, db: ReadConnections, split_docs: int = 2000) -> None:
        self.db = db
        self.split_docs = split_docs

    @staticmethod
    def prepare_reader(db: sqlite3.Connection) -> None:
        """Per connection: the FTS vocabulary as a table, for document frequencies."""
        db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab "
                   "USING fts5vocab(main, chunks_fts, row)")

    # --- writing (inside the catalog's transaction) ----------------------------------------
    def add(self, tx: Tx, key: int, title: str, text: str) -> None:
        tx.execute("INSERT INTO chunks_fts (rowid, title, text) VALUES (?,?,?)",
                   (key, title, text))

    def remove(self, tx: Tx, keys: Iterable[int]) -> None:
        tx.executemany("DELETE FROM chunks_fts WHERE rowid = ?", ((k,) for k in keys))

    def clear(self, tx: Tx) -> None:
        tx.execute("DELETE FROM chunks_fts")

    # --- reading ---------------------------------------------------------------------------
    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many chunks hold each stem (absent stems are left out)."""
        if not terms:
            return {}
        rows = self.db.reader().execute(
            f"SELECT term, doc FROM temp.vocab WHERE term IN ({','.join('?' * len(terms))})",
            terms).fetchall()
        return dict(rows)

    def search(self, terms: list[str], filters: SearchFilters, k: int,
               df: dict[str, int] | None = None) -> list[str]:
        """The ids of the k best chunks for `terms` (stems), best first."""
        return [chunk_id for chunk_id, _ in self.scored(terms, filters, k, df)]

    def scored(self, terms: list[str], filters: SearchFilters, k: int,
               df: dict[str, int] | None = None) -> Hits:
        """The k best chunks with their `bm25.rank_score` over `terms`, as FTS5 ranks them.

        FTS5 spends about a microsecond scoring each chunk that holds any term, and on a
        large index most of those hold only a few common ones. So terms in more than
        `split_docs` chunks score only chunks that also hold a rarer term: two queries,
        split by whether a chunk holds a common term, give those chunks the same score
        as one query over every term would (each term counted once in each)."""
        if not terms:
            return []
        df = df or {}
        rare = [t for t in terms if df.get(t, 0) <= self.split_docs]
        common = [t for t in terms if df.get(t, 0) > self.split_docs]
        if rare and common:
            expressions = [f"({_any_of(rare)}) AND ({_any_of(common)})",
                           f"({_any_of(rare)}) NOT ({_any_of(common)})"]
        else:
            expressions = [_any_of(terms)]
        hits = [hit for e in expressions for hit in self._top(e, filters, k)]
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    def _top(self, match: str, filters: SearchFilters, k: int) -> Hits:
        clauses, params = [], []
        if filters.sources:
            clauses.append(f"lower(a.source) IN ({','.join('?' * len(filters.sources))})")
            params += [s.lower() for s in filters.sources]
        if filters.since:
            clauses.append("a.published_ts >= ?")
            params.append(filters.since_ts)
        if filters.until:
            clauses.append("a.published_ts <= ?")
            params.append(filters.until_ts)
        db = self.db.reader()
        if not clauses:
            # Rank inside FTS5 first and join only the k winners: ~2.5x faster than joining
            # every matching row.
            rows: list[Any] = db.execute(
                "SELECT c.id, f.s FROM (SELECT rowid, -bm25(chunks_fts, ?, 1.0) AS s "
                "FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s DESC LIMIT ?) f "
                "JOIN chunks c ON c.rowid = f.rowid ORDER BY f.s DESC",
                [TITLE_WEIGHT, match, k]).fetchall()
        else:
            rows = db.execute(
                f"SELECT c.id, -bm25(chunks_fts, ?, 1.0) AS s FROM chunks_fts "
                f"JOIN chunks c ON c.rowid = chunks_fts.rowid "
                f"JOIN articles a ON a.id = c.article_id "
                f"WHERE chunks_fts MATCH ?{''.join(f' AND {c}' for c in clauses)} "
                f"ORDER BY s DESC LIMIT ?",
                [TITLE_WEIGHT, match, *params, k]).fetchall()
        return [(r[0], r[1]) for r in rows]
