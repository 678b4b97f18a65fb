"""What the answerer knows about each passage sentence: how well it covers the question,
and whether it holds the kind of thing the question asks for that the question does not
already say. `bench/train_answers.py` fits the weights over these features."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from retrieval.answer.answer_types import (
    KINDS,
    YESNO,
    Span,
    candidates,
    fits,
    question_kind,
)
from retrieval.search.question import ParsedQuestion
from retrieval.text import content_terms, proper_nouns, split_sentences, stem, stem_set, words
from retrieval.types import Embed, Passage

MIN_WORDS, MAX_WORDS = 5, 70
READ = 5  # passages the answerer reads, best first
RELEVANCE_SCALE = 2.0  # a passage this far below the best counts e^-1 as much
# A passage whose relevance_gap is below this (six points under the best) is about
# something else: on a small index it fills the last places, and its sums and names would
# answer another question. No news-dev question's only gold sentence stood in one.
FAR_BELOW = 0.05
# A statement: a question ("Why was he ousted?") restates what was asked, it never says.
_COMPLETE = re.compile(r"[.!][\"”’')\]]*$")
# A sentence starts as the sentence splitter expects one to ("📸 Photos: ..." is a caption,
# and would run into the sentence before it once composed).
_STARTS = re.compile(r"[\"“‘'(\[]?[A-Z0-9]")
_NEGATION = re.compile(r"\b(no|not|never|none|nobody|neither|nor|denied|without)\b|n't\b",
                       re.IGNORECASE)
_ROMAN = re.compile(r"[IVXLCDM]+")  # "LVII" in a question is a number, not initials

FEATURES = (
    "coverage", "similarity", "passage_rank", "relevance_gap", "position", "typed",
    "typed_count", "support", "new_names", "numbers", "length", "long", "restates",
    "bigrams", "negation", "quote", "mentions", "top_candidate", "fresh", "this_week",
    "asked_coverage", "predicate_coverage", "reader_span",
    *(f"best_{n}" for n in ("coverage", "similarity", "support", "mentions")),
    *(f"typed_{k}" for k in KINDS), *(f"kind_{k}" for k in KINDS),
)


@dataclass
class Question:
    """The answer's reading of a question, on top of search's (`ParsedQuestion`)."""
    text: str
    kind: str
    terms: list[str]  # as search parsed them
    stems: set[str]
    bigrams: set[tuple[str, str]]
    acronyms: dict[str, str]  # "mvp" -> "m v p": initials a sentence may spell out
    asked: list[str]  # terms of its last sentence: what it asks, not the story it opens with
    names: set[str]   # stems of its capitalised words: the people and places it is about
    idf: dict[str, float]  # of each term, as search read it


def read_question(parsed: ParsedQuestion) -> Question:
    """What the answer adds to search's reading: the kind of thing asked for, the
    question's stems, word pairs, acronyms and the terms of its asking sentence."""
    text, terms = parsed.text, parsed.terms
    acronyms = {stem(w): " ".join(w.lower()) for w in words(text)
                if 2 <= len(w) <= 6 and w.isupper() and w.isalpha()
                and not _ROMAN.fullmatch(w)}
    parts = split_sentences(text)
    asked = content_terms(parts[-1]) if len(parts) > 1 else terms
    return Question(text, question_kind(text), terms, stem_set(text),
                    set(zip(terms, terms[1:], strict=False)), acronyms, asked,
                    set(parsed.names), parsed.idf)


@dataclass
class Sentence:
    passage: int    # index into passages
    position: int   # sentence number in the passage
    text: str
    spans: list[Span]                  # those that fit the question's kind, not in it
    values: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


def _initials(sentence_words: list[str]) -> str:
    return " ".join(w[0].lower() for w in sentence_words)


# Words that answer for one another: "Did anyone die" is answered by "No deaths were
# reported". Written as words and stemmed here, so that they meet the stemmer's forms
# ("died" is "di", "buy" is "bui").
_RELATED = ["die died dies dying death deaths dead deadly deadliest kill killed killing "
            "fatal fatalities",
            "injure injured injuries injury hurt wounded",
            "win won wins victory beat",
            "buy bought buys purchase purchased acquire acquired acquisition takeover",
            "cost costs price spent spend paid pay",
            "elect elected election vote voted won",
            "arrest arrested detained custody jail jailed imprisoned prison",
            "resign resigned quit",
            "fire fired dismiss dismissed dismissing sacked ousted"]


