"""Calibrate the refusal threshold: the best passage's score for questions the index can
answer, against off-corpus probes (questions from weeks the index does not hold).

    python bench/calibrate_refusal.py INDEX_DIR ANSWERABLE.jsonl PROBES.jsonl

Prints the score distributions and the threshold that best separates them, allowing at
most --max-decline of answerable questions to be declined.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.evaluation import read_questions
from retrieval.index.news_index import NewsIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings


def top_scores(searcher: Searcher, questions) -> np.ndarray:
    scores = []
    for q in questions:
        result = searcher.search(q.question, k=5, today=q.date)
        scores.append(max((p.relevance for p in result.passages), default=-99.0))
    return np.array(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("answerable", type=Path)
    parser.add_argument("probes", type=Path)
    parser.add_argument("--max-decline", type=float, default=0.05)
    args = parser.parse_args()
    searcher = Searcher(NewsIndex.open(get_settings(), index_dir=args.index_dir))
    good = top_scores(searcher, [q for q in read_questions(args.answerable) if q.answerable])
    probes = top_scores(searcher, list(read_questions(args.probes)))
    print(f"answerable: n={len(good)} median {np.median(good):.2f}  "
          f"p10 {np.percentile(good, 10):.2f}")
    print(f"probes:     n={len(probes)} median {np.median(probes):.2f}  "
          f"p90 {np.percentile(probes, 90):.2f}")
    best = None
    for threshold in np.linspace(min(good.min(), probes.min()), max(good.max(), probes.max()),
                                 400):
        declined_good = float(np.mean(good < threshold))
        declined_probes = float(np.mean(probes < threshold))
        if declined_good > args.max_decline:
            continue
        balanced = (1 - declined_good + declined_probes) / 2
        if best is None or balanced > best[0]:
            best = (balanced, threshold, declined_good, declined_probes)
    _, threshold, dg, dp = best
    print(f"threshold {threshold:.2f}: declines {dg:.1%} of answerable, {dp:.1%} of probes")


if __name__ == "__main__":
    main()
