"""The reader's news stage: the span reader (MiniLM with a question-answering head) trained
on news quiz questions and on cloze questions made from news articles, scored on the
forward weeks, and packed as the answer path reads it (`retrieval/answer/reader.int8.safetensors`).
One command, one step each; the SQuAD stage (`python -m training.reader squad`) comes
first, and the shipped reader (2026-12-07) is its model trained on by these steps:

    export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False NEWSBOT_SHARED_DIR=/work/shared
    python -m training.reader_news passages INDEX_DIR news-dev/questions.jsonl passages.jsonl \
        --depth 10
    python -m training.reader_news cloze news-dev/articles.jsonl.gz cloze.jsonl --count 9000 \
        --split 2023-04-01
    python -m training.reader_news train passages.jsonl reader --split 2023-04-01 \
        --cloze cloze.jsonl --epochs 1.2 --init ~/.cache/newsbot/training/reader-squad/model
    python -m training.reader_news score reader passages.jsonl [--top 3]
    python -m training.reader_news rerank reader passages.jsonl
    python -m training.reader_news pack reader retrieval/answer/reader.int8.safetensors

Data: `passages` searches an index of the full news-dev (`newsbot index` of
`$NEWSBOT_SHARED_DIR/data/news-dev/articles.jsonl.gz`) for each question of
`news-dev/questions.jsonl` and writes its top `--depth` passages with hit labels; `cloze`
reads `news-dev/articles.jsonl.gz`. Fit = questions dated before `--split` (default
2023-07-01; the shipped reader used 2023-04-01, which leaves April to June for fitting its
lead, `python -m training.reader_lead`) and articles fetched before it; `score` reports
on the questions from it; `rerank`, on the same questions, weighs the reader's margin as a
rerank of the first ten passages for the five the answer reads.

Seed 13 (`--seed`); the SQuAD stage's loop (`training/loop.py`): batches of 32 windows of
similar length, 256 tokens with a stride, AdamW at 5e-5 falling linearly to 0, weight
decay 0.01, gradient norm clipped to 1, matrix products in bfloat16, a checkpoint every
ten minutes in the model folder (the same `train` command resumes a stopped run; another
recipe needs another folder). The word embeddings stay as the bundled model's. The shipped
reader: 10,018 cloze examples (7,533 with an answer, 2,485 asked of another article) and
the quiz examples before 2023-04-01, 503 steps from the SQuAD stage's model in 2,700 s on
a 2-core CPU beside other jobs (2026-12-07; figures in bench/README.md and
docs/bench-notes.md, "The reader retrained on SQuAD, then news"). Before it, the same
recipe from the bundled MiniLM with no SQuAD stage (2026-12-05: "The reader's lead").
A reader stopped at 2023-01-01 (`--split 2023-01-01` for both `cloze` and `train`, 352
steps) read the forward weeks as well (0.346 / 0.338 over three / five passages) and left
six months to fit its lead on; measured and not shipped ("More weeks for the lead").
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.forward_split import FORWARD_FROM
from training.reader_news_data import make_cloze, write_passages

SPLIT = FORWARD_FROM.isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step",
                        choices=("passages", "cloze", "train", "score", "rerank", "pack"))
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--split", default=SPLIT)
    parser.add_argument("--count", type=int, default=9000)
    parser.add_argument("--cloze", type=Path, help="cloze examples to add (train)")
    parser.add_argument("--init", type=Path,
                        help="model folder to start from (default: the bundled MiniLM), "
                             "e.g. the SQuAD stage's RUN/model")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--depth", type=int, default=20,
                        help="passages a question (passages); the search's first N to "
                             "rerank (rerank, default 10)")
    parser.add_argument("--top", type=int, default=5,
                        help="passages the answer reads (score, rerank)")
    parser.add_argument("--before", default=None,
                        help="passages: only questions dated before this day")
    parser.add_argument("--from", dest="since", default=None,
                        help="passages: only questions dated on or after this day")
    args = parser.parse_args()
    if args.step == "passages":
        write_passages(*args.paths, args.depth, args.before, args.since)
        return
    if args.step == "cloze":
        made = make_cloze(args.paths[0], args.count, args.seed, args.split)
        args.paths[1].write_text("".join(json.dumps(e) + "\n" for e in made))
        return
    from training import reader_news_fit

    if args.step == "train":
        from retrieval.models.files import resolve_model_path
        from retrieval.settings import BUNDLED_MODEL

        source, out = args.paths
        rows = [r for r in map(json.loads, source.open()) if r["date"] < args.split]
        extra = [(q, c, tuple(s) if s else None)
                 for q, c, s in map(json.loads, args.cloze.open())] if args.cloze else []
        init = args.init or Path(resolve_model_path(BUNDLED_MODEL))
        reader_news_fit.train(rows, out, init, extra, args.epochs, args.seed, args.threads)
        return
    if args.step == "pack":
        reader_news_fit.pack(*args.paths)
        return
    model_dir, source = args.paths
    rows = [r for r in map(json.loads, source.open()) if r["date"] >= args.split]
    if args.step == "rerank":
        reader_news_fit.rerank(model_dir, rows, min(args.depth, 10), args.top)
    else:
        reader_news_fit.score(model_dir, rows, args.top)


if __name__ == "__main__":
    main()