def _related_stems() -> dict[str, set[str]]:
    also: dict[str, set[str]] = {}
    for group in _RELATED:
        stems = {stem(w) for w in group.split()}
        for s in stems:
            also.setdefault(s, set()).update(stems)
    return also


_ALSO = _related_stems()


def _found(term: str, stems: set[str]) -> bool:
    return term in stems or bool(_ALSO.get(term, set()) & stems)


def _coverage(question: Question, sentence: str, stems: set[str],
              terms: list[str] | None = None) -> float:
    """The share of the question's terms (or of `terms`) a sentence holds, by IDF."""
    terms = question.terms if terms is None else terms
    idf = question.idf
    total = sum(idf.get(t, 1.0) for t in terms) or 1.0
    found = {t for t in terms if _found(t, stems)}
    if question.acronyms:  # "MVP" answered by "most valuable player"
        spelled = _initials(words(sentence))
        found |= {t for t, letters in question.acronyms.items()
                  if t in terms and letters in spelled}
    return sum(idf.get(t, 1.0) for t in found) / total


def predicate_terms(question: Question) -> list[str]:
    """What the question says happened, without the names it is about: "named", "MVP"
    of "Who was named MVP of Super Bowl LVII?". Every sentence of the right story holds
    the names; the one that answers holds these."""
    return [t for t in question.terms if t not in question.names or t in question.acronyms]


def asked_coverage(question: Question, stems: set[str]) -> float:
    """The share of the asking sentence's terms a sentence holds: "Hollywood actors went
    on strike ... Who leads SAG-AFTRA?" is answered by a sentence about who leads it,
    not by one about the strike."""
    return sum(_found(t, stems) for t in question.asked) / max(1, len(question.asked))


def _new_spans(question: Question, sentence: str) -> list[Span]:
    """Spans of the asked-for kind whose words the question does not already hold, and
    that share no name with it: "Who did Musk fire?" is not answered by "Elon Musk"."""
    out = []
    for span in candidates(sentence):
        if not fits(question.kind, span):
            continue
        span_stems = stem_set(span.text)
        if span_stems and not span_stems <= question.stems and not span_stems & question.names:
            out.append(span)
    return out


def whole_statement(text: str) -> bool:
    """A sentence an answer may quote: a statement of a few to many words, with its full
    stop (headline fragments and link lines have none), starting as a sentence does."""
    return (MIN_WORDS <= len(text.split()) <= MAX_WORDS and bool(_COMPLETE.search(text))
            and bool(_STARTS.match(text)))


def passage_age(passage: Passage, today: date | None) -> int | None:
    """Days from the passage's article to `today` (None: undated, or no day)."""
    if today is None or passage.published_at is None:
        return None
    return (today - passage.published_at.date()).days


def age_values(age_days: int | None) -> dict[str, float]:
    """How recent a sentence's article is against the newest article read: of two stories
    on the same subject the later one tells how it ended. Measured between the passages,
    not against the day asked, so that a question about March 2023 is answered the same
    whenever it is asked. An undated article is neither."""
    if age_days is None:
        return {"fresh": 0.0, "this_week": 0.0}
    age = abs(age_days)
    return {"fresh": 1 - min(1.0, math.log1p(age) / math.log1p(365)),
            "this_week": float(age <= 7)}


def newest_day(passages: list[Passage]) -> date | None:
    days = [p.published_at.date() for p in passages if p.published_at is not None]
    return max(days, default=None)


