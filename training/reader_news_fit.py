"""The reader's news stage's training, scoring and packing (`python -m training.reader_news
train | score | pack`); its schedule is in that module's docstring."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np

from bench.forward_split import lead_verdict
from training.reader_news_data import Example, as_examples, quiz_examples


def train(rows: list[dict], out: Path, init: Path, extra: list[Example], epochs: float,
          seed: int, threads: int) -> None:
    """The quiz examples of `rows` and `extra` (cloze), shuffled by `seed`, trained from
    `init` with the SQuAD stage's loop (length-bucketed batches, checkpoints: the same
    command resumes a stopped run); the model is saved in `out`, beside its run files."""
    import torch

    from training.loop import Schedule, same_run, schedule_settings
    from training.loop import train as run_loop
    from training.reader_model import load_reader
    from training.windows import make_windows, tokenizer_for

    torch.set_num_threads(threads)
    schedule = Schedule(epochs=epochs, lr=5e-5, warmup=0.0, seed=seed)
    same_run(out, {"init": str(init), "quiz": len(rows), "cloze": len(extra),
                   **schedule_settings(schedule)})
    data = quiz_examples(rows, random.Random(seed)) + extra
    tokenizer = tokenizer_for(init)
    windows = make_windows(tokenizer, as_examples(data))
    print(f"{len(data)} examples, {len(windows)} windows", flush=True)
    model = load_reader(init)
    started = time.time()
    run_loop(model, windows, out, schedule)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    print(f"done in {time.time() - started:.0f} s: {out}", flush=True)


def load_model(model_dir: Path):
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    return (AutoModelForQuestionAnswering.from_pretrained(model_dir).eval(),
            AutoTokenizer.from_pretrained(model_dir))


def guesses(model, tokenizer, question: str, texts: list[str]) -> list[tuple[float, str]]:
    """Each passage's best span of at most 12 tokens: its score less the passage's
    no-answer score (the margin), and its text."""
    import torch

    if not texts:
        return []
    feeds = tokenizer([question] * len(texts), texts, truncation="only_second",
                      max_length=256, padding=True, return_offsets_mapping=True,
                      return_tensors="pt")
    offsets = feeds.pop("offset_mapping").tolist()
    with torch.no_grad():
        out = model(**feeds)
    found = []
    for i, text in enumerate(texts):
        start, end = out.start_logits[i].numpy(), out.end_logits[i].numpy()
        inside = np.flatnonzero([s == 1 for s in feeds.sequence_ids(i)])
        pair = start[inside][:, None] + end[inside][None, :]
        width = inside[None, :] - inside[:, None]
        pair[(width < 0) | (width > 11)] = -np.inf
        a, b = np.unravel_index(np.argmax(pair), pair.shape)
        found.append((float(pair[a, b] - start[0] - end[0]),
                       text[offsets[i][inside[a]][0]:offsets[i][inside[b]][1]]))
    return found


def score(model_dir: Path, rows: list[dict], top: int = 5) -> None:
    """For each question: the best span of its first `top` passages, by its margin; how
    often it is the gold answer, and how often it shares no word with it among the most
    confident."""
    model, tokenizer = load_model(model_dir)
    best: list[tuple[float, str, dict]] = []
    for row in rows:
        read = guesses(model, tokenizer, row["question"],
                       [p["text"] for p in row["passages"][:top]])
        best.append((*max(read), row) if read else (-math.inf, "", row))
    answerable = [b for b in best if b[2]["answerable"]]
    verdicts = [lead_verdict(s, r["answer"]) for _, s, r in answerable]
    print(f"{len(answerable)} answerable: best span equal to the gold answer "
          f"{verdicts.count('equal') / len(answerable):.3f}")
    ranked = [v for _, v in sorted(zip((-b[0] for b in answerable), verdicts, strict=True),
                                   key=lambda pair: pair[0])]
    for n in (20, 40, 60, 100):
        right, wrong = ranked[:n].count("equal"), ranked[:n].count("wrong")
        print(f"  the {n} most confident: equal {right}, no word shared {wrong}")
    from sklearn.metrics import roc_auc_score
    labels = [int(r["answerable"]) for _, _, r in best]
    print(f"answerable against no-gold questions, AUC of the margin: "
          f"{roc_auc_score(labels, [m for m, _, _ in best]):.3f}")


RERANKS = {  # passage order by (search rank, reader margin) of the first `depth`
    "search": lambda rank, margin: rank,
    "reader": lambda rank, margin: -margin,
    "search 3, then reader": lambda rank, margin: rank if rank < 3 else 3 - margin / 100,
}


def rerank(model_dir: Path, rows: list[dict], depth: int = 10, top: int = 5) -> None:
    """#37 item 5: the reader's margin as a rerank of the search's first `depth` passages
    for the `top` the answer reads. For the answerable questions of `rows`, per order: the
    share whose first `top` passages hold the gold answer, and whose best span over them
    equals it."""
    from retrieval.evaluation import contains_answer

    model, tokenizer = load_model(model_dir)
    held = dict.fromkeys(RERANKS, 0)
    equal = dict.fromkeys(RERANKS, 0)
    answerable = [r for r in rows if r["answerable"] and r["passages"]]
    for row in answerable:
        texts = [p["text"] for p in row["passages"][:depth]]
        read = guesses(model, tokenizer, row["question"], texts)
        for name, key in RERANKS.items():
            order = sorted(range(len(texts)), key=lambda i, key=key: key(i, read[i][0]))[:top]
            held[name] += any(contains_answer(row["answer"], texts[i]) for i in order)
            span = max(read[i] for i in order)[1]
            equal[name] += lead_verdict(span, row["answer"]) == "equal"
    print(f"{len(answerable)} answerable; first {top} of {depth} passages by each order:")
    for name in RERANKS:
        print(f"  {name:24} hold the gold answer {held[name] / len(answerable):.3f}, "
              f"best span equal to it {equal[name] / len(answerable):.3f}")


def pack(model_dir: Path, target: Path) -> None:
    """The trained reader as the answer path reads it (`retrieval.answer.reader`): every
    weight but the word embeddings (the bundled model's serve), matrices in int8; packed
    as the SQuAD stage packs (`training.reader_model.pack`)."""
    from transformers import AutoModelForQuestionAnswering

    from training.reader_model import pack as pack_model

    pack_model(AutoModelForQuestionAnswering.from_pretrained(model_dir), target)
