"""Hybrid search: dense (Chroma) and keyword (FTS5, BM25) candidates, gathered side by
side, reranked locally, with source and date filters and at most a few passages per
article. Safe to call from many threads while an index run writes, here or elsewhere."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import numpy as np

from retrieval.errors import Fix, IndexEmpty, InvalidRequest, VectorStoreUnreachable
from retrieval.index.embedding import sentence_embedder
from retrieval.index.news_index import NewsIndex
from retrieval.index.stores import Hits
from retrieval.index.vectors import VectorStore
from retrieval.search import bm25
from retrieval.search.candidates import KeywordSide, merge
from retrieval.search.filters import dense_where, narrow, no_such_outlet
from retrieval.search.pick import pick_passages
from retrieval.search.question import ParsedQuestion, parse_question
from retrieval.search.rerank import Candidate, Reranker
from retrieval.search.timewords import TimeWindow
from retrieval.types import Embed, Passage, SearchFilters

log = logging.getLogger(__name__)
REBUILD_MARK = "rebuild_started"  # meta key: when a rebuild emptied the index

# Why a search was keyword-only, by the value of its "keyword_only" timing.
IN_USE, UNREACHABLE = 1.0, 2.0
KEYWORD_ONLY_WHY = {IN_USE: "an index run has the vector store",
                    UNREACHABLE: "the Chroma server did not answer"}


@dataclass(frozen=True)
class IndexExtent:
    """What the searched index holds, for a reply that it holds no answer."""
    articles: int  # not counting copies of a story another outlet ran
    last_published: str | None  # ISO


class Gathered(NamedTuple):
    question: ParsedQuestion  # with the IDF the keyword side read
    candidates: list[Candidate]
    timings: dict[str, float]


@dataclass
class SearchResult:
    passages: list[Passage]
    question: ParsedQuestion  # as the search read it: terms, names, window, IDF
    extent: IndexExtent
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    keyword_only: bool = False  # the vector store was busy elsewhere or unreachable

    @property
    def window(self) -> TimeWindow | None:
        return self.question.window

    @property
    def keyword_only_why(self) -> str:
        """Why the dense side was left out ("" when it was not)."""
        return KEYWORD_ONLY_WHY.get(self.timings.get("keyword_only", 0.0), "")


def dense_side(store: VectorStore | None, vector: np.ndarray, depth: int,
               where: dict[str, Any] | None) -> tuple[Hits, bool]:
    """Chroma's hits, and whether it answered: a Chroma server that is down (or
    restarting) leaves the question to the keyword side, and is asked again next time."""
    if store is None:
        return [], True
    try:
        return store.query(vector, depth, where), True
    except VectorStoreUnreachable as exc:
        log.debug("keyword search only: %s", exc)
        return [], False


class Searcher:
    def __init__(self, index: NewsIndex, reranker: Reranker | None = None,
                 dense_depth: int = 40, keyword_depth: int = 40, max_per_article: int = 2,
                 common_share: float = 0.08) -> None:
        self.index = index
        self.reranker = reranker or Reranker()
        self.dense_depth = dense_depth
        self.keyword_depth = keyword_depth
        self.max_per_article = max_per_article
        self.common_share = common_share
        self._keyword_worker = ThreadPoolExecutor(1, thread_name_prefix="newsbot-keyword")
        self._stats_stamp: str | None = "not read yet"
        self._checked_stamp: str | None = "not checked yet"
        self._chunk_count, self._avg_len = 1, 150.0
        self._chunks = 0
        self._extent = IndexExtent(0, None)
        self._catch_up()

    def close(self) -> None:
        self._keyword_worker.shutdown(wait=True)

    def _catch_up(self) -> str | None:
        """After an index run that changed something (it bumps `generation`), here or in
        another process: re-read BM25's chunk count and mean passage length (in words).
        So a long-lived searcher (the chat, the bot) keeps up with the index at one small
        read per search. (The vector store needs nothing: a process opens it afresh
        each time it takes it from another.)"""
        catalog = self.index.catalog
        stamp = catalog.get_meta("generation")  # None: built before it existed
        if stamp != self._stats_stamp:
            self._chunks = catalog.chunk_count()
            self._chunk_count = max(1, self._chunks)
            # Kept by the indexer, so no scan of every chunk here.
            stored = catalog.get_meta("avg_chunk_words")
            self._avg_len = float(stored) if stored else catalog.average_chunk_words()
            stats = catalog.stats()
            self._extent = IndexExtent(stats["articles"] - stats["duplicates"],
                                       stats["last_published"])
            self._stats_stamp = stamp
        return stamp

    def chunks(self) -> int:
        """How many chunks the index holds now."""
        self._catch_up()
        return self._chunks

    def ensure_not_empty(self) -> None:
        """`IndexEmpty` when the index holds nothing to search: a rebuild under way (the
        app marks when it started one), or nothing indexed yet."""
        if self.chunks() != 0:
            return
        started = self.index.catalog.get_meta(REBUILD_MARK)
        if started:
            raise IndexEmpty(f"the index in {self.index.index_dir} is being rebuilt "
                             f"(since {started})", fix=Fix.AWAIT_REBUILD)
        raise IndexEmpty(f"the index in {self.index.index_dir} is empty", fix=Fix.INDEX)

    def check_sources(self, filters: SearchFilters | None) -> None:
        """An `InvalidRequest` naming an outlet filter that matches no indexed outlet."""
        wanted = filters.sources if filters else ()
        if not wanted:
            return
        catalog = self.index.catalog
        known = {s.lower() for s in catalog.source_spellings(wanted)}
        unknown = [s for s in wanted if s.lower() not in known]
        if unknown:
            raise InvalidRequest(no_such_outlet(unknown[0], list(catalog.stats()["sources"])))

    def sentence_embedder(self) -> Embed:
        """The index's model, as the answer compares sentences with the question."""
        return sentence_embedder(self.index.embedder)

    def idf(self, terms: list[str]) -> tuple[dict[str, float], dict[str, int]]:
        """BM25 IDF (`bm25.idf`) of each term, and its document frequency."""
        df = self.index.keywords.document_frequencies(terms)
        return {t: bm25.idf(self._chunk_count, df.get(t, 0)) for t in terms}, df

    def _keyword_side(self, terms: list[str], filters: SearchFilters,
                      timings: dict[str, float], store: VectorStore | None) -> KeywordSide:
        t = time.perf_counter()
        idf, df = self.idf(terms)
        # Terms in most passages barely move BM25 but make the FTS query slow.
        kept = [term for term in terms if df.get(term, 0) <= self.common_share * self._chunk_count]
        ids = self.index.keywords.search(kept or terms, filters, self.keyword_depth, df)
        rows = self.index.catalog.chunk_rows(ids)
        try:
            vectors = store.embeddings(ids) if store is not None else {}
        except VectorStoreUnreachable:  # the dense side says so; BM25 still ranks these
            vectors = {}
        timings["keyword"] = time.perf_counter() - t
        return KeywordSide(idf, ids, rows, vectors)

    def gather(self, question: str, filters: SearchFilters | None = None,
               today: date | None = None) -> Gathered:
        """Candidates from both sides, with the parsed question the reranker scores them
        by. When the question's time words hold no article ("25 years after her death in
        1997" on an index that starts later), they become a preference, not a filter."""
        parsed = parse_question(question, today or datetime.now(UTC).date())
        gathered = self._gather(parsed, filters)
        if not gathered.candidates and parsed.window is not None and parsed.window.strict:
            gathered = self._gather(parsed.loosened(), filters)
        return gathered

    def _gather(self, parsed: ParsedQuestion, filters: SearchFilters | None) -> Gathered:
        filters = narrow(filters or SearchFilters(), parsed.window)
        timings: dict[str, float] = {}
        stamp = self._catch_up()
        with self.index.access.reading() as store:
            # A server's store is missing only when the server did not answer.
            unreachable = store is None and self.index.access.on_server
            if store is not None and stamp != self._checked_stamp:
                try:
                    self.index.check_consistency(store)
                    self._checked_stamp = stamp
                except VectorStoreUnreachable:
                    store, unreachable = None, True
            spellings = (self.index.catalog.source_spellings(filters.sources)
                         if filters.sources else set())
            # The keyword query runs beside the question's embedding and Chroma's query:
            # the model embeds one question on one thread, leaving the other core to SQLite.
            keyword_side = self._keyword_worker.submit(self._keyword_side, parsed.terms,
                                                       filters, timings, store)
            t = time.perf_counter()
            vector = self.index.embedder.embed_query(parsed.text)
            timings["embed"] = time.perf_counter() - t
            t = time.perf_counter()
            dense, reached = dense_side(store, vector, self.dense_depth,
                                        dense_where(filters, spellings))
            unreachable = unreachable or not reached
            timings["dense"] = time.perf_counter() - t
            t = time.perf_counter()
            dense_rows = self.index.catalog.chunk_rows([i for i, _ in dense])
            keyword = keyword_side.result()
        parsed = parsed.with_idf(keyword.idf)
        cands = merge(dense, dense_rows, keyword, vector, parsed, self._avg_len)
        timings["candidates"] = time.perf_counter() - t
        if store is None or unreachable:
            timings["keyword_only"] = UNREACHABLE if unreachable else IN_USE
        return Gathered(parsed, cands, timings)

    def search(self, question: str, k: int = 10, filters: SearchFilters | None = None,
               today: date | None = None, all_copies: bool = False) -> SearchResult:
        """The k best passages. A story several outlets carried shows once (naming the
        others in `also_in`) unless `all_copies`. An index with nothing in it is
        `IndexEmpty`, an outlet it does not hold `InvalidRequest`, not an empty result."""
        started = time.perf_counter()
        self.ensure_not_empty()
        self.check_sources(filters)
        parsed, cands, timings = self.gather(question, filters, today)
        t = time.perf_counter()
        scores, relevance = self.reranker.score(parsed, cands)
        timings["rerank"] = time.perf_counter() - t
        passages = pick_passages(cands, scores, relevance, k, self.max_per_article,
                                 fold_copies=not all_copies)
        return SearchResult(passages, parsed, self._extent, time.perf_counter() - started,
                            timings, keyword_only="keyword_only" in timings)
