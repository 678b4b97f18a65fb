"""The default answerer, no LLM needed: the passage sentences that best answer the
question, each with its [n] marker, led by the answer itself in bold when the question
asks for a name, place, number or date and a candidate is likely enough to be it
(`lead.py`). It writes no word
that is not in a passage; only the markers and the bold lead are added."""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import ClassVar

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
from retrieval.answer.lead import LeadModel, choose_lead, scored_candidates
from retrieval.answer.reader import ReadSpan
from retrieval.answer.reader_lead import (
    ReaderLeadModel,
    choose_reader_lead,
    shipped_reader_lead,
)
from retrieval.answer.weights import shipped_section
from retrieval.models.linear import LinearModel
from retrieval.text import proper_nouns, stem, stem_set
from retrieval.types import Embed, Passage

# The span reader (`reader.LazyReader`): each passage's span, or None without a reader.
Read = Callable[[str, list[str]], list[ReadSpan] | None]
Lean = Callable[[Passage, str], float]  # what a sentence of a passage gains

YESNO_BONUS = 0.5


@dataclass(frozen=True)
class AnswerModel(LinearModel):
    """Fitted by `training/answers.py`: a logistic model of "this sentence holds the
    answer" over `FEATURES`, and what a further sentence must add to be worth its length."""
    features: ClassVar[tuple[str, ...]] = FEATURES
    length_cost: float  # chance of holding the answer a character of answer must buy


@lru_cache(maxsize=1)
def shipped_model() -> AnswerModel:
    return AnswerModel.from_dict(*shipped_section("sentences"))


@dataclass
class Extract:
    question: Question
    sentences: list[Sentence]  # chosen, best first
    ranked: list[Sentence]     # every candidate, best first
    lead: str | None           # the short answer, word for word from sentences[0]
    lead_chance: float = 0.0   # the best candidate's chance of being the answer
    spans: list[ReadSpan] | None = None  # the reader's, when it read the passages


def extract(question: Question, passages: list[Passage], embed: Embed | None,
            max_sentences: int = 3, model: AnswerModel | None = None,
            lead_model: LeadModel | None = None, read: Read | None = None,
            lean: Lean | None = None) -> Extract:
    """The best sentences of the passages for the question (`read_question`); with
    `read`, the lead is the span reader's (`reader_lead.py`); with a follow-up's `lean`,
    what each (passage, sentence) gains (the story the conversation quoted)."""
    model = model or shipped_model()
    found = sentence_candidates(question, passages, None)
    if not found:
        return Extract(question, [], [], None)
    # A yes/no question has no span to lead with: the reader is not asked.
    spans = (read(question.text, [p.text for p in passages])
             if read is not None and question.kind != YESNO else None)
    add_reader_span(found, spans)
    if embed is not None and model.uses("similarity"):
        embed_likeliest(question, found, model, embed)
    for sentence, p in zip(found, model.probabilities(matrix(found)), strict=True):
        # news-dev has almost no yes/no questions to learn from: a sentence that says
        # "no" about what the question asks is its answer.
        sentence.score = float(p) + YESNO_BONUS * sentence.values["negation"]
        if lean is not None:
            sentence.score += lean(passages[sentence.passage], sentence.text)
    ranked = sorted(found, key=lambda s: -s.score)
    chosen, lead, chance = answer_from(question, ranked, model, max_sentences, lead_model,
                                       spans)
    return Extract(question, chosen, ranked, lead, chance, spans)


def add_reader_span(found: list[Sentence], spans: list[ReadSpan] | None) -> None:
    """The sentence feature "reader_span": the reader's chance (the sigmoid of its margin
    over "no answer") that its passage's best span answers, for a sentence that holds that
    span; 0 for the others, and for every sentence when nothing was read."""
    best = {span.passage: span for span in spans or []}
    for sentence in found:
        span = best.get(sentence.passage)
        if span is None or not span.text or span.text not in sentence.text:
            sentence.values["reader_span"] = 0.0
        else:
            sentence.values["reader_span"] = 1 / (1 + math.exp(-span.margin))


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
                max_sentences: int, lead_model: LeadModel | None = None,
                spans: list[ReadSpan] | None = None,
                reader_model: ReaderLeadModel | None = None
                ) -> tuple[list[Sentence], str | None, float]:
    """The chosen sentences, the lead and the best sentence candidate's chance of being
    the answer (which the refusal weighs). With the reader's `spans` the lead is chosen
    among them. With a lead, the likeliest sentence that names it comes first (the lead
    is quoted from it)."""
    scored = scored_candidates(question, ranked, lead_model)
    lead, chance = choose_lead(question, ranked, lead_model, scored)
    reader_model = reader_model or (shipped_reader_lead() if spans is not None else None)
    if spans is not None and reader_model is not None:
        lead = choose_reader_lead(question, ranked, spans,
                                  {c.text: p for c, p in scored}, reader_model)
    if lead is None:
        return choose(question, ranked, model, max_sentences), None, chance
    carrier = lead.carrier
    return choose(question, [carrier, *(s for s in ranked if s is not carrier)], model,
                  max_sentences), lead.text, chance


def choose(question: Question, ranked: list[Sentence], model: AnswerModel,
           max_sentences: int) -> list[Sentence]:
    """The best sentence, and the others of the likeliest few that make the answer most
    likely to hold the answer for its length: each set is worth the chance that one of
    its sentences holds it, less `length_cost` per character. Only sentences of the best
    one's story join (`same_story`), and no two that say much the same."""
    best = ranked[0]
    others = [s for s in ranked[1:CHOOSE_FROM] if same_story(question, best, s)]
    ranked = [best, *others]
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


def same_story(question: Question, best: Sentence, other: Sentence) -> bool:
    """Whether `other` tells of the same story as `best`: from the same passage, or
    naming someone or something the best sentence names that the question does not
    (names the question gives are shared by every story it found: "Harbor City" joins
    the tram's cost to the library's)."""
    if other.passage == best.passage:
        return True
    return bool(_own_names(question, best) & _own_names(question, other))


# Capitalised, but no story's own: two reports of the same Sunday are two stories ("the
# men's final on Sunday" and "the women's final on Sunday").
_CALENDAR = frozenset(stem(name) for name in (*calendar.day_name, *calendar.month_name)
                      if name)


def _own_names(question: Question, sentence: Sentence) -> set[str]:
    return set(proper_nouns(sentence.text)) - question.names - question.stems - _CALENDAR


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


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
