"""The dumps of `python -m training.answer_data` read back into the answerer's own records
(questions, passages, candidate sentences with their features), for `training/answers.py`."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

from retrieval.answer.extractive import add_reader_span
from retrieval.answer.features import Question, Sentence, read_question, sentence_candidates
from retrieval.answer.reader import ReadSpan
from retrieval.evaluation import contains_answer
from retrieval.search.question import parse_question
from retrieval.types import Passage


@dataclass
class Asked:
    """One dumped question, read back as the answerer reads it."""
    id: str
    week: str
    day: date | None
    text: str
    gold: str
    answerable: bool
    question: Question
    passages: list[Passage]
    sentences: list[Sentence]   # every candidate, with its features and no score
    labels: list[bool]          # whether each holds the gold answer
    sims: dict[str, float] = field(default_factory=dict)  # stored similarities by text
    spans: list[ReadSpan] | None = None  # the reader's, when the dump has them

    def embed(self, texts: list[str]) -> np.ndarray:
        """The similarities the dump stored, as an embedding would give them."""
        out = np.zeros((len(texts), 2))
        out[0] = (1.0, 0.0)
        for i, text in enumerate(texts[1:], 1):
            sim = float(np.clip(self.sims.get(text, 0.0), -1, 1))
            out[i] = (sim, np.sqrt(1 - sim * sim))
        return out


def _passage(n: int, text: str, relevance: float, published: str | None) -> Passage:
    day = date.fromisoformat(published) if published else None
    return Passage(chunk_id=f"c{n}", article_id=f"a{n}", text=text, title="", url="",
                   source="", published_at=datetime(day.year, day.month, day.day)
                   if day else None, score=relevance, relevance=relevance)


def load(path: Path, span_feature: bool = True) -> list[Asked]:
    """A dump of `training/answer_data.py`, every sentence's features computed by today's
    code. With `span_feature` False the sentences' "reader_span" is 0 whatever spans the
    dump holds (the spans themselves are kept)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            q = json.loads(line)
            day = date.fromisoformat(q["date"]) if q.get("date") else None
            parsed = parse_question(q["question"], day or date.today()).with_idf(q["idf"])
            question = read_question(parsed)
            passages = [_passage(n, t, r, d) for n, (t, r, d) in enumerate(
                zip(q["passages"], q["relevances"], q["published"], strict=True))]
            asked = Asked(q["id"], q["week"], day, q["question"], q["answer"],
                          q["answerable"], question, passages, [], [],
                          {s["text"]: s["values"].get("similarity", 0.0)
                           for s in q["sentences"]},
                          [ReadSpan(**sp) for sp in q["spans"]] if "spans" in q else None)
            asked.sentences = sentence_candidates(question, passages, asked.embed)
            add_reader_span(asked.sentences, asked.spans if span_feature else None)
            asked.labels = [contains_answer(asked.gold, s.text) for s in asked.sentences]
            out.append(asked)
    return out
