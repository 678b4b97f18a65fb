"""The span reader's ONNX file, per-token int8 (what answers run) beside ONNX Runtime's
dynamic int8 (what they ran before) and full precision, all exported from the same weights
in this run: for real questions and the passages their search found (an `eval --out`
file), each question's reader run time (p50, p95), how far a question's margins move when
its passages are run with the next question's, how far each file's margins are from full
precision, and 20 waiting questions read one run each or together (`waiting`).

    python -m bench.reader_speed EVAL_OUT [--questions QUESTIONS.jsonl] [-n 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, read_records
from retrieval.answer.reader import (
    MOST_QUESTIONS,
    PER_RUN,
    READER_FILE,
    READER_READS,
    TorchReader,
    best_span,
    padded_feeds,
    run_sorted,
)
from retrieval.models.onnx import onnx_session, quantize_onnx
from retrieval.models.token_int8 import quantize_per_token


def exports(folder: Path) -> tuple[dict, object]:
    """The three files' sessions, as `SpanReader` opens its own (two threads, no spin),
    and the reader's tokenizer."""
    full = folder / "fp32.onnx"
    torch_reader = TorchReader(READER_FILE)
    torch_reader.export(full, quantize=lambda plain, target: shutil.copy(plain, target))
    quantize_onnx(full, folder / "dynamic.onnx")
    quantize_per_token(full, folder / "token.onnx")
    return {name: onnx_session(folder / f"{name}.onnx", spin=False)
            for name in ("token", "dynamic", "fp32")}, torch_reader.tokenizer


def margins(session, questions: list) -> list[np.ndarray]:
    """Each question's passage margins from one run over all of `questions`."""
    flat = [e for q in questions for e in q[0]]
    logits = session.run(None, padded_feeds(flat))[0]
    out, row = [], 0
    for encoded, texts in questions:
        out.append(np.array([best_span(i, e, t, logits[row + i]).margin
                             for i, (e, t) in enumerate(zip(encoded, texts, strict=True))]))
        row += len(encoded)
    return out


def pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(sessions: dict, asked: list, rounds: int) -> dict[str, list[float]]:
    """Seconds of each question's reading, by file and way: its passages in one run
    padded to their longest (as before), or one run a passage (as answers now read)."""
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for question in asked:
            for name, session in sessions.items():  # alternated: the machine's speed drifts
                for way, per_run in (("one run", len(question[0])), ("a run a passage", 1)):
                    started = time.perf_counter()
                    run_sorted(session, question[0], per_run)
                    times.setdefault(f"{name}, {way}", []).append(time.perf_counter() - started)
    return times


def report(sessions: dict, asked: list, rounds: int) -> None:
    """Per question: reading time, margins alone against beside the next question, and
    against full precision."""
    for way, seconds in timed(sessions, asked, rounds).items():
        print(f"{way:<28} p50 {statistics.median(seconds) * 1000:6.1f} ms  "
              f"p95 {pct(seconds, 0.95) * 1000:6.1f} ms")
    exact = [margins(sessions["fp32"], [q])[0] for q in asked]
    for name, session in sessions.items():
        alone = [margins(session, [q])[0] for q in asked]
        paired = [margins(session, [asked[(i + 1) % len(asked)], q])[1]
                  for i, q in enumerate(asked)]
        moved = max(float(np.abs(a - b).max()) for a, b in zip(alone, paired, strict=True))
        off = [float(np.abs(a - b).max()) for a, b in zip(alone, exact, strict=True)]
        print(f"{name:<8} margins beside another question moved <= {moved:.2e}; from full "
              f"precision p50 {statistics.median(off):.3f} max {max(off):.3f}")


def waiting(session, asked: list, rounds: int) -> None:
    """20 questions waiting together: one run a question (as before), or `MOST_QUESTIONS`
    questions at a time, their passages sorted by length into runs of 8, or of `PER_RUN`
    (what answers do now)."""
    group = [q[0] for q in (asked * 20)[:20]]
    ways = {"one run a question": (1, None),
            f"{MOST_QUESTIONS} at a time, runs of 8 by length": (MOST_QUESTIONS, 8),
            f"{MOST_QUESTIONS} at a time, runs of {PER_RUN}": (MOST_QUESTIONS, PER_RUN)}
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):
        for way, (questions, per_run) in ways.items():
            started = time.perf_counter()
            for at in range(0, len(group), questions):
                encoded = [e for q in group[at:at + questions] for e in q]
                if per_run is None:
                    session.run(None, padded_feeds(encoded))
                else:
                    run_sorted(session, encoded, per_run)
            times[way].append(time.perf_counter() - started)
    for way, seconds in times.items():
        print(f"20 waiting questions, {way}: {statistics.median(seconds):.2f} s "
              f"(median of {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("eval_out", type=Path, help="a `newsbot eval --out` file")
    parser.add_argument("--questions", type=Path,
                        default=DATA / "news-dev-small" / "questions.jsonl")
    parser.add_argument("-n", type=int, default=40, help="questions to read")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--waiting-only", action="store_true",
                        help="only the 20 waiting questions")
    args = parser.parse_args()
    text = {q["id"]: q["question"] for q in read_records(args.questions)}
    with tempfile.TemporaryDirectory(prefix="newsbot-reader-speed-") as folder:
        sessions, tokenizer = exports(Path(folder))
        asked = []
        for record in read_records(args.eval_out)[: args.n]:
            passages = [p["text"] for p in record["passages"][:READER_READS]]
            if passages:
                asked.append((tokenizer.encode_batch([(text[record["id"]], p)
                                                      for p in passages]), passages))
        print(f"{len(asked)} questions, their first {READER_READS} passages each")
        if not args.waiting_only:
            report(sessions, asked, args.rounds)
        waiting(sessions["token"], asked, args.rounds)


if __name__ == "__main__":
    main()
