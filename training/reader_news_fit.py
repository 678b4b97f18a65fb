"""The reader's news stage's training, scoring and packing (`python -m training.reader_news
train | score | pack`); its schedule is in that module's docstring."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np

from bench.forward_split import lead_verdict
from training.reader_news_data import Example, encode, quiz_examples


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
    weight but the word embeddings (the bundled model's serve), matrices in int8; packed
    as the SQuAD stage packs (`training.reader_model.pack`)."""
    from transformers import AutoModelForQuestionAnswering

    from training.reader_model import pack as pack_model

    pack_model(AutoModelForQuestionAnswering.from_pretrained(model_dir), target)
