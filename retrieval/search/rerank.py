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
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

import numpy as np

from retrieval.errors import ModelWeightsError
from retrieval.models.linear import LinearModel, check_names
from retrieval.search.candidates import CandidatePassage
from retrieval.search.question import ParsedQuestion

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


_DIGIT = re.compile(r" \d")


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


def features(query: ParsedQuestion, cands: list[CandidatePassage]) -> np.ndarray:
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


@dataclass(frozen=True)
class RerankModel(LinearModel):
    """The rerank's weights: a plain weighted sum of `FEATURES` (they are already on
    comparable scales, so no mean, scale or squash is fitted)."""
    features: ClassVar[tuple[str, ...]] = FEATURES

    @classmethod
    def from_weights(cls, weights: dict, where: str) -> RerankModel:
        check_names(weights, FEATURES, where)
        n = len(FEATURES)
        return cls(np.array([float(weights[f]) for f in FEATURES]), 0.0, np.zeros(n), np.ones(n))

    @classmethod
    def plain_fusion(cls) -> RerankModel:
        """Rank fusion alone, for measuring what the fitted weights add."""
        return cls.from_weights({f: float(f == "rrf") for f in FEATURES}, "plain fusion")


@lru_cache(maxsize=1)
def shipped_rerank() -> RerankModel:
    """The fitted weights beside this file; missing or unreadable is an error, never a
    silent fall back to plain fusion."""
    try:
        weights = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelWeightsError(f"{WEIGHTS_FILE}: the rerank weights cannot be read ({exc}); "
                                "reinstall newsbot") from exc
    if not isinstance(weights, dict):
        raise ModelWeightsError(f"{WEIGHTS_FILE}: not a table of weights; reinstall newsbot")
    return RerankModel.from_weights(weights, WEIGHTS_FILE.name)


class Reranker:
    """score = features · weights."""

    def __init__(self, model: RerankModel | None = None) -> None:
        model = model or shipped_rerank()
        self.model = model
        self.vector = model.weights.astype(np.float32)
        self.content_vector = self.vector.copy()
        for name in DATE_FEATURES:
            self.content_vector[FEATURES.index(name)] = 0.0

    def score(self, query: ParsedQuestion, cands: list[CandidatePassage]
              ) -> tuple[np.ndarray, np.ndarray]:
        """(ranking score, relevance): relevance ignores the date features."""
        if not cands:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty
        matrix = features(query, cands)
        return matrix @ self.vector, matrix @ self.content_vector
