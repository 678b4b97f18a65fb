"""The catalog: what is indexed (articles with their metadata and hashes, chunk texts and
stems), the chunk ids that may sit in Chroma uncommitted, and the index's meta values.
One class for both backends: every statement about those tables is written here once,
and the database's `Dialect` (`dialect.py`) fills in the few parts that SQLite and
PostgreSQL spell differently; their DDL is in `schema.py`. The keyword index has its own
owner (`keywords.py`, `pg_keywords.py`). Writes take the transaction they belong to, so
an article, its chunks and their keyword rows commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from corpus.article import Article
from retrieval.index.chunking import Chunk
from retrieval.index.rows import ChunkRow, IndexedArticle
from retrieval.text import sentence_stems
from retrieval.types import ArticleSummary, parse_moment

if TYPE_CHECKING:
    from retrieval.index.stores import Database, Tx

# Ids per statement, under SQLite's oldest limit on bound values (999).
ID_BATCH = 900
TABLES = ("articles", "chunks", "pending_chunks", "article_minhash")


def _batches(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), ID_BATCH):
        yield ids[start:start + ID_BATCH]


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.sql = db.dialect
        self._mark = self.sql.mark

    # --- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.one(f"SELECT value FROM meta WHERE key = {self._mark}", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        with self.db.transaction() as tx:
            self.write_meta(tx, key, value)

    def write_meta(self, tx: Tx, key: str, value: str | None) -> None:
        if value is None:
            tx.execute(f"DELETE FROM meta WHERE key = {self._mark}", (key,))
        else:
            tx.execute(self.sql.upsert("meta", ("key", "value"), "key"), (key, value))

    # --- reading ---------------------------------------------------------------------------
    def indexed_articles(self) -> dict[str, IndexedArticle]:
        rows = self.db.rows(
            "SELECT id, content_hash, body_hash, duplicate_of, origin_file FROM articles")
        return {r[0]: IndexedArticle(*r) for r in rows}

    def chunk_ids(self, article_id: str) -> list[str]:
        rows = self.db.rows(f"SELECT id FROM chunks WHERE article_id = {self._mark} ORDER BY ord",
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
        nl = self.sql.newline
        row = self.db.one(
            f"SELECT avg(length(stems) - length(replace(replace(stems, ' ', ''), {nl}, ''))"
            " + 1) FROM chunks")
        return float(row[0]) if row and row[0] is not None else 150.0

    def articles_of_chunks(self, ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for part in _batches(list(ids)):
            where, params = self.sql.in_list("id", part)
            found |= {r[0] for r in self.db.rows(
                f"SELECT DISTINCT article_id FROM chunks WHERE {where}", params)}
        return found

    def chunk_rows(self, ids: list[str]) -> dict[str, ChunkRow]:
        """Committed chunks by id; ids not (or no longer) committed are left out."""
        if not ids:
            return {}
        where, params = self.sql.in_list("c.id", ids)
        rows = self.db.rows(
            "SELECT c.id, c.article_id, c.ord, c.text, c.stems, a.title, a.url, a.source, "
            "a.published_at, a.story_id FROM chunks c JOIN articles a ON a.id = c.article_id "
            f"WHERE {where}", params)
        return {r[0]: ChunkRow(*r[:8], parse_moment(r[8]), r[9]) for r in rows}

    # --- stories -------------------------------------------------------------------------
    def story_signatures(self) -> dict[str, tuple[np.ndarray, str]]:
        """Every article's MinHash signature and story."""
        rows = self.db.rows(
            "SELECT m.article_id, m.sig, a.story_id FROM article_minhash m "
            "JOIN articles a ON a.id = m.article_id")
        return {r[0]: (np.frombuffer(bytes(r[1]), dtype=np.uint64), r[2] or r[0])
                for r in rows}

    def articles_without_story(self) -> dict[str, str]:
        """Embedded articles indexed before stories existed: id -> their text."""
        text = self.sql.lines_agg.format(expr="c.text", order="c.ord")
        rows = self.db.rows(
            f"SELECT a.id, {text} FROM articles a JOIN chunks c ON c.article_id = a.id "
            "WHERE a.story_id IS NULL GROUP BY a.id")
        return {r[0]: r[1] for r in rows}

    def set_story(self, tx: Tx, article_id: str, story_id: str, sig: np.ndarray) -> None:
        tx.execute(f"UPDATE articles SET story_id = {self._mark} WHERE id = {self._mark}",
                   (story_id, article_id))
        tx.execute(self.sql.upsert("article_minhash", ("article_id", "sig"), "article_id"),
                   (article_id, sig.astype(np.uint64).tobytes()))

    def source_spellings(self, sources: Iterable[str]) -> set[str]:
        """The outlet names as stored, for names given in any case."""
        where, params = self.sql.in_list("lower(source)", sorted({s.lower() for s in sources}))
        rows = self.db.rows(f"SELECT DISTINCT source FROM articles WHERE {where}", params)
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
            among, params = self.sql.in_list("id", ids)
            where += f" AND {among}"
        rows = self.db.rows(
            f"SELECT id, title, url, source, published_at FROM articles WHERE {where} "
            f"ORDER BY published_ts IS NULL, published_ts DESC, indexed_at DESC LIMIT {self._mark}",
            [*params, limit])
        return [ArticleSummary(r[0], r[1], r[2], r[3], parse_moment(r[4])) for r in rows]

    def stats(self) -> dict[str, Any]:
        one = self.db.one(
            "SELECT count(*), count(duplicate_of), min(published_at), max(published_at), "
            "coalesce(sum(chars), 0) FROM articles")
        assert one is not None  # an aggregate always gives a row
        sources = self.db.rows(
            "SELECT source, count(*) FROM articles GROUP BY source ORDER BY count(*) DESC, source")
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
            tx.cursor().executemany(self.sql.insert_new("pending_chunks", 1),
                                    [(i,) for i in chunk_ids])

    def clear_pending(self, chunk_ids: Iterable[str]) -> None:
        with self.db.transaction() as tx:
            tx.cursor().executemany(f"DELETE FROM pending_chunks WHERE id = {self._mark}",
                                    [(i,) for i in chunk_ids])

    def remove_article(self, tx: Tx, article_id: str) -> list[tuple[int, str]]:
        """Delete an article and its chunks; returns their (row key, chunk id) pairs, the
        ids now pending deletion from Chroma."""
        old = tx.execute(f"DELETE FROM chunks WHERE article_id = {self._mark} "
                         f"RETURNING {self.sql.chunk_key}, id", (article_id,)).fetchall()
        tx.execute(f"DELETE FROM articles WHERE id = {self._mark}", (article_id,))
        tx.execute(f"DELETE FROM article_minhash WHERE article_id = {self._mark}", (article_id,))
        if old:
            tx.cursor().executemany(self.sql.insert_new("pending_chunks", 1),
                                    [(r[1],) for r in old])
        return [(int(r[0]), r[1]) for r in old]

    def add_article(self, tx: Tx, article: Article, duplicate_of: str | None,
                    indexed_at: str) -> None:
        tx.execute(
            "INSERT INTO articles (id, content_hash, body_hash, duplicate_of, origin, "
            "origin_file, title, url, source, author, section, published_at, published_ts, "
            f"chars, indexed_at) VALUES ({self.sql.marks(15)})",
            (article.id, article.content_hash, article.body_hash, duplicate_of, article.origin,
             article.origin_file, article.title, article.url, article.source, article.author,
             article.section, article.date_iso or None,
             article.published_at.timestamp() if article.published_at else None,
             len(article.body), indexed_at))

    def add_chunk(self, tx: Tx, chunk: Chunk) -> int:
        """Store a chunk (no longer pending); returns its row key for the keyword index."""
        row = tx.execute(f"INSERT INTO chunks (id, article_id, ord, text, stems) "
                         f"VALUES ({self.sql.marks(5)}) RETURNING {self.sql.chunk_key}",
                         (chunk.id, chunk.article_id, chunk.ord, chunk.text,
                          sentence_stems(chunk.text))).fetchall()[0]
        tx.execute(f"DELETE FROM pending_chunks WHERE id = {self._mark}", (chunk.id,))
        return int(row[0])

    def move_articles(self, tx: Tx, articles: Iterable[Article]) -> None:
        """Unchanged articles now read from another file."""
        tx.cursor().executemany(
            f"UPDATE articles SET origin = {self._mark}, origin_file = {self._mark} "
            f"WHERE id = {self._mark}", [(a.origin, a.origin_file, a.id) for a in articles])

    def clear(self, tx: Tx) -> None:
        """Forget every article and chunk, and the model they were embedded with (in server
        mode only this index's schema is touched)."""
        for table in TABLES:
            tx.execute(self.sql.empty_table.format(table))
        tx.execute("DELETE FROM meta WHERE key = 'embedding_model'")
