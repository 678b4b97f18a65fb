"""The reader's news stage's examples (`python -m training.reader_news`): the search's
passages for each quiz question with hit labels, cloze questions made from articles, and
the answer's tokens as the model is taught them."""

from __future__ import annotations

import gzip
import json
import random
from datetime import date, timedelta
from pathlib import Path

from retrieval.answer.answer_types import DATE, MONEY, NAME, NUMBER, PERSON, PLACE, candidates
from retrieval.text import split_sentences
from training.squad import Example as SquadExample

WH = {PERSON: "who", PLACE: "which place", DATE: "when", NUMBER: "how many",
      MONEY: "how much", NAME: "what"}
Example = tuple[str, str, tuple[int, int] | None]  # question, context, answer's characters


def cloze(sentence: str, rng: random.Random) -> tuple[str, str, int] | None:
    """(question, answer, where the answer starts in the sentence): one candidate span of
    the sentence turned into its wh-word."""
    spans = [s for s in candidates(sentence) if s.kind in WH and s.start > 0 and len(s.text) > 1]
    if not spans:
        return None
    span = rng.choice(spans)
    question = (sentence[:span.start] + WH[span.kind] + sentence[span.end:]).strip()
    return question.rstrip(".!") + "?", span.text, span.start


def make_cloze(articles: Path, count: int, seed: int, split: str) -> list[Example]:
    rng = random.Random(seed)
    with gzip.open(articles, "rt", encoding="utf-8") as handle:
        texts = [a["text"] for a in map(json.loads, handle)
                 if a["retrieved_at"] < split and len(a["text"]) > 1500]
    rng.shuffle(texts)
    out: list[Example] = []
    answered = 0  # examples with an answer: `count` bounds these
    for text in texts:
        if answered >= count:
            break
        sentences = [s for s in split_sentences(text) if s.strip()]
        if len(sentences) < 6:
            continue
        for i in rng.sample(range(2, len(sentences) - 1), 2):
            made = cloze(sentences[i], rng) if 60 <= len(sentences[i]) <= 300 else None
            if made is None:
                continue
            question, answer, offset = made
            lo, hi = max(0, i - rng.randint(0, 3)), i + 1 + rng.randint(0, 3)
            context = " ".join(sentences[lo:hi])
            if len(context) > 1100:
                context = " ".join(sentences[max(lo, i - 1):i + 2])
            start = context.find(sentences[i]) + offset
            out.append((question, context, (start, start + len(answer))))
            answered += 1
            if rng.random() < 0.35:  # the same question of another article: no answer
                other = split_sentences(rng.choice(texts))
                j = rng.randrange(len(other))
                unrelated = " ".join(other[max(0, j - 2):j + 3])[:1100]
                if answer.lower() not in unrelated.lower():
                    out.append((question, unrelated, None))
    return out


def quiz_examples(rows: list[dict], rng: random.Random) -> list[Example]:
    """From `passages` lines: each hit (a gold article's passage holding the answer)
    with the answer's first occurrence as its span; as many passages without the answer.
    A passage that holds it but is not a gold article's is left out."""
    from retrieval.evaluation import contains_answer

    positives, negatives = [], []
    for row in rows:
        for p in row["passages"]:
            at = p["text"].lower().find(row["answer"].lower())
            if p["hit"] and at >= 0:
                positives.append((row["question"], p["text"], (at, at + len(row["answer"]))))
            elif not contains_answer(row["answer"], p["text"]):
                negatives.append((row["question"], p["text"], None))
    rng.shuffle(negatives)
    return positives + negatives[:len(positives)]


def write_passages(index_dir: Path, questions: Path, out: Path, depth: int,
                   before: str | None, since: str | None) -> None:
    """One line per question: its id, date, question, answer, whether it is answerable,
    and the top `depth` passages of `Searcher.search` (the fast path, as `newsbot search`
    shows them) with their url, headline, text, score and whether each is a hit by the
    scoring rule. With `before`, only questions dated before that day, and the search holds
    to articles published before it too; with `since`, only those from that day. Resumes:
    questions already in `out` are skipped."""
    from retrieval.evaluation import is_hit, read_questions
    from retrieval.index.news_index import NewsIndex
    from retrieval.search.searcher import Searcher
    from retrieval.settings import get_settings
    from retrieval.types import SearchFilters

    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line}
    index = NewsIndex.open(get_settings(), index_dir=index_dir)
    searcher = Searcher(index)
    with out.open("a") as handle:
        for q in read_questions(questions):
            day = q.date.isoformat() if q.date else ""
            if q.id in done or (before and day >= before) or (since and day < since):
                continue
            until = SearchFilters(until=date.fromisoformat(before) - timedelta(days=1)) \
                if before else None
            result = searcher.search(q.question, k=depth, filters=until, today=q.date)
            found = [{"url": p.url, "title": p.title, "text": p.text,
                      "score": round(p.score, 5), "hit": is_hit(p.url, p.text, q)}
                     for p in result.passages]
            handle.write(json.dumps({"id": q.id, "date": day, "question": q.question,
                                     "answer": q.answer, "answerable": q.answerable,
                                     "passages": found}) + "\n")
            handle.flush()
    searcher.close()
    index.close()


def as_examples(made: list[Example]) -> list[SquadExample]:
    """(question, context, span) tuples as the training loop's examples."""
    return [SquadExample(str(n), q, c, tuple(s) if s else None) for n, (q, c, s) in
            enumerate(made)]
