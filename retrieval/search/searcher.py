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

from retrieval import bm25
from retrieval.errors import Fix, IndexEmpty, InvalidRequest, VectorStoreUnreachable
from retrieval.index.news_index import NewsIndex
from retrieval.index.reads import IndexExtent, IndexFigures
from retrieval.index.stores import Hits
from retrieval.index.vectors import VectorStore
from retrieval.search.candidates import CandidatePassage, KeywordSide, merge
from retrieval.search.filters import dense_where, narrow, no_such_outlet
from retrieval.search.lean import Lean
from retrieval.search.pick import pick_passages
from retrieval.search.question import ParsedQuestion, parse_question
from retrieval.search.rerank import Reranker
from retrieval.search.timewords import TimeWindow
from retrieval.types import Embed, Passage, SearchFilters

log = logging.getLogger(__name__)
__all__ = ["IndexExtent", "Searcher", "SearchResult"]  # IndexExtent: where the chain reads it

# Why a search was keyword-only, by the value of its "keyword_only" timing.
IN_USE, UNREACHABLE = 1.0, 2.0
KEYWORD_ONLY_WHY = {IN_USE: "an index run has the vector store",
                    UNREACHABLE: "the Chroma server did not answer"}


class Gathered(NamedTuple):
    question: ParsedQuestion  # with the IDF the keyword side read
    candidates: list[CandidatePassage]
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
    """Reads the index only through `NewsIndex.reads` (`index/reads.py`)."""

    def __init__(self, index: NewsIndex, reranker: Reranker | None = None,
                 dense_depth: int = 40, keyword_depth: int = 40, max_per_article: int = 2,
                 common_share: float = 0.08) -> None:
        self.index = index
        self.reads = index.reads
        self.reranker = reranker or Reranker()
        self.dense_depth = dense_depth
        self.keyword_depth = keyword_depth
        self.max_per_article = max_per_article
        self.common_share = common_share
        self._keyword_worker = ThreadPoolExecutor(1, thread_name_prefix="newsbot-keyword")
        self._checked_stamp: str | None = "not checked yet"
        self._figures = IndexFigures("not read yet", 0, 150.0, IndexExtent(0, None))
        self._catch_up()

    def close(self) -> None:
        self._keyword_worker.shutdown(wait=True)

    def _catch_up(self) -> str | None:
        """After an index run that changed something (it bumps the generation), here or
        in another process: re-read BM25's chunk count and mean passage length (in words).
        So a long-lived searcher (the chat, the bot) keeps up with the index at one small
        read per search. (The vector store needs nothing: a process opens it afresh
        each time it takes it from another.)"""
        stamp = self.reads.generation()
        if stamp != self._figures.generation:
            self._figures = self.reads.figures(stamp)
        return stamp

    @property
    def _chunk_count(self) -> int:
        """The chunk count as BM25's IDF takes it (never 0)."""
        return max(1, self._figures.chunks)

    def chunks(self) -> int:
        """How many chunks the index holds now."""
        self._catch_up()
        return self._figures.chunks

    def ensure_not_empty(self) -> None:
        """`IndexEmpty` when the index holds nothing to search, saying why: a rebuild or
        a first index run under way (it holds the run lock from its start), a rebuild
        that stopped before it committed anything, or nothing indexed yet."""
        if self.chunks() != 0:
            return
        where, started = self.reads.index_dir, self.reads.rebuild_started()
        going = self.reads.run_going()
        if started and going:
            raise IndexEmpty(f"the index in {where} is being rebuilt (since {started})",
                             fix=Fix.AWAIT_REBUILD)
        if going:
            raise IndexEmpty(f"the index in {where} holds nothing yet: an index run is "
                             "under way and has committed no article so far",
                             fix=Fix.AWAIT_INDEX)
        if started:
            raise IndexEmpty(f"the index in {where} was emptied by a rebuild at {started} "
                             "that stopped before it committed an article",
                             fix=Fix.INDEX_AGAIN)
        raise IndexEmpty(f"the index in {where} is empty", fix=Fix.INDEX)

    def check_sources(self, filters: SearchFilters | None) -> None:
        """An `InvalidRequest` naming an outlet filter that matches no indexed outlet."""
        wanted = filters.sources if filters else ()
        if not wanted:
            return
        known = {s.lower() for s in self.reads.source_spellings(wanted)}
        unknown = [s for s in wanted if s.lower() not in known]
        if unknown:
            raise InvalidRequest(no_such_outlet(unknown[0], self.reads.outlets()))

    def sentence_embedder(self) -> Embed:
        """The index's model, as the answer compares sentences with the question."""
        return self.reads.sentence_embedder()

    def idf(self, terms: list[str]) -> tuple[dict[str, float], dict[str, int]]:
        """BM25 IDF (`bm25.idf`) of each term, and its document frequency."""
        df = self.reads.document_frequencies(terms)
        return {t: bm25.idf(self._chunk_count, df.get(t, 0)) for t in terms}, df

    def _keyword_side(self, terms: list[str], filters: SearchFilters,
                      timings: dict[str, float], store: VectorStore | None) -> KeywordSide:
        t = time.perf_counter()
        idf, df = self.idf(terms)
        # Terms in most passages barely move BM25 but make the FTS query slow.
        kept = [term for term in terms if df.get(term, 0) <= self.common_share * self._chunk_count]
        ids = self.reads.keyword_hits(kept or terms, filters, self.keyword_depth, df)
        rows = self.reads.chunk_rows(ids)
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
        with self.reads.vectors() as (store, unreachable):
            if store is not None and stamp != self._checked_stamp:
                try:
                    self.reads.check_consistency(store)
                    self._checked_stamp = stamp
                except VectorStoreUnreachable:
                    store, unreachable = None, True
            spellings = (self.reads.source_spellings(filters.sources)
                         if filters.sources else set())
            # The keyword query runs beside the question's embedding and Chroma's query:
            # the model embeds one question on one thread, leaving the other core to SQLite.
            keyword_side = self._keyword_worker.submit(self._keyword_side, parsed.terms,
                                                       filters, timings, store)
            t = time.perf_counter()
            vector = self.reads.embed_query(parsed.text)
            timings["embed"] = time.perf_counter() - t
            t = time.perf_counter()
            dense, reached = dense_side(store, vector, self.dense_depth,
                                        dense_where(filters, spellings))
            unreachable = unreachable or not reached
            timings["dense"] = time.perf_counter() - t
            t = time.perf_counter()
            dense_rows = self.reads.chunk_rows([i for i, _ in dense])
            keyword = keyword_side.result()
        parsed = parsed.with_idf(keyword.idf)
        cands = merge(dense, dense_rows, keyword, vector, parsed, self._figures.avg_chunk_words)
        timings["candidates"] = time.perf_counter() - t
        if store is None or unreachable:
            timings["keyword_only"] = UNREACHABLE if unreachable else IN_USE
        return Gathered(parsed, cands, timings)

    def search(self, question: str, k: int = 10, filters: SearchFilters | None = None,
               today: date | None = None, all_copies: bool = False,
               lean: Lean | None = None) -> SearchResult:
        """The k best passages. A story several outlets carried shows once (naming the
        others in `also_in`) unless `all_copies`. A follow-up's `lean` scores the story
        the conversation quoted higher (`search/lean.py`). An index with nothing in it is
        `IndexEmpty`, an outlet it does not hold `InvalidRequest`, not an empty result; a
        full disk or a damaged store met on the way is one line with its fix."""
        with self.reads.errors():
            return self._search(question, k, filters, today, all_copies, lean)

    def _search(self, question: str, k: int, filters: SearchFilters | None,
                today: date | None, all_copies: bool, lean: Lean | None) -> SearchResult:
        started = time.perf_counter()
        self.ensure_not_empty()
        self.check_sources(filters)
        parsed, cands, timings = self.gather(question, filters, today)
        t = time.perf_counter()
        scores, relevance = self.reranker.score(parsed, cands)
        if lean is not None and cands:
            scores = scores + lean.bonus(cands)
        timings["rerank"] = time.perf_counter() - t
        passages = pick_passages(cands, scores, relevance, k, self.max_per_article,
                                 fold_copies=not all_copies)
        return SearchResult(passages, parsed, self._figures.extent, time.perf_counter() - started,
                            timings, keyword_only="keyword_only" in timings)
