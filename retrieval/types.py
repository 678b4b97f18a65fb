"""The records every layer and front end shares: search filters, passages, answers with
their sources, and article summaries. Dates are real `date`/`datetime` values; `to_dict`
gives the JSON shapes the CLI prints (dates as ISO strings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from corpus.loader import SUPPORTED

# The file types an index reads, from the readers' own list (for a front end's help).
ARTICLE_SUFFIXES: tuple[str, ...] = SUPPORTED

# What embeds texts as unit vectors, one row each: the answer compares sentences with it.
Embed = Callable[[list[str]], np.ndarray]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in data.items()}


@dataclass(frozen=True)
class SearchFilters:
    """Hard filters. Dates are inclusive; `sources` match the outlet name exactly
    (case-insensitive)."""

    sources: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None

    @property
    def since_ts(self) -> float | None:
        """The first second of `since`, UTC, as stored in `published_ts`."""
        return _day_start(self.since).timestamp() if self.since else None

    @property
    def until_ts(self) -> float | None:
        """The last second of `until`, UTC."""
        return (_day_start(self.until) + timedelta(days=1)).timestamp() - 1 if self.until \
            else None


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class Passage:
    chunk_id: str
    article_id: str
    text: str
    title: str
    url: str
    source: str
    published_at: datetime | None
    score: float
    relevance: float = 0.0  # the score without date features; what refusal is judged on
    also_in: list[str] = field(default_factory=list)  # other outlets that ran this story

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class Source:
    n: int
    title: str
    source: str
    published_at: datetime | None
    url: str
    quote: str           # the passage sentence that supports the answer
    passage: str = ""    # the whole passage, for /sources
    chunk_id: str = ""
    also_in: list[str] = field(default_factory=list)  # other outlets that ran this story


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Source]
    declined: bool
    short_answer: str | None = None  # the bold lead: a name, place, number or date
    citations_verified: int = 0
    citations_total: int = 0
    unsupported: list[str] = field(default_factory=list)  # sentences flagged as unsupported
    standalone_question: str = ""
    answerer: str = "extractive"
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said under the answer: keyword search
    # only, the model did not answer

    def lead_and_body(self) -> tuple[str | None, str]:
        """The bold short answer and the cited sentences after it, for front ends that
        format the lead their own way."""
        prefix = f"**{self.short_answer}** — "
        if self.short_answer and self.text.startswith(prefix):
            return self.short_answer, self.text[len(prefix):]
        return None, self.text

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sources"] = [_jsonable({k: v for k, v in s.items() if k != "passage"})
                           for s in data["sources"]]
        return data


@dataclass(frozen=True)
class ArticleSummary:
    """One indexed article, as `latest` lists it."""

    id: str
    title: str
    url: str
    source: str
    published_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


def day_of(moment: datetime | None) -> str:
    """'2023-03-10', or 'undated': how every front end shows a passage's date."""
    return moment.date().isoformat() if moment else "undated"


def parse_moment(value: str | None) -> datetime | None:
    """A stored ISO date or datetime back to a `datetime` (None when absent or garbled)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
