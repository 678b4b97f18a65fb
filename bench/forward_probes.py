"""Off-corpus probes of weeks the index does not hold: each forward-split question
(dated from 2023-07-01) asked with the search limited to articles published by `until`,
the Monday on or before the question's date less `--gap-days` (7: the question's week
and most of the one before are out), and `today` = the question's date. The index then
effectively lacks the question's week; the share declined is the figure.

    NEWSBOT_INDEX_DIR=INDEX python -m bench.forward_probes OUT.jsonl   # ask (resumes)
    python -m bench.forward_probes OUT.jsonl --report                  # figures only

Only reads the index. The report splits the probes by whether one of the passages the
answerer read (five) still holds the gold answer (a story that ran on from earlier weeks:
answering those is no mistake), and checks the cut: passages published after `until`
(must be none) and passages from the question's own gold articles.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import DATA, print_table
from bench.forward_split import split_of
from retrieval.evaluation import EvalQuestion, contains_answer, read_questions

if TYPE_CHECKING:
    from retrieval.app import NewsApp


def cutoff(asked: date, gap_days: int) -> date:
    """The last publication day searched: the Monday on or before `asked`, less the gap."""
    return asked - timedelta(days=asked.weekday() + gap_days)


def probe(app: NewsApp, question: EvalQuestion, gap_days: int) -> dict[str, Any]:
    from retrieval.types import SearchFilters

    assert question.date is not None  # forward questions are dated
    until = cutoff(question.date, gap_days)
    filters = SearchFilters(until=until)
    found = app.search(question.question, k=app.settings.answers.passages, filters=filters,
                       today=question.date)
    answer = app.answer(question.question, filters=filters, today=question.date)
    return {
        "id": question.id, "date": question.date.isoformat(), "until": until.isoformat(),
        "answerable": question.answerable, "declined": answer.declined,
        "short_answer": answer.short_answer, "text": answer.text,
        "passages": [{"url": p.url, "published": p.published_at.date().isoformat()
                      if p.published_at else None,
                      "holds_answer": contains_answer(question.answer, p.text)}
                     for p in found.passages],
    }


def ask_all(out: Path, questions: list[EvalQuestion], gap_days: int) -> None:
    """Answer every question not yet in `out` (a killed run resumes where it stopped)."""
    from retrieval.app import NewsApp

    done = len(out.read_text(encoding="utf-8").splitlines()) if out.exists() else 0
    with NewsApp.open() as app, open(out, "a", encoding="utf-8") as handle:
        for n, question in enumerate(questions[done:], start=done + 1):
            handle.write(json.dumps(probe(app, question, gap_days), ensure_ascii=False) + "\n")
            handle.flush()
            if n % 50 == 0:
                print(f"{n}/{len(questions)}", flush=True)


def report(out: Path, questions: list[EvalQuestion]) -> None:
    with open(out, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    if [r["id"] for r in records] != [q.id for q in questions[:len(records)]]:
        raise SystemExit(f"{out}: not the forward questions in their order")
    groups: dict[str, list[dict]] = {"all": [], "answerable": [], "no-gold": [],
                                     "gold answer in a passage": [],
                                     "gold answer in no passage": []}
    late = from_gold = 0
    for question, r in zip(questions, records, strict=False):
        groups["all"].append(r)
        groups["answerable" if r["answerable"] else "no-gold"].append(r)
        held = any(p["holds_answer"] for p in r["passages"])
        groups["gold answer in a passage" if held else "gold answer in no passage"].append(r)
        late += any(p["published"] and p["published"] > r["until"] for p in r["passages"])
        from_gold += any(p["url"] in question.gold_urls for p in r["passages"])
    print_table(["probes (weeks the search cannot see)", "questions", "declined"],
                [[name, len(rs), sum(r["declined"] for r in rs) / max(1, len(rs))]
                 for name, rs in groups.items()])
    print(f"\nquestions with a passage published after `until`: {late}; "
          f"with a passage from one of their gold articles: {from_gold}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="JSON Lines: one probe a line")
    parser.add_argument("--questions", type=Path, default=DATA / "news-dev" / "questions.jsonl")
    parser.add_argument("--gap-days", type=int, default=7)
    parser.add_argument("--report", action="store_true", help="only print the figures")
    args = parser.parse_args()
    forward = [q for q in read_questions(args.questions) if split_of(q) == "forward"]
    if not args.report:
        ask_all(args.out, forward, args.gap_days)
    report(args.out, forward)


if __name__ == "__main__":
    main()
