"""What `training/answers.py` fits the answerer with: the sentence model, the lead model,
the refusal, and the answer each question gets from a set of them (the dumped questions
are read back by `training/answer_rows.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from retrieval.answer.extractive import AnswerModel, answer_from, compose, embed_likeliest
from retrieval.answer.features import (
    FEATURES,
    READ,
    Sentence,
    passage_age,
)
from retrieval.answer.lead import LEAD_FEATURES, LeadModel, lead_candidates
from retrieval.answer.reader_refusal import reader_signals
from retrieval.answer.refusal import RefusalModel, signals, staleness
from training.answer_rows import Asked

COST = 0.004  # the length cost before it is tuned (per character)


def design(questions: list[Asked]) -> tuple[np.ndarray, np.ndarray]:
    rows = [[s.values.get(n, 0.0) for n in FEATURES] for q in questions for s in q.sentences]
    labels = [y for q in questions for y in q.labels]
    return np.array(rows).reshape(len(rows), len(FEATURES)), np.array(labels, dtype=float)


def fit_sentences(questions: list[Asked], strength: float = 1.0) -> AnswerModel:
    """Weights that put one of each question's gold sentences first (a softmax over the
    question's sentences, fitted to the chance it gives the gold ones together), then
    scaled into a probability by a one-feature logistic fit. Ranking within a question is
    what picks the answer. `strength`: the L2 penalty. The length cost is tuned apart."""
    x, y = design(questions)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    # A feature the same for every sentence of a question cannot rank them.
    constant = np.array([n.startswith("kind_") for n in FEATURES])
    xs = (x - mean) / scale
    xs[:, constant] = 0.0
    groups, start = [], 0
    for q in questions:
        end = start + len(q.sentences)
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
    return AnswerModel(slope * w, float(calibration.intercept_[0]), mean, scale, COST)


def ranked(q: Asked, model: AnswerModel) -> list[Sentence]:
    """The question's sentences scored by `model`, best first, as `extract` scores them."""
    found = [Sentence(s.passage, s.position, s.text, s.spans, dict(s.values))
             for s in q.sentences]
    if not found:
        return []
    embed_likeliest(q.question, found, model, q.embed)
    x = np.array([[s.values.get(n, 0.0) for n in FEATURES] for s in found])
    for sentence, p in zip(found, model.probabilities(x), strict=True):
        sentence.score = float(p) + 0.5 * sentence.values["negation"]
    return sorted(found, key=lambda s: -s.score)


@dataclass
class Models:
    sentences: AnswerModel
    lead: LeadModel | None = None
    refusal: RefusalModel | None = None


@dataclass
class Reply:
    text: str          # "" when declined
    lead: str | None
    confidence: float  # the refusal's (1 without one)
    declined: bool


def refusal_values(q: Asked, order: list[Sentence], chance: float) -> dict[str, float]:
    """As the chain computes them: the reader's too when the dump has its spans."""
    ages = [passage_age(p, q.day) for p in q.passages[:3]]
    values = signals(q.question, order, [p.relevance for p in q.passages],
                     [p.text for p in q.passages[:READ]], staleness(ages), chance)
    if q.spans is not None:
        values |= reader_signals(order, q.spans)
    return values


def evidence(q: Asked, models: Models, names: tuple[str, ...]) -> list[float]:
    """The refusal's signals `names` for `q` as `models` answer it."""
    order = ranked(q, models.sentences)
    if not order:
        return [0.0] * len(names)
    _, _, chance = answer_from(q.question, order, models.sentences, 3, models.lead or NEVER)
    values = refusal_values(q, order, chance)
    return [values[n] for n in names]


def reply(q: Asked, models: Models, cost: float | None = None,
          threshold: float | None = None) -> Reply:
    """The answer `models` give `q`: `cost` and `threshold` stand in for the length cost
    and the lead's threshold being tuned."""
    sentences = models.sentences
    if cost is not None:
        sentences = AnswerModel(sentences.weights, sentences.bias, sentences.mean,
                                sentences.scale, cost)
    lead_model = models.lead
    if threshold is not None and lead_model is not None:
        lead_model = LeadModel(lead_model.weights, lead_model.bias, lead_model.mean,
                               lead_model.scale, threshold)
    order = ranked(q, sentences)
    if not order:
        return Reply("", None, 0.0, True)
    chosen, lead, chance = answer_from(q.question, order, sentences, 3, lead_model or NEVER)
    confidence = 1.0
    if models.refusal is not None:
        confidence = models.refusal.confidence(refusal_values(q, order, chance))
    declined = models.refusal is not None and confidence < models.refusal.threshold
    return Reply("" if declined else compose(chosen, lead), None if declined else lead,
                 confidence, declined)


