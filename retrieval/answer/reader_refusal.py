"""The refusal that weighs the span reader too: how sure the reader is that one of the
passages answers (its best span's margin over "no answer"), whether the other passages'
spans say the same, and whether that span stands in one of the likeliest sentences.

It decides only where the weights file has a "reader_refusal" section (`training/answers.py
--reader --write`) and the reader read the passages; a yes/no question, or an answer with
the reader off or unable to load, is decided by the plain refusal (`refusal.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from retrieval.answer.features import READ, passage_age
from retrieval.answer.reader import ReadSpan
from retrieval.answer.reader_lead import span_words
from retrieval.answer.refusal import SIGNALS, TOP, RefusalModel, declines, signals, staleness
from retrieval.answer.weights import optional_section

if TYPE_CHECKING:
    from retrieval.answer.extractive import Extract
    from retrieval.answer.features import Sentence
    from retrieval.types import Passage

READER_SIGNALS = (*SIGNALS, "reader_margin", "reader_agree", "reader_top3")
# The reader's margins run from about -15 (surely not here) to 10 (surely this): one
# passage's extreme score should not outweigh every other signal.
MARGIN_RANGE = (-12.0, 8.0)


def reader_signals(ranked: list[Sentence], spans: list[ReadSpan]) -> dict[str, float]:
    """How sure the span reader is that a passage answers: its best span's margin over
    "no answer", the share of the other passages whose span says the same, and whether
    that span stands in one of the likeliest sentences."""
    if not spans:
        return {"reader_margin": MARGIN_RANGE[0], "reader_agree": 0.0, "reader_top3": 0.0}
    best = max(spans, key=lambda s: s.margin)
    said = span_words(best.text)
    agree = sum(1 for s in spans if s is not best and span_words(s.text) == said)
    return {
        "reader_margin": float(np.clip(best.margin, *MARGIN_RANGE)),
        "reader_agree": agree / max(1, len(spans) - 1),
        "reader_top3": float(any(s.passage == best.passage and best.text in s.text
                                 for s in ranked[:TOP])),
    }


@dataclass(frozen=True)
class ReaderRefusalModel(RefusalModel):
    """The refusal over the reader's signals too."""
    features: ClassVar[tuple[str, ...]] = READER_SIGNALS


@lru_cache(maxsize=1)
def shipped_reader_refusal() -> ReaderRefusalModel | None:
    section = optional_section("reader_refusal")
    return None if section is None else ReaderRefusalModel.from_dict(*section)


def answer_declined(found: Extract, passages: list[Passage], today: date,
                    decline_below: float | None) -> bool:
    """The refusal's decision for one answer: the plain refusal's signals of what was
    found, and the reader's where it read and a reader refusal ships. `decline_below`
    (the setting) overrides the fitted threshold."""
    if not passages or not found.sentences:
        return True
    ages = [passage_age(p, today) for p in passages[:3]]
    values = signals(found.question, found.ranked, [p.relevance for p in passages],
                     # the title is the article's too ("Hollywood" only there)
                     [f"{p.title}\n{p.text}" for p in passages[:READ]], staleness(ages),
                     found.lead_chance)
    model = shipped_reader_refusal()
    if model is None or found.spans is None:
        return declines(values, decline_below)
    return declines(values | reader_signals(found.ranked, found.spans), decline_below, model)
