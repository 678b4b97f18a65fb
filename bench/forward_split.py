"""Retrieval and answer figures of a `newsbot eval --answers --out` file on news-dev, on
the forward split: "fit" = questions dated before 2023-07-01, "forward" = from then on.
No cross-validation: each question is scored once, by the code that answered it.

    python -m bench.forward_split RESULTS.jsonl [--probes]

Retrieval: hits@1/5/10 and MRR@10 by the scoring rule of `../shared/data/README.md`
(answerable questions only). Answers, over answerable questions: the answer contains the
gold answer; the bold lead (`short_answer`) given; equal to the gold answer (case and
spacing normalised, enclosing quote marks and end punctuation dropped); overlapping it
(not equal, but they share a word other than "the", "of" ...); wrong (no overlap): the
last three as shares of the leads given. Then answerable declined, the mean characters of
the answers given (answerable, not declined), citations verified (every question).

With --probes, also the same-week off-corpus probes: no-gold questions whose answer string
is in no article of `news-dev/articles.jsonl.gz` (scoring form: case-insensitive,
whitespace collapsed); their share declined, beside how many no-gold questions do have
the answer in the corpus or in the five passages the answerer read.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import DATA, print_table, read_records
from retrieval.evaluation import (
    EvalQuestion,
    EvalReport,
    contains_answer,
    first_hit_rank,
    read_questions,
    scoring_form,
)

FORWARD_FROM = date(2023, 7, 1)
SPLITS = ("fit", "forward")
ANSWER_DEPTH = 5  # passages the extractive answerer reads
_WORD = re.compile(r"\w+")
_EDGES = "\"'“”‘’«».,;:!? "
_FUNCTION_WORDS = frozenset({"the", "a", "an", "of", "and", "in", "on", "at", "to", "for",
                             "by", "s"})


def split_of(question: EvalQuestion) -> str | None:
    """'forward' from 2023-07-01, 'fit' before, None for an undated question."""
    if question.date is None:
        return None
    return "forward" if question.date >= FORWARD_FROM else "fit"


def lead_form(text: str) -> str:
    """A lead or gold answer as they are compared: case and spacing normalised, enclosing
    quote marks and end punctuation dropped ('“Squid Game”' is 'squid game')."""
    return scoring_form(text).strip(_EDGES)


def lead_verdict(lead: str, gold: str) -> str:
    """'equal', 'overlap' (a shared word other than a function word: "McCarthy" for
    "Kevin McCarthy") or 'wrong' (no overlap)."""
    lead_text, gold_text = lead_form(lead), lead_form(gold)
    if lead_text == gold_text:
        return "equal"
    # Words, not substrings: "5" is no part of "15 million".
    shared = (set(_WORD.findall(lead_text)) & set(_WORD.findall(gold_text))) - _FUNCTION_WORDS
    return "overlap" if shared else "wrong"


@dataclass
class SplitFigures:
    """One split's counts; `row` turns them into the reported shares."""

    retrieval: EvalReport = field(default_factory=EvalReport)
    no_gold: int = 0
    no_gold_declined: int = 0
    contains_gold: int = 0
    declined: int = 0
    leads: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("equal", "overlap", "wrong"), 0))
    answer_chars: list[int] = field(default_factory=list)
    citations: list[int] = field(default_factory=lambda: [0, 0])  # verified, total

    def add(self, question: EvalQuestion, record: dict[str, Any]) -> None:
        answer = record.get("answer") or {}
        self.retrieval.questions += 1
        self.citations[0] += answer.get("citations_verified", 0)
        self.citations[1] += answer.get("citations_total", 0)
        if not question.answerable:
            self.no_gold += 1
            self.no_gold_declined += bool(answer.get("declined"))
            return
        passages = [(p["url"], p["text"]) for p in record["passages"][:10]]
        self.retrieval.answerable += 1
        self.retrieval.ranks.append(first_hit_rank(passages, question))
        if not answer:
            return
        if answer["declined"]:
            self.declined += 1
            return
        self.answer_chars.append(len(answer["text"]))
        self.contains_gold += contains_answer(question.answer, answer["text"])
        if answer.get("short_answer"):
            self.leads[lead_verdict(answer["short_answer"], question.answer)] += 1

    def row(self) -> dict[str, float | int]:
        r, n = self.retrieval, max(1, self.retrieval.answerable)
        given = sum(self.leads.values())
        return {
            "questions": r.questions, "answerable": r.answerable,
            "hits@1": r.hits_at(1), "hits@5": r.hits_at(5), "hits@10": r.hits_at(10),
            "MRR@10": r.mrr10, "contains gold": self.contains_gold / n,
            "lead given": given / n, "lead equal (of answerable)": self.leads["equal"] / n,
            "lead equal (of leads)": self.leads["equal"] / max(1, given),
            "lead overlapping": self.leads["overlap"] / max(1, given),
            "lead wrong": self.leads["wrong"] / max(1, given),
            "answerable declined": self.declined / n,
            "no-gold declined": self.no_gold_declined / max(1, self.no_gold),
            "mean answer chars": (sum(self.answer_chars) / len(self.answer_chars)
                                  if self.answer_chars else 0.0),
            "citations verified": f"{self.citations[0]}/{self.citations[1]}",
        }


