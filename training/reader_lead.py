"""Fit the reader's lead (`retrieval/answer/reader_lead.py`) on weeks its reader never
trained on, and report it on the forward weeks.

    python -m training.reader_lead dump INDEX_DIR QUESTIONS.jsonl spans.jsonl.gz \\
        --reader reader.int8.safetensors [--since 2023-04-01]
    python -m training.reader_lead from-dumps FIT.jsonl.gz FORWARD.jsonl.gz spans.jsonl.gz
    python -m training.reader_lead fit spans.jsonl.gz [--write]

`dump`: each question dated from --since, searched and ranked as the answer path does,
with the reader's span of each of its first passages as a lead candidate (the values the
model weighs, and whether it equals the gold answer). `from-dumps` makes the same lines
from `training.answer_data --reader` dumps, without searching again. `fit`: a logistic
model of "equal" over the candidates of answerable questions dated from --fit-from
(2023-04-01: the reader trained on the weeks before) to the forward split (2023-07-01), and
the lowest threshold whose leads on those weeks are at most --wrong (13 %) wrong; its
figures on both; --write puts the same recipe refit on every week from --fit-from in
`retrieval/answer/answer_weights.json` as "reader_lead" (--write-fit-weeks: the fit on
the earlier weeks, to measure the forward weeks end to end).

The shipped lead (2026-12-07): its candidates made by `from-dumps` from the answer dumps
of `python -m training.answers` (its docstring) given the spans of the reader that
`python -m training.reader_news` trained with `--split 2023-04-01` (the one that ships);
then `fit spans.jsonl.gz --write`: fitted on April to June (192 answerable questions, 531
candidates, threshold 0.450) for the figures, and shipped refit on every week from April
(432 answerable, 1,208 candidates: threshold 0.546). No seed (a logistic regression,
deterministic); the fit takes seconds. Figures: bench/README.md, "Answers".
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
from bench.forward_split import FORWARD_FROM, lead_verdict
from retrieval.answer.extractive import extract
from retrieval.answer.features import READ, read_question
from retrieval.answer.lead import choose_lead, scored_candidates
from retrieval.answer.reader import READER_FILE, SpanReader
from retrieval.answer.reader_lead import (
    READER_FEATURES,
    ReaderLeadModel,
    reader_candidates,
)
from retrieval.answer.weights import WEIGHTS
from retrieval.app import NewsApp
from retrieval.evaluation import read_questions
from retrieval.settings import get_settings
from training.answer_data import clean_gold


def dump(index_dir: Path, questions: Path, out: Path, reader_file: Path, since: str) -> None:
    settings = get_settings()
    app = NewsApp.open(settings, index_dir=index_dir, create=False)
    searcher = app.searcher
    embed = searcher.sentence_embedder()
    reader = SpanReader(reader_file, cache_dir=settings.embedding.onnx_dir)
    asked = [q for q in read_questions(questions) if q.date and q.date.isoformat() >= since]
    started = time.perf_counter()
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for n, q in enumerate(asked, 1):
            result = searcher.search(q.question, k=settings.answers.passages, today=q.date)
            question = read_question(result.question)
            found = extract(question, result.passages, embed, settings.answers.max_sentences)
            spans = reader.read(question.text, [p.text for p in result.passages[:READ]])
            chances = {c.text: p for c, p in scored_candidates(question, found.ranked)}
            gold = clean_gold(q.answer)
            handle.write(json.dumps({
                "id": q.id, "date": q.date.isoformat(), "answerable": q.answerable,
                "answer": gold, "shipped_lead": found.lead,
                "candidates": [{"text": c.text, "values": c.values,
                                "verdict": lead_verdict(c.text, gold)}
                               for c in reader_candidates(question, found.ranked, spans,
                                                          chances)],
            }, ensure_ascii=False) + "\n")
            if n % 100 == 0:
                print(f"{n}/{len(asked)} in {time.perf_counter() - started:.0f} s",
                      file=sys.stderr, flush=True)
    app.close()


def from_dumps(dumps: list[Path], out: Path, since: str) -> None:
    """The `dump` lines made from `training.answer_data --reader` dumps instead of a new
    search: each question's sentences ranked, and its lead candidates scored, by the
    answer weights shipped now (refit them first), with the reader's spans the dump holds."""
    from retrieval.answer.extractive import shipped_model
    from training.answer_fit import ranked
    from training.answer_rows import load

    model = shipped_model()
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        for path in dumps:
            for q in load(path):
                if q.day is None or q.day.isoformat() < since:
                    continue
                if q.spans is None:
                    raise SystemExit(f"{path}: made without --reader (no spans to lead with)")
                order = ranked(q, model)
                scored = scored_candidates(q.question, order)
                lead, _ = choose_lead(q.question, order, scored=scored)
                chances = {c.text: p for c, p in scored}
                handle.write(json.dumps({
                    "id": q.id, "date": q.day.isoformat(), "answerable": q.answerable,
                    "answer": q.gold, "shipped_lead": lead.text if lead else None,
                    "candidates": [{"text": c.text, "values": c.values,
                                    "verdict": lead_verdict(c.text, q.gold)}
                                   for c in reader_candidates(q.question, order, q.spans,
                                                              chances)],
                }, ensure_ascii=False) + "\n")


