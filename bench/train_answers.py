"""Fit the answerer's weights (retrieval/answer/answer_weights.json) and report them
cross-validated by week: no question is scored by a model fitted on its own week.

    python bench/train_answers.py ANSWERABLE.jsonl.gz [--probes PROBES.jsonl.gz]
        [--answerable-on-probe-index A.jsonl.gz] [--write]

ANSWERABLE: `bench/answer_data.py` on the full news-dev index. PROBES: every question of
the weeks left out of an index built without them (off-corpus probes), and
A: the answerable questions of the other weeks on that same index (the refusal is fitted
on the two). The shipped sentence model is fitted on every week outside news-dev-small.
Prints the figures bench/README.md reports (about five minutes on two cores).
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, read_records

from retrieval.answer.answer_types import Span
from retrieval.answer.extractive import AnswerModel, answer_from, compose, embed_likeliest
from retrieval.answer.features import (
    FEATURES,
    Question,
    Sentence,
    asked_coverage,
    read_question,
    whole_statement,
)
from retrieval.answer.refusal import SIGNALS, asks_about_now, signals, staleness
from retrieval.answer.weights import WEIGHTS
from retrieval.evaluation import contains_answer, scoring_form
from retrieval.search.question import parse_question
from retrieval.text import stem_set

COST_RANGE = (0.0001, 0.004)  # length costs searched (per character)
MEAN_CHARS = 345  # the longest mean answer tuned for: under the 350 the issue allows
INNER_FOLDS = 4  # folds for scoring the training weeks while tuning
GRID_MARGIN = (0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 99.0)  # 99: never a lead
MAX_DECLINE = 0.04  # fitted below the 5 % limit: cross-validation adds a little


def reading(q: dict) -> Question:
    """The answer's reading of a dumped question (the features that need its IDF are in
    the dump)."""
    return read_question(parse_question(q["question"], date.today()))


def load(path: Path) -> list[dict]:
    """A dump's questions, with only the sentences the answerer now weighs, and the
    features it computes from a sentence's words alone filled in where the dump predates
    them (`whole_statement`, `asked_coverage`)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        questions = [json.loads(line) for line in handle]
    for q in questions:
        question = reading(q)
        q["sentences"] = [s for s in q["sentences"] if whole_statement(s["text"])]
        for s in q["sentences"]:
            if "asked_coverage" not in s["values"]:
                s["values"]["asked_coverage"] = asked_coverage(question, stem_set(s["text"]))
    return questions


def small_weeks() -> set[str]:
    return {r["retrieved_at"] for r in read_records(DATA / "news-dev-small" /
                                                    "articles.jsonl.gz")}


DROPPED: set[str] = set()  # --drop: features left out (measured by ablation)


def values_of(sentence: dict) -> list[float]:
    return [0.0 if n in DROPPED else sentence["values"].get(n, 0.0) for n in FEATURES]


def design(questions: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rows = [values_of(s) for q in questions for s in q["sentences"]]
    labels = [s["label"] for q in questions for s in q["sentences"]]
    return np.array(rows).reshape(len(rows), len(FEATURES)), np.array(labels)


def fit_sentences(questions: list[dict], strength: float = 1.0) -> AnswerModel:
    """Weights that put one of each question's gold sentences first (a softmax over the
    question's sentences, fitted to the chance it gives all the gold ones together), then
    scaled into a probability by a one-feature logistic fit. Ranking within a question is
    what picks the answer: fitted sentence by sentence, the weights spend themselves on
    what separates easy questions from hard ones. An answer needs one gold sentence, not
    every one: spreading the target over them all made the ranking worse. `strength`:
    the L2 penalty. The length cost and lead margin are left for `tune`."""
    x, y = design(questions)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / scale
    groups, start = [], 0
    for q in questions:
        end = start + len(q["sentences"])
        if y[start:end].any():
            groups.append((start, end))
        start = end

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * strength * w @ w, strength * w
        for a, b in groups:
            z = xs[a:b] @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            gold = p * y[a:b]
            total -= float(np.log(gold.sum() + 1e-12))
            grad = grad + xs[a:b].T @ (p - gold / gold.sum())
        return total, grad

    w = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x
    calibration = LogisticRegression(max_iter=1000).fit((xs @ w).reshape(-1, 1), y)
    slope = float(calibration.coef_[0][0])
    return AnswerModel(slope * w, float(calibration.intercept_[0]), mean, scale,
                       COST_RANGE[1], GRID_MARGIN[-1])


def with_params(model: AnswerModel, cost: float, margin: float) -> AnswerModel:
    return AnswerModel(model.weights, model.bias, model.mean, model.scale, cost, margin)


def stored_similarity(q: dict):
    """An embed function giving back the similarities the dump stored (as the answerer
    computes them, so that only its likeliest sentences get theirs)."""
    sims = {s["text"]: s["values"].get("similarity", 0.0) for s in q["sentences"]}

    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 2))
        out[0] = (1.0, 0.0)
        for i, text in enumerate(texts[1:], 1):
            sim = float(np.clip(sims.get(text, 0.0), -1, 1))
            out[i] = (sim, np.sqrt(1 - sim * sim))
        return out
    return embed


