"""A MiniLM tuned on question -> answering sentence pairs as the sentence ranker's
`similarity` (#22: contains-gold is lost in the sentence ranking). Measured, not shipped.

    python bench/tune_sentence_embedder.py fit.jsonl.gz fwd.jsonl.gz OUT

The dumps are `answer_data.py`'s (fit weeks, forward weeks). Training triplets come from
questions dated before `--cut` (2023-04-01) only: question -> a sentence of its passages
holding the gold answer, or the quiz's own evidence sentence, against the likeliest
sentence without the answer (by sentence weights fitted on those weeks). The sentence
weights are then fitted on the weeks from `--cut` to 2023-07-01, once with the bundled
model's similarity and once with the tuned one, and both are scored on the forward weeks:
whether the answer (no lead, no refusal) and its top sentence hold the gold answer.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from answer_fit import NEVER, Asked, fit_sentences, load, ranked
from common import DATA, plain_evidence, print_table, read_records
from forward_split import FORWARD_FROM
from train_embedder import train

from retrieval.answer.extractive import answer_from, compose
from retrieval.answer.features import sentence_candidates
from retrieval.evaluation import contains_answer
from retrieval.models.files import resolve_model_path
from retrieval.settings import BUNDLED_MODEL


def triplets(early: list[Asked], questions: Path, seed: int) -> list[tuple[str, str, str]]:
    model = fit_sentences(early)
    out, hardest = [], {}
    for q in early:
        order = ranked(q, model)
        misses = [s.text for s in order if not contains_answer(q.gold, s.text)][:3]
        golds = [s.text for s in order if contains_answer(q.gold, s.text)][:2]
        if misses:
            hardest[q.text] = misses[-1]
            out += [(q.text, g, misses[i % len(misses)]) for i, g in enumerate(golds)]
    for row in read_records(questions):
        evidence = plain_evidence(row["evidence"])
        if row["question"] in hardest and len(evidence) > 20:
            out.append((row["question"], evidence, hardest[row["question"]]))
    random.Random(seed).shuffle(out)
    return out


def with_similarity(questions: list[Asked], model) -> list[Asked]:
    """The questions with `model`'s cosine as every sentence's similarity."""
    out = []
    for q in questions:
        texts = [s.text for s in q.sentences]
        if not texts:
            out.append(q)
            continue
        v = model.encode([q.text, *texts], normalize_embeddings=True, batch_size=64)
        q2 = replace(q, sims=dict(zip(texts, (v[1:] @ v[0]).tolist(), strict=True)))
        q2.sentences = sentence_candidates(q.question, q.passages, q2.embed)
        q2.labels = [contains_answer(q.gold, s.text) for s in q2.sentences]
        out.append(q2)
    return out


def scores(fitting: list[Asked], scored: list[Asked]) -> list[float]:
    """Answer holds gold, top sentence holds gold, on `scored`, by weights fitted on
    `fitting`."""
    model = fit_sentences(fitting)
    answer = top = 0
    for q in scored:
        order = ranked(q, model)
        if order:
            chosen, _, _ = answer_from(q.question, order, model, 3, NEVER)
            answer += contains_answer(q.gold, compose(chosen, None))
            top += contains_answer(q.gold, order[0].text)
    return [answer / len(scored), top / len(scored)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fit_dump", type=Path)
    parser.add_argument("forward_dump", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cut", default="2023-04-01")
    parser.add_argument("--questions", type=Path, default=DATA / "news-dev" / "questions.jsonl")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    fit = [q for q in load(args.fit_dump) if q.answerable]
    forward = [q for q in load(args.forward_dump)
               if q.answerable and q.day and q.day >= FORWARD_FROM]
    early = [q for q in fit if q.day and q.day.isoformat() < args.cut]
    late = [q for q in fit if q.day and q.day.isoformat() >= args.cut]
    made = triplets(early, args.questions, args.seed)
    print(f"{len(made)} triplets from {len(early)} questions before {args.cut}", flush=True)
    if not (args.out / "model").exists():
        train(made, args.out, args.seed, args.epochs, 32, 128, 40.0, lr=args.lr)
    rows = []
    for name, path in (("bundled MiniLM", resolve_model_path(BUNDLED_MODEL)),
                       ("tuned MiniLM", args.out / "model")):
        model = SentenceTransformer(str(path), device="cpu")
        tuned_late, tuned_forward = with_similarity(late, model), with_similarity(forward, model)
        rows.append([name, *scores(tuned_late, tuned_late), *scores(tuned_late, tuned_forward)])
    print_table(["similarity", f"from {args.cut}: answer", "top", "forward: answer", "top"],
                rows)


if __name__ == "__main__":
    main()
