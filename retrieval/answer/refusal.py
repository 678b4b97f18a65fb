"""Whether the index holds the answer at all. Decided from signals that do not grow with
the index (how likely the best sentence holds the answer, how much of the question it
covers, whether it names the asked-for kind of thing, how far the best passage stands
above the next), not from a raw relevance score, which rises as the index grows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from retrieval.answer.answer_types import YESNO
from retrieval.answer.features import Sentence, age_values
from retrieval.answer.weights import shipped_weights

SIGNALS = ("best", "second", "coverage", "similarity", "typed", "support", "margin",
           "yesno", "stale", "stale_recent", "answer_fresh", "coverage_top3")
TOP = 3  # the likeliest sentences, about as many as an answer quotes
# A question about what just happened, which old passages cannot answer.
_RECENT = re.compile(r"\b(this week|last week|this month|recently|today|yesterday|latest|"
                     r"just|new|announced|on (monday|tuesday|wednesday|thursday|friday|"
                     r"saturday|sunday))\b", re.IGNORECASE)


def asks_about_now(question: str) -> bool:
    return bool(_RECENT.search(question))


def staleness(ages_days: list[int | None]) -> float:
    """How old the freshest of the best passages is, on a log scale (0: today, 1: a
    year or more); 0 when none is dated (an undated corpus is not held against it)."""
    known = [abs(a) for a in ages_days if a is not None]
    return 1 - age_values(min(known))["fresh"] if known else 0.0


def signals(ranked: list[Sentence], relevances: list[float], kind: str,
            stale: float = 0.0, recent: bool = False) -> dict[str, float]:
    """`ranked`: the scored sentences, best first (may be empty); `relevances`: the
    passages' search scores; `stale`: `staleness` of the best passages; `recent`:
    whether the question asks about now."""
    best = ranked[0] if ranked else None
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
        "yesno": float(kind == YESNO),
        "stale": stale,
        "stale_recent": stale * recent,
        # How recent the article the answer is quoted from is (`features.age_values`).
        "answer_fresh": best.values.get("fresh", 0.0) if best else 0.0,
        # The question may be covered by a sentence next to the likeliest answer.
        "coverage_top3": max((s.values["coverage"] for s in ranked[:TOP]), default=0.0),
    }


@dataclass(frozen=True)
class RefusalModel:
    """Logistic: the confidence that the passages answer the question."""
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float  # the fitted decline point (`NEWSBOT_DECLINE_BELOW` overrides it)

    def confidence(self, values: dict[str, float]) -> float:
        x = np.array([values[name] for name in SIGNALS])
        logit = float(((x - self.mean) / self.scale) @ self.weights + self.bias)
        return float(np.clip(1 / (1 + np.exp(-logit)), 0.001, 0.999))

    @classmethod
    def from_dict(cls, data: dict) -> RefusalModel:
        return cls(np.array([data["weights"][n] for n in SIGNALS]), float(data["bias"]),
                   np.array([data["mean"][n] for n in SIGNALS]),
                   np.array([data["scale"][n] for n in SIGNALS]), float(data["threshold"]))


@lru_cache(maxsize=1)
def shipped_refusal() -> RefusalModel:
    return RefusalModel.from_dict(shipped_weights()["refusal"])
