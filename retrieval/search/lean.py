"""A follow-up's lean toward the story the conversation was about: the articles that hold
a sentence the previous answer quoted score `weight` more. A lean, not a first place: a
follow-up about something else still finds what it asks ("Who scored the winning kick?"
after an answer quoting one report of the final finds the report that names the kicker).
The previous answer is known by its text alone, so a conversation kept anywhere (the
terminal chat, a Discord reply chain) carries it without keeping article ids."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.search.candidates import CandidatePassage
from retrieval.text import split_sentences, words
from retrieval.types import Passage

_MARKERS = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]|\*\*[^*]*\*\*\s*[—-]?")
QUOTED_WORDS = 6  # a sentence this long or longer is one quoted, not a stock phrase


def _flat(text: str) -> str:
    return f" {' '.join(words(text)).lower()} "


@dataclass(frozen=True)
class Lean:
    quoted: tuple[str, ...]  # the previous answer's sentences, flattened
    weight: float  # added to the score of every passage of an article that holds one
    sentence_weight: float = 0.0  # added to the answer's worth of a sentence of one

    @classmethod
    def toward(cls, answer: str, weight: float, sentence_weight: float = 0.0
               ) -> Lean | None:
        """The lean toward the articles `answer` quoted (its markers and bold lead aside),
        or None when it quoted nothing (a declined turn) or the weight is nil."""
        sentences = split_sentences(_MARKERS.sub(" ", answer))
        quoted = tuple(_flat(s) for s in sentences if len(words(s)) >= QUOTED_WORDS)
        return cls(quoted, weight, sentence_weight) if quoted and weight > 0 else None

    def holds(self, text: str) -> bool:
        """Whether `text` (a passage) holds one of the sentences quoted."""
        flat = _flat(text)
        return any(q in flat for q in self.quoted)

    def sentence_bonus(self, passage: Passage, sentence: str) -> float:
        """What a sentence of `passage` gains in the answer: `sentence_weight` when the
        passage is of the story quoted (it holds a quoted sentence)."""
        return self.sentence_weight if self.holds(passage.text) else 0.0

    def bonus(self, cands: Sequence[CandidatePassage]) -> np.ndarray:
        """Per candidate: `weight` if its article (or another outlet's copy of its story)
        holds a quoted sentence, else 0."""
        def story(c: CandidatePassage) -> str:
            return c.story_id or c.article_id

        held = {story(c) for c in cands if self.holds(c.text)}
        return np.array([self.weight if story(c) in held else 0.0 for c in cands],
                        dtype=np.float32)
