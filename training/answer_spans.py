"""The span reader's spans added to a dump of `python -m training.answer_data` made
without them, as `--reader` would have added them: the costly part of a dump (searching
every question, embedding its sentences) is done once, and each reader to be weighed
only reads the first passages the dump holds (`READER_READS`).

    python -m training.answer_spans DUMP.jsonl.gz OUT.jsonl.gz [--reader FILE]

`--reader`: a packed reader (`python -m training.reader_news pack`), by default the one
shipped (`retrieval/answer/reader.int8.safetensors`). No randomness.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.answer.features import READ, read_question
from retrieval.answer.reader import READER_FILE, SpanReader
from retrieval.search.question import parse_question
from retrieval.settings import get_settings


def asked_text(line: dict) -> str:
    """The question as the answer path gives it to the reader (`read_question`'s text)."""
    day = date.fromisoformat(line["date"]) if line.get("date") else date.today()
    return read_question(parse_question(line["question"], day).with_idf(line["idf"])).text


def add_spans(source: Path, out: Path, reader: SpanReader) -> int:
    """Every line of `source` with the reader's spans of its first passages; the count."""
    started, n = time.perf_counter(), 0
    with gzip.open(source, "rt", encoding="utf-8") as lines, \
            gzip.open(out, "wt", encoding="utf-8") as handle:
        for n, line in enumerate(map(json.loads, lines), 1):
            spans = reader.read(asked_text(line), line["passages"][:READ])
            line["spans"] = [vars(span) for span in spans]
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            if n % 200 == 0:
                print(f"{n} in {time.perf_counter() - started:.0f} s", file=sys.stderr,
                      flush=True)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--reader", type=Path, default=READER_FILE)
    args = parser.parse_args()
    reader = SpanReader(args.reader, cache_dir=get_settings().embedding.onnx_dir)
    print(f"{add_spans(args.source, args.out, reader)} questions read", file=sys.stderr)


if __name__ == "__main__":
    main()
