"""Local reranking: features of each candidate passage, combined by learned weights.

No cross-encoder weights can be downloaded here, so the reranker is a linear model over
cheap, strong signals: dense and BM25 scores, IDF-weighted coverage of the question's
terms (in the passage, its headline and its best sentence), names, phrase matches, and
how the article's date sits against the question's date. Weights are fitted by
`bench/train_rerank.py` on `news-dev` questions outside `news-dev-small`, and stored in
`rerank_weights.json` beside this file.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from retrieval.text import sentence_stems, stem, words

FEATURES = (
    "dense", "bm25", "rrf", "coverage", "title_coverage", "sentence_coverage", "names",
    "phrase", "in_window", "log_days_before", "after_today", "undated", "lead",
    "dense_rr", "bm25_rr", "article_hits", "article_bm25", "recent_7", "recent_30",
)
WEIGHTS_FILE = Path(__file__).with_name("rerank_weights.json")
# Features about when an article appeared, not what it says: left out of `relevance`, so
# that an old story can still be judged relevant to a question about it.
DATE_FEATURES = ("in_window", "log_days_before", "after_today", "undated", "recent_7",
                 "recent_30")


@dataclass
class Candidate:
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

    # Parsed once per candidate: BM25 and every feature read these.
    @cached_property
    def _stem_lines(self) -> str:
        return self.stems if self.stems is not None else sentence_stems(self.text)

    @cached_property
    def body_stems(self) -> list[str]:
        return self._stem_lines.split()

    @cached_property
    def sentence_sets(self) -> list[set[str]]:
        return [set(line.split()) for line in self._stem_lines.split("\n")]

    @cached_property
    def body_counts(self) -> Counter[str]:
        return Counter(self.body_stems)

    @cached_property
    def joined(self) -> str:
        """All stems between single spaces, for phrase lookups."""
        return f" {' '.join(self.body_stems)} "

    @cached_property
    def title_stems(self) -> tuple[str, ...]:
        return _title_stems(self.title)


@dataclass
class QueryInfo:
    terms: list[str]          # content stems, in question order
    idf: dict[str, float]
    names: list[str]          # stems of proper nouns
    today: date
    window_since: date | None
    window_until: date | None

    @cached_property
    def total_idf(self) -> float:
        return sum(self.idf.get(t, 0.0) for t in self.terms) or 1.0

    @cached_property
    def bigrams(self) -> list[tuple[str, str]]:
        return list(zip(self.terms, self.terms[1:], strict=False))


@lru_cache(maxsize=4096)
def _title_stems(title: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(title))


def _coverage(query: QueryInfo, present: Collection[str]) -> float:
    return sum(query.idf.get(t, 0.0) for t in query.terms if t in present) / query.total_idf


def bm25(query: QueryInfo, cand: Candidate, avg_len: float, title_weight: float = 3.0,
         k1: float = 1.2, b: float = 0.75) -> float:
    """Okapi BM25 of the passage (and its headline, weighted) for the question's stems."""
    body, title = cand.body_counts, cand.title_stems
    norm = k1 * (1 - b + b * len(cand.body_stems) / avg_len)
    score = 0.0
    for term in query.terms:
        tf = body.get(term, 0) + title_weight * title.count(term)
        if tf:
            score += query.idf.get(term, 0.0) * tf * (k1 + 1) / (tf + norm)
    return score


def features(query: QueryInfo, cands: list[Candidate]) -> np.ndarray:
    out = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    top_bm25 = max((c.bm25 for c in cands), default=0.0) or 1.0
    per_article: dict[str, list[Candidate]] = {}
    for cand in cands:
        per_article.setdefault(cand.article_id, []).append(cand)
    for row, cand in enumerate(cands):
        siblings = per_article[cand.article_id]
        body_set = cand.body_counts.keys()
        title_set = set(cand.title_stems)
        sentence_best = max((_coverage(query, s) for s in cand.sentence_sets), default=0.0)
        rrf = sum(1.0 / (60 + r) for r in (cand.dense_rank, cand.bm25_rank) if r is not None)
        if cand.published:
            days = (query.today - cand.published).days
            in_window = float(
                (query.window_since is None or cand.published >= query.window_since)
                and (query.window_until is None or cand.published <= query.window_until)
                and query.window_since is not None)
            before = math.log1p(max(days, 0))
            after = float(days < -1)
            recent_7, recent_30 = float(-1 <= days <= 7), float(-1 <= days <= 30)
        else:
            in_window, before, after, recent_7, recent_30 = 0.0, 0.0, 0.0, 0.0, 0.0
        out[row] = (
            cand.dense,
            cand.bm25 / top_bm25,
            rrf * 30,
            _coverage(query, body_set | title_set),
            _coverage(query, title_set),
            sentence_best,
            (sum(n in body_set or n in title_set for n in query.names) / len(query.names))
            if query.names else 0.0,
            (sum(f" {a} {b} " in cand.joined for a, b in query.bigrams) / len(query.bigrams))
            if query.bigrams else 0.0,
            in_window,
            before,
            after,
            float(cand.published is None),
            float(cand.ord == 0),
            1.0 / (1 + cand.dense_rank) if cand.dense_rank is not None else 0.0,
            1.0 / (1 + cand.bm25_rank) if cand.bm25_rank is not None else 0.0,
            math.log1p(len(siblings)),
            max(c.bm25 for c in siblings) / top_bm25,
            recent_7,
            recent_30,
        )
    return out


class Reranker:
    """score = features · weights + bias."""

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        if weights is None:
            weights = json.loads(WEIGHTS_FILE.read_text()) if WEIGHTS_FILE.exists() else {}
        self.weights = weights
        self.vector = np.array([weights.get(name, 0.0) for name in FEATURES], dtype=np.float32)
        if not weights:  # untrained fallback: plain fusion
            self.vector[FEATURES.index("rrf")] = 1.0

        self.content_vector = self.vector.copy()
        for name in DATE_FEATURES:
            self.content_vector[FEATURES.index(name)] = 0.0

    def score(self, query: QueryInfo, cands: list[Candidate]) -> tuple[np.ndarray, np.ndarray]:
        """(ranking score, relevance): relevance ignores the date features."""
        if not cands:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty
        matrix = features(query, cands)
        return matrix @ self.vector, matrix @ self.content_vector
