"""The bold lead: the candidate of the asked-for kind (a person, place, date, number, sum,
title) that the answer opens with, and `short_answer`. Each candidate of the likeliest
sentences is scored by a logistic model of "this is the answer, word for word", fitted by
`bench/forward_answers.py` on the weeks before the forward split; the lead is given when
the best candidate's chance clears the fitted threshold, chosen so that few leads given
are wrong, not so that few are given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from retrieval.answer.answer_types import (
    DATE,
    MONEY,
    NAME,
    NUMBER,
    PERSON,
    PLACE,
    TITLES,
    YESNO,
    Span,
)
from retrieval.answer.features import Question, Sentence
from retrieval.answer.weights import shipped_section
from retrieval.models.linear import LinearModel
from retrieval.text import STOPWORDS, stem, words

LEAD_FROM = 5  # the lead is a candidate of the likeliest few sentences
ASKED = (PERSON, PLACE, DATE, NUMBER, MONEY, NAME)
LEAD_FEATURES = ("score", "best", "support", "share", "passages", "near", "exact",
                 "words", "quoted", "only", "trimmed", "counts_asked",
                 *(f"asks_{k}" for k in ASKED))
# "How many qubits ...": the thing counted, which the right number stands before.
_COUNTED = re.compile(r"\bhow many\s+(\w+)(?:\s+(\w+))?", re.IGNORECASE)
_EXACT = (PERSON, PLACE, DATE, NUMBER, MONEY)  # kinds a span can match exactly


@dataclass
class Candidate:
    text: str             # word for word from its sentence
    carrier: Sentence     # the likeliest sentence naming it
    values: dict[str, float]


@dataclass(frozen=True)
class LeadModel(LinearModel):
    """A logistic model of "this candidate is the answer, word for word" over the values
    named by `features`, and the chance a lead must have."""
    features: ClassVar[tuple[str, ...]] = LEAD_FEATURES
    threshold: float  # the chance a candidate must have to be led with

    def chances(self, candidates: list[Candidate]) -> np.ndarray:
        return self.chances_of([c.values for c in candidates])


@lru_cache(maxsize=1)
def shipped_lead() -> LeadModel:
    return LeadModel.from_dict(*shipped_section("lead"))


def lead_candidates(question: Question, ranked: list[Sentence]) -> list[Candidate]:
    """The asked-for kind's candidates of the likeliest sentences, with what the lead
    model weighs: how likely their sentence holds the answer, how much of the passages
    back them, how close they stand to the question's words in their sentence."""
    if question.kind == YESNO or not ranked:
        return []
    top = ranked[:LEAD_FROM]
    forms: dict[str, Span] = {}
    for sentence in top:
        for span in sentence.spans:
            for form in _forms(question, span.text):
                forms.setdefault(form, span)
    found = []
    for form, span in forms.items():
        if " " not in form and any(f.endswith(" " + form) for f in forms):
            continue  # "McCarthy" is led with as "Kevin McCarthy"
        carrier = next((s for s in top if form in s.text), None)
        if carrier is not None:
            values = _values(question, form, span, carrier, ranked)
            values["trimmed"] = float(form != span.text)
            found.append(Candidate(form, carrier, values))
    backing = sum(c.values["support"] for c in found) or 1.0
    for candidate in found:
        candidate.values["share"] = candidate.values["support"] / backing
        candidate.values["only"] = float(len(found) == 1)
    return found


# Words before a name that are not part of it: "Former Vice President Mike Pence",
# "Republican Kevin McCarthy", "Philadelphia-based Rite Aid".
_BEFORE_NAMES = TITLES | {"former", "first", "lady", "republican", "democratic",
                           "democrat", "rep", "sen", "gov", "u.s", "us", "new"}


