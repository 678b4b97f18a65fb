"""Retrieval scores of a `newsbot eval --out` file on news-dev, split into the weeks the
shipped reranker was fitted on and the weeks it never saw (news-dev-small's among them).

    python -m bench.split_scores RESULTS.jsonl

The fitted weeks are those named in README.md ("The reranker's fit"): the 15 weeks
2022-06-17 .. 2022-09-23 and the 8 weeks that `make_subset.py --weeks 8` picks.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import DATA, print_table, read_records
from bench.make_subset import pick_weeks
from retrieval.evaluation import EvalReport, first_hit_rank, read_questions

FITTED_SPAN = ("20220617", "20220923")
FITTED_SUBSET_WEEKS = 8


def fitted_weeks() -> set[str]:
    picked = pick_weeks(read_records(DATA / "news-dev" / "articles.jsonl.gz"),
                        FITTED_SUBSET_WEEKS)
    return {w.replace("-", "") for w in picked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path, help="the --out file of `newsbot eval`")
    args = parser.parse_args()
    # By position: a few ids occur twice in news-dev, and the results keep the file's order.
    questions = list(read_questions(DATA / "news-dev" / "questions.jsonl"))
    fitted = fitted_weeks()
    reports = {"fitted weeks": EvalReport(), "unseen weeks": EvalReport(), "all": EvalReport()}
    with open(args.results, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    ids = [r["id"] for r in records]
    if ids != [q.id for q in questions[:len(ids)]]:  # written by search_bench --answerable-only
        questions = [q for q in questions if q.answerable]
    if ids != [q.id for q in questions[:len(ids)]]:
        raise SystemExit(f"{args.results}: not the news-dev questions in their order")
    for q, record in zip(questions, records, strict=False):  # a partial file: its questions
        if not q.answerable:
            continue
        week = q.id.split("_")[0]
        seen = week in fitted or FITTED_SPAN[0] <= week <= FITTED_SPAN[1]
        rank = first_hit_rank([(p["url"], p["text"]) for p in record["passages"][:10]], q)
        for name in ("fitted weeks" if seen else "unseen weeks", "all"):
            reports[name].answerable += 1
            reports[name].ranks.append(rank)
    rows = [[name, r.answerable, r.hits_at(1), r.hits_at(5), r.hits_at(10), r.mrr10]
            for name, r in reports.items()]
    print_table(["questions", "answerable", "hits@1", "hits@5", "hits@10", "MRR@10"], rows)


if __name__ == "__main__":
    main()