def leads(rows: list[dict], model: ReaderLeadModel) -> list[tuple[float, str]]:
    """Each answerable question's best candidate: (chance, verdict); no candidate: (0, '')."""
    out = []
    for row in rows:
        if not row["candidates"]:
            out.append((0.0, ""))
            continue
        chances = model.chances_of([c["values"] for c in row["candidates"]])
        best = int(np.argmax(chances))
        out.append((float(chances[best]), row["candidates"][best]["verdict"]))
    return out


def lowest_threshold(best: list[tuple[float, str]], wrong: float, least: int = 10) -> float:
    """The lowest chance whose leads are at most `wrong` wrong (at least `least` leads)."""
    ranked = sorted((b for b in best if b[1]), key=lambda b: -b[0])
    threshold, wrongs = 1.0, 0
    for n, (chance, verdict) in enumerate(ranked, 1):
        wrongs += verdict == "wrong"
        if n >= least and wrongs / n <= wrong:
            threshold = chance
    return threshold


def report(name: str, rows: list[dict], model: ReaderLeadModel) -> None:
    best = leads(rows, model)
    given = [v for c, v in best if v and c >= model.threshold]
    shipped = [lead_verdict(r["shipped_lead"], r["answer"]) for r in rows if r["shipped_lead"]]
    print(f"{name}: {len(rows)} answerable; reader lead given {len(given)}, equal "
          f"{given.count('equal') / len(rows):.3f} of answerable, wrong "
          f"{given.count('wrong') / max(1, len(given)):.3f} of given "
          f"(overlap {given.count('overlap')}); best candidate equal "
          f"{sum(v == 'equal' for _, v in best) / len(rows):.3f}; sentence lead given "
          f"{len(shipped)}, equal {shipped.count('equal') / len(rows):.3f}")


def fitted(rows: list[dict], wrong: float) -> ReaderLeadModel:
    """A logistic model of "equal" over the candidates of `rows`, with the lowest
    threshold whose leads on them are at most `wrong` wrong."""
    from sklearn.linear_model import LogisticRegression

    x = np.array([[c["values"][n] for n in READER_FEATURES]
                  for r in rows for c in r["candidates"]])
    y = np.array([c["verdict"] == "equal" for r in rows for c in r["candidates"]])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    logistic = LogisticRegression(C=0.3, max_iter=2000).fit((x - mean) / scale, y)
    model = ReaderLeadModel(logistic.coef_[0], float(logistic.intercept_[0]), mean, scale, 1.0)
    threshold = lowest_threshold(leads(rows, model), wrong)
    print(f"{len(x)} candidates of {len(rows)} questions ({y.sum()} equal); "
          f"threshold {threshold:.3f}")
    return ReaderLeadModel(model.weights, model.bias, mean, scale, threshold)


def fit(source: Path, fit_from: str, wrong: float, write: bool,
        write_fit_weeks: bool = False) -> None:
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        rows = [r for r in map(json.loads, handle) if r["answerable"]]
    split = FORWARD_FROM.isoformat()
    fitting = [r for r in rows if fit_from <= r["date"] < split]
    forward = [r for r in rows if r["date"] >= split]
    model = fitted(fitting, wrong)
    for name, w in zip(READER_FEATURES, model.weights, strict=True):
        print(f"  {name:12} {w:+.3f}")
    report(f"fit weeks from {fit_from}", fitting, model)
    report("forward weeks", forward, model)
    if write_fit_weeks:
        write_lead(model)
    elif write:
        # What ships is the same recipe refit on every week from --fit-from: the news
        # users ask about comes after all of them, and the latest weeks are the nearest.
        model = fitted(fitting + forward, wrong)
        report(f"every week from {fit_from} (shipped)", fitting + forward, model)
        write_lead(model)


def write_lead(model: ReaderLeadModel) -> None:
    weights = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    weights["reader_lead"] = model.to_dict()
    WEIGHTS.write_text(json.dumps(weights, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {WEIGHTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("dump", "from-dumps", "fit"))
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--reader", type=Path, default=READER_FILE)
    parser.add_argument("--since", default="2023-04-01", help="dump questions from this date")
    parser.add_argument("--fit-from", default="2023-04-01")
    parser.add_argument("--wrong", type=float, default=0.13,
                        help="the most wrong leads a threshold may give, as a share")
    writes = parser.add_mutually_exclusive_group()
    writes.add_argument("--write", action="store_true")
    writes.add_argument("--write-fit-weeks", action="store_true",
                        help="write the fit on the fit weeks instead (to measure the "
                             "forward weeks end to end with `newsbot eval`)")
    args = parser.parse_args()
    if args.step == "dump":
        dump(*args.paths, args.reader, args.since)
    elif args.step == "from-dumps":
        from_dumps(args.paths[:-1], args.paths[-1], args.since)
    else:
        fit(args.paths[0], args.fit_from, args.wrong, args.write, args.write_fit_weeks)


if __name__ == "__main__":
    main()
