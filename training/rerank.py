"""Fit the reranker's weights (`retrieval/search/rerank_weights.json`) on questions whose
articles are in an index.

    python -m training.rerank INDEX_DIR QUESTIONS.jsonl [--also INDEX_DIR QUESTIONS.jsonl]
                                 [--exclude SMALL.jsonl] [--folds 2] [--write]

Never fit on the questions that figures are reported for: `--exclude` drops the
questions of a file (news-dev-small's) and every question of their weeks. With
`--folds N` the weeks are split into N groups, each scored by weights fitted on the
others: that cross-validated score is the honest estimate for the fitted questions
(`--also` adds the questions of another index, scored separately: the same question
asked of a small and a large index meets different candidates). The model (pointwise
or pairwise logistic regression, and its C) is chosen on it; `--write` stores weights
fitted on all kept questions in retrieval/search/rerank_weights.json.

The shipped weights (2026-11-25): `INDEX_DIR` an index of the 15 news-dev weeks
2022-06-17 .. 2022-09-23 with their questions, `--also` an index of the 8 weeks that
`python -m bench.make_subset OUT --weeks 8` writes, with its questions, `--exclude
$NEWSBOT_SHARED_DIR/data/news-dev-small/questions.jsonl --write`: pairwise, C = 0.01 was
chosen, two folds by week. No seed: the folds are the weeks in date order, and the fits
are deterministic. A few minutes on a 2-core CPU, nearly all of it the searches. Figures:
bench/README.md, "Retrieval"; the lab notes in docs/bench-notes.md.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.evaluation import is_hit, read_questions
from retrieval.index.news_index import NewsIndex
from retrieval.search.rerank import FEATURES, WEIGHTS_FILE, features
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings


def week(question) -> str:
    return question.id.split("_")[0]


def collect(searcher: Searcher, questions, source: int = 0
            ) -> list[tuple[np.ndarray, np.ndarray, str, int, list[str]]]:
    """One group per answerable question: candidate features, hit labels, week, source
    index and article ids. A question without candidates stays in, as a miss."""
    groups = []
    for q in questions:
        if not q.answerable:
            continue
        query, cands, _ = searcher.gather(q.question, today=q.date)
        if not cands:
            groups.append((np.zeros((0, len(FEATURES))), np.zeros(0), week(q), source, []))
            continue
        labels = np.array([is_hit(c.url, c.text, q) for c in cands], dtype=float)
        articles = [c.article_id for c in cands]
        groups.append((features(query, cands), labels, week(q), source, articles))
    return groups


def rank_metrics(groups, weights: np.ndarray, per_article: int = 2
                 ) -> tuple[float, float]:
    """hits@5 and MRR@10 of the ranking the search would show (at most `per_article`
    passages of one article, as in Searcher)."""
    hits5 = mrr = 0.0
    for x, y, _, _, articles in groups:
        shown: list[int] = []
        count: dict[str, int] = {}
        for i in np.argsort(-(x @ weights), kind="stable"):
            if count.get(articles[i], 0) < per_article:
                count[articles[i]] = count.get(articles[i], 0) + 1
                shown.append(i)
                if len(shown) == 10:
                    break
        first = np.flatnonzero(y[shown])
        if first.size:
            mrr += 1 / (first[0] + 1)
            hits5 += first[0] < 5
    return hits5 / len(groups), mrr / len(groups)


def pairs(groups, mean: np.ndarray, scale: np.ndarray, per_hit: int = 30,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for x, y, *_ in groups:
        z = (x - mean) / scale
        hits, misses = np.flatnonzero(y), np.flatnonzero(y == 0)
        for h in hits:
            for m in rng.choice(misses, size=min(per_hit, len(misses)), replace=False):
                sign = 1 if rng.random() < 0.5 else -1
                rows.append(sign * (z[h] - z[m]))
                labels.append(int(sign > 0))
    return np.array(rows), np.array(labels)


def fit(groups, method: str, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([g[0] for g in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    if method == "pointwise":
        y = np.concatenate([g[1] for g in groups])
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit((x - mean) / scale, y)
    else:  # each hit against the non-hits of its own question: a ranking objective
        px, py = pairs(groups, mean, scale)
        model = LogisticRegression(C=c, fit_intercept=False, max_iter=4000)
        model.fit(px, py)
    return model.coef_[0] / scale


def cross_validate(groups, method: str, c: float, folds: int
                   ) -> dict[int, tuple[float, float]]:
    """Held-out hits@5 and MRR@10 for each source index."""
    weeks = sorted({g[2] for g in groups})
    fold_of = {w: i % folds for i, w in enumerate(weeks)}
    held_out: dict[int, list[tuple[float, float]]] = {}
    for fold in range(folds):
        weights = fit([g for g in groups if fold_of[g[2]] != fold], method, c)
        for g in groups:
            if fold_of[g[2]] == fold:
                held_out.setdefault(g[3], []).append(rank_metrics([g], weights))
    return {source: (float(np.mean([m[0] for m in metrics])),
                     float(np.mean([m[1] for m in metrics])))
            for source, metrics in sorted(held_out.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--also", nargs=2, action="append", default=[], type=Path,
                        metavar=("INDEX_DIR", "QUESTIONS"))
    parser.add_argument("--exclude", type=Path, help="questions (and their weeks) to leave out")
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    skip = {week(q) for q in read_questions(args.exclude)} if args.exclude else set()
    groups = []
    sets = [(args.index_dir, args.questions), *args.also]
    for source, (index_dir, path) in enumerate(sets):
        questions = [q for q in read_questions(path) if week(q) not in skip]
        searcher = Searcher(NewsIndex.open(get_settings(), index_dir=index_dir),
                            dense_depth=40, keyword_depth=40)
        mine = collect(searcher, questions, source)
        current = np.array([searcher.reranker.weights.get(f, 0.0) for f in FEATURES])
        print(f"[{source}] {index_dir}: {len(mine)} answerable questions from "
              f"{len({g[2] for g in mine})} weeks, {sum(int(g[1].any()) for g in mine)} "
              "with a hit among the candidates; current weights hits@5 {:.3f} MRR@10 {:.3f}"
              .format(*rank_metrics(mine, current)), flush=True)
        groups += mine
    best = None
    for method, cs in (("pointwise", (0.01, 0.1, 1.0)), ("pairwise", (0.01, 0.1, 1.0))):
        for c in cs:
            scores = cross_validate(groups, method, c, args.folds)
            shown = "  ".join(f"[{s}] hits@5 {h5:.3f} MRR@10 {mrr:.3f}"
                              for s, (h5, mrr) in scores.items())
            print(f"{method:<9} C={c:<5} {args.folds}-fold by week: {shown}", flush=True)
            total = sum(h5 + mrr for h5, mrr in scores.values())
            if best is None or total > best[0]:
                best = (total, method, c)
    _, method, c = best
    weights = dict(zip(FEATURES, (round(float(w), 5) for w in fit(groups, method, c)),
                       strict=True))
    print(f"chosen: {method} C={c}")
    print(json.dumps(weights, indent=2))
    if args.write:
        WEIGHTS_FILE.write_text(json.dumps(weights, indent=2) + "\n")
        print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