NEVER = LeadModel(np.zeros(len(LEAD_FEATURES)), -50.0, np.zeros(len(LEAD_FEATURES)),
                  np.ones(len(LEAD_FEATURES)), 1.0)


def by_week(questions: list[Asked], folds: int,
            fit: Callable[[list[Asked]], Models]) -> dict[str, Models]:
    """For each week, what `fit` makes of the folds without it."""
    weeks = sorted({q.week for q in questions})
    out: dict[str, Models] = {}
    for k in range(folds):
        held = set(weeks[k::folds])
        models = fit([q for q in questions if q.week not in held])
        out.update(dict.fromkeys(held, models))
    return out


def lead_rows(questions: list[Asked], models: dict[str, Models],
              verdict: Callable[[str, str], str]
              ) -> tuple[np.ndarray, np.ndarray, list, list[str]]:
    """Each candidate of each question's likeliest sentences, with its verdict against
    the gold answer; per question the candidates' row numbers and the week."""
    rows, labels, owners = [], [], []
    for q in questions:
        order = ranked(q, models[q.week].sentences)
        mine = []
        for c in lead_candidates(q.question, order):
            mine.append(len(rows))
            rows.append([c.values[n] for n in LEAD_FEATURES])
            labels.append(verdict(c.text, q.gold))
        owners.append(mine)
    return (np.array(rows).reshape(len(rows), len(LEAD_FEATURES)), np.array(labels),
            owners, [q.week for q in questions])


def fit_lead(x: np.ndarray, verdicts: np.ndarray, owners: list[list[int]],
             weeks: list[str], most_wrong: float) -> LeadModel:
    """Logistic "this candidate is the answer"; the threshold is the one that gives the
    most right leads while at most `most_wrong` of those given share no word with the
    gold answer, chosen on chances each question gets from a model fitted without its
    week. (A threshold for each kind asked was tried: on the forward weeks it gave
    twice the wrong leads, bench/README.md.)"""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    xs, right = (x - mean) / scale, verdicts == "equal"
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(xs, right)
    p = np.zeros(len(x))
    row_week = np.array([weeks[i] for i, rows in enumerate(owners) for _ in rows])
    ordered = sorted(set(weeks))
    for k in range(INNER_FOLDS):
        held = np.isin(row_week, ordered[k::INNER_FOLDS])
        fold = LogisticRegression(C=1.0, max_iter=2000).fit(xs[~held], right[~held])
        p[held] = fold.predict_proba(xs[held])[:, 1]
    best = [max(rows, key=lambda r: p[r]) for rows in owners if rows]
    top, threshold = -1, 1.0
    for t in np.arange(0.05, 0.95, 0.01):
        given = [verdicts[r] for r in best if p[r] >= t]
        equal, wrong = given.count("equal"), given.count("wrong")
        if given and wrong <= most_wrong * len(given) and equal > top:
            top, threshold = equal, float(t)
    return LeadModel(clf.coef_[0], float(clf.intercept_[0]), mean, scale, threshold)


INNER_FOLDS = 4
def fit_refusal(x: np.ndarray, y: np.ndarray, most_declined: float,
                kind: type[RefusalModel] = RefusalModel) -> RefusalModel:
    """Logistic "the passages answer it" over `kind.features` (the columns of `x`);
    declines below the confidence that at most `most_declined` of the answerable
    questions fall under, those declined as `off_subject` included."""
    mean, scale = x.mean(0), x.std(0) + 1e-9
    clf = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    model = kind(clf.coef_[0], float(clf.intercept_[0]), mean, scale, 0.0)
    conf = np.array([model.confidence(dict(zip(kind.features, row, strict=True)))
                     for row in x[y == 1]])
    threshold = float(np.quantile(conf, most_declined))
    return kind(model.weights, model.bias, mean, scale, threshold)
