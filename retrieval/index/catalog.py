"""The catalog: what is indexed (articles with their metadata and hashes, chunk texts and
stems), the chunk ids that may sit in Chroma uncommitted, and the index's meta values.
Every SQL statement about those tables lives here (the meta table's few are in
`sqlite.py`, beside the schema version they hold); the keyword index has its own owner
(`keywords.py`). Writes take the transaction they belong to, so an article, its chunks
and their keyword rows commit together or not at all."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.article import Article
from retrieval.index.chunking import Chunk
from retrieval.text import sentence_stems
from retrieval.types import ArticleSummary, parse_moment

if TYPE_CHECKING:
    from retrieval.index.sqlite import SqliteDatabase

CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    duplicate_of TEXT,
    origin TEXT NOT NULL,
    origin_file TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    author TEXT NOT NULL,
    section TEXT NOT NULL,
    published_at TEXT,
    published_ts REAL,
    chars INTEGER NOT NULL,
    indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_origin_file ON articles(origin_file);
CREATE INDEX IF NOT EXISTS articles_body_hash ON articles(body_hash);
CREATE INDEX IF NOT EXISTS articles_duplicate_of ON articles(duplicate_of);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
-- Chunk ids that may exist in Chroma without being committed here (a run in flight, or
-- one that was killed): the next run deletes those still unknown to `chunks`.
CREATE TABLE IF NOT EXISTS pending_chunks (id TEXT PRIMARY KEY);
"""


STORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS article_minhash (article_id TEXT PRIMARY KEY, sig BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
"""


@dataclass(frozen=True)
class IndexedArticle:
    id: str
    content_hash: str
    body_hash: str
    duplicate_of: str | None
    origin_file: str


@dataclass(frozen=True)
class ChunkRow:
    """A committed chunk with what search needs of its article."""

    chunk_id: str
    article_id: str
    ord: int
    text: str
    stems: str | None
    title: str
    url: str
    source: str
    published_at: datetime | None
    story_id: str | None = None


def _marks(n: int) -> str:
    return ",".join("?" * n)


class Catalog:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    # --- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.db.get_meta(key)

    def set_meta(self, key: str, value: str | None) -> None:
        self.db.set_meta(key, value)

    # --- reading ---------------------------------------------------------------------------
    def indexed_articles(self) -> dict[str, IndexedArticle]:
        rows = self.db.reader().execute(
            "SELECT id, content_hash, body_hash, duplicate_of, origin_file FROM articles")
        return {r[0]: IndexedArticle(*r) for r in rows}

    def chunk_ids(self, article_id: str) -> list[str]:
        rows = self.db.reader().execute(
            "SELECT id FROM chunks WHERE article_id = ? ORDER BY ord", (article_id,))
        return [r[0] for r in rows]

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.reader().execute("SELECT id FROM chunks")}

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.reader().execute("SELECT id FROM pending_chunks")]

    def chunk_count(self) -> int:
        return self.db.reader().execute("SELECT count(*) FROM chunks").fetchone()[0]

    def average_chunk_words(self) -> float:
        value = self.db.reader().execute(
            "SELECT avg(length(stems) - length(replace(replace(stems, ' ', ''), char(10), ''))"
            " + 1) FROM chunks").fetchone()[0]
        return float(value or 150.0)

    def articles_of_chunks(self, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        ids = list(ids)
        for start in range(0, len(ids), 900):  # SQLite's limit on bound variables
            part = ids[start:start + 900]
            found |= {r[0] for r in self.db.reader().execute(
                f"SELECT DISTINCT article_id FROM chunks WHERE id IN ({_marks(len(part))})",
                part)}
        return found

    def chunk_rows(self, ids: list[str]) -> dict[str, ChunkRow]:
        """Committed chunks by id; ids not (or no longer) committed are left out."""
        if not ids:
            return {}
        rows = self.db.reader().execute(
            "SELECT c.id, c.article_id, c.ord, c.text, c.stems, a.title, a.url, a.source, "
            "a.published_at, a.story_id FROM chunks c JOIN articles a ON a.id = c.article_id "
            f"WHERE c.id IN ({_marks(len(ids))})", ids).fetchall()
        return {r[0]: ChunkRow(*r[:8], parse_moment(r[8]), r[9]) for r in rows}

    # --- stories -------------------------------------------------------------------------
    def story_signatures(self) -> dict[str, tuple[np.ndarray, str]]:
        """Every article's MinHash signature and story."""
        rows = self.db.reader().execute(
            "SELECT m.article_id, m.sig, a.story_id FROM article_minhash m "
            "JOIN articles a ON a.id = m.article_id")
        return {r[0]: (np.frombuffer(r[1], dtype=np.uint64), r[2] or r[0]) for r in rows}

    def articles_without_story(self) -> dict[str, str]:
        """Embedded articles indexed before stories existed: id -> their text."""
        rows = self.db.reader().execute(
            "SELECT a.id, group_concat(c.text, char(10)) FROM articles a "
            "JOIN chunks c ON c.article_id = a.id WHERE a.story_id IS NULL "
            "GROUP BY a.id").fetchall()
        return {r[0]: r[1] for r in rows}

    def set_story(self, tx: sqlite3.Connection, article_id: str, story_id: str,
                  sig: np.ndarray) -> None:
        tx.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article_id))
        tx.execute("INSERT OR REPLACE INTO article_minhash VALUES (?, ?)",
                   (article_id, sig.astype(np.uint64).tobytes()))

    def source_spellings(self, sources: Iterable[str]) -> set[str]:
        """The outlet names as stored, for names given in any case."""
        wanted = sorted({s.lower() for s in sources})
        rows = self.db.reader().execute(
            f"SELECT DISTINCT source FROM articles WHERE lower(source) IN ({_marks(len(wanted))})",
            wanted).fetchall()
        return {r[0] for r in rows}

    def latest(self, limit: int, article_ids: Iterable[str] | None = None
               ) -> list[ArticleSummary]:
        """Newest articles first (undated ones last), duplicates left out; only among
        `article_ids` when given."""
        where, params = "duplicate_of IS NULL", []
        if article_ids is not None:
            ids = list(article_ids)
            if not ids:
                return []
            where += f" AND id IN ({_marks(len(ids))})"
            params = ids
        rows = self.db.reader().execute(
            f"SELECT id, title, url, source, published_at FROM articles WHERE {where} "
            "ORDER BY published_ts IS NULL, published_ts DESC, indexed_at DESC LIMIT ?",
            [*params, limit]).fetchall()
        return [ArticleSummary(r[0], r[1], r[2], r[3], parse_moment(r[4])) for r in rows]

    def stats(self) -> dict[str, Any]:
        db = self.db.reader()
        one = db.execute(
            "SELECT count(*), count(duplicate_of), min(published_at), max(published_at), "
            "coalesce(sum(chars), 0) FROM articles").fetchone()
        sources = db.execute(
            "SELECT source, count(*) FROM articles GROUP BY source ORDER BY count(*) DESC, source"
        ).fetchall()
        return {
            "articles": one[0],
            "duplicates": one[1],
            "chunks": self.chunk_count(),
            "characters": one[4],
            "first_published": one[2],
            "last_published": one[3],
            "sources": {s or "(unknown)": n for s, n in sources},
            "last_indexed": self.get_meta("last_indexed"),
            "model": self.get_meta("embedding_model"),
        }

    # --- writing (inside a transaction) ----------------------------------------------------
    def mark_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.db.transaction() as tx:
            tx.executemany("INSERT OR IGNORE INTO pending_chunks VALUES (?)",
                           ((i,) for i in chunk_ids))

    def clear_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.db.transaction() as tx:
            tx.executemany("DELETE FROM pending_chunks WHERE id = ?", ((i,) for i in chunk_ids))

    def remove_article(self, tx: sqlite3.Connection, article_id: str) -> list[tuple[int, str]]:
        """Delete an article and its chunks; returns their (row key, chunk id) pairs, the
        ids now pending deletion from Chroma."""
        old = tx.execute("SELECT rowid, id FROM chunks WHERE article_id = ?",
                         (article_id,)).fetchall()
        tx.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        tx.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        tx.execute("DELETE FROM article_minhash WHERE article_id = ?", (article_id,))
        tx.executemany("INSERT OR IGNORE INTO pending_chunks VALUES (?)", ((r[1],) for r in old))
        return [(r[0], r[1]) for r in old]

    def add_article(self, tx: sqlite3.Connection, article: Article, duplicate_of: str | None,
                    indexed_at: str) -> None:
        tx.execute(
            "INSERT INTO articles (id, content_hash, body_hash, duplicate_of, origin, "
            "origin_file, title, url, source, author, section, published_at, published_ts, "
            "chars, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (article.id, article.content_hash, article.body_hash, duplicate_of, article.origin,
             article.origin_file, article.title, article.url, article.source, article.author,
             article.section, article.date_iso or None,
             article.published_at.timestamp() if article.published_at else None,
             len(article.body), indexed_at))

    def add_chunk(self, tx: sqlite3.Connection, chunk: Chunk) -> int:
        """Store a chunk (no longer pending); returns its row key for the keyword index."""
        cur = tx.execute("INSERT INTO chunks (id, article_id, ord, text, stems) "
                         "VALUES (?,?,?,?,?)",
                         (chunk.id, chunk.article_id, chunk.ord, chunk.text,
                          sentence_stems(chunk.text)))
        tx.execute("DELETE FROM pending_chunks WHERE id = ?", (chunk.id,))
        return int(cur.lastrowid or 0)

    def move_articles(self, tx: sqlite3.Connection, articles: Iterable[Article]) -> None:
        """Unchanged articles now read from another file."""
        tx.executemany("UPDATE articles SET origin = ?, origin_file = ? WHERE id = ?",
                       [(a.origin, a.origin_file, a.id) for a in articles])

    def clear(self, tx: sqlite3.Connection) -> None:
        """Forget every article and chunk, and the model they were embedded with."""
        for table in ("articles", "chunks", "pending_chunks", "article_minhash"):
            tx.execute(f"DELETE FROM {table}")
        tx.execute("DELETE FROM meta WHERE key = 'embedding_model'")