def paired(questions: list[EvalQuestion], records: list[dict]) -> list[tuple[EvalQuestion, dict]]:
    """Each result with its question, by position: a few ids occur twice in news-dev, and
    `eval --out` keeps the file's order."""
    ids = [r["id"] for r in records]
    if ids != [q.id for q in questions[:len(ids)]]:
        raise SystemExit("the results are not these questions in their order")
    return list(zip(questions, records, strict=False))


def score(pairs: Iterable[tuple[EvalQuestion, dict]]) -> dict[str, SplitFigures]:
    figures = {name: SplitFigures() for name in (*SPLITS, "all")}
    for question, record in pairs:
        split = split_of(question)
        for name in (split, "all") if split else ("all",):
            figures[name].add(question, record)
    return figures


class CorpusText:
    """Every article's text in scoring form, for 'is this answer anywhere in the corpus'."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._joined = "\x00".join(scoring_form(t) for t in texts)

    def holds(self, answer: str) -> bool:
        wanted = scoring_form(answer)
        return not wanted or wanted in self._joined  # an empty answer is no probe


@dataclass
class ProbeFigures:
    no_gold: int = 0
    in_corpus: int = 0
    in_passages: int = 0
    probes: int = 0
    declined: int = 0

    def row(self) -> list[object]:
        return [self.no_gold, self.in_corpus, self.in_corpus / max(1, self.no_gold),
                self.in_passages / max(1, self.no_gold), self.probes,
                self.declined / max(1, self.probes)]


def score_probes(pairs: Iterable[tuple[EvalQuestion, dict]], corpus: CorpusText
                 ) -> dict[str, ProbeFigures]:
    """The no-gold questions, and the declined share of those whose answer string no
    article holds (same-week off-corpus probes), per split."""
    figures = {name: ProbeFigures() for name in (*SPLITS, "all")}
    for question, record in pairs:
        if question.answerable:
            continue
        split = split_of(question)
        present = corpus.holds(question.answer)
        passages = record["passages"][:ANSWER_DEPTH]
        seen = any(contains_answer(question.answer, p["text"]) for p in passages)
        declined = bool((record.get("answer") or {}).get("declined"))
        for name in (split, "all") if split else ("all",):
            f = figures[name]
            f.no_gold += 1
            f.in_corpus += present
            f.in_passages += seen
            if not present:
                f.probes += 1
                f.declined += declined
    return figures


def print_side_by_side(figures: dict[str, SplitFigures]) -> None:
    rows = {name: f.row() for name, f in figures.items()}
    names = list(rows)
    print_table(["figure", *names], [[key, *(rows[n][key] for n in names)]
                                     for key in rows[names[0]]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", type=Path, help="the --out file of `newsbot eval --answers`")
    parser.add_argument("--questions", type=Path, default=DATA / "news-dev" / "questions.jsonl")
    parser.add_argument("--probes", action="store_true",
                        help="also the no-gold questions whose answer no article holds")
    parser.add_argument("--articles", type=Path,
                        help="the indexed articles (default: articles.jsonl.gz beside the "
                        "questions)")
    args = parser.parse_args()
    with open(args.results, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    pairs = paired(list(read_questions(args.questions)), records)
    print_side_by_side(score(pairs))
    if args.probes:
        articles = args.articles or args.questions.parent / "articles.jsonl.gz"
        corpus = CorpusText(r["text"] for r in read_records(articles))
        probes = score_probes(pairs, corpus)
        print()
        print_table(["split", "no-gold", "answer in corpus", "share", "in 5 passages",
                     "probes", "probes declined"],
                    [[name, *f.row()] for name, f in probes.items()])


if __name__ == "__main__":
    main()
