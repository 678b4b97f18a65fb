"""The default answerer, no LLM needed: the passage sentences that best answer the
question, each with its [n] marker, led by the answer itself in bold when the question
asks for a name, place, number or date and one candidate clearly wins. It writes no word
that is not in a passage; only the markers and the bold lead are added."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import combinations

import numpy as np

from retrieval.answer.answer_types import YESNO
from retrieval.answer.features import (
    FEATURES,
    Question,
    Sentence,
    add_relative,
    add_similarity,
    matrix,
    sentence_candidates,
)
from retrieval.answer.weights import shipped_weights
from retrieval.text import stem_set
from retrieval.types import Embed, Passage

YESNO_BONUS = 0.5


@dataclass(frozen=True)
class AnswerModel:
    """Fitted by `bench/train_answers.py`: a logistic model of "this sentence holds the
    answer", and what a further sentence must add to be worth its length."""
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    length_cost: float  # chance of holding the answer a character of answer must buy
    span_margin: float  # the lead span's support must beat the runner-up's by this

    def uses(self, feature: str) -> bool:
        return bool(self.weights[FEATURES.index(feature)])

    def probabilities(self, values: np.ndarray) -> np.ndarray:
        logits = ((values - self.mean) / self.scale) @ self.weights + self.bias
        return 1 / (1 + np.exp(-logits))

    @classmethod
    def from_dict(cls, data: dict) -> AnswerModel:
        """A feature the weights do not name weighs nothing (mean 0, scale 1)."""
        def column(key: str, missing: float) -> np.ndarray:
            return np.array([data[key].get(n, missing) for n in FEATURES], dtype=np.float64)

        return cls(column("weights", 0.0), float(data["bias"]), column("mean", 0.0),
                   column("scale", 1.0), float(data["length_cost"]), float(data["span_margin"]))


@lru_cache(maxsize=1)
def shipped_model() -> AnswerModel:
    return AnswerModel.from_dict(shipped_weights()["sentences"])


@dataclass
class Extract:
    question: Question
    sentences: list[Sentence]  # chosen, best first
    ranked: list[Sentence]     # every candidate, best first
    lead: str | None           # the short answer, word for word from sentences[0]


def extract(question: Question, passages: list[Passage], embed: Embed | None,
            max_sentences: int = 3, model: AnswerModel | None = None,
            today: date | None = None) -> Extract:
    """The best sentences of the passages for the question (`read_question`)."""
    model = model or shipped_model()
    found = sentence_candidates(question, passages, None, today=today)
    if not found:
        return Extract(question, [], [], None)
    if embed is not None and model.uses("similarity"):
        embed_likeliest(question, found, model, embed)
    for sentence, p in zip(found, model.probabilities(matrix(found)), strict=True):
        # news-dev has almost no yes/no questions to learn from: a sentence that says
        # "no" about what the question asks is its answer.
        sentence.score = float(p) + YESNO_BONUS * sentence.values["negation"]
    ranked = sorted(found, key=lambda s: -s.score)
    chosen, lead = answer_from(question, ranked, model, max_sentences)
    return Extract(question, chosen, ranked, lead)


EMBEDDED = 6  # sentences compared with the question by embedding: most of an answer's time
CHOOSE_FROM = 6  # an answer's sentences come from the likeliest few
SAME_ABOVE = 0.3  # two sentences sharing this share of their words say the same


def embed_likeliest(question: Question, found: list[Sentence], model: AnswerModel,
                    embed: Embed) -> list[Sentence]:
    """Similarity for the likeliest few sentences by every other feature; the rest get
    the fitted mean, which moves none of them."""
    for sentence in found:
        sentence.values["similarity"] = float(model.mean[FEATURES.index("similarity")])
    first = model.probabilities(matrix(found))
    likeliest = [found[i] for i in np.argsort(-first, kind="stable")[:EMBEDDED]]
    add_similarity(question, likeliest, embed)
    add_relative(found)
    return likeliest


