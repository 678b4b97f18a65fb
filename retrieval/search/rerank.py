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
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from retrieval.search import bm25 as okapi
from retrieval.search.question import ParsedQuestion
from retrieval.text import sentence_stems, stem, words

FEATURES = (
    "dense", "bm25", "rrf", "coverage", "title_coverage", "sentence_coverage", "names",
    "phrase", "in_window", "log_days_before", "after_today", "undated", "lead",
    "dense_rr", "bm25_rr", "article_hits", "article_bm25", "recent_7", "recent_30",
    "after_week", "article_dense", "number_match",
)
WEIGHTS_FILE = Path(__file__).with_name("rerank_weights.json")
# Features about when an article appeared, not what it says: left out of `relevance`, so
# that an old story can still be judged relevant to a question about it.
DATE_FEATURES = ("in_window", "log_days_before", "after_today", "undated", "recent_7",
                 "recent_30", "after_week")


def _spaced(line: str) -> str:
    """' a  b  c ' from 'a b c'. Porter stems "s" to "", so a line can hold empty stems
    (two spaces in a row, or one at an end): those take the slower path that drops them."""
    if "  " in line or line[:1] == " " or line[-1:] == " ":
        return " " + "  ".join(line.split()) + " "
    return " " + line.replace(" ", "  ") + " "


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


_DIGIT = re.compile(r" \d")


@lru_cache(maxsize=4096)
def _title_stems(title: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(title))


def bm25(query: ParsedQuestion, cand: Candidate, avg_len: float) -> float:
    """BM25 (`bm25.py`) of the passage and its headline for the question's stems."""
    title, spaced = cand.title_stems, cand.spaced
    title_weight = okapi.TITLE_WEIGHT
    return okapi.score([(spaced.count(padded) + title_weight * title.count(term), idf)
                        for term, padded, idf in query.weighted_terms], cand.length, avg_len)


def _dates(query: ParsedQuestion, published: date | None) -> tuple[float, ...]:
    """in_window, log_days_before, after_today, after_week, recent_7, recent_30."""
    if published is None:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    days = (query.today - published).days
    in_window = float(
        query.window_since is not None and published >= query.window_since
        and (query.window_until is None or published <= query.window_until))
    return (in_window, math.log1p(max(days, 0)), float(days < -1), float(days < -8),
            float(-1 <= days <= 7), float(-1 <= days <= 30))


def features(query: ParsedQuestion, cands: list[Candidate]) -> np.ndarray:
    out = np.zeros((len(cands), len(FEATURES)), dtype=np.float32)
    top_bm25 = max((c.bm25 for c in cands), default=0.0) or 1.0
    siblings: dict[str, int] = {}
    article_bm25: dict[str, float] = {}
    article_dense: dict[str, float] = {}
    for cand in cands:
        siblings[cand.article_id] = siblings.get(cand.article_id, 0) + 1
        article_bm25[cand.article_id] = max(article_bm25.get(cand.article_id, 0.0), cand.bm25)
        article_dense[cand.article_id] = max(article_dense.get(cand.article_id, -1.0),
                                             cand.dense)
    terms = query.weighted_terms
    total = query.total_idf
    for row, cand in enumerate(cands):
        title, spaced = set(cand.title_stems), cand.spaced
        found = [(t, padded, w) for t, padded, w in terms if padded in spaced]
        found_terms = {t for t, _, _ in found}
        sentence_scores = [sum(w for _, padded, w in found if padded in sentence)
                           for sentence in cand.spaced_sentences]
        sentence_best = max(sentence_scores, default=0.0)
        number_match = float(query.wants_number and any(
            score > 0 and _DIGIT.search(sentence)
            for score, sentence in zip(sentence_scores, cand.spaced_sentences, strict=True)))
        ranks = (cand.dense_rank, cand.bm25_rank)
        in_window, before, after, after_week, recent_7, recent_30 = _dates(query, cand.published)
        out[row] = (
            cand.dense,
            cand.bm25 / top_bm25,
            30 * sum(1.0 / (60 + r) for r in ranks if r is not None),
            sum(w for t, _, w in terms if t in found_terms or t in title) / total,
            sum(w for t, _, w in terms if t in title) / total,
            sentence_best / total,
            (sum(padded in spaced or n in title for n, padded in query.padded_names)
             / len(query.names)) if query.names else 0.0,
            (sum(bigram in spaced for bigram in query.bigrams) / len(query.bigrams))
            if query.bigrams else 0.0,
            in_window,
            before,
            after,
            float(cand.published is None),
            float(cand.ord == 0),
            1.0 / (1 + cand.dense_rank) if cand.dense_rank is not None else 0.0,
            1.0 / (1 + cand.bm25_rank) if cand.bm25_rank is not None else 0.0,
            math.log1p(siblings[cand.article_id]),
            article_bm25[cand.article_id] / top_bm25,
            recent_7,
            recent_30,
            after_week,
            article_dense[cand.article_id],
            number_match,
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

    def score(self, query: ParsedQuestion, cands: list[Candidate]
              ) -> tuple[np.ndarray, np.ndarray]:
        """(ranking score, relevance): relevance ignores the date features."""
        if not cands:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty
        matrix = features(query, cands)
        return matrix @ self.vector, matrix @ self.content_vector
