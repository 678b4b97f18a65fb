"""A span reader for the lead (#22): MiniLM with a question-answering head, trained on
the fit weeks' quiz questions and on cloze questions made from fit-week articles, then
scored on the forward weeks; `pack` writes it as the answer path reads it. The shipped
reader is trained with `--split 2023-04-01`, which leaves April to June for fitting its
lead (`bench/reader_lead.py`).

    python bench/cross_data.py INDEX_DIR QUESTIONS.jsonl passages.jsonl --depth 10
    python bench/train_reader.py cloze ARTICLES.jsonl.gz cloze.jsonl --count 9000
    python bench/train_reader.py train passages.jsonl OUT --epochs 2
    python bench/train_reader.py train passages.jsonl OUT2 --init OUT --cloze cloze.jsonl --epochs 1
    python bench/train_reader.py score OUT passages.jsonl
    python bench/train_reader.py pack OUT retrieval/answer/reader.int8.safetensors

Fit = questions dated before `--split` (2023-07-01), and articles fetched before it for
cloze questions; `score` reports on the questions from it. A quiz question's examples
(`quiz_examples`) come from its top-10 passages as `cross_data.py` writes them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from forward_split import FORWARD_FROM, lead_verdict

from retrieval.answer.answer_types import DATE, MONEY, NAME, NUMBER, PERSON, PLACE, candidates
from retrieval.text import split_sentences

WH = {PERSON: "who", PLACE: "which place", DATE: "when", NUMBER: "how many",
      MONEY: "how much", NAME: "what"}
SPLIT = FORWARD_FROM.isoformat()
Example = tuple[str, str, tuple[int, int] | None]  # question, context, answer's characters


def cloze(sentence: str, rng: random.Random) -> tuple[str, str, int] | None:
    """(question, answer, where the answer starts in the sentence): one candidate span of
    the sentence turned into its wh-word."""
    spans = [s for s in candidates(sentence) if s.kind in WH and s.start > 0 and len(s.text) > 1]
    if not spans:
        return None
    span = rng.choice(spans)
    question = (sentence[:span.start] + WH[span.kind] + sentence[span.end:]).strip()
    return question.rstrip(".!") + "?", span.text, span.start


def make_cloze(articles: Path, count: int, seed: int, split: str) -> list[Example]:
    rng = random.Random(seed)
    with gzip.open(articles, "rt", encoding="utf-8") as handle:
        texts = [a["text"] for a in map(json.loads, handle)
                 if a["retrieved_at"] < split and len(a["text"]) > 1500]
    rng.shuffle(texts)
    out: list[Example] = []
    answered = 0  # examples with an answer: `count` bounds these
    for text in texts:
        if answered >= count:
            break
        sentences = [s for s in split_sentences(text) if s.strip()]
        if len(sentences) < 6:
            continue
        for i in rng.sample(range(2, len(sentences) - 1), 2):
            made = cloze(sentences[i], rng) if 60 <= len(sentences[i]) <= 300 else None
            if made is None:
                continue
            question, answer, offset = made
            lo, hi = max(0, i - rng.randint(0, 3)), i + 1 + rng.randint(0, 3)
            context = " ".join(sentences[lo:hi])
            if len(context) > 1100:
                context = " ".join(sentences[max(lo, i - 1):i + 2])
            start = context.find(sentences[i]) + offset
            out.append((question, context, (start, start + len(answer))))
            answered += 1
            if rng.random() < 0.35:  # the same question of another article: no answer
                other = split_sentences(rng.choice(texts))
                j = rng.randrange(len(other))
                unrelated = " ".join(other[max(0, j - 2):j + 3])[:1100]
                if answer.lower() not in unrelated.lower():
                    out.append((question, unrelated, None))
    return out


def quiz_examples(rows: list[dict], rng: random.Random) -> list[Example]:
    """From `cross_data.py` lines: each hit (a gold article's passage holding the answer)
    with the answer's first occurrence as its span; as many passages without the answer.
    A passage that holds it but is not a gold article's is left out."""
    from retrieval.evaluation import contains_answer

    positives, negatives = [], []
    for row in rows:
        for p in row["passages"]:
            at = p["text"].lower().find(row["answer"].lower())
            if p["hit"] and at >= 0:
                positives.append((row["question"], p["text"], (at, at + len(row["answer"]))))
            elif not contains_answer(row["answer"], p["text"]):
                negatives.append((row["question"], p["text"], None))
    rng.shuffle(negatives)
    return positives + negatives[:len(positives)]


def train(rows: list[dict], out: Path, init: str, extra: list[Example], epochs: float,
          seed: int) -> None:
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    rng = random.Random(seed)
    torch.manual_seed(seed)
    data = quiz_examples(rows, rng) + extra
    rng.shuffle(data)
    tokenizer = AutoTokenizer.from_pretrained(init)
    model = AutoModelForQuestionAnswering.from_pretrained(init)
    batch, steps = 32, int(math.ceil(len(data) / 32 * epochs))
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    decay = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / steps))
    print(f"{len(data)} examples, {steps} steps", flush=True)
    model.train()
    started, step = time.time(), 0
    while step < steps:
        for i in range(0, len(data), batch):
            if step >= steps:
                break
            part = data[i:i + batch]
            feeds, starts, ends = encode(tokenizer, part)
            loss = model(**feeds, start_positions=torch.tensor(starts),
                         end_positions=torch.tensor(ends)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            decay.step()
            optimizer.zero_grad()
            step += 1
            if step % 20 == 0:
                print(f"step {step}/{steps} loss {loss.item():.3f} "
                      f"{time.time() - started:.0f} s", flush=True)
        rng.shuffle(data)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def encode(tokenizer, part: list[Example]):
    """Tokens, and the answer's first and last token (0, 0: no answer, or cut off)."""
    feeds = tokenizer([e[0] for e in part], [e[1] for e in part], truncation="only_second",
                      max_length=256, padding=True, return_offsets_mapping=True,
                      return_tensors="pt")
    offsets = feeds.pop("offset_mapping").tolist()
    starts, ends = [], []
    for row, example in enumerate(part):
        first = last = 0
        if example[2] is not None:
            begin, end = example[2]
            for t, ((a, b), side) in enumerate(zip(offsets[row], feeds.sequence_ids(row),
                                                  strict=True)):
                if side == 1 and not first and b > begin:
                    first = t
                if side == 1 and a < end:
                    last = t
            if not first or last < first:
                first = last = 0
        starts.append(first)
        ends.append(last)
    return feeds, starts, ends


def score(model_dir: Path, rows: list[dict], top: int = 5) -> None:
    """For each question: the best span of its first `top` passages, by its score less
    the passage's no-answer score; how often it is the gold answer, and how often it
    shares no word with it among the most confident."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()
    best: list[tuple[float, str, dict]] = []
    for row in rows:
        passages = [p["text"] for p in row["passages"][:top]]
        if not passages:
            best.append((-math.inf, "", row))
            continue
        feeds = tokenizer([row["question"]] * len(passages), passages, truncation="only_second",
                          max_length=256, padding=True, return_offsets_mapping=True,
                          return_tensors="pt")
        offsets = feeds.pop("offset_mapping").tolist()
        with torch.no_grad():
            out = model(**feeds)
        guesses = []
        for i, text in enumerate(passages):
            start, end = out.start_logits[i].numpy(), out.end_logits[i].numpy()
            inside = np.flatnonzero([s == 1 for s in feeds.sequence_ids(i)])
            pair = start[inside][:, None] + end[inside][None, :]
            width = inside[None, :] - inside[:, None]
            pair[(width < 0) | (width > 11)] = -np.inf
            a, b = np.unravel_index(np.argmax(pair), pair.shape)
            margin = float(pair[a, b] - start[0] - end[0])
            guesses.append((margin, text[offsets[i][inside[a]][0]:offsets[i][inside[b]][1]]))
        best.append((*max(guesses), row))
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


def pack(model_dir: Path, target: Path) -> None:
    """The trained reader as the answer path reads it (`retrieval.answer.reader`): every
    weight but the word embeddings (the bundled model's serve), matrices in int8."""
    import tempfile

    from safetensors.torch import load_file, save_file

    from retrieval.models.bert import write_int8_weights

    weights = {name.removeprefix("bert."): tensor
               for name, tensor in load_file(str(model_dir / "model.safetensors")).items()
               if "word_embeddings" not in name and "pooler" not in name}
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.safetensors"
        save_file({k: v.contiguous() for k, v in weights.items()}, str(plain))
        write_int8_weights(plain, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("cloze", "train", "score", "pack"))
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--split", default=SPLIT)
    parser.add_argument("--count", type=int, default=9000)
    parser.add_argument("--cloze", type=Path, help="cloze examples to add (train)")
    parser.add_argument("--init", help="model folder to start from (default: the bundled MiniLM)")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.step == "cloze":
        made = make_cloze(args.paths[0], args.count, args.seed, args.split)
        args.paths[1].write_text("".join(json.dumps(e) + "\n" for e in made))
        return
    if args.step == "train":
        from retrieval.models.files import resolve_model_path
        from retrieval.settings import BUNDLED_MODEL

        source, out = args.paths
        rows = [r for r in map(json.loads, source.open()) if r["date"] < args.split]
        extra = [(q, c, tuple(s) if s else None)
                 for q, c, s in map(json.loads, args.cloze.open())] if args.cloze else []
        init = args.init or resolve_model_path(BUNDLED_MODEL)
        train(rows, out, init, extra, args.epochs, args.seed)
        return
    if args.step == "pack":
        pack(*args.paths)
        return
    model_dir, source = args.paths
    score(model_dir, [r for r in map(json.loads, source.open()) if r["date"] >= args.split])


if __name__ == "__main__":
    main()