def answer_from(question: Question, ranked: list[Sentence], model: AnswerModel,
                max_sentences: int) -> tuple[list[Sentence], str | None]:
    """The chosen sentences and the lead. With a lead, the likeliest sentence that names
    it comes first (the lead is quoted from it)."""
    lead = lead_span(question, ranked, model)
    if lead is None:
        return choose(ranked, model, max_sentences), None
    carrier = next(s for s in ranked if any(span.text == lead for span in s.spans))
    return choose([carrier, *(s for s in ranked if s is not carrier)], model,
                  max_sentences), lead


def choose(ranked: list[Sentence], model: AnswerModel, max_sentences: int) -> list[Sentence]:
    """The best sentence, and the others of the likeliest few that make the answer most
    likely to hold the answer for its length: each set is worth the chance that one of
    its sentences holds it, less `length_cost` per character. No two sentences that
    say much the same."""
    best, others = ranked[0], ranked[1:CHOOSE_FROM]
    stems = [stem_set(s.text) for s in ranked[:CHOOSE_FROM]]
    chosen, top = (), -math.inf
    for size in range(min(max_sentences, len(others) + 1)):
        for extra in combinations(range(1, len(others) + 1), size):
            if any(_jaccard(stems[a], stems[b]) >= SAME_ABOVE
                   for a, b in combinations((0, *extra), 2)):
                continue
            picked = [best, *(ranked[i] for i in extra)]
            missed = math.prod(1 - min(max(s.score, 0.0), 0.999) for s in picked)
            value = 1 - missed - model.length_cost * sum(len(s.text) for s in picked)
            if value > top:
                chosen, top = extra, value
    # Best sentence first; the rest keep the order of their passages, like an article.
    return [best, *sorted((ranked[i] for i in chosen), key=lambda c: (c.passage, c.position))]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


LEAD_FROM = 3  # the lead is a candidate of the likeliest few sentences


def lead_span(question: Question, ranked: list[Sentence], model: AnswerModel) -> str | None:
    """The candidate of the asked-for kind, in one of the likeliest sentences, that all
    the sentences back most (each naming it adds its probability); none when two are
    close or the question is yes/no. A name is led with in its fullest form found there:
    "Kevin McCarthy", not "McCarthy"."""
    if question.kind == YESNO:
        return None
    names = {span.text for s in ranked[:LEAD_FROM] for span in s.spans}
    support: dict[str, float] = {}
    for sentence in ranked:
        lowered = sentence.text.lower()
        for name in names:
            if name.lower() in lowered:
                support[name] = support.get(name, 0.0) + sentence.score
    backing: dict[str, float] = {}  # by the fullest form of each name
    for name, value in support.items():
        full = _fullest(name, names)
        backing[full] = max(backing.get(full, 0.0), value)
    ordered = sorted(backing.items(), key=lambda kv: -kv[1])
    if not ordered:
        return None
    if len(ordered) > 1 and ordered[0][1] - ordered[1][1] < model.span_margin:
        return None
    return ordered[0][0]


def _fullest(name: str, names: set[str]) -> str:
    """The longest of `names` that ends with `name` as whole words."""
    tail = " " + name.lower()
    return max((n for n in names if n.lower().endswith(tail)), key=len, default=name)


def compose(chosen: list[Sentence], lead: str | None = None) -> str:
    """Sentences with markers numbered by passage (renumbered later by the citation
    check), after the bold lead when there is one."""
    parts = []
    for cand in chosen:
        sentence = cand.text.rstrip()
        if sentence[-1] in ".!?":  # "... in Qatar [1]."
            parts.append(f"{sentence[:-1]} [{cand.passage + 1}]{sentence[-1]}")
        else:  # ends in a quote: "... gratitude.” [1]"
            parts.append(f"{sentence} [{cand.passage + 1}]")
    body = " ".join(parts)
    return f"**{lead}** — {body}" if lead else body
