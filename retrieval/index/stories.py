"""Copies of one story across outlets (a wire story on many sites, a rewrite with a new
first paragraph) found at indexing time: MinHash over five-word shingles of the cleaned
body, with LSH to find candidates (datasketch). A copy joins the story of the article it
resembles; search shows a story once and names the other outlets that carried it.
The threshold is measured on news-dev (bench/stories_bench.py, bench/README.md)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import numpy as np
from datasketch import MinHash, MinHashLSH

if TYPE_CHECKING:
    from retrieval.index.stores import CatalogStore

NUM_PERM = 64
SHINGLE_WORDS = 5
MAX_WORDS = 3000  # enough to tell two long articles apart, bounded work for huge ones
MIN_WORDS = 80  # shorter texts (a consent notice where the article should be) never fold
THRESHOLD = 0.5
SCHEME = "affine32"  # pinned: stored signatures must stay comparable across versions


def signature(text: str) -> np.ndarray:
    """The MinHash values of the text's word shingles (lower-cased); all zeros for a text
    too short to tell a story by (it then matches nothing)."""
    words = text.lower().split()[:MAX_WORDS]
    if len(words) < MIN_WORDS:
        return np.zeros(NUM_PERM, dtype=np.uint64)
    shingles = [" ".join(words[i:i + SHINGLE_WORDS]).encode()
                for i in range(max(1, len(words) - SHINGLE_WORDS + 1))]
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    minhash.update_batch(shingles)
    return minhash.hashvalues.astype(np.uint64)  # the stored form, whatever the scheme's


def _minhash(values: np.ndarray) -> MinHash:
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=SCHEME)


class StoryFinder:
    """Assigns articles to stories; knows every indexed article's signature and story."""

    def __init__(self, known: dict[str, tuple[np.ndarray, str]],
                 threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._known: dict[str, tuple[MinHash, str]] = {}
        for article_id, (values, story) in known.items():
            self._add(article_id, _minhash(values), story)

    def _add(self, article_id: str, minhash: MinHash, story: str) -> None:
        if article_id in self._known:
            self._lsh.remove(article_id)
        self._known[article_id] = (minhash, story)
        self._lsh.insert(article_id, minhash)

    def forget(self, article_id: str) -> None:
        if self._known.pop(article_id, None) is not None:
            self._lsh.remove(article_id)

    def assign(self, article_id: str, values: np.ndarray) -> str:
        """The story this article belongs to, else a story of its own (its id). It joins a
        story only when it resembles the story's first article itself: matching any
        member would let a chain of partial overlaps (a shared photo gallery, a recurring
        column) pull different stories together."""
        self.forget(article_id)  # its old text must not match itself
        if not values.any():
            return article_id  # too short to compare
        minhash = _minhash(values)
        best, story = self.threshold, article_id
        for other in self._lsh.query(minhash):
            other_story = self._known[other][1]
            first = self._known.get(other_story, self._known[other])[0]
            similarity = minhash.jaccard(first)
            if similarity >= best:
                best, story = similarity, other_story
        self._add(article_id, minhash, story)
        return story


def backfill_stories(catalog: CatalogStore, transaction: Callable[[], AbstractContextManager],
                     finder: Callable[[], StoryFinder]) -> None:
    """Articles indexed before stories existed get theirs from their chunks' text."""
    missing = catalog.articles_without_story()
    if not missing:
        return
    stories = finder()
    with transaction() as tx:
        for article_id, text in missing.items():
            sig = signature(text)
            catalog.set_story(tx, article_id, stories.assign(article_id, sig), sig)
