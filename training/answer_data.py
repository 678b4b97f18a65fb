"""Labelled sentences for the answerer: every question's passages searched on an index,
each candidate sentence with its feature values and whether it holds the gold answer.

    python -m training.answer_data INDEX_DIR QUESTIONS.jsonl OUT.jsonl.gz [--all] [--as-of]
        [--cut-days N] [--every N] [--reader]

A stopped run resumes: the same command goes on after the questions already written.
Only answerable questions unless --all (probes for the refusal need every question).
The week of a question is the news-dev week its date falls in (for cross-validation).
--as-of searches only the articles published by the end of the question's week, as the
index stood when someone asked it: no later story can stand in for a missing one.
--cut-days N searches only articles published by the Monday on or before the question's
date less N days (`forward_probes.cutoff`): off-corpus probes of kind (a). --every N
keeps every Nth question (a cheaper sample of a split). --reader adds the span reader's
likeliest span of each passage read (`reader.py`), for `python -m training.answers --reader`.
`python -m training.answer_spans` adds them to a dump made without them (one dump, each
reader to be weighed reading only its passages).

The dumps the shipped answer weights were fitted on, and their times: `training/answers.py`.
Reads the index named and, with --all, `$NEWSBOT_SHARED_DIR/data/news-dev/articles.jsonl.gz`
(which no-gold answers appear in no article). No randomness.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import DATA, read_records
from bench.forward_probes import cutoff
from retrieval.answer.features import READ, passage_age, read_question, sentence_candidates
from retrieval.answer.reader import SpanReader
from retrieval.app import NewsApp
from retrieval.evaluation import contains_answer, read_questions
from retrieval.settings import get_settings
from retrieval.types import SearchFilters


def week_of(day: date, weeks: list[date]) -> str:
    """The news-dev week (its `retrieved_at`) whose seven days hold `day`."""
    for week in weeks:
        if week - timedelta(days=6) <= day <= week:
            return week.isoformat()
    return min(weeks, key=lambda w: abs((w - day).days)).isoformat()


def clean_gold(answer: str) -> str:
    return answer.strip().strip("“”\"'‘’")


def dumped(q: Any, week: str | None, result: Any, kind: str, ages: list, found: list,
           gold: str, spans: list | None) -> dict:
    """One question's line: what the trainer needs to recompute every feature."""
    return {
        "id": q.id, "week": week,
        "question": q.question, "answer": gold, "answerable": q.answerable,
        "kind": kind,
        "relevances": [p.relevance for p in result.passages],
        "passages": [p.text for p in result.passages],  # to recompute features
        "published": [p.published_at.date().isoformat() if p.published_at else None
                      for p in result.passages],
        "date": q.date.isoformat() if q.date else None,
        "idf": result.question.idf, "names": list(result.question.names),
        "passage_gold": [contains_answer(gold, p.text) for p in result.passages],
        "ages": ages,
        "sentences": [{
            "passage": s.passage, "position": s.position, "text": s.text,
            "values": s.values, "spans": [sp.text for sp in s.spans],
            "label": contains_answer(gold, s.text),
        } for s in found],
        **({"spans": [vars(sp) for sp in spans]} if spans is not None else {}),
    }


def resume(out: Path) -> set[str]:
    """The ids already in `out` from a run that stopped: the file is rewritten with its
    whole lines only (a run stopped mid-write leaves a cut-off last one), and the run goes
    on from there."""
    if not out.exists():
        return set()
    kept: list[str] = []
    try:
        with gzip.open(out, "rt", encoding="utf-8") as handle:
            for line in handle:
                json.loads(line)
                kept.append(line)
    except (EOFError, ValueError, OSError):  # cut off: the whole lines before it stay
        pass
    partial = out.with_name(out.name + ".partial")
    with gzip.open(partial, "wt", encoding="utf-8") as handle:
        handle.writelines(kept)
    partial.replace(out)
    return {json.loads(line)["id"] for line in kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("questions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--all", action="store_true", help="unanswerable questions too")
    parser.add_argument("--as-of", action="store_true",
                        help="only articles published by the end of each question's week")
    parser.add_argument("--cut-days", type=int, help="off-corpus probes: the question's "
                        "week and N days before it left out of the search")
    parser.add_argument("--every", type=int, default=1, help="every Nth question only")
    parser.add_argument("--reader", action="store_true", help="the span reader's spans too")
    args = parser.parse_args()
    weeks = sorted({date.fromisoformat(r["retrieved_at"])
                    for r in read_records(DATA / "news-dev" / "articles.jsonl.gz")})
    settings = get_settings()
    app = NewsApp.open(settings, index_dir=args.index_dir, create=False)
    searcher = app.searcher
    embed = searcher.index.embedder.embed_documents
    reader = SpanReader(cache_dir=settings.embedding.onnx_dir) if args.reader else None
    questions = [q for q in read_questions(args.questions)
                 if args.all or q.answerable][::args.every]
    done = resume(args.out)
    started = time.perf_counter()
    with gzip.open(args.out, "at", encoding="utf-8") as out:
        for n, q in enumerate(questions, 1):
            if q.id in done:
                continue
            week = week_of(q.date, weeks) if q.date else None
            until = SearchFilters(until=date.fromisoformat(week)) if args.as_of and week \
                else None
            if args.cut_days is not None and q.date:
                until = SearchFilters(until=cutoff(q.date, args.cut_days))
            result = searcher.search(q.question, k=settings.answers.passages, filters=until,
                                     today=q.date)
            ages = [passage_age(p, q.date) for p in result.passages[:3]]  # as the chain does
            question = read_question(result.question)  # with the IDF the search read
            found = sentence_candidates(question, result.passages, embed)
            gold = clean_gold(q.answer)
            spans = reader.read(question.text, [p.text for p in result.passages[:READ]]) \
                if reader else None
            line = dumped(q, week, result, question.kind, ages, found, gold, spans)
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            out.flush()  # a stopped run keeps every question written (`resume`)
            if n % 100 == 0:
                print(f"{n}/{len(questions)} in {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
    app.close()


if __name__ == "__main__":
    main()
