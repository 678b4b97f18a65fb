"""Fit the reranker's weights on questions whose articles are in an index.

    python bench/train_rerank.py INDEX_DIR QUESTIONS.jsonl [--write]

Use an index of news-dev weeks outside news-dev-small (see make_subset.py), never the
small set that the figures are reported on. `--write` stores the weights in
retrieval/rerank_weights.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.evaluation import is_hit, read_questions  # noqa: E402
from retrieval.index import NewsIndex  # noqa: E402
from retrieval.rerank import FEATURES, WEIGHTS_FILE, features  # noqa: E402
from retrieval.search import Searcher  # noqa: E402
from retrieval.settings import get_settings  # noqa: E402


def collect(searcher: Searcher, questions) -> list[tuple[np.ndarray, np.ndarray]]:  # noqa: ANN001
    groups = []
    for q in questions:
        if not q.answerable:
            continue
        query, cands, _, _ = searcher.gather(q.question, today=q.date)
        if not cands:
            continue
        urls = dict(searcher.db.execute(
            f"SELECT id, url FROM articles WHERE id IN ({','.join('?' * len(cands))})",  # noqa: S608
            [c.article_id for c in cands]).fetchall())
        labels = np.array([is_hit(urls[c.article_id], c.text, q) for c in cands], dtype=float)
        groups.append((features(query, cands), labels))
    return groups


def rank_metrics(groups, weights: np.ndarray) -> tuple[float, float]:  # noqa: ANN001
    hits5 = mrr = 0.0
    for x, y in groups:
        order = np.argsort(-(x @ weights), kind="stable")
        ranked = y[order]
        first = np.flatnonzero(ranked[:10])
        if first.size:
            mrr += 1 / (first[0] + 1)
            hits5 += first[0] < 5
    return hits5 / len(groups), mrr / len(groups)


def pairs(groups, mean: np.ndarray, scale: np.ndarray, per_hit: int = 30,  # noqa: ANN001
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for x, y in groups:
        z = (x - mean) / scale
        hits, misses = np.flatnonzero(y), np.flatnonzero(y == 0)
        for h in hits:
            for m in rng.choice(misses, size=min(per_hit, len(misses)), replace=False):
                sign = 1 if rng.random() < 0.5 else -1
                rows.append(sign * (z[h] - z[m]))
                labels.append(int(sign > 0))
    return np.array(rows), np.array(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    index = NewsIndex.open(get_settings(), index_dir=args.index_dir)
    searcher = Searcher(index, dense_depth=40, keyword_depth=40)
    groups = collect(searcher, list(read_questions(args.questions)))
    print(f"{len(groups)} answerable questions with candidates; "
          f"{sum(int(y.any()) for _, y in groups)} have a hit among them")
    x = np.vstack([g[0] for g in groups])
    y = np.concatenate([g[1] for g in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    best = None
    for c in (0.01, 0.1, 1.0, 10.0):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit((x - mean) / scale, y)
        weights = model.coef_[0] / scale
        h5, mrr = rank_metrics(groups, weights)
        print(f"pointwise C={c:<5} hits@5 {h5:.3f} MRR@10 {mrr:.3f}")
        if best is None or h5 + mrr > best[0]:
            best = (h5 + mrr, weights)
    # Pairwise: each hit against the non-hits of its own question (a ranking objective).
    px, py = pairs(groups, mean, scale)
    for c in (0.01, 0.1, 1.0):
        model = LogisticRegression(C=c, fit_intercept=False, max_iter=4000)
        model.fit(px, py)
        weights = model.coef_[0] / scale
        h5, mrr = rank_metrics(groups, weights)
        print(f"pairwise  C={c:<5} hits@5 {h5:.3f} MRR@10 {mrr:.3f}")
        if h5 + mrr > best[0]:
            best = (h5 + mrr, weights)
    weights = dict(zip(FEATURES, (round(float(w), 5) for w in best[1]), strict=True))
    print(json.dumps(weights, indent=2))
    if args.write:
        WEIGHTS_FILE.write_text(json.dumps(weights, indent=2) + "\n")
        print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
