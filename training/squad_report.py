"""The reader's SQuAD 2.0 dev figures, the official way: exact match and F1 for all
questions and for the answerable ones, with the no-answer threshold chosen on one half of
dev (its even-numbered articles) and the figures reported on the other half."""

from __future__ import annotations

import random

import numpy as np

from training.squad import Example, best_over_gold, dev_trained, reported


def scored(examples: list[Example], predictions: list[tuple[str, float]], threshold: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Exact match and F1 per question when spans with a margin under `threshold` are
    taken back ("no answer")."""
    ems, f1s = [], []
    for example, (text, margin) in zip(examples, predictions, strict=True):
        em, f1 = best_over_gold(text if margin >= threshold else "", example.answers)
        ems.append(em)
        f1s.append(f1)
    return np.array(ems), np.array(f1s)


def choose_threshold(examples: list[Example], predictions: list[tuple[str, float]]) -> float:
    """The margin under which "no answer" gives the best F1 over `examples`."""
    margins = sorted({round(m, 2) for _, m in predictions})
    candidates = [-np.inf, *margins[:: max(1, len(margins) // 400)], np.inf]
    return max(candidates, key=lambda t: scored(examples, predictions, t)[1].mean())


def report(examples: list[Example], predictions: list[tuple[str, float]],
           trained_on_dev: bool = False) -> dict:
    """Figures on the odd-numbered articles with the threshold fitted on the even ones
    (for a model `trained_on_dev`, on the even ones it did not learn from)."""
    fit = [i for i, e in enumerate(examples)
           if not reported(e) and not (trained_on_dev and dev_trained(e))]
    held = [i for i, e in enumerate(examples) if reported(e)]
    threshold = choose_threshold([examples[i] for i in fit], [predictions[i] for i in fit])
    held_examples = [examples[i] for i in held]
    em, f1 = scored(held_examples, [predictions[i] for i in held], threshold)
    answerable = np.array([bool(e.answers) for e in held_examples])
    always_em, always_f1 = scored(held_examples, [predictions[i] for i in held], -np.inf)
    return {
        "questions": len(held), "answerable": int(answerable.sum()),
        "threshold": round(float(threshold), 3),
        "all_em": pct(em), "all_f1": pct(f1),
        "answerable_em": pct(em[answerable]), "answerable_f1": pct(f1[answerable]),
        "answerable_f1_always_answering": pct(always_f1[answerable]),
        "answerable_em_always_answering": pct(always_em[answerable]),
        "unanswerable_declined": pct(em[~answerable]),
        "all_f1_always_no_answer": pct((~answerable).astype(float)),
    }


def pct(values: np.ndarray) -> float:
    return round(100 * float(values.mean()), 1) if len(values) else float("nan")


def sample(examples: list[Example], limit: int | None, seed: int = 5) -> list[Example]:
    """A reproducible sample of `limit` questions (all when None), kept in dev's order."""
    if limit is None or limit >= len(examples):
        return examples
    keep = sorted(random.Random(seed).sample(range(len(examples)), limit))
    return [examples[i] for i in keep]
