"""Fit the answerer (retrieval/answer/answer_weights.json: the sentence model, the lead,
the refusal) on the forward split's fit weeks and report it on the forward weeks, which no
fitting saw; cross-validation by week on the fit weeks is the second column.

    python -m training.answers FIT.jsonl.gz FORWARD.jsonl.gz \
        --probes FIT_CUT.jsonl.gz FORWARD_CUT.jsonl.gz [--cv] [--write] [--reader]

FIT, FORWARD: `training/answer_data.py --all` on the full news-dev index, for the questions
before and from 2023-07-01. *_CUT: the same questions with `--cut-days 7` (the weeks the
index does not hold: off-corpus probes of kind (a)). Probes of kind (b) are the no-gold
questions whose answer no article holds. --write ships the fit on all weeks;
--write-fit-weeks writes the fit on the fit weeks, for `newsbot eval` on the forward weeks.

--reader fits the refusal over the span reader's signals too (dumps made with
`python -m training.answer_data --reader`, or given spans by `training.answer_spans`), on
questions from --refusal-from (2023-04-01: the reader trained on the weeks before, and is
surer of them than of news it never saw). With --write it ships as "reader_refusal"
beside the plain refusal (`retrieval/answer/reader_refusal.py`); without --reader, --write
leaves none. Its spans should come from a reader that never trained on the weeks it is
fitted on, as the news users ask about is news the shipped reader never saw. The reader
of 2026-12-05 declined no better with it (docs/bench-notes.md, "The reader's margin as a
refusal signal").

The shipped weights (2026-12-07): I an index of the full news-dev
(`$NEWSBOT_SHARED_DIR/data/news-dev/articles.jsonl.gz`), q-fit.jsonl and q-forward.jsonl
the questions of `news-dev/questions.jsonl` dated before and from 2023-07-01:

    python -m training.answer_data I q-fit.jsonl fit.jsonl.gz --all          # 1,550 questions
    python -m training.answer_data I q-forward.jsonl fwd.jsonl.gz --all      # 659
    python -m training.answer_data I q-fit.jsonl fit-cut.jsonl.gz --all --every 4 --cut-days 7
    python -m training.answer_data I q-forward.jsonl fwd-cut.jsonl.gz --all --every 2 --cut-days 7
    python -m training.answers fit.jsonl.gz fwd.jsonl.gz \
        --probes fit-cut.jsonl.gz fwd-cut.jsonl.gz --write

The dumps given the shipped reader's spans (`python -m training.answer_spans`) make the
reader lead's candidates (`training.reader_lead from-dumps`); fitting the sentences on
them was measured and left out (so the sentences are fitted as if the dump had no
spans), and so was `--reader` (fitted on three months, then on six with a reader
stopped at 2023-01-01: fewer answerable declined, about the same probes;
docs/bench-notes.md, "The reader retrained on SQuAD, then news" and "More weeks for the
lead").

No seed: logistic regressions and a bounded minimisation, deterministic; folds are weeks
(4 inner folds). The fit took 2 minutes on a 2-core CPU, the dumps most of an hour
(searching every question). Figures: bench/README.md, "Answers".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import date
from pathlib import Path

import numpy as np

from bench.common import DATA, print_table, read_records
from bench.forward_split import CorpusText, lead_verdict
from retrieval.answer.extractive import AnswerModel
from retrieval.answer.features import FEATURES, READ
from retrieval.answer.reader_refusal import ReaderRefusalModel
from retrieval.answer.refusal import RefusalModel
from retrieval.answer.weights import WEIGHTS
from retrieval.evaluation import contains_answer
from training.answer_fit import (
    Models,
    by_week,
    evidence,
    fit_lead,
    fit_refusal,
    fit_sentences,
    lead_rows,
    reply,
)
from training.answer_rows import Asked, load

MEAN_CHARS = 320  # the longest mean answer tuned for on the fit weeks: forward runs longer
MOST_WRONG = 0.13  # wrong leads allowed of those given, below the 15 % floor
MOST_DECLINED = 0.035  # answerable questions declined, below the 5 % floor
INNER_FOLDS = 4  # folds giving the fit weeks' questions scores as new questions get


def off_corpus(cut: list[Asked]) -> list[Asked]:
    """Probes (a) whose gold answer none of the passages read holds."""
    return [q for q in cut if not any(contains_answer(q.gold, p.text)
                                      for p in q.passages[:READ])]


def fit_all(answerable: list[Asked], negatives: list[Asked],
            kind: type[RefusalModel] = RefusalModel, since: date | None = None) -> Models:
    """The sentence model, then the lead and the length cost on scores each question gets
    from a model fitted without its week, then the refusal (`kind`) on the questions
    asked from `since`."""
    inner = by_week(answerable, INNER_FOLDS, lambda qs: Models(fit_sentences(qs)))
    lead = fit_lead(*lead_rows(answerable, inner, lead_verdict), MOST_WRONG)
    for models in inner.values():
        models.lead = lead
    cost = tune_cost(answerable, inner)
    sentences = fit_sentences(answerable)
    sentences = AnswerModel(sentences.weights, sentences.bias, sentences.mean,
                            sentences.scale, cost)
    shipped = Models(sentences, lead)
    answerable, negatives = since_day(answerable, since), since_day(negatives, since)
    rows = [evidence(q, inner[q.week], kind.features) for q in answerable]
    rows += [evidence(q, inner.get(q.week, shipped), kind.features) for q in negatives]
    y = np.r_[np.ones(len(answerable)), np.zeros(len(negatives))]
    refusal = fit_refusal(np.array(rows), y, MOST_DECLINED, kind)
    return Models(sentences, lead, refusal)


def since_day(questions: list[Asked], since: date | None) -> list[Asked]:
    return [q for q in questions if since is None or (q.day is not None and q.day >= since)]


def tune_cost(questions: list[Asked], models: dict[str, Models]) -> float:
    """The lowest length cost whose answers stay within MEAN_CHARS on average (longer
    answers hold the gold answer more often), by halving the range on a log scale."""
    low, high = np.log(0.0001), np.log(0.004)
    cost = 0.004
    for _ in range(10):
        middle = float(np.exp((low + high) / 2))
        lengths = [len(reply(q, models[q.week], cost=middle).text) for q in questions]
        if statistics.mean(lengths) <= MEAN_CHARS:
            cost, high = middle, np.log(middle)
        else:
            low = np.log(middle)
    return cost


def figures(answerable: list[Asked], probes: dict[str, list[Asked]],
            models: dict[str, Models] | Models) -> dict[str, float | str]:
    def of(q: Asked) -> Models:
        return models if isinstance(models, Models) else models[q.week]

    replies = [reply(q, of(q)) for q in answerable]
    n = max(1, len(answerable))
    verdicts = [lead_verdict(r.lead, q.gold) for q, r in zip(answerable, replies,
                                                                strict=True) if r.lead]
    given = max(1, len(verdicts))
    out: dict[str, float | str] = {
        "answerable": len(answerable),
        "contains gold": sum(contains_answer(q.gold, r.text) for q, r in
                             zip(answerable, replies, strict=True)) / n,
        "lead given": len(verdicts) / n,
        "lead equal (of answerable)": verdicts.count("equal") / n,
        "lead equal (of leads)": verdicts.count("equal") / given,
        "lead overlapping": verdicts.count("overlap") / given,
        "lead wrong": verdicts.count("wrong") / given,
        "answerable declined": sum(r.declined for r in replies) / n,
        "mean answer chars": statistics.mean([len(r.text) for r in replies if r.text] or [0]),
    }
    for name, asked in probes.items():
        declined = [reply(q, of(q)).declined for q in asked]
        out[f"{name} declined"] = f"{np.mean(declined or [0]):.3f} of {len(declined)}"
    return out


def split(same_week: list[Asked], cut: list[Asked], corpus: CorpusText
          ) -> tuple[list[Asked], dict[str, list[Asked]]]:
    answerable = [q for q in same_week if q.answerable]
    probes = {"probes (a) all": cut, "probes (a) gold in no passage": off_corpus(cut),
              "probes (b)": [q for q in same_week
                             if not q.answerable and not corpus.holds(q.gold)]}
    return answerable, probes


def negatives_of(probes: dict[str, list[Asked]]) -> list[Asked]:
    return probes["probes (a) gold in no passage"] + probes["probes (b)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fit", type=Path)
    parser.add_argument("forward", type=Path)
    parser.add_argument("--probes", type=Path, nargs=2, required=True)
    parser.add_argument("--articles", type=Path,
                        default=DATA / "news-dev" / "articles.jsonl.gz")
    parser.add_argument("--cv", action="store_true", help="also cross-validate by week")
    writes = parser.add_mutually_exclusive_group()
    writes.add_argument("--write", action="store_true", help=f"write {WEIGHTS.name}")
    writes.add_argument("--write-fit-weeks", action="store_true",
                        help="write the fit on the fit weeks instead (to measure the "
                             "forward weeks end to end with `newsbot eval`)")
    parser.add_argument("--reader", action="store_true",
                        help="the refusal over the reader's signals too")
    parser.add_argument("--refusal-from", type=date.fromisoformat,
                        help="fit the refusal on questions from this day (--reader: "
                             "2023-04-01)")
    args = parser.parse_args()
    kind = ReaderRefusalModel if args.reader else RefusalModel
    since = args.refusal_from or (date(2023, 4, 1) if args.reader else None)
    corpus = CorpusText(r["text"] for r in read_records(args.articles))
    # The sentences are fitted without the reader's span, whatever the dump holds: fitted
    # with it, they leaned on it so much that they ranked worse wherever the reader does
    # not read (a yes/no question, the reader off). The spans stay for the refusal.
    fit, forward, fit_cut, forward_cut = (load(path, span_feature=False)
                                          for path in (args.fit, args.forward, *args.probes))
    fit_a, fit_p = split(fit, fit_cut, corpus)
    fwd_a, fwd_p = split(forward, forward_cut, corpus)
    print(f"loaded: fit {len(fit_a)} answerable, forward {len(fwd_a)}", file=sys.stderr)
    models = fit_all(fit_a, negatives_of(fit_p), kind, since)
    in_sample = {k: since_day(v, since) for k, v in fit_p.items()}
    columns = {"forward (fitted on fit weeks)": figures(fwd_a, fwd_p, models),
               "fit weeks (in sample)": figures(since_day(fit_a, since), in_sample, models)}
    if args.cv:
        def fit_without(weeks_a: list[Asked]) -> Models:
            weeks = {q.week for q in weeks_a}
            return fit_all(weeks_a, [q for q in negatives_of(fit_p) if q.week in weeks],
                           kind, since)

        folds = by_week(fit_a, INNER_FOLDS, fit_without)
        columns["fit weeks (cv by week)"] = figures(
            fit_a, {k: [q for q in v if q.week in folds] for k, v in fit_p.items()}, folds)
    names = list(columns)
    print_table(["figure", *names], [[key, *(columns[c][key] for c in names)]
                                     for key in columns[names[0]]])
    print(f"lead threshold {models.lead.threshold:.2f}, length cost "
          f"{models.sentences.length_cost:.5f}, decline below {models.refusal.threshold:.3f}")
    if args.write or args.write_fit_weeks:
        every_a, every_n = fit_a, negatives_of(fit_p)
        if args.write:
            every_a, every_n = every_a + fwd_a, every_n + negatives_of(fwd_p)
        shipped = fit_all(every_a, every_n, RefusalModel, None)
        with_reader = fit_all(every_a, every_n, kind, since) if args.reader else None
        write(shipped, with_reader.refusal if with_reader else None)


def write(models: Models, reader_refusal: RefusalModel | None) -> None:
    """The answer weights file: the sentence model, the lead and the refusal of `models`,
    the refusal over the reader's signals where it was fitted (without it the answer
    path keeps to the plain refusal), and the reader's lead as it was."""
    s = models.sentences
    named = {key: dict(zip(FEATURES, getattr(s, key).tolist(), strict=True))
             for key in ("weights", "mean", "scale")}
    data = {"about": "Fitted by training/answers.py on every week of news-dev "
                     "(bench/README.md, Forward split).",
            "sentences": {**named, "bias": s.bias, "length_cost": s.length_cost},
            "lead": models.lead.to_dict(),
            "refusal": models.refusal.to_dict()}
    if reader_refusal is not None:
        data["reader_refusal"] = reader_refusal.to_dict()
    # The reader's lead is fitted apart (training/reader_lead.py): kept as it is.
    shipped = json.loads(WEIGHTS.read_text())
    if "reader_lead" in shipped:
        data["reader_lead"] = shipped["reader_lead"]
    WEIGHTS.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {WEIGHTS}")


if __name__ == "__main__":
    main()
