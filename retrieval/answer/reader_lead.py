"""The bold lead from the span reader (`reader.py`): each passage's likeliest span is a
candidate, weighed by a logistic model of "this is the answer, word for word" over what
the reader says (its margin over "no answer", how far ahead of the other passages' spans,
how many passages agree) and what the sentence ranker says (the chance of the sentence
that holds the span, whether the span is of the kind asked for). Fitted by
`bench/reader_lead.py` on weeks the reader never trained on, with the threshold set so
that few leads given are wrong."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from retrieval.answer.answer_types import YESNO
from retrieval.answer.features import Question, Sentence
from retrieval.answer.lead import ASKED, Candidate, LeadModel
from retrieval.answer.reader import ReadSpan
from retrieval.answer.weights import optional_section
from retrieval.settings import Settings
from retrieval.text import stem, words

READER_FEATURES = ("margin", "ahead", "agree", "typed", "sentence", "best", "lead",
                   "words", "echo", *(f"asks_{k}" for k in ASKED))


@dataclass(frozen=True)
class ReaderLeadModel(LeadModel):
    """The lead model over the reader's spans (`READER_FEATURES`)."""
    features: ClassVar[tuple[str, ...]] = READER_FEATURES


@lru_cache(maxsize=1)
def shipped_reader_lead() -> ReaderLeadModel | None:
    section = optional_section("reader_lead")
    return ReaderLeadModel.from_dict(*section) if section else None


def reads_spans(settings: Settings) -> bool:
    """Whether answers run the span reader: it is on, and the weights hold a lead fitted
    on it (without one there is nothing for the reader to decide). The chain and
    `newsbot doctor` both ask this, so the doctor checks the reader exactly when answers
    need it."""
    return settings.answers.reader and shipped_reader_lead() is not None


def span_words(text: str) -> str:
    """A span's words alone: two spans that say the same ("Ada Okafor," and "Ada
    Okafor") agree."""
    return " ".join(words(text))


def reader_candidates(question: Question, ranked: list[Sentence], spans: list[ReadSpan],
                      lead_chances: dict[str, float]) -> list[Candidate]:
    """One candidate per passage read whose span stands inside one of the ranked
    sentences, with the values the model weighs. `lead_chances`: the sentence-lead
    model's chance for each of its candidates (`lead.lead_candidates`)."""
    if question.kind == YESNO or not ranked:
        return []
    top = ranked[0]
    found = []
    for span in spans:
        carrier = next((s for s in ranked if s.passage == span.passage and span.text
                        and span.text in s.text), None)
        if carrier is None or not words(span.text):
            continue
        same = span_words(span.text)
        others = [s.margin for s in spans if span_words(s.text) != same]
        agree = sum(1 for s in spans if s is not span and span_words(s.text) == same)
        led = [c for t, c in lead_chances.items() if same in span_words(t) or span_words(t) in same]
        found.append(Candidate(span.text, carrier, {
            "margin": span.margin,
            # Alone in its answer: ahead by a clear margin (a logit gap of 5).
            "ahead": span.margin - max(others, default=span.margin - 5.0),
            "agree": agree / max(1, len(spans) - 1),
            "typed": float(any(s.text in span.text or span.text in s.text
                               for s in carrier.spans)),
            "sentence": carrier.score,
            "best": float(carrier is top),
            "lead": max(led, default=0.0),
            "words": min(len(words(span.text)), 5) / 5,
            # A span of the question's own words names what was asked about, not the answer.
            "echo": float(all(stem(w) in question.stems for w in words(span.text))),
            **{f"asks_{k}": float(question.kind == k) for k in ASKED},
        }))
    return found


def choose_reader_lead(question: Question, ranked: list[Sentence], spans: list[ReadSpan],
                       lead_chances: dict[str, float], model: ReaderLeadModel
                       ) -> Candidate | None:
    """The span to lead with, or None when none is likely enough to be the answer."""
    candidates = reader_candidates(question, ranked, spans, lead_chances)
    if not candidates:
        return None
    chances = model.chances(candidates)
    best = int(np.argmax(chances))
    return candidates[best] if chances[best] >= model.threshold else None
