"""The final ranking: best score first, at most a few passages from one article."""

from __future__ import annotations

import numpy as np

from retrieval.search.candidates import CandidatePassage
from retrieval.types import Passage


def pick_passages(cands: list[CandidatePassage], scores: np.ndarray, relevance: np.ndarray,
                  k: int, max_per_article: int, fold_copies: bool = True) -> list[Passage]:
    """Best first, at most `max_per_article` passages an article. With `fold_copies`, a
    story carried by several outlets shows once: its best-ranked copy, with the other
    outlets named in `also_in`."""
    order = np.argsort(-scores, kind="stable")
    per_article: dict[str, int] = {}
    story_copy: dict[str, str] = {}  # story -> the article shown for it
    shown_for: dict[str, list[Passage]] = {}
    picked: list[Passage] = []
    for i in order:
        cand = cands[i]
        story = cand.story_id or cand.article_id
        if fold_copies and story_copy.setdefault(story, cand.article_id) != cand.article_id:
            for passage in shown_for.get(story, []):
                if cand.source and cand.source not in passage.also_in + [passage.source]:
                    passage.also_in.append(cand.source)
            continue
        if per_article.get(cand.article_id, 0) >= max_per_article:
            continue
        per_article[cand.article_id] = per_article.get(cand.article_id, 0) + 1
        passage = Passage(cand.chunk_id, cand.article_id, cand.text, cand.title, cand.url,
                          cand.source, cand.published_at, round(float(scores[i]), 4),
                          round(float(relevance[i]), 4))
        picked.append(passage)
        shown_for.setdefault(story, []).append(passage)
        if len(picked) == k:
            break
    return picked
