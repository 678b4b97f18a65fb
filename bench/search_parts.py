"""What each part of the search adds: the dense side alone, BM25 alone, and the whole
search (both sides, reranked), scored by the shared data's rule on one index.

    NEWSBOT_EMBEDDING_MODEL=MODEL python -m bench.search_parts INDEX_DIR QUESTIONS.jsonl

The dense side is the model's 40 nearest chunks in its order, BM25 the keyword index's
40 best in theirs (both as the search gathers them, time words applied); the whole
search is `newsbot search`. Only answerable questions count.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import print_table
from retrieval.evaluation import EvalReport, first_hit_rank, read_questions
from retrieval.index.news_index import NewsIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings


def side(cands, rank: str) -> list[tuple[str, str]]:
    ranked = sorted((c for c in cands if getattr(c, rank) is not None),
                    key=lambda c: getattr(c, rank))
    return [(c.url, c.text) for c in ranked[:10]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("questions", type=Path)
    args = parser.parse_args()
    settings = get_settings(index_dir=args.index_dir)
    index = NewsIndex.open(settings)
    searcher = Searcher(index)
    parts = {name: EvalReport() for name in ("dense alone", "BM25 alone", "whole search")}
    for q in read_questions(args.questions):
        if not q.answerable:
            continue
        _, cands, _ = searcher.gather(q.question, today=q.date)
        found = searcher.search(q.question, today=q.date).passages
        for name, passages in (("dense alone", side(cands, "dense_rank")),
                               ("BM25 alone", side(cands, "bm25_rank")),
                               ("whole search", [(p.url, p.text) for p in found])):
            parts[name].answerable += 1
            parts[name].ranks.append(first_hit_rank(passages, q))
    rows = [[name, part.answerable,
             *(f"{x:.3f}" for x in (part.hits_at(1), part.hits_at(5), part.hits_at(10),
                                    part.mrr10))]
            for name, part in parts.items()]
    print(f"{settings.embedding.model} on {args.index_dir}, {args.questions.name}")
    print_table(["part", "answerable", "hits@1", "hits@5", "hits@10", "MRR@10"], rows)
    searcher.close()
    index.close()


if __name__ == "__main__":
    main()
