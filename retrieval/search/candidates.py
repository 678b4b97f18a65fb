"""The candidate list: both sides' hits as one list of `CandidatePassage`s, each with both
sides' scores, one BM25 for all, and everything the reranker and the answer need of its
passage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import numpy as np

from retrieval import bm25
from retrieval.index.rows import ChunkRow
from retrieval.index.stores import Hits
from retrieval.search.question import ParsedQuestion
from retrieval.text import sentence_stems, stem, words


def _spaced(line: str) -> str:
    """' a  b  c ' from 'a b c'. Porter stems "s" to "", so a line can hold empty stems
    (two spaces in a row, or one at an end): those take the slower path that drops them."""
    if "  " in line or line[:1] == " " or line[-1:] == " ":
        return " " + "  ".join(line.split()) + " "
    return " " + line.replace(" ", "  ") + " "


@lru_cache(maxsize=4096)
def _title_stems(title: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(title))


@dataclass
class CandidatePassage:
    """A passage either side found, before the rerank picks among them."""

    chunk_id: str
    article_id: str
    ord: int
    text: str
    title: str
    published: date | None
    dense: float = 0.0
    bm25: float = 0.0
    dense_rank: int | None = None
    bm25_rank: int | None = None
    stems: str | None = None  # sentence_stems(text), precomputed at index time
    url: str = ""
    source: str = ""
    published_at: datetime | None = None  # `published` is its day
    story_id: str | None = None  # copies of one story across outlets share it

    # The stems as strings in which every stem sits between its own two spaces, so
    # that counting and finding a question's few terms are C-level substring searches:
    # far cheaper per question than building a Counter of every stem of every candidate.
    @cached_property
    def spaced_sentences(self) -> list[str]:
        stems = self.stems if self.stems is not None else sentence_stems(self.text)
        return [_spaced(line) for line in stems.split("\n")]

    @cached_property
    def spaced(self) -> str:
        return "".join(s for s in self.spaced_sentences if len(s) > 2) or "  "

    @cached_property
    def length(self) -> int:
        """Number of stems."""
        return self.spaced.count("  ") + 1 if self.spaced.strip() else 0

    @cached_property
    def title_stems(self) -> tuple[str, ...]:
        return _title_stems(self.title)


def bm25_score(query: ParsedQuestion, cand: CandidatePassage, avg_len: float) -> float:
    """BM25 (`retrieval/bm25.py`) of the passage and its headline for the question's stems."""
    title, spaced = cand.title_stems, cand.spaced
    title_weight = bm25.TITLE_WEIGHT
    return bm25.score([(spaced.count(padded) + title_weight * title.count(term), idf)
                       for term, padded, idf in query.weighted_terms], cand.length, avg_len)


class KeywordSide(NamedTuple):
    """What the keyword worker hands back: IDF of the question's terms, the keyword
    candidates (best first), their catalog rows and their stored vectors (for a dense
    score)."""

    idf: dict[str, float]
    hits: list[str]
    rows: dict[str, ChunkRow]
    vectors: dict[str, Any]


def candidate(row: ChunkRow) -> CandidatePassage:
    return CandidatePassage(row.chunk_id, row.article_id, row.ord, row.text, row.title,
                     row.published_at.date() if row.published_at else None, stems=row.stems,
                     url=row.url, source=row.source, published_at=row.published_at,
                     story_id=row.story_id)


def merge(dense: Hits, dense_rows: dict[str, ChunkRow], keyword: KeywordSide,
          vector: np.ndarray, query: ParsedQuestion, avg_len: float) -> list[CandidatePassage]:
    """Dense hits first, then keyword-only ones. Hits whose rows are gone (removed by an
    index run since the query) are left out."""
    cands: dict[str, CandidatePassage] = {}
    for rank, (i, score) in enumerate(dense):
        if i in dense_rows:
            cands[i] = candidate(dense_rows[i])
            cands[i].dense, cands[i].dense_rank = score, rank
    for rank, i in enumerate(keyword.hits):
        if i not in cands:
            if i not in keyword.rows:
                continue
            cands[i] = candidate(keyword.rows[i])
            # Found only by keyword: the dense score comes from its stored vector.
            stored = keyword.vectors.get(i)
            if stored is not None:
                cands[i].dense = float(np.dot(np.asarray(stored, dtype=np.float32), vector))
        cands[i].bm25_rank = rank
    # One BM25 for every candidate (the keyword store only chose them): one scale for all.
    for cand in cands.values():
        cand.bm25 = bm25_score(query, cand, avg_len)
    return list(cands.values())