def sentence_candidates(question: Question, passages: list[Passage], embed: Embed | None,
                        depth: int = READ) -> list[Sentence]:
    """Every whole sentence of the first `depth` passages, with its feature values."""
    names = question.names | set(question.terms)
    predicates = predicate_terms(question)
    best_relevance = max((p.relevance for p in passages[:depth]), default=0.0)
    newest = newest_day(passages[:depth])
    found: list[Sentence] = []
    for p_index, passage in enumerate(passages[:depth]):
        gap = math.exp((passage.relevance - best_relevance) / RELEVANCE_SCALE)
        if gap < FAR_BELOW:
            continue
        ages = age_values(passage_age(passage, newest))
        for position, text in enumerate(split_sentences(passage.text)):
            if not whole_statement(text):
                continue
            n_words = len(text.split())
            stems = stem_set(text)
            spans = _new_spans(question, text)
            coverage = _coverage(question, text, stems)
            predicate = _coverage(question, text, stems, predicates)
            terms = content_terms(text)
            sentence_bigrams = set(zip(terms, terms[1:], strict=False))
            values = {
                "coverage": coverage,
                "asked_coverage": asked_coverage(question, stems),
                "predicate_coverage": predicate,
                "passage_rank": 1 / (1 + p_index),
                "relevance_gap": gap,
                "position": 1 / (1 + position),
                "typed": float(bool(spans)),
                "typed_count": min(len(spans), 3) / 3,
                "new_names": min(len(set(proper_nouns(text)) - names), 3) / 3,
                "numbers": float(bool(re.search(r"\d", text))),
                "length": n_words / 40,
                "long": float(n_words > 45),
                "restates": float(coverage >= 0.6 and not spans
                                  and question.kind != YESNO),
                "bigrams": len(question.bigrams & sentence_bigrams)
                / max(1, len(question.bigrams)),
                "negation": float(question.kind == YESNO and bool(_NEGATION.search(text))
                                  and any(_found(t, stems) for t in question.terms)),
                "quote": float(any(q in text for q in "“”\"")),
                f"typed_{question.kind}": float(bool(spans)),
                f"kind_{question.kind}": 1.0,
                **ages,
            }
            found.append(Sentence(p_index, position, text, spans, values))
    _add_support(found, passages[:depth])
    if embed is not None:
        add_similarity(question, found, embed)
    add_relative(found)
    return found


def add_similarity(question: Question, sentences: list[Sentence], embed: Embed) -> None:
    if sentences:
        vectors = embed([question.text, *(s.text for s in sentences)])
        for sentence, sim in zip(sentences, vectors[1:] @ vectors[0], strict=True):
            sentence.values["similarity"] = float(sim)


def add_relative(found: list[Sentence]) -> None:
    """Whether a sentence is the best of this question's on a feature: what matters is
    how a sentence compares with the others, not the feature's level for this question."""
    for name in ("coverage", "similarity", "support", "mentions"):
        top = max((s.values.get(name, 0.0) for s in found), default=0.0)
        for s in found:
            s.values[f"best_{name}"] = float(s.values.get(name, 0.0) >= top - 1e-9)


def _head(span: Span) -> str:
    """The word a story repeats: "Bernard Arnault" is "Arnault" on second mention."""
    return span.text.split()[-1].lower().removesuffix("’s").removesuffix("'s")


def _add_support(found: list[Sentence], passages: list[Passage]) -> None:
    """How much of the passages name a sentence's best candidate, and how often they
    mention it: answers repeat, in several stories and within one. Each passage counts
    by its relevance (a passage far below the best one barely counts)."""
    best = max((p.relevance for p in passages), default=0.0)
    weights = [math.exp((p.relevance - best) / RELEVANCE_SCALE) for p in passages]
    total = sum(weights) or 1.0
    lowered = [p.text.lower() for p in passages]
    counts = [Counter(w.lower() for w in words(p.text)) for p in passages]
    heads = {_head(span) for sentence in found for span in sentence.spans}
    mentions = {h: sum(w * c.get(h, 0) for w, c in zip(weights, counts, strict=True))
                for h in heads}
    most = max(mentions.values(), default=0.0)
    for sentence in found:
        shares = [sum(w for w, text in zip(weights, lowered, strict=True)
                      if span.text.lower() in text) / total for span in sentence.spans]
        sentence.values["support"] = max(shares, default=0.0)
        named = [mentions.get(_head(span), 0.0) for span in sentence.spans]
        sentence.values["mentions"] = min(1.0, math.log1p(max(named, default=0.0))
                                          / math.log1p(30))
        sentence.values["top_candidate"] = float(most >= 2 and most in named)


def matrix(found: list[Sentence]) -> np.ndarray:
    return np.array([[s.values.get(name, 0.0) for name in FEATURES] for s in found],
                    dtype=np.float64).reshape(len(found), len(FEATURES))
