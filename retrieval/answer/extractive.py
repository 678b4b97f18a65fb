"""The default answerer, no LLM needed: the one to three passage sentences that best
answer the question, each with its [n] marker. It writes no word that is not in a
passage; only the markers are added."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.answer.citations import Embed
from retrieval.text import content_terms, proper_nouns, split_sentences, stem_set
from retrieval.types import Passage

MIN_WORDS, MAX_WORDS = 5, 70
_COMPLETE = re.compile(r"[.!?][\"”’')\]]*$")


@dataclass
class Picked:
    passage: int   # index into passages
    position: int  # sentence number in the passage
    sentence: str
    score: float


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def pick_sentences(question: str, passages: list[Passage], idf: dict[str, float],
                   embed: Embed | None, max_sentences: int = 3, depth: int = 5) -> list[Picked]:
    terms = content_terms(question)
    names = set(proper_nouns(question))
    total = sum(idf.get(t, 1.0) for t in terms) or 1.0
    cands: list[Picked] = []
    for p_index, passage in enumerate(passages[:depth]):
        for position, sentence in enumerate(split_sentences(passage.text)):
            n_words = len(sentence.split())
            # Only whole sentences: headline fragments and link lines have no full stop.
            if not MIN_WORDS <= n_words <= MAX_WORDS or not _COMPLETE.search(sentence):
                continue
            stems = stem_set(sentence)
            coverage = sum(idf.get(t, 1.0) for t in terms if t in stems) / total
            new_names = len(set(proper_nouns(sentence)) - names - set(terms))
            score = coverage + 0.15 / (1 + p_index) + 0.03 * min(new_names, 3) \
                - 0.05 * (n_words > 45)
            cands.append(Picked(p_index, position, sentence, score))
    if not cands:
        return []
    if embed is not None:
        vectors = embed([question, *(c.sentence for c in cands)])
        similarity = vectors[1:] @ vectors[0]
        for cand, sim in zip(cands, similarity, strict=True):
            cand.score += 0.6 * float(sim)
    cands.sort(key=lambda c: -c.score)
    best = cands[0]
    chosen = [best]
    for cand in cands[1:]:
        if len(chosen) == max_sentences or cand.score < 0.9 * best.score:
            break
        stems = stem_set(cand.sentence)
        if all(_jaccard(stems, stem_set(c.sentence)) < 0.5 for c in chosen):
            chosen.append(cand)
    # Best sentence first; the rest keep the order of their passages, like an article.
    return [best, *sorted(chosen[1:], key=lambda c: (c.passage, c.position))]


def compose(picked: list[Picked]) -> str:
    """Sentences with markers numbered by passage (renumbered later by the citation check)."""
    parts = []
    for cand in picked:
        sentence = cand.sentence.rstrip()
        if sentence[-1] in ".!?":  # "... in Qatar [1]."
            parts.append(f"{sentence[:-1]} [{cand.passage + 1}]{sentence[-1]}")
        else:  # ends in a quote: "... gratitude.” [1]"
            parts.append(f"{sentence} [{cand.passage + 1}]")
    return " ".join(parts)
