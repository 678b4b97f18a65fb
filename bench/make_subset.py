"""Write a few weeks of news-dev (articles and questions) to a folder, for training the
reranker on weeks that news-dev-small does not contain.

    python -m bench.make_subset OUT_DIR [--weeks 8]

`retrieved_at` is used here only to pick which weeks go into the training set, never as a
signal for search.
"""

from __future__ import annotations

import argparse
import gzip
import json
from datetime import date, timedelta
from pathlib import Path

from bench.common import DATA, read_records


def pick_weeks(articles: list[dict], count: int) -> set[str]:
    """`count` weeks spread evenly over news-dev, none of news-dev-small's."""
    small_weeks = {r["retrieved_at"] for r in read_records(DATA / "news-dev-small" /
                                                           "articles.jsonl.gz")}
    weeks = sorted({a["retrieved_at"] for a in articles} - small_weeks)
    step = len(weeks) / count
    return {weeks[int(i * step)] for i in range(count)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--weeks", type=int, default=8)
    args = parser.parse_args()
    articles = read_records(DATA / "news-dev" / "articles.jsonl.gz")
    chosen = pick_weeks(articles, args.weeks)
    args.out.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out / "articles.jsonl.gz", "wt", encoding="utf-8") as handle:
        kept = [a for a in articles if a["retrieved_at"] in chosen]
        for a in kept:
            handle.write(json.dumps(a, ensure_ascii=False) + "\n")
    spans = [(date.fromisoformat(w) - timedelta(days=6), date.fromisoformat(w)) for w in chosen]
    questions = 0
    with open(DATA / "news-dev" / "questions.jsonl", encoding="utf-8") as src, \
            open(args.out / "questions.jsonl", "w", encoding="utf-8") as dst:
        for line in src:
            day = date.fromisoformat(json.loads(line)["date"])
            if any(a <= day <= b for a, b in spans):
                dst.write(line)
                questions += 1
    print(f"{len(chosen)} weeks ({', '.join(sorted(chosen))}): {len(kept)} articles, "
          f"{questions} questions -> {args.out}")


if __name__ == "__main__":
    main()