def _forms(question: Question, text: str) -> list[str]:
    """A candidate as it may answer: whole, each name of "Hyundai and Kia", without the
    titles before a name, without the words the question already says at either end
    ("Dartmoor" of "Dartmoor National Park" for "which national park")."""
    out = [text]
    for part in text.split(" and ") if " and " in text else [text]:
        parts = part.split()
        out.append(part)
        while len(parts) > 1 and (parts[0].lower().rstrip(".") in _BEFORE_NAMES
                                  or parts[0].lower().endswith("-based")
                                  or stem(parts[0]) in question.stems):
            parts = parts[1:]
            out.append(" ".join(parts))
        while len(parts) > 1 and stem(parts[-1]) in question.stems:
            parts = parts[:-1]
            out.append(" ".join(parts))
    return list(dict.fromkeys(out))


def _values(question: Question, name: str, span: Span, carrier: Sentence,
            ranked: list[Sentence]) -> dict[str, float]:
    head = name.split()[-1].lower()  # "McCarthy" backs "Kevin McCarthy"
    naming = [s for s in ranked if head in s.text.lower()]
    passages = {s.passage for s in ranked}
    return {
        "score": carrier.score,
        "best": float(carrier is ranked[0]),
        "support": sum(max(s.score, 0.0) for s in naming),
        "passages": len({s.passage for s in naming}) / max(1, len(passages)),
        "near": _nearness(question, name, carrier.text),
        "exact": float(question.kind in _EXACT and span.kind == question.kind),
        "words": min(len(name.split()), 5) / 5,
        "quoted": float(span.kind == NAME),  # a title in quote marks
        "counts_asked": _counts_asked(question, name, carrier.text),
        # How often a lead is right depends on what is asked: a number next to "how
        # many" more often than a name for "which".
        **{f"asks_{k}": float(question.kind == k) for k in ASKED},
    }


def _counts_asked(question: Question, name: str, sentence: str) -> float:
    """1 for a number right before what "how many" asks about: "412 qubits" for "How
    many qubits", "3,200 residents" for "How many residents were evacuated"."""
    counted = _COUNTED.search(question.text)
    asked = {stem(w) for w in counted.groups() if w and w.lower() not in STOPWORDS} \
        if counted else set()
    at = sentence.find(name)
    following = words(sentence[at + len(name):])[:2] if at >= 0 else []
    return float(bool(asked) and any(stem(w) in asked for w in following))


def _nearness(question: Question, name: str, sentence: str) -> float:
    """1 next to a word of the question, falling with each word between: "X was named
    MVP" leads with X, not with the team named at the sentence's other end."""
    tokens = words(sentence)
    own = set(words(name))
    terms = set(question.terms)
    asked = [i for i, w in enumerate(tokens) if w not in own and stem(w) in terms]
    at = [i for i, w in enumerate(tokens) if w in own]
    if not asked or not at:
        return 0.0
    gap = min(abs(a - b) for a in asked for b in at)
    return 1 / gap if gap else 1.0


def scored_candidates(question: Question, ranked: list[Sentence],
                      model: LeadModel | None = None) -> list[tuple[Candidate, float]]:
    """Each candidate with its chance of being the answer."""
    candidates = lead_candidates(question, ranked)
    if not candidates:
        return []
    chances = (model or shipped_lead()).chances(candidates)
    return list(zip(candidates, (float(p) for p in chances), strict=True))


def choose_lead(question: Question, ranked: list[Sentence],
                model: LeadModel | None = None,
                scored: list[tuple[Candidate, float]] | None = None
                ) -> tuple[Candidate | None, float]:
    """The candidate to lead with (None when none is likely enough to be the answer),
    and the best candidate's chance, which the refusal weighs too. `scored`: the
    candidates' chances when already computed (`scored_candidates`)."""
    if scored is None:
        scored = scored_candidates(question, ranked, model)
    if not scored:
        return None, 0.0
    best, chance = max(scored, key=lambda pair: pair[1])
    threshold = (model or shipped_lead()).threshold
    return (best if chance >= threshold else None), chance
