"""The catalog on PostgreSQL (server mode): the same tables and methods as `catalog.py`,
with PostgreSQL's SQL. Every statement about these tables lives here; the meta table's
few are in `postgres.py`. Writes take the transaction they belong to (`tx`), so an
article, its chunks and their keyword rows commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.article import Article
from retrieval.index.catalog import ChunkRow, IndexedArticle
from retrieval.index.chunking import Chunk
from retrieval.text import sentence_stems
from retrieval.types import ArticleSummary, parse_moment

if TYPE_CHECKING:
    from retrieval.index.postgres import PostgresDatabase

CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id text PRIMARY KEY,
    content_hash text NOT NULL,
    body_hash text NOT NULL,
    duplicate_of text,
    origin text NOT NULL,
    origin_file text NOT NULL,
    title text NOT NULL,
    url text NOT NULL,
    source text NOT NULL,
    author text NOT NULL,
    section text NOT NULL,
    published_at text,
    published_ts double precision,
    chars integer NOT NULL,
    indexed_at text NOT NULL,
    story_id text
);
CREATE INDEX IF NOT EXISTS articles_origin_file ON articles(origin_file);
CREATE INDEX IF NOT EXISTS articles_body_hash ON articles(body_hash);
CREATE INDEX IF NOT EXISTS articles_duplicate_of ON articles(duplicate_of);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_source ON articles(lower(source));
CREATE TABLE IF NOT EXISTS chunks (
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    article_id text NOT NULL,
    ord integer NOT NULL,
    text text NOT NULL,
    stems text
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
-- Chunk ids that may exist in Chroma without being committed here (a run in flight, or
-- one that was killed): the next run deletes those still unknown to `chunks`.
CREATE TABLE IF NOT EXISTS pending_chunks (id text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS article_minhash (article_id text PRIMARY KEY, sig bytea NOT NULL);
"""

TABLES = ("articles", "chunks", "pending_chunks", "article_minhash")


