"""What a search reads of the index, through one door (`NewsIndex.reads`): the figures
BM25 and a "not covered" reply need, the keyword side's candidates and document
frequencies, catalog rows, the vector store for one search (checked against the catalog)
and the question's embedding. The searcher uses nothing else of the index, so the
catalog, keyword store, vector access and embedder can change behind this without it.

The index's meta keys that search reads are named here, beside the reads; the index
writes them (`news_index.py`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import Fix, IndexDamaged
from retrieval.index.access import VectorAccess
from retrieval.index.embedding import Embedder, sentence_embedder
from retrieval.index.rows import ChunkRow
from retrieval.index.stores import CatalogStore, KeywordIndex
from retrieval.index.vectors import VectorStore
from retrieval.types import Embed, SearchFilters

# Meta keys (the catalog's `meta` table).
GENERATION = "generation"  # bumped by every index run that changed something
AVG_CHUNK_WORDS = "avg_chunk_words"  # mean chunk length in words, kept by the indexer
REBUILD_MARK = "rebuild_started"  # when a rebuild emptied the index; cleared by the next run


@dataclass(frozen=True)
class IndexExtent:
    """What the searched index holds, for a reply that it holds no answer."""
    articles: int  # not counting copies of a story another outlet ran
    last_published: str | None  # ISO


@dataclass(frozen=True)
class IndexFigures:
    """The figures a long-lived searcher re-reads once per generation."""
    generation: str | None  # None: built before generations were kept
    chunks: int
    avg_chunk_words: float
    extent: IndexExtent


class IndexReads:
    """The reads of one index; safe from any thread while an index run writes."""

    def __init__(self, index_dir: Path, catalog: CatalogStore, keywords: KeywordIndex,
                 access: VectorAccess, embedder: Embedder, run_going: Callable[[], bool],
                 errors: Callable[[], AbstractContextManager[None]]) -> None:
        self.index_dir = index_dir
        self._catalog = catalog
        self._keywords = keywords
        self._access = access
        self._embedder = embedder
        self.run_going = run_going  # whether an index run holds the run lock now
        # A full disk or a damaged file met while reading, as one line with its fix.
        self.errors = errors

    # --- figures --------------------------------------------------------------------------
    def generation(self) -> str | None:
        """Changes whenever an index run (here or in another process) changed something."""
        return self._catalog.get_meta(GENERATION)

    def figures(self, generation: str | None) -> IndexFigures:
        """The chunk count, mean chunk length and extent, as of `generation`."""
        catalog = self._catalog
        stored = catalog.get_meta(AVG_CHUNK_WORDS)  # kept by the indexer: no scan here
        stats = catalog.stats()
        return IndexFigures(generation, catalog.chunk_count(),
                            float(stored) if stored else catalog.average_chunk_words(),
                            IndexExtent(stats["articles"] - stats["duplicates"],
                                        stats["last_published"]))

    def rebuild_started(self) -> str | None:
        """When a rebuild emptied the index, until an index run fills it again."""
        return self._catalog.get_meta(REBUILD_MARK)

    def source_spellings(self, sources: Iterable[str]) -> set[str]:
        """The indexed outlets' own spellings of these names (any case)."""
        return self._catalog.source_spellings(sources)

    def outlets(self) -> list[str]:
        """The indexed outlets, most articles first."""
        return list(self._catalog.stats()["sources"])

    # --- the keyword side and the catalog ---------------------------------------------------
    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        return self._keywords.document_frequencies(terms)

    def keyword_hits(self, terms: list[str], filters: SearchFilters, k: int,
                     df: dict[str, int]) -> list[str]:
        """The ids of the k chunks BM25 ranks best for `terms`, best first."""
        return self._keywords.search(terms, filters, k, df)

    def chunk_rows(self, ids: list[str]) -> dict[str, ChunkRow]:
        """Committed chunks by id (ids removed meanwhile are left out)."""
        return self._catalog.chunk_rows(ids)

    # --- the dense side ---------------------------------------------------------------------
    @contextmanager
    def vectors(self) -> Iterator[tuple[VectorStore | None, bool]]:
        """The vector store for one search and whether a server did not answer. None when
        an index run in another process has it, or the server is unreachable: the
        search is then keyword-only."""
        with self._access.reading() as store:
            # A server's store is missing only when the server did not answer.
            yield store, store is None and self._access.on_server

    def check_consistency(self, vectors: VectorStore) -> None:
        """Between runs both stores hold the same chunks; when the vector store holds
        fewer, say so (searching would silently lose its dense side)."""
        if self._catalog.pending():
            return  # a run is in flight (or was killed): the next run settles it
        have, listed = vectors.count(), self._catalog.chunk_count()
        if have < listed:
            raise IndexDamaged(
                f"the vector store in {self.index_dir} holds {have} of the {listed} chunks "
                "the catalog lists (deleted or damaged?): what is missing must be re-embedded",
                fix=Fix.INDEX_AGAIN)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embedder.embed_query(text)

    def sentence_embedder(self) -> Embed:
        """The index's model, as the answer compares sentences with the question."""
        return sentence_embedder(self._embedder)