def answer(q: dict, model: AnswerModel) -> tuple[str, str | None, list[Sentence]]:
    found = [Sentence(s["passage"], s["position"], s["text"],
                      [Span(t, "", 0, 0) for t in s["spans"]], dict(s["values"]))
             for s in q["sentences"]]
    if not found:
        return "", None, []
    if model.uses("similarity") and "similarity" not in DROPPED:
        embed_likeliest(reading(q), found, model, stored_similarity(q))
    x = np.array([values_of({"values": s.values}) for s in found])
    for sentence, p in zip(found, model.probabilities(x), strict=True):
        sentence.score = float(p)
    ranked = sorted(found, key=lambda s: -s.score)
    chosen, lead = answer_from(reading(q), ranked, model, 3)
    return compose(chosen, lead), lead, ranked


def score(questions: list[dict], models: dict[str, AnswerModel]) -> dict[str, float]:
    hit, lengths, spans, span_right, span_near = 0, [], 0, 0, 0
    for q in questions:
        text, lead, _ = answer(q, models[q["week"]])
        hit += bool(text) and contains_answer(q["answer"], text)
        lengths.append(len(text))
        if lead:
            spans += 1
            lead_form, gold_form = scoring_form(lead), scoring_form(q["answer"])
            span_right += lead_form == gold_form
            span_near += lead_form in gold_form or gold_form in lead_form
    return {"contains_gold": hit / max(1, len(questions)),
            "mean_chars": statistics.mean(lengths) if lengths else 0.0,
            "lead_given": spans / max(1, len(questions)),
            "lead_equals_gold": span_right / max(1, spans),
            "lead_overlaps_gold": span_near / max(1, spans)}


def tune(train: list[dict], model: AnswerModel) -> AnswerModel:
    """Length and lead parameters chosen on the training weeks only, on answers each
    scored by a model fitted without its week, as new questions will be. The length cost: the
    lowest whose answers stay within MEAN_CHARS on average (longer answers hold the gold
    answer more often), found by halving the range on a log scale."""
    inner = fitted_elsewhere(train, INNER_FOLDS)

    def at(cost: float, margin: float) -> dict[str, AnswerModel]:
        return {week: with_params(m, cost, margin) for week, m in inner.items()}

    # The lead does not depend on the length cost; the answer's length does on the lead.
    margin = max(GRID_MARGIN, key=lambda m: _lead_quality(train, at(COST_RANGE[1], m)))
    low, high = (float(np.log(c)) for c in COST_RANGE)
    cost = COST_RANGE[1]
    for _ in range(12):
        middle = (low + high) / 2
        if score(train, at(float(np.exp(middle)), margin))["mean_chars"] <= MEAN_CHARS:
            cost, high = float(np.exp(middle)), middle
        else:
            low = middle
    return with_params(model, cost, margin)


