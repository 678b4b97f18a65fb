"""Whether the passages support an answer to what was asked. Decided by evidence that
does not grow with the index: whether the question's names and rarer terms appear in the
passages at all, whether the likeliest sentences hold a candidate of the asked-for kind
and say what the question says happened, how likely the best sentence holds the answer.
Not by a raw relevance score, which rises as the index grows, and not by the articles'
age, except when the question asks about now ("this week", "latest", "yesterday")."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np

from retrieval.answer.answer_types import YESNO
from retrieval.answer.features import Question, Sentence, age_values
from retrieval.answer.weights import shipped_section
from retrieval.models.linear import LinearModel
from retrieval.text import stem, stem_set

SIGNALS = ("best", "second", "coverage", "similarity", "typed", "support", "margin",
           "yesno", "stale_recent", "coverage_top3", "names_missing", "terms_missing",
           "rarest_missing", "typed_top3", "predicate_top3", "asked_top3", "lead_chance")
TOP = 3  # the likeliest sentences, about as many as an answer quotes
# A question about what just happened, which old passages cannot answer.
_RECENT = re.compile(r"\b(this week|last week|this month|recently|recent|today|yesterday|"
                     r"latest|now|currently|so far|on (monday|tuesday|wednesday|thursday|"
                     r"friday|saturday|sunday))\b", re.IGNORECASE)


def asks_about_now(question: str) -> bool:
    return bool(_RECENT.search(question))


def staleness(ages_days: list[int | None]) -> float:
    """How old the freshest of the best passages is, on a log scale (0: today, 1: a
    year or more); 0 when none is dated (an undated corpus is not held against it)."""
    known = [abs(a) for a in ages_days if a is not None]
    return 1 - age_values(min(known))["fresh"] if known else 0.0


# When a question's events happened ("in March 2023") is matched by the articles'
# dates (the search's time window), not by words their sentences must hold.
_TIME_WORDS = {stem(w) for w in (*calendar.month_name[1:], *calendar.day_name)}
_YEAR = re.compile(r"(?:19|20)\d\d")


def _about(term: str) -> bool:
    return term not in _TIME_WORDS and not _YEAR.fullmatch(term)


def missing(question: Question, passages: list[str]) -> dict[str, float]:
    """What of the question the passages never mention: its names ("Stanley Cup"), its
    terms weighted by rarity, and its rarest term. A passage that holds none of the
    question's names is about something else, however close its words."""
    held: set[str] = set()
    for text in passages:
        held |= stem_set(text)
    terms = [t for t in question.terms if _about(t)]
    names = [n for n in question.names if n in terms] or [
        n for n in question.names if _about(n)]
    idf = question.idf
    total = sum(idf.get(t, 1.0) for t in terms) or 1.0
    absent = [t for t in terms if t not in held]
    rarest = max(terms, key=lambda t: idf.get(t, 1.0), default=None)
    return {
        "names_missing": (sum(n not in held for n in names) / len(names)) if names else 0.0,
        "terms_missing": sum(idf.get(t, 1.0) for t in absent) / total,
        "rarest_missing": float(rarest is not None and rarest not in held),
    }


def signals(question: Question, ranked: list[Sentence], relevances: list[float],
            passages: list[str], stale: float = 0.0, lead_chance: float = 0.0
            ) -> dict[str, float]:
    """`ranked`: the scored sentences, best first (may be empty); `relevances`: the
    passages' search scores; `passages`: the texts the answerer read; `stale`:
    `staleness` of the best passages, which counts only when the question asks about
    now; `lead_chance`: how likely the best candidate of the asked-for kind is the
    answer (`lead.choose_lead`)."""
    best = ranked[0] if ranked else None
    top = ranked[:TOP]
    relevances = sorted(relevances, reverse=True)
    margin = (relevances[0] - relevances[1]) / 10 if len(relevances) > 1 else 0.0
    return {
        "best": best.score if best else 0.0,
        "second": ranked[1].score if len(ranked) > 1 else 0.0,
        "coverage": best.values["coverage"] if best else 0.0,
        "similarity": best.values.get("similarity", 0.0) if best else 0.0,
        "typed": best.values["typed"] if best else 0.0,
        "support": best.values["support"] if best else 0.0,
        "margin": min(margin, 1.0),
        "yesno": float(question.kind == YESNO),
        "stale_recent": stale * asks_about_now(question.text),
        # The question may be covered by a sentence next to the likeliest answer.
        "coverage_top3": max((s.values["coverage"] for s in top), default=0.0),
        **missing(question, passages),
        "typed_top3": max((s.values["typed"] for s in top), default=0.0),
        "predicate_top3": max((s.values["predicate_coverage"] for s in top), default=0.0),
        "asked_top3": max((s.values["asked_coverage"] for s in top), default=0.0),
        "lead_chance": lead_chance,
    }


UNLIKE = 0.15  # the best sentence's embedding similarity to the question, below which
# it is about something else


def off_subject(values: dict[str, float]) -> bool:
    """The passages hold neither the question's rarest term nor half its names ("Who won
    the Nobel Prize in Literature?" answered from a book prize), or the likeliest
    sentence is nothing like the question ("What is the capital of Australia?" answered
    with a football final in Sydney, on a small index): the passages are about something
    else. On news-dev's forward weeks the first declines 1.7 % of the answerable
    questions and 14-15 % of the off-corpus probes of each kind, the second 0.8 % and
    under 1 % (bench/README.md): it is for small indexes."""
    return ((values["rarest_missing"] == 1.0 and values["names_missing"] >= 0.5)
            or values["similarity"] < UNLIKE)


@dataclass(frozen=True)
class RefusalModel(LinearModel):
    """Logistic: the confidence that the passages answer the question, over `SIGNALS`
    (a subclass may weigh others: the reader refusal the trainer measures)."""
    features: ClassVar[tuple[str, ...]] = SIGNALS
    threshold: float  # the fitted decline point (`NEWSBOT_DECLINE_BELOW` overrides it)

    def confidence(self, values: dict[str, float]) -> float:
        """0 when the passages are `off_subject`, else the model's."""
        if off_subject(values):
            return 0.0
        return float(np.clip(self.chances_of([values])[0], 0.001, 0.999))


@lru_cache(maxsize=1)
def shipped_refusal() -> RefusalModel:
    return RefusalModel.from_dict(*shipped_section("refusal"))


def declines(values: dict[str, float], decline_below: float | None = None,
             model: RefusalModel | None = None) -> bool:
    """The refusal's one decision: whether the answer is withheld, given the `signals` of
    what was found. `decline_below` (the setting) overrides the fitted threshold."""
    model = model or shipped_refusal()
    threshold = model.threshold if decline_below is None else decline_below
    return model.confidence(values) < threshold