class PgCatalog:
    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    # --- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.db.get_meta(key)

    def set_meta(self, key: str, value: str | None) -> None:
        self.db.set_meta(key, value)

    # --- reading ---------------------------------------------------------------------------
    def indexed_articles(self) -> dict[str, IndexedArticle]:
        rows = self.db.rows(
            "SELECT id, content_hash, body_hash, duplicate_of, origin_file FROM articles")
        return {r[0]: IndexedArticle(*r) for r in rows}

    def chunk_ids(self, article_id: str) -> list[str]:
        rows = self.db.rows("SELECT id FROM chunks WHERE article_id = %s ORDER BY ord",
                            (article_id,))
        return [r[0] for r in rows]

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.rows("SELECT id FROM chunks")}

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.rows("SELECT id FROM pending_chunks")]

    def chunk_count(self) -> int:
        row = self.db.one("SELECT count(*) FROM chunks")
        return int(row[0]) if row else 0

    def average_chunk_words(self) -> float:
        row = self.db.one(
            "SELECT avg(length(stems) - length(replace(replace(stems, ' ', ''), E'\\n', ''))"
            " + 1) FROM chunks")
        return float(row[0]) if row and row[0] is not None else 150.0

    def articles_of_chunks(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        if not ids:
            return set()
        rows = self.db.rows("SELECT DISTINCT article_id FROM chunks WHERE id = ANY(%s)", (ids,))
        return {r[0] for r in rows}

    def chunk_rows(self, ids: list[str]) -> dict[str, ChunkRow]:
        """Committed chunks by id; ids not (or no longer) committed are left out."""
        if not ids:
            return {}
        rows = self.db.rows(
            "SELECT c.id, c.article_id, c.ord, c.text, c.stems, a.title, a.url, a.source, "
            "a.published_at, a.story_id FROM chunks c JOIN articles a ON a.id = c.article_id "
            "WHERE c.id = ANY(%s)", (list(ids),))
        return {r[0]: ChunkRow(*r[:8], parse_moment(r[8]), r[9]) for r in rows}

    # --- stories -------------------------------------------------------------------------
    def story_signatures(self) -> dict[str, tuple[np.ndarray, str]]:
        rows = self.db.rows(
            "SELECT m.article_id, m.sig, a.story_id FROM article_minhash m "
            "JOIN articles a ON a.id = m.article_id")
        return {r[0]: (np.frombuffer(bytes(r[1]), dtype=np.uint64), r[2] or r[0])
                for r in rows}

    def articles_without_story(self) -> dict[str, str]:
        rows = self.db.rows(
            "SELECT a.id, string_agg(c.text, E'\\n' ORDER BY c.ord) FROM articles a "
            "JOIN chunks c ON c.article_id = a.id WHERE a.story_id IS NULL GROUP BY a.id")
        return {r[0]: r[1] for r in rows}

    def set_story(self, tx: Any, article_id: str, story_id: str, sig: np.ndarray) -> None:
        tx.execute("UPDATE articles SET story_id = %s WHERE id = %s", (story_id, article_id))
        tx.execute("INSERT INTO article_minhash VALUES (%s, %s) ON CONFLICT (article_id) "
                   "DO UPDATE SET sig = excluded.sig",
                   (article_id, sig.astype(np.uint64).tobytes()))

    def source_spellings(self, sources: Iterable[str]) -> set[str]:
        wanted = sorted({s.lower() for s in sources})
        rows = self.db.rows("SELECT DISTINCT source FROM articles WHERE lower(source) = ANY(%s)",
                            (wanted,))
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
            where += " AND id = ANY(%s)"
            params = [ids]
        rows = self.db.rows(
            f"SELECT id, title, url, source, published_at FROM articles WHERE {where} "
            "ORDER BY published_ts IS NULL, published_ts DESC, indexed_at DESC LIMIT %s",
            [*params, limit])
        return [ArticleSummary(r[0], r[1], r[2], r[3], parse_moment(r[4])) for r in rows]

    def stats(self) -> dict[str, Any]:
        one = self.db.one(
            "SELECT count(*), count(duplicate_of), min(published_at), max(published_at), "
            "coalesce(sum(chars), 0) FROM articles")
        assert one is not None
        sources = self.db.rows(
            "SELECT source, count(*) FROM articles GROUP BY source "
            "ORDER BY count(*) DESC, source")
        return {
            "articles": one[0],
            "duplicates": one[1],
            "chunks": self.chunk_count(),
            "characters": int(one[4]),
            "first_published": one[2],
            "last_published": one[3],
            "sources": {s or "(unknown)": n for s, n in sources},
            "last_indexed": self.get_meta("last_indexed"),
            "model": self.get_meta("embedding_model"),
        }

    # --- writing (inside a transaction) ----------------------------------------------------
    def mark_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.db.transaction() as tx:
            tx.execute("INSERT INTO pending_chunks SELECT unnest(%s::text[]) "
                       "ON CONFLICT DO NOTHING", (list(chunk_ids),))

    def clear_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM pending_chunks WHERE id = ANY(%s)", (list(chunk_ids),))

    def remove_article(self, tx: Any, article_id: str) -> list[tuple[int, str]]:
        """Delete an article and its chunks; returns their (row key, chunk id) pairs, the
        ids now pending deletion from Chroma."""
        old = tx.execute("DELETE FROM chunks WHERE article_id = %s RETURNING key, id",
                         (article_id,)).fetchall()
        tx.execute("DELETE FROM articles WHERE id = %s", (article_id,))
        tx.execute("DELETE FROM article_minhash WHERE article_id = %s", (article_id,))
        if old:
            tx.execute("INSERT INTO pending_chunks SELECT unnest(%s::text[]) "
                       "ON CONFLICT DO NOTHING", ([r[1] for r in old],))
        return [(int(r[0]), r[1]) for r in old]

    def add_article(self, tx: Any, article: Article, duplicate_of: str | None,
                    indexed_at: str) -> None:
        tx.execute(
            "INSERT INTO articles (id, content_hash, body_hash, duplicate_of, origin, "
            "origin_file, title, url, source, author, section, published_at, published_ts, "
            "chars, indexed_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            (article.id, article.content_hash, article.body_hash, duplicate_of, article.origin,
             article.origin_file, article.title, article.url, article.source, article.author,
             article.section, article.date_iso or None,
             article.published_at.timestamp() if article.published_at else None,
             len(article.body), indexed_at))

    def add_chunk(self, tx: Any, chunk: Chunk) -> int:
        """Store a chunk (no longer pending); returns its row key for the keyword index."""
        row = tx.execute("INSERT INTO chunks (id, article_id, ord, text, stems) "
                         "VALUES (%s,%s,%s,%s,%s) RETURNING key",
                         (chunk.id, chunk.article_id, chunk.ord, chunk.text,
                          sentence_stems(chunk.text))).fetchone()
        tx.execute("DELETE FROM pending_chunks WHERE id = %s", (chunk.id,))
        return int(row[0])

    def move_articles(self, tx: Any, articles: Iterable[Article]) -> None:
        """Unchanged articles now read from another file."""
        with tx.cursor() as cur:
            cur.executemany("UPDATE articles SET origin = %s, origin_file = %s WHERE id = %s",
                            [(a.origin, a.origin_file, a.id) for a in articles])

    def clear(self, tx: Any) -> None:
        """Forget every article and chunk of this index, and the model they were embedded
        with. Only this index's schema is touched."""
        tx.execute(f"TRUNCATE {', '.join(TABLES)}")
        tx.execute("DELETE FROM meta WHERE key = 'embedding_model'")
