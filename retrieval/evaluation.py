"""Retrieval evaluation on a question file (format: ../shared/data/README.md).

Only `question` and `date` reach the search; `answer` and `gold_urls` are used for
scoring alone. A passage is a hit when its url is a gold url and its text contains the
answer (case-insensitive, whitespace collapsed).
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from retrieval.errors import NewsbotError
from retrieval.search.searcher import SearchResult
from retrieval.types import Passage

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EvalQuestion:
    """One question of a question file (`newsbot eval`): its gold answer and urls."""
    id: str
    question: str
    date: date | None
    answer: str
    gold_urls: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.gold_urls)


def scoring_form(text: str) -> str:
    """Text as the scoring rule compares it: case-insensitive, whitespace collapsed."""
    return _SPACE.sub(" ", text).strip().casefold()


def contains_answer(answer: str, text: str) -> bool:
    """Whether `text` holds the gold `answer`, by the scoring rule."""
    return bool(answer) and scoring_form(answer) in scoring_form(text)


def is_hit(passage_url: str, passage_text: str, question: EvalQuestion) -> bool:
    return passage_url in question.gold_urls and contains_answer(question.answer, passage_text)


def first_hit_rank(urls_texts: list[tuple[str, str]], question: EvalQuestion) -> int | None:
    for rank, (url, text) in enumerate(urls_texts, start=1):
        if is_hit(url, text, question):
            return rank
    return None


def read_questions(path: Path) -> Iterator[EvalQuestion]:
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise NewsbotError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                when = record.get("date")
                yield EvalQuestion(
                    id=str(record.get("id", number)),
                    question=record["question"],
                    date=date.fromisoformat(when[:10]) if when else None,
                    answer=str(record.get("answer", "")),
                    gold_urls=tuple(record.get("gold_urls") or ()),
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise NewsbotError(f"{path}:{number}: not a question record ({exc})") from None


@dataclass
class EvalReport:
    questions: int = 0
    answerable: int = 0
    ranks: list[int | None] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    passage_lengths: list[int] = field(default_factory=list)

    def hits_at(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r <= k) / max(1, self.answerable)

    @property
    def mrr10(self) -> float:
        return sum(1 / r for r in self.ranks if r is not None and r <= 10) / max(1, self.answerable)

    def latency_ms(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions, "answerable": self.answerable,
            "hits@1": round(self.hits_at(1), 3), "hits@5": round(self.hits_at(5), 3),
            "hits@10": round(self.hits_at(10), 3), "mrr@10": round(self.mrr10, 3),
            "latency_p50_ms": round(statistics.median(self.latencies) * 1000, 1)
            if self.latencies else 0.0,
            "latency_p95_ms": round(self.latency_ms(0.95), 1),
            "mean_passage_chars": round(statistics.mean(self.passage_lengths))
            if self.passage_lengths else 0,
        }


@dataclass
class AnswerReport:
    answerable: int = 0
    contains_gold: int = 0
    declined_answerable: int = 0
    probes: int = 0
    declined_probes: int = 0
    citations_verified: int = 0
    citations_total: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, question: EvalQuestion, answer: Any) -> None:
        self.seconds.append(answer.seconds)
        self.citations_verified += answer.citations_verified
        self.citations_total += answer.citations_total
        if question.answerable:
            self.answerable += 1
            self.declined_answerable += answer.declined
            self.contains_gold += (not answer.declined
                                   and contains_answer(question.answer, answer.text))
        else:
            self.probes += 1
            self.declined_probes += answer.declined

    def as_dict(self) -> dict[str, Any]:
        return {
            "answer_contains_gold": round(self.contains_gold / max(1, self.answerable), 3),
            "decline_rate_answerable": round(self.declined_answerable / max(1, self.answerable),
                                             3),
            "decline_rate_probes": round(self.declined_probes / max(1, self.probes), 3),
            "probes": self.probes,
            "citations_verified": self.citations_verified,
            "citations_total": self.citations_total,
            "answer_p50_ms": round(statistics.median(self.seconds) * 1000, 1)
            if self.seconds else 0.0,
        }


class SearchesNews(Protocol):
    """A `Searcher` or the application (`NewsApp`): anything with this `search`."""

    def search(self, question: str, k: int = 10, *, today: date | None = None
               ) -> SearchResult: ...


def evaluate(searcher: SearchesNews, questions: list[EvalQuestion], k: int = 10,
             on_result: Callable[[EvalQuestion, list[Passage]], None] | None = None) -> EvalReport:
    report = EvalReport()
    searcher.search("warm up the model and caches", k=k)
    for question in questions:
        result = searcher.search(question.question, k=k, today=question.date)
        report.questions += 1
        report.latencies.append(result.seconds)
        report.passage_lengths.extend(len(p.text) for p in result.passages)
        if question.answerable:
            report.answerable += 1
            report.ranks.append(
                first_hit_rank([(p.url, p.text) for p in result.passages[:10]], question))
        if on_result:
            on_result(question, result.passages)
    return report
