"""The passages the search shows for each question, with hit labels: what the answer
reranker is trained on (fit weeks) and scored on (forward weeks).

    python bench/cross_data.py INDEX_DIR QUESTIONS.jsonl OUT.jsonl [--depth 20]
                               [--before 2023-07-01 | --from 2023-07-01]

With `--before`, the search also holds to articles published before that day, so that no
forward week's article enters the training pairs.

One line per question: its id, date, question, whether it is answerable, and the top
`depth` passages of `Searcher.search` (the fast path, as `newsbot search` shows them)
with their url, headline, text, the fast score and whether each is a hit by the scoring
rule. Resumes: questions already in OUT are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from retrieval.evaluation import is_hit, read_questions
from retrieval.index.news_index import NewsIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings
from retrieval.types import SearchFilters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--before", default=None, help="only questions dated before this day")
    parser.add_argument("--from", dest="since", default=None,
                        help="only questions dated on or after this day")
    args = parser.parse_args()
    done = set()
    if args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text().splitlines() if line}
    index = NewsIndex.open(get_settings(), index_dir=args.index_dir)
    searcher = Searcher(index)
    with args.out.open("a") as out:
        for q in read_questions(args.questions):
            day = q.date.isoformat() if q.date else ""
            if q.id in done or (args.before and day >= args.before) or (
                    args.since and day < args.since):
                continue
            until = SearchFilters(
                until=date.fromisoformat(args.before) - timedelta(days=1)) if args.before \
                else None
            result = searcher.search(q.question, k=args.depth, filters=until, today=q.date)
            passages = [{"url": p.url, "title": p.title, "text": p.text,
                         "score": round(p.score, 5), "hit": is_hit(p.url, p.text, q)}
                        for p in result.passages]
            out.write(json.dumps({"id": q.id, "date": day, "question": q.question,
                                  "answer": q.answer, "answerable": q.answerable,
                                  "passages": passages}) + "\n")
            out.flush()
    searcher.close()
    index.close()


if __name__ == "__main__":
    main()
