"""The news index: Chroma vectors plus the SQLite manifest and keyword index, kept in step.

`NewsIndex.update` makes the index match a set of loaded articles: new ones are embedded,
changed ones re-embedded, vanished ones deleted, unchanged ones skipped without embedding.
Order of writes (so that `kill -9` at any point is repaired by the next run):
1. the new chunk ids are recorded as pending;  2. vectors are upserted into Chroma;
3. one SQLite transaction commits the articles and chunks and marks replaced chunk ids
pending;  4. those are deleted from Chroma and cleared. `recover()` deletes from Chroma
every pending id that the manifest does not know.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.article import Article
from corpus.errors import ArticleReadError, NewsbotError
from corpus.loader import LoadResult
from retrieval.chunking import Chunk, chunk_article, embedding_text
from retrieval.embedding import Embedder, make_embedder
from retrieval.manifest import IndexedArticle, Manifest
from retrieval.settings import Settings, get_settings
from retrieval.vectors import VectorStore, open_client

Progress = Callable[[int, int], None]  # (articles done, articles to embed)


class IndexModelMismatch(NewsbotError):
    """The index was built with another embedding model than the one configured."""


class IndexBusy(NewsbotError):
    """Another process is updating the same index."""


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    chunks_embedded: int = 0
    characters_embedded: int = 0
    seconds: float = 0.0
    errors: list[ArticleReadError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "duplicates": self.duplicates, "failed": self.failed,
            "chunks_embedded": self.chunks_embedded, "seconds": round(self.seconds, 2),
        }


def _in_scope(origin_file: str, scope: list[str]) -> bool:
    return any(origin_file == s or origin_file.startswith(s.rstrip(os.sep) + os.sep)
               for s in scope)


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "article_id": article.id, "ord": chunk.ord, "title": article.title,
        "url": article.url, "source": article.source,
    }
    if article.published_at:
        meta["published_at"] = article.date_iso
        meta["published_ts"] = article.published_at.timestamp()
    return meta


class NewsIndex:
    def __init__(self, index_dir: Path, embedder: Embedder, client: Any = None,
                 collection: str = "newsbot", chunk_max_chars: int = 1000) -> None:
        self.index_dir = Path(index_dir)
        self.index_dir.mkdir(parents=True, exist_ok=True)
        self.embedder = embedder
        self.chunk_max_chars = chunk_max_chars
        self.manifest = Manifest(self.index_dir / "manifest.sqlite")
        self.vectors = VectorStore(client or open_client(self.index_dir), collection)
        self._generation = self.manifest.get_meta("generation")

    @classmethod
    def open(cls, settings: Settings | None = None, embedder: Embedder | None = None,
             index_dir: Path | None = None) -> NewsIndex:
        settings = settings or get_settings()
        directory = Path(index_dir or settings.index_dir).expanduser()
        client = open_client(directory, settings.chroma_host, settings.chroma_port)
        embedder = embedder or make_embedder(
            settings.embedding_model, settings.embedding_device, settings.embedding_batch_size,
            settings.embedding_backend, Path(settings.cache_dir).expanduser() / "onnx",
            settings.embedding_int8_questions,
        )
        return cls(directory, embedder, client, settings.collection, settings.chunk_max_chars)

    def close(self) -> None:
        self.manifest.close()

    def catch_up(self, generation: str | None) -> None:
        """Reopen the vector store if an index run in another process changed the index
        (to `generation`) since this object last wrote or looked at it."""
        if generation != self._generation:
            self.vectors.reopen()
            self._generation = generation

    # --- guards ---------------------------------------------------------------------
    @property
    def model(self) -> str | None:
        return self.manifest.get_meta("embedding_model")

    def check_model(self) -> None:
        built_with = self.model
        if built_with and built_with != self.embedder.name:
            raise IndexModelMismatch(
                f"the index in {self.index_dir} was built with embedding model {built_with!r}, "
                f"not {self.embedder.name!r}; re-index with `newsbot index --rebuild` "
                "or set NEWSBOT_EMBEDDING_MODEL back"
            )

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.index_dir / "index.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexBusy(f"another `newsbot index` is updating {self.index_dir}") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def recover(self) -> int:
        """Delete vectors a killed run left in Chroma without committing them."""
        pending = self.manifest.pending()
        if not pending:
            return 0
        known = self.manifest.all_chunk_ids()
        orphans = [i for i in pending if i not in known]
        self.vectors.delete(orphans)
        self.manifest.clear_pending(pending)
        return len(orphans)

    def rebuild(self) -> None:
        """Forget everything: used to switch models."""
        with self._lock():
            self.vectors.reset()
            with self.manifest.transaction() as db:
                for table in ("articles", "chunks", "chunks_fts", "pending_chunks"):
                    db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
                db.execute("DELETE FROM meta WHERE key = 'embedding_model'")
            self._bump_generation()

    def _bump_generation(self) -> None:
        """Tells long-lived searchers, here and in other processes, to catch up."""
        self._generation = str(int(self.manifest.get_meta("generation") or 0) + 1)
        self.manifest.set_meta("generation", self._generation)

    # --- updating -------------------------------------------------------------------
    def update(self, loaded: LoadResult, scope: list[Path], progress: Progress | None = None,
               batch_chunks: int = 1024) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport(errors=list(loaded.errors))
        with self._lock():
            self.check_model()
            self.recover()
            if self.model is None:
                self.manifest.set_meta("embedding_model", self.embedder.name)
            indexed = self.manifest.indexed_articles()
            removed = self._plan_removals(loaded, scope, indexed)
            report.removed = self._remove(removed, indexed)
            to_embed, duplicates = self._plan_additions(loaded, indexed, report)
            if duplicates:
                self.manifest.commit_articles([(a, []) for a, _ in duplicates],
                                              {a.id: canon for a, canon in duplicates})
            self._embed_and_commit(to_embed, indexed, report, progress, batch_chunks)
            self.manifest.set_meta("last_indexed", datetime.now(UTC).isoformat(timespec="seconds"))
            if report.added or report.updated or report.removed:
                self.manifest.set_meta("avg_chunk_words",
                                       f"{self.manifest.average_chunk_words():.2f}")
                self._bump_generation()
        report.seconds = time.perf_counter() - started
        return report

    def _plan_removals(self, loaded: LoadResult, scope: list[Path],
                       indexed: dict[str, IndexedArticle]) -> set[str]:
        seen = {a.id for a in loaded.articles}
        scope_strs = [os.path.abspath(p.expanduser()) for p in scope]
        removed = set()
        for row in indexed.values():
            if row.id in seen or not _in_scope(row.origin_file, scope_strs):
                continue
            if row.origin_file in loaded.complete_files or not Path(row.origin_file).exists():
                removed.add(row.id)
        # Duplicates of a removed story go too; if still present they are planned afresh.
        removed |= {r.id for r in indexed.values() if r.duplicate_of in removed}
        return removed

    def _remove(self, removed: set[str], indexed: dict[str, IndexedArticle]) -> int:
        if not removed:
            return 0
        gone = self.manifest.remove_articles(sorted(removed))
        self.vectors.delete(gone)
        self.manifest.clear_pending(gone)
        really_removed = 0
        for article_id in removed:
            if indexed.pop(article_id).duplicate_of is None:
                really_removed += 1
        return really_removed

    def _plan_additions(self, loaded: LoadResult, indexed: dict[str, IndexedArticle],
                        report: IndexReport) -> tuple[list[Article], list[tuple[Article, str]]]:
        canonical = {r.body_hash: r.id for r in indexed.values() if r.duplicate_of is None}
        to_embed: list[Article] = []
        duplicates: list[tuple[Article, str]] = []
        taken: set[str] = set()
        moved: list[Article] = []
        for article in loaded.articles:
            if article.id in taken:
                report.errors.append(ArticleReadError(
                    article.origin, f"article id {article.id!r} appears twice; kept the first"))
                continue
            taken.add(article.id)
            row = indexed.get(article.id)
            if row and row.content_hash == article.content_hash:
                report.unchanged += 1
                if row.origin_file != article.origin_file:
                    moved.append(article)
                continue
            canon = canonical.get(article.body_hash)
            if canon and canon != article.id:
                duplicates.append((article, canon))
                report.duplicates += 1
                continue
            canonical[article.body_hash] = article.id
            to_embed.append(article)
        if moved:
            with self.manifest.transaction() as db:
                db.executemany(
                    "UPDATE articles SET origin = ?, origin_file = ? WHERE id = ?",
                    [(a.origin, a.origin_file, a.id) for a in moved],
                )
        return to_embed, duplicates

    def _embed_and_commit(self, articles: list[Article], indexed: dict[str, IndexedArticle],
                          report: IndexReport, progress: Progress | None,
                          batch_chunks: int) -> None:
        batch: list[tuple[Article, list[Chunk]]] = []
        size = 0
        done = 0
        for article in articles:
            chunks = chunk_article(article, self.chunk_max_chars)
            batch.append((article, chunks))
            size += len(chunks)
            if size >= batch_chunks:
                self._write_batch(batch, indexed, report)
                done += len(batch)
                batch, size = [], 0
                if progress:
                    progress(done, len(articles))
        if batch:
            self._write_batch(batch, indexed, report)
            done += len(batch)
        if progress:
            progress(done, len(articles))

    def _write_batch(self, batch: list[tuple[Article, list[Chunk]]],
                     indexed: dict[str, IndexedArticle], report: IndexReport) -> None:
        rows = [(a, c) for a, chunks in batch for c in chunks]
        ids = [c.id for _, c in rows]
        vectors = self.embedder.embed_documents([embedding_text(a.title, c.text) for a, c in rows])
        self.manifest.mark_pending(ids)
        if ids:
            self.vectors.upsert(ids, vectors, [chunk_metadata(a, c) for a, c in rows],
                                [c.text for _, c in rows])
        stale = self.manifest.commit_articles(batch, {})
        if stale:
            self.vectors.delete(stale)
            self.manifest.clear_pending(stale)
        for article, _ in batch:
            if article.id in indexed:
                report.updated += 1
            else:
                report.added += 1
        report.chunks_embedded += len(ids)
        report.characters_embedded += sum(len(a.body) for a, _ in batch)

    # --- reading --------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        data = self.manifest.describe()
        data["vectors"] = self.vectors.count()
        return data