def _lead_quality(train: list[dict], models: dict[str, AnswerModel]) -> float:
    """Right leads minus wrong ones: a wrong bold answer costs more than none."""
    result = score(train, models)
    given = result["lead_given"]
    right = given * result["lead_overlaps_gold"]  # "Pharrell Williams" for "Pharrell"
    return right - 2 * (given - right)


def fitted_elsewhere(questions: list[dict], folds: int,
                     fit: Callable[[list[dict]], AnswerModel] | None = None
                     ) -> dict[str, AnswerModel]:
    """For each week, the model `fit` (default: `fit_sentences`) makes from the folds
    without it."""
    fit = fit or fit_sentences
    weeks = sorted({q["week"] for q in questions})
    models: dict[str, AnswerModel] = {}
    for k in range(folds):
        held = set(weeks[k::folds])
        model = fit([q for q in questions if q["week"] not in held])
        models.update(dict.fromkeys(held, model))
    return models


def cross_validate(questions: list[dict], folds: int = 8) -> dict[str, AnswerModel]:
    """Each week's tuned model, fitted and tuned without it."""
    def fit_and_tune(train: list[dict]) -> AnswerModel:
        model = tune(train, fit_sentences(train))
        print(f"  fold: length cost {model.length_cost:.5f} margin {model.span_margin}",
              file=sys.stderr, flush=True)
        return model

    return fitted_elsewhere(questions, folds, fit_and_tune)


def refusal_rows(questions: list[dict], models: dict[str, AnswerModel]) -> np.ndarray:
    rows = []
    for q in questions:
        _, _, ranked = answer(q, models[q["week"]])
        ages = q.get("ages") or ([q["fresh_age"]] if q.get("fresh_age") is not None else [])
        values = signals(ranked, q["relevances"], q["kind"], staleness(ages),
                         asks_about_now(q["question"]))
        rows.append([values[n] for n in SIGNALS])
    return np.array(rows).reshape(len(rows), len(SIGNALS))


def fit_refusal(x: np.ndarray, y: np.ndarray) -> tuple[LogisticRegression, np.ndarray,
                                                       np.ndarray, float]:
    mean, scale = x.mean(0), x.std(0) + 1e-9
    clf = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    conf = clf.predict_proba((x - mean) / scale)[:, 1]
    # The highest decline point that keeps answerable declines within the limit.
    threshold = float(np.quantile(conf[y == 1], MAX_DECLINE))
    return clf, mean, scale, threshold


def cv_refusal(pos: list[dict], neg: list[dict], models: dict[str, AnswerModel],
               targets: list[dict], folds: int = 8) -> tuple[np.ndarray, np.ndarray,
                                                              np.ndarray, np.ndarray]:
    """Confidence and decline point for each of `targets` and `neg`, from a refusal model
    fitted without their week."""
    x_pos, x_neg, x_t = (refusal_rows(pos, models), refusal_rows(neg, models),
                         refusal_rows(targets, models))
    weeks = sorted({q["week"] for q in pos + neg + targets})
    conf_t, thr_t = np.zeros(len(targets)), np.zeros(len(targets))
    conf_n, thr_n = np.zeros(len(neg)), np.zeros(len(neg))
    for k in range(folds):
        held = set(weeks[k::folds])
        keep_p = np.array([q["week"] not in held for q in pos])
        keep_n = np.array([q["week"] not in held for q in neg])
        x = np.vstack([x_pos[keep_p], x_neg[keep_n]])
        y = np.r_[np.ones(keep_p.sum()), np.zeros(keep_n.sum())]
        clf, mean, scale, threshold = fit_refusal(x, y)
        for xs, qs, conf, thr in ((x_t, targets, conf_t, thr_t), (x_neg, neg, conf_n, thr_n)):
            mask = np.array([q["week"] in held for q in qs])
            if mask.any():
                conf[mask] = clf.predict_proba((xs[mask] - mean) / scale)[:, 1]
                thr[mask] = threshold
    # With no sentence to quote, the answerer declines whatever the model says.
    conf_t[np.array([not q["sentences"] for q in targets], dtype=bool)] = 0.0
    conf_n[np.array([not q["sentences"] for q in neg], dtype=bool)] = 0.0
    return conf_t, thr_t, conf_n, thr_n


