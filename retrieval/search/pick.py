"""The final ranking: best score first, at most a few passages from one article."""

from __future__ import annotations

import numpy as np

from retrieval.search.rerank import Candidate
from retrieval.types import Passage


def pick_passages(cands: list[Candidate], scores: np.ndarray, relevance: np.ndarray, k: int,
                  max_per_article: int) -> list[Passage]:
    order = np.argsort(-scores, kind="stable")
    per_article: dict[str, int] = {}
    picked: list[Passage] = []
    for i in order:
        cand = cands[i]
        if per_article.get(cand.article_id, 0) >= max_per_article:
            continue
        per_article[cand.article_id] = per_article.get(cand.article_id, 0) + 1
        picked.append(Passage(cand.chunk_id, cand.article_id, cand.text, cand.title, cand.url,
                              cand.source, cand.published_at, round(float(scores[i]), 4),
                              round(float(relevance[i]), 4)))
        if len(picked) == k:
            break
    return picked
