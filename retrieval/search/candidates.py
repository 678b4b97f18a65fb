"""The candidate list: both sides' hits as one list, each with both sides' scores and
everything the reranker and the answer need of its passage."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from retrieval.index.catalog import ChunkRow
from retrieval.index.stores import Hits
from retrieval.search.question import ParsedQuestion
from retrieval.search.rerank import Candidate, bm25


class KeywordSide(NamedTuple):
    """What the keyword worker hands back: IDF of the question's terms, the keyword
    candidates (best first), their catalog rows and their stored vectors (for a dense
    score)."""

    idf: dict[str, float]
    hits: list[str]
    rows: dict[str, ChunkRow]
    vectors: dict[str, Any]


def candidate(row: ChunkRow) -> Candidate:
    return Candidate(row.chunk_id, row.article_id, row.ord, row.text, row.title,
                     row.published_at.date() if row.published_at else None, stems=row.stems,
                     url=row.url, source=row.source, published_at=row.published_at,
                     story_id=row.story_id)


def merge(dense: Hits, dense_rows: dict[str, ChunkRow], keyword: KeywordSide,
          vector: np.ndarray, query: ParsedQuestion, avg_len: float) -> list[Candidate]:
    """Dense hits first, then keyword-only ones. Hits whose rows are gone (removed by an
    index run since the query) are left out."""
    cands: dict[str, Candidate] = {}
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
        cand.bm25 = bm25(query, cand, avg_len)
    return list(cands.values())
