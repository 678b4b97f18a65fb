"""BM25, in one place: its constants, the headline's weight, IDF and the score.

Two parts use it, so it sits beside both (the index imports nothing of search):
- the keyword stores choose candidates by `rank_score`. SQLite's FTS5 computes it inside
  its `bm25()` (whose k1 and b are fixed at FTS5's 1.2 and 0.75, hence K1 and B here; the
  headline weight is passed in), which is what keeps the keyword side fast on a large
  index; PostgreSQL computes it in SQL with these constants passed in. A test holds both
  to this definition.
- every candidate is then scored again by `score` with `idf`, whichever side found it, so
  that all candidates share one scale; the reranker's features (and the answerer's term
  weights) use `idf` too.

The two IDFs differ for terms in more than half the chunks: FTS5's (`rank_idf`) falls to
almost nothing there, while `idf` stays positive (Lucene's form), so that a common word of
the question still counts a little in coverage. The reranker and the answerer were fitted
with `idf`; FTS5's cannot be changed. Both are defined here and nowhere else."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

K1 = 1.2  # FTS5's fixed k1
B = 0.75  # FTS5's fixed b
TITLE_WEIGHT = 3.0  # a term in the headline counts this many times one in the text
RANK_IDF_FLOOR = 1e-6  # FTS5's floor for the IDF of a term in most chunks


def idf(docs: int, df: int) -> float:
    """The weight of a term found in `df` of `docs` chunks (never negative)."""
    return math.log(1 + (docs - df + 0.5) / (df + 0.5))


def rank_idf(docs: int, df: int) -> float:
    """FTS5's IDF, which the keyword stores rank candidates by."""
    return max(math.log((docs - df + 0.5) / (df + 0.5)), RANK_IDF_FLOOR)


def length_norm(length: float, avg_length: float) -> float:
    """BM25's length normalisation of a passage of `length` tokens."""
    return K1 * (1 - B + B * length / avg_length)


def score(weighted_tfs: Iterable[tuple[float, float]], length: float, avg_length: float
          ) -> float:
    """BM25 of one passage: (term frequency, IDF) of each query term, the frequency
    already counting a headline occurrence TITLE_WEIGHT times."""
    norm, k1_plus_1 = length_norm(length, avg_length), K1 + 1
    total = 0.0
    for tf, weight in weighted_tfs:  # a plain loop: this runs for every candidate
        if tf:
            total += weight * tf * k1_plus_1 / (tf + norm)
    return total


def rank_score(title_tf: Mapping[str, int], text_tf: Mapping[str, int], length: int,
               df: Mapping[str, int], docs: int, avg_length: float, terms: Iterable[str]
               ) -> float:
    """What the keyword stores rank a chunk by (the negated `bm25()` of FTS5): its
    headline's and text's counts of each term, its length in tokens of both, each term's
    document frequency, the chunk count and their mean length in tokens."""
    return score(((TITLE_WEIGHT * title_tf.get(t, 0) + text_tf.get(t, 0),
                   rank_idf(docs, df.get(t, 0))) for t in terms), length, avg_length)
