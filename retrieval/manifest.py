"""The SQLite side of the index: what is indexed (articles, chunk ids, hashes), the chunk
texts with an FTS5 keyword index, and the chunk ids that may sit in Chroma uncommitted.

Writes that belong together happen in one transaction, so a killed run leaves either the
old or the new state of an article here, never half of each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from corpus.article import Article
from retrieval.chunking import Chunk
from retrieval.text import sentence_stems

SCHEMA_VERSION = "1"

_SCHEMA = """
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
    text TEXT NOT NULL,
    stems TEXT  -- per-sentence Porter stems, for the reranker
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize = 'porter unicode61 remove_diacritics 2'
);
-- Chunk ids that may exist in Chroma without being committed here (a run in flight, or
-- one that was killed); the next run deletes those still unknown to `chunks`.
CREATE TABLE IF NOT EXISTS pending_chunks (id TEXT PRIMARY KEY);
"""


@dataclass(frozen=True)
class IndexedArticle:
    id: str
    content_hash: str
    body_hash: str
    duplicate_of: str | None
    origin_file: str


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(chunks)")}
        if "stems" not in columns:  # indexes made before the column existed
            self.db.execute("ALTER TABLE chunks ADD COLUMN stems TEXT")
        self.db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
        )

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- meta -----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- reading --------------------------------------------------------------------
    def indexed_articles(self) -> dict[str, IndexedArticle]:
        rows = self.db.execute(
            "SELECT id, content_hash, body_hash, duplicate_of, origin_file FROM articles"
        )
        return {r[0]: IndexedArticle(*r) for r in rows}

    def chunk_ids(self, article_id: str) -> list[str]:
        rows = self.db.execute(
            "SELECT id FROM chunks WHERE article_id = ? ORDER BY ord", (article_id,)
        )
        return [r[0] for r in rows]

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM pending_chunks")]

    # --- writing --------------------------------------------------------------------
    def mark_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO pending_chunks VALUES (?)",
                           ((i,) for i in chunk_ids))

    def clear_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM pending_chunks WHERE id = ?", ((i,) for i in chunk_ids))

    def _delete_article_rows(self, db: sqlite3.Connection, article_id: str) -> list[str]:
        """Remove an article and its chunks; its chunk ids become pending deletes in Chroma."""
        old = db.execute(
            "SELECT rowid, id FROM chunks WHERE article_id = ?", (article_id,)
        ).fetchall()
        db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", ((r[0],) for r in old))
        db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        db.executemany("INSERT OR IGNORE INTO pending_chunks VALUES (?)", ((r[1],) for r in old))
        return [r[1] for r in old]

    def commit_articles(
        self, items: list[tuple[Article, list[Chunk]]], duplicate_of: dict[str, str]
    ) -> list[str]:
        """Record articles (replacing older versions) with their chunks, in one transaction.
        Returns the chunk ids of replaced versions, now to be deleted from Chroma."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        stale: list[str] = []
        with self.transaction() as db:
            for article, chunks in items:
                new_ids = {c.id for c in chunks}
                stale.extend(i for i in self._delete_article_rows(db, article.id)
                             if i not in new_ids)
                db.execute(
                    "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        article.id, article.content_hash, article.body_hash,
                        duplicate_of.get(article.id), article.origin, article.origin_file,
                        article.title, article.url, article.source, article.author,
                        article.section, article.date_iso or None,
                        article.published_at.timestamp() if article.published_at else None,
                        len(article.body), now,
                    ),
                )
                for chunk in chunks:
                    cur = db.execute(
                        "INSERT INTO chunks (id, article_id, ord, text, stems) "
                        "VALUES (?,?,?,?,?)",
                        (chunk.id, chunk.article_id, chunk.ord, chunk.text,
                         sentence_stems(chunk.text)),
                    )
                    db.execute(
                        "INSERT INTO chunks_fts (rowid, title, text) VALUES (?,?,?)",
                        (cur.lastrowid, article.title, chunk.text),
                    )
                db.executemany("DELETE FROM pending_chunks WHERE id = ?",
                               ((c.id,) for c in chunks))
        return stale

    def remove_articles(self, article_ids: Iterable[str]) -> list[str]:
        """Delete articles in one transaction; returns their chunk ids (now pending)."""
        gone: list[str] = []
        with self.transaction() as db:
            for article_id in article_ids:
                gone.extend(self._delete_article_rows(db, article_id))
        return gone

    def average_chunk_words(self) -> float:
        value = self.db.execute(
            "SELECT avg(length(stems) - length(replace(replace(stems, ' ', ''), char(10), ''))"
            " + 1) FROM chunks").fetchone()[0]
        return float(value or 150.0)

    # --- statistics -----------------------------------------------------------------
    def stats(self) -> dict[str, object]:
        one = self.db.execute(
            "SELECT count(*), count(duplicate_of), min(published_at), max(published_at), "
            "coalesce(sum(chars), 0) FROM articles"
        ).fetchone()
        chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        sources = self.db.execute(
            "SELECT source, count(*) FROM articles GROUP BY source ORDER BY count(*) DESC"
        ).fetchall()
        return {
            "articles": one[0],
            "duplicates": one[1],
            "chunks": chunks,
            "characters": one[4],
            "first_published": one[2],
            "last_published": one[3],
            "sources": {s or "(unknown)": n for s, n in sources},
            "last_indexed": self.get_meta("last_indexed"),
            "model": self.get_meta("embedding_model"),
        }

    def describe(self) -> dict[str, object]:
        """`stats()` plus where the index lives and its size on disk."""
        data = self.stats()
        folder = self.path.parent
        data["index_dir"] = str(folder)
        data["size_bytes"] = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        return data