def refusal_weights(clf: LogisticRegression, mean: np.ndarray, scale: np.ndarray,
                    threshold: float) -> dict:
    return {"weights": dict(zip(SIGNALS, clf.coef_[0].tolist(), strict=True)),
            "bias": float(clf.intercept_[0]),
            "mean": dict(zip(SIGNALS, mean.tolist(), strict=True)),
            "scale": dict(zip(SIGNALS, scale.tolist(), strict=True)),
            "threshold": round(threshold, 4)}


def sentence_weights(model: AnswerModel) -> dict:
    # A feature the same for every sentence of a question (its kind) cannot rank them:
    # its weight comes out of the ranking fit as rounding noise, written as 0.
    return {"weights": {n: 0.0 if n in DROPPED or abs(w) < 1e-9 else w
                        for n, w in zip(FEATURES, model.weights.tolist(), strict=True)},
            "bias": model.bias,
            "mean": dict(zip(FEATURES, model.mean.tolist(), strict=True)),
            "scale": dict(zip(FEATURES, model.scale.tolist(), strict=True)),
            "length_cost": model.length_cost, "span_margin": model.span_margin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("answerable", type=Path)
    parser.add_argument("--probes", type=Path)
    parser.add_argument("--answerable-on-probe-index", type=Path)
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS.name}")
    parser.add_argument("--drop", action="append", default=[], choices=FEATURES,
                        help="leave a feature out (repeatable)")
    args = parser.parse_args()
    DROPPED.update(args.drop)
    small = small_weeks()
    questions = [q for q in load(args.answerable) if q["answerable"]]
    fitting = [q for q in questions if q["week"] not in small]
    shipped = tune(fitting, fit_sentences(fitting))
    models = cross_validate(fitting)
    for week in small:
        models[week] = shipped  # never fitted on these weeks
    print(f"sentence model, {len(questions)} answerable questions "
          f"({len(fitting)} outside news-dev-small), each scored without its own week:")
    for name, part in (("all", questions), ("news-dev-small weeks", [q for q in questions
                                                                      if q["week"] in small]),
                       ("other weeks", fitting)):
        result = score(part, models)
        print(f"  {name:22} n={len(part):5}  " + "  ".join(f"{k} {v:.4f}" for k, v in
                                                           result.items()))
    print(f"  shipped: length cost {shipped.length_cost:.5f} margin {shipped.span_margin}")
    data = {"sentences": sentence_weights(shipped)}
    if args.probes and args.answerable_on_probe_index:
        probes = load(args.probes)
        pos = [q for q in load(args.answerable_on_probe_index) if q["answerable"]]
        probe_weeks = {q["week"] for q in probes}
        for week in probe_weeks - set(models):
            models[week] = shipped
        conf_t, thr_t, conf_n, thr_n = cv_refusal(pos, probes, models, questions)
        print(f"refusal, cross-validated by week: answerable declined "
              f"{np.mean(conf_t < thr_t):.3f} (of {len(questions)}, full index), "
              f"off-corpus probes declined {np.mean(conf_n < thr_n):.3f} (of {len(probes)})")
        print("  trade-off (one threshold for all, cross-validated confidences):")
        for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            print(f"    below {threshold:.1f}: answerable {np.mean(conf_t < threshold):.3f}  "
                  f"probes {np.mean(conf_n < threshold):.3f}")
        x = np.vstack([refusal_rows(pos, models), refusal_rows(probes, models)])
        y = np.r_[np.ones(len(pos)), np.zeros(len(probes))]
        data["refusal"] = refusal_weights(*fit_refusal(x, y))
        print(f"  shipped decline point {data['refusal']['threshold']}")
    if args.write:
        old = json.loads(WEIGHTS.read_text()) if WEIGHTS.exists() else {}
        WEIGHTS.write_text(json.dumps({**old, **data}, indent=1) + "\n")
        print(f"wrote {WEIGHTS}")


if __name__ == "__main__":
    main()
