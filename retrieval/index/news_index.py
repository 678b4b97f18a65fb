"""The news index: Chroma vectors beside the catalog and keyword index (SQLite files here,
or PostgreSQL with a Chroma server in server mode), kept in step.

`NewsIndex.update` makes the index match a set of loaded articles: new ones are embedded,
changed ones re-embedded, vanished ones deleted, unchanged ones skipped without embedding.
Order of writes (so that `kill -9` at any point is repaired by the next run):
1. the new chunk ids are recorded as pending;  2. vectors are upserted into Chroma;
3. one database transaction commits the articles, chunks and keyword rows and marks
replaced chunk ids pending;  4. those are deleted from Chroma and cleared. `recover()`
deletes from Chroma every pending id that the catalog does not know.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.article import Article
from corpus.loader import LoadResult
from retrieval.errors import Fix, IndexModelMismatch
from retrieval.index.access import VectorAccess
from retrieval.index.batches import timed_batches
from retrieval.index.chunking import Chunk, embedding_text
from retrieval.index.embedding import Embedder, embed_for_index, embedder_from_settings
from retrieval.index.lock import RunHold
from retrieval.index.planner import (
    Plan,
    orphaned_duplicates,
    plan_additions,
    plan_removals,
    reread,
)
from retrieval.index.reads import AVG_CHUNK_WORDS, GENERATION, REBUILD_MARK, IndexReads
from retrieval.index.report import IndexReport
from retrieval.index.rows import IndexedArticle
from retrieval.index.sqlite import FILE_NAME, SqliteDatabase, open_local
from retrieval.index.stores import Database
from retrieval.index.stories import StoryFinder, backfill_stories, signature
from retrieval.index.vectors import VectorStore, chunk_metadata
from retrieval.settings import IndexSettings, Settings

Progress = Callable[[int, int], None]  # (articles done, articles to embed)
DEFAULT_CHUNK_MAX_CHARS: int = IndexSettings.model_fields["chunk_max_chars"].default
DEFAULT_MAX_FILE_MB: float = IndexSettings.model_fields["max_file_mb"].default


class NewsIndex:
    """Writes go through `update` and `rebuild` (one run at a time, across processes);
    reads through `catalog`, `keywords` and `vectors`, safe from any thread meanwhile."""

    def __init__(self, index_dir: Path, embedder: Embedder, client: Any = None,
                 collection: str = "newsbot", chunk_max_chars: int = DEFAULT_CHUNK_MAX_CHARS,
                 create: bool = True, max_file_mb: float = DEFAULT_MAX_FILE_MB,
                 database: Database | None = None) -> None:
        self.index_dir = Path(index_dir)
        # SQLite files in the index folder unless given a database (server mode).
        self.db: Database = database or SqliteDatabase(self.index_dir / FILE_NAME, create)
        self.running = RunHold(self.db.run_lock)  # one index run at a time, across processes
        self.catalog, self.keywords = self.db.stores()
        self.embedder = embedder
        self.chunk_max_chars = chunk_max_chars
        self.max_file_mb = max_file_mb  # for re-reading a duplicate's file
        self.access = VectorAccess(self.index_dir, client, collection)
        self._stories: StoryFinder | None = None
        self.on_update: Callable[[IndexReport], None] = lambda report: None  # (follows)

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None,
             index_dir: Path | None = None, create: bool = True,
             discard_damaged: bool = False) -> NewsIndex:
        """The index the settings describe, with the embedder they name unless one is
        given. With `create` off, a missing index is an `IndexMissing` error and nothing
        is written to disk. With `discard_damaged` (a rebuild), a local index too damaged
        to open is started afresh. Server mode: PostgreSQL beside a Chroma server."""
        directory = Path(index_dir or settings.index.dir).expanduser()
        if settings.index.database_url:  # server mode (the settings allow both or neither)
            from retrieval.index.postgres import open_server  # psycopg is optional
            database, client = open_server(settings, directory, create)
        else:
            database, client = open_local(directory, create, discard_damaged), None
        index = cls(directory, embedder or embedder_from_settings(settings), client,
                    settings.index.collection, settings.index.chunk_max_chars, create,
                    settings.index.max_file_mb, database)
        index.access.discard_damaged = discard_damaged
        return index

    @property
    def reads(self) -> IndexReads:
        """What a search reads of this index (`reads.py`), and nothing more."""
        return IndexReads(self.index_dir, self.catalog, self.keywords, self.access,
                          self.embedder, self.db.run_going, self.db.errors)

    @property
    def vectors(self) -> VectorStore:
        """The vector store, opened on first use (`stats` and the keyword side need no
        Chroma); an embedded one only once no other process has it open."""
        return self.access.store

    def close(self) -> None:
        self.access.close()
        self.db.close()

    # --- guards ------------------------------------------------------------------------
    @property
    def model(self) -> str | None:
        return self.catalog.get_meta("embedding_model")

    def check_model(self) -> None:
        built_with = self.model
        if built_with and built_with != self.embedder.name:
            raise IndexModelMismatch(
                f"the index in {self.index_dir} was built with embedding model {built_with!r}, "
                f"not {self.embedder.name!r} (NEWSBOT_EMBEDDING_MODEL={built_with} keeps it)",
                fix=Fix.REBUILD)

    def recover(self) -> int:
        """Delete vectors a killed run left in Chroma without committing them."""
        pending = self.catalog.pending()
        if not pending:
            return 0
        known = self.catalog.all_chunk_ids()
        orphans = [i for i in pending if i not in known]
        self.vectors.delete(orphans)
        self.catalog.clear_pending(pending)
        return len(orphans)

    def missing_vectors(self) -> set[str]:
        """Chunk ids the catalog lists but the vector store lacks (its folder deleted or
        damaged): cheap when the two counts agree, as they do between runs."""
        if self.vectors.count() >= self.catalog.chunk_count():
            return set()
        return self.catalog.all_chunk_ids() - set(self.vectors.iter_ids())

    def rebuild(self) -> None:
        """Forget everything: used to switch models. Until a run fills the index again,
        reads say that a rebuild is under way rather than that the index is empty."""
        with self.running(), self.access.pinned() as vectors:
            vectors.reset()
            with self.db.transaction() as tx:
                self.catalog.clear(tx)
                self.keywords.clear(tx)
                self.catalog.write_meta(tx, REBUILD_MARK,
                                        datetime.now(UTC).isoformat(timespec="seconds"))
            self._bump_generation()

    def _bump_generation(self) -> None:
        """Tells long-lived searchers, here and in other processes, to catch up."""
        self.catalog.set_meta(GENERATION, str(int(self.catalog.get_meta(GENERATION) or 0) + 1))

    # --- updating ------------------------------------------------------------------------
    def update(self, loaded: LoadResult, scope: list[Path], progress: Progress | None = None,
               batch_chunks: int = 1024) -> IndexReport:
        """Make the index match `loaded`. Indexed articles from files under `scope` that
        `loaded` no longer holds are removed; an empty scope removes nothing."""
        started = time.perf_counter()
        report = IndexReport(errors=list(loaded.errors))
        with self.running(), self.db.errors(), self.access.pinned():
            self.db.check()
            self.check_model()
            self.recover()
            if self.model is None:
                self.catalog.set_meta("embedding_model", self.embedder.name)
            indexed = self.catalog.indexed_articles()
            removed = plan_removals(loaded, scope, indexed)
            # Articles whose vectors the store lost are re-embedded like orphaned copies.
            lost = self.catalog.articles_of_chunks(self.missing_vectors()) - removed
            orphans = orphaned_duplicates(loaded, removed, indexed) | lost
            seen = {a.id for a in loaded.articles}
            articles = loaded.articles + reread(orphans - seen, indexed, self.max_file_mb)
            report.removed = sum(indexed[i].duplicate_of is None for i in removed)
            self._remove(removed, indexed)
            # Orphans are planned afresh but not deleted first: each one's new row replaces
            # the old in the transaction that commits it, so a run stopped halfway loses
            # none (one whose file could not be read again keeps its old row).
            for article_id in orphans:
                indexed.pop(article_id, None)
            plan = Plan()
            plan_additions(articles, indexed, plan)
            report.unchanged, report.duplicates = plan.unchanged, len(plan.duplicates)
            report.errors.extend(plan.errors)
            if plan.moved or plan.duplicates:
                self._commit([], plan.duplicates, plan.moved)
            self._stories = None  # built when the first article is committed
            backfill_stories(self.catalog, self.db.transaction, lambda: self.stories)
            self._embed_and_commit(plan.embed, indexed, report, progress, batch_chunks)
            self.catalog.set_meta("last_indexed",
                                  datetime.now(UTC).isoformat(timespec="seconds"))
            self.catalog.set_meta(REBUILD_MARK, None)  # the index is whole again
            if report.changed:
                self.catalog.set_meta(AVG_CHUNK_WORDS,
                                      f"{self.catalog.average_chunk_words():.2f}")
                self._bump_generation()
            self.on_update(report)  # told at the end of every run: follows match its articles
        report.seconds = time.perf_counter() - started
        return report

    def _remove(self, removed: set[str], indexed: dict[str, IndexedArticle]) -> None:
        """Delete these articles everywhere; they leave `indexed` (to be planned afresh)."""
        if not removed:
            return
        gone: list[str] = []
        with self.db.transaction() as tx:
            for article_id in sorted(removed):
                rows = self.catalog.remove_article(tx, article_id)
                self.keywords.remove(tx, [key for key, _ in rows])
                gone.extend(chunk_id for _, chunk_id in rows)
        self.vectors.delete(gone)
        self.catalog.clear_pending(gone)
        for article_id in removed:
            del indexed[article_id]

    def _commit(self, items: list[tuple[Article, list[Chunk]]],
                duplicates: list[tuple[Article, str]] = (), moved: list[Article] = ()
                ) -> list[str]:
        """One transaction: articles (replacing older versions) with their chunks and
        keyword rows, duplicates recorded, moved articles re-pointed. Returns the chunk ids
        of replaced versions, now to be deleted from Chroma."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        stale: list[str] = []
        with self.db.transaction() as tx:
            entries = [(a, c, None) for a, c in items] + [(a, [], o) for a, o in duplicates]
            for article, chunks, original in entries:
                new_ids = {c.id for c in chunks}
                old = self.catalog.remove_article(tx, article.id)
                self.keywords.remove(tx, [key for key, _ in old])
                stale.extend(chunk_id for _, chunk_id in old if chunk_id not in new_ids)
                self.catalog.add_article(tx, article, original, now)
                for chunk in chunks:
                    key = self.catalog.add_chunk(tx, chunk)
                    self.keywords.add(tx, key, article.title, chunk.text)
                if chunks:
                    sig = signature(article.body)
                    self.catalog.set_story(tx, article.id, self.stories.assign(article.id, sig),
                                           sig)
            if moved:
                self.catalog.move_articles(tx, moved)
        return stale

    @property
    def stories(self) -> StoryFinder:
        """Every indexed article's signature, read once a run when first needed."""
        if self._stories is None:
            self._stories = StoryFinder(self.catalog.story_signatures())
        return self._stories

    def _embed_and_commit(self, articles: list[Article], indexed: dict[str, IndexedArticle],
                          report: IndexReport, progress: Progress | None,
                          batch_chunks: int) -> None:
        done = 0
        for batch in timed_batches(articles, self.chunk_max_chars, batch_chunks):
            self._write_batch(batch, indexed, report)
            done += len(batch)
            if progress:
                progress(done, len(articles))
        if progress and not articles:
            progress(0, 0)

    def _write_batch(self, batch: list[tuple[Article, list[Chunk]]],
                     indexed: dict[str, IndexedArticle], report: IndexReport) -> None:
        rows = [(a, c) for a, chunks in batch for c in chunks]
        ids = [c.id for _, c in rows]
        vectors = embed_for_index(self.embedder,
                                  [embedding_text(a.title, c.text) for a, c in rows])
        self.catalog.mark_pending(ids)
        if ids:
            self.vectors.upsert(ids, vectors, [chunk_metadata(a, c) for a, c in rows],
                                [c.text for _, c in rows])
        stale = self._commit(batch)
        if stale:
            self.vectors.delete(stale)
            self.catalog.clear_pending(stale)
        for article, _ in batch:
            if article.id in indexed:
                report.updated += 1
            else:
                report.added += 1
                report.added_ids.append(article.id)
        report.chunks_embedded += len(ids)
        report.characters_embedded += sum(len(a.body) for a, _ in batch)

    # --- reading -------------------------------------------------------------------------
    def stats(self, with_vectors: bool = True) -> dict[str, Any]:
        """What the catalog holds, where the index lives and its size (the folder; in server
        mode the database's tables); the vector count too unless `with_vectors` is off."""
        data = self.catalog.stats()
        data["index_dir"], data["size_bytes"] = self.db.footprint()
        if with_vectors:
            data["vectors"] = self.vectors.count()
        return data

