"""The answer reranker on a `cross_data.py` dump: hits@1/5/10 and MRR@10 of the search's
own order against the cross-encoder's order of the search's top N, and the reranker's
time per question.

    python bench/train_cross.py cand-fit.jsonl OUT --articles A --export OUT/model.int8.onnx
    python bench/cross_score.py cand-forward.jsonl OUT/model.int8.onnx [--depths 10 15 20]

Only answerable questions count (the scoring rule of `../shared/data/README.md`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import print_table
from cross_model import CrossScorer

from retrieval.index.chunking import embedding_text


def figures(ranked_hits: list[list[bool]]) -> list[float]:
    n = len(ranked_hits) or 1

    def at(k: int) -> float:
        return sum(any(h[:k]) for h in ranked_hits) / n

    mrr = sum(next((1 / (i + 1) for i, hit in enumerate(h[:10]) if hit), 0.0)
              for h in ranked_hits) / n
    return [round(at(1), 3), round(at(5), 3), round(at(10), 3), round(mrr, 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", type=Path)
    parser.add_argument("model", type=Path, help="the int8 ONNX file of train_cross --export")
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 15, 20])
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.candidates.read_text().splitlines() if line]
    rows = [r for r in rows if r["answerable"]]
    reranker = CrossScorer(args.model)
    search_order: list[list[bool]] = []
    by_depth: dict[int, list[list[bool]]] = {d: [] for d in args.depths}
    seconds: dict[int, list[float]] = {d: [] for d in args.depths}
    deepest = max(args.depths)
    for row in rows:
        passages = row["passages"]
        hits = [p["hit"] for p in passages]
        search_order.append(hits)
        texts = [embedding_text(p["title"], p["text"]) for p in passages[:deepest]]
        reranker.scores(row["question"], texts[:1])  # loaded before any clock
        for depth in args.depths:
            started = time.perf_counter()
            logits = reranker.scores(row["question"], texts[:depth])
            seconds[depth].append(time.perf_counter() - started)
            order = sorted(range(len(logits)), key=lambda i: -logits[i])
            by_depth[depth].append([hits[i] for i in order] + hits[depth:])
    table = [["search (fast path)", *figures(search_order), "-"]]
    for depth in args.depths:
        p50 = statistics.median(seconds[depth]) * 1000
        table.append([f"cross-encoder over top {depth}", *figures(by_depth[depth]),
                      f"{p50:.0f} ms"])
    print(f"{args.candidates}: {len(rows)} answerable questions")
    print_table(["order", "hits@1", "hits@5", "hits@10", "MRR@10", "rerank p50"], table)


if __name__ == "__main__":
    main()
