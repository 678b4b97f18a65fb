"""The question as search reads it, once: its terms (content stems), its names, the time
window its time words give, whether it asks for a number, and each term's IDF in the
index. The reranker scores passages with it and the answer chooses sentences with it, so
no later step splits the question or reads the document frequencies again."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

from retrieval.search.timewords import TimeWindow, parse_time_words
from retrieval.text import content_terms, proper_nouns

_NUMBER_QUESTION = re.compile(
    r"\b(how (many|much|old|long|far)|what (year|percent\w*|number|age)|which year)\b",
    re.IGNORECASE)


def wants_number(question: str) -> bool:
    """"How many", "what year", ...: the answer carries digits."""
    return bool(_NUMBER_QUESTION.search(question))


@dataclass(frozen=True)
class ParsedQuestion:
    text: str
    terms: list[str]            # content stems, in question order
    names: list[str]            # stems of its proper nouns
    today: date                 # the day its time words count from
    window: TimeWindow | None = None
    idf: dict[str, float] = field(default_factory=dict)  # of each term; from the index
    wants_number: bool = False

    def with_idf(self, idf: dict[str, float]) -> ParsedQuestion:
        return replace(self, idf=idf)

    def loosened(self) -> ParsedQuestion:
        """The time window as a preference, not a filter."""
        window = replace(self.window, strict=False) if self.window else None
        return replace(self, window=window)

    @property
    def window_since(self) -> date | None:
        return self.window.since if self.window else None

    @property
    def window_until(self) -> date | None:
        return self.window.until if self.window else None

    # What the reranker counts in a candidate's stems (held between spaces there).
    @cached_property
    def total_idf(self) -> float:
        return sum(self.idf.get(t, 0.0) for t in self.terms) or 1.0

    @cached_property
    def weighted_terms(self) -> list[tuple[str, str, float]]:
        """(stem, stem between spaces as `CandidatePassage.spaced` holds it, idf) per term."""
        return [(t, f" {t} ", self.idf.get(t, 0.0)) for t in self.terms]

    @cached_property
    def bigrams(self) -> list[str]:
        """Each pair of neighbouring terms, as the two stems appear together in `spaced`."""
        return [f" {a}  {b} " for a, b in zip(self.terms, self.terms[1:], strict=False)]

    @cached_property
    def padded_names(self) -> list[tuple[str, str]]:
        return [(n, f" {n} ") for n in self.names]


def parse_question(text: str, today: date) -> ParsedQuestion:
    """Everything the words say; the IDF needs the index (`with_idf`)."""
    return ParsedQuestion(text, content_terms(text), proper_nouns(text), today,
                          parse_time_words(text, today), wants_number=wants_number(text))
