"""Train a cross-encoder to rerank the answer path's passages (not shipped: see below).

    python bench/cross_data.py INDEX q-fit.jsonl cand-fit.jsonl --before 2023-07-01
    nice python bench/train_cross.py cand-fit.jsonl OUT_DIR \
        --articles ../shared/data/news-dev/articles.jsonl.gz --negatives 4 --epochs 2
    python bench/train_cross.py cand-fit.jsonl OUT_DIR --export OUT_DIR/ce.onnx

Training pairs, none from a week the forward split scores (questions and articles dated
before 2023-07-01 only):
- question -> passage, from `cross_data.py`'s dump of the current search's top passages
  for the fit weeks' questions: the passages that are hits are positives, the others
  that do not hold the answer at all are hard negatives (a passage that holds the
  answer but is not from a gold article is left out: it may well be right);
- headline -> its own lead / a body chunk (positives), and -> a chunk of another
  article of the same week (negatives), from the news-dev articles.

The model starts from the bundled all-MiniLM-L6-v2 weights with a new one-logit head
(sentence-transformers `CrossEncoder`, binary cross-entropy), saved in OUT_DIR/model.
Not shipped: trained (seed 13, 5,007 pairs, two epochs, 20 minutes on 2 cores), it
orders the forward weeks' passages worse than the search does (bench/README.md, "A
cross-encoder for answers", with `cross_score.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from retrieval.evaluation import contains_answer
from retrieval.index.chunking import chunk_article, embedding_text
from retrieval.models.files import resolve_model_path
from retrieval.settings import BUNDLED_MODEL

CUT = date(2023, 7, 1)
MAX_TOKENS = 256  # question and passage together: a 900-character chunk fits whole


def question_pairs(path: Path, negatives: int, rng: random.Random) -> list[tuple[str, str, float]]:
    pairs = []
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if not row["answerable"] or row["date"] >= CUT.isoformat():
            continue
        hits = [p for p in row["passages"] if p["hit"]]
        if not hits:
            continue
        misses = [p for p in row["passages"]
                  if not p["hit"] and not contains_answer(row["answer"], p["text"])]
        for p in hits[:2] + rng.sample(misses, min(negatives, len(misses))):
            pairs.append((row["question"], embedding_text(p["title"], p["text"]),
                          float(p["hit"])))
    return pairs


def headline_pairs(articles: Path, count: int, rng: random.Random
                   ) -> list[tuple[str, str, float]]:
    """Headline -> its lead and one body chunk (1), -> another same-week article's chunk
    (0), for `count` articles published before the cut."""
    from corpus import load_articles

    by_week: dict[tuple[int, int], list[tuple[str, list[str]]]] = defaultdict(list)
    for article in load_articles([articles]).articles:
        day = article.published_at.date() if article.published_at else None
        if day is None or day >= CUT or not article.title:
            continue
        chunks = [c.text for c in chunk_article(article, 900)]
        if chunks:
            by_week[day.isocalendar()[:2]].append((article.title, chunks))
    pool = [(week, item) for week, items in by_week.items() for item in items]
    pairs = []
    for week, (title, chunks) in rng.sample(pool, min(count, len(pool))):
        others = [o for o in by_week[week] if o[0] != title]
        pairs.append((title, embedding_text(title, chunks[0]), 1.0))
        if len(chunks) > 1:
            pairs.append((title, embedding_text(title, rng.choice(chunks[1:])), 1.0))
        for other_title, other_chunks in rng.sample(others, min(2, len(others))):
            pairs.append((title, embedding_text(other_title, rng.choice(other_chunks)), 0.0))
    return pairs


def train(pairs: list[tuple[str, str, float]], out: Path, seed: int, epochs: float,
          batch: int, minutes: float):
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    torch.manual_seed(seed)
    model = CrossEncoder(resolve_model_path(BUNDLED_MODEL), num_labels=1,
                         max_length=MAX_TOKENS, device="cpu")
    data = Dataset.from_dict({"query": [p[0] for p in pairs], "passage": [p[1] for p in pairs],
                              "label": [p[2] for p in pairs]})
    positives = sum(p[2] for p in pairs)
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor(
        (len(pairs) - positives) / max(positives, 1)))
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs,
        per_device_train_batch_size=batch, learning_rate=4e-5, warmup_ratio=0.1,
        seed=seed, data_seed=seed, bf16=True, use_cpu=True, save_strategy="no",
        logging_steps=50, report_to="none", dataloader_drop_last=False)
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=loss,
                                  callbacks=[TimeLimit(minutes)])
    trainer.train()
    print(f"{trainer.state.global_step} of {trainer.state.max_steps} steps", flush=True)
    model.save_pretrained(str(out / "model"))
    return model


def export(model_dir: Path, target: Path) -> None:
    """The trained model as int8 ONNX (logits of input_ids, attention_mask,
    token_type_ids), which `cross_model.py` runs."""
    import tempfile
    import warnings

    import torch
    from transformers import AutoModelForSequenceClassification

    from retrieval.models.onnx import quantize_onnx

    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).eval()

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits

    sample = torch.ones((1, 8), dtype=torch.int64)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = Path(tmp) / "model.onnx"
        torch.onnx.export(
            Logits().eval(), (sample, sample, torch.zeros_like(sample)), str(full),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "tokens"}
                          for n in ("input_ids", "attention_mask", "token_type_ids")})
        quantize_onnx(full, target)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)", flush=True)


class TimeLimit:
    """Stops training after `minutes` (the model trained so far is kept): a shared
    2-core machine can be several times slower than a quiet one."""

    def __new__(cls, minutes: float):
        from transformers import TrainerCallback

        deadline = time.monotonic() + 60 * minutes

        class Stop(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if time.monotonic() > deadline:
                    control.should_training_stop = True
                return control

        return Stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", type=Path, help="cross_data.py's dump for fit weeks")
    parser.add_argument("out", type=Path, help="where the trained model goes")
    parser.add_argument("--articles", type=Path, help="news-dev's articles (for training)")
    parser.add_argument("--headlines", type=int, default=300)
    parser.add_argument("--negatives", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--minutes", type=float, default=55.0, help="stop training after")
    parser.add_argument("--export", type=Path, default=None,
                        help="only export OUT/model as int8 ONNX (for cross_score.py)")
    args = parser.parse_args()
    if args.export:
        export(args.out / "model", args.export)
        return
    if args.articles is None:
        parser.error("training needs --articles")
    rng = random.Random(args.seed)
    pairs = question_pairs(args.candidates, args.negatives, rng)
    print(f"{len(pairs)} question pairs", flush=True)
    pairs += headline_pairs(args.articles, args.headlines, rng)
    rng.shuffle(pairs)
    print(f"{len(pairs)} pairs, {sum(p[2] for p in pairs):.0f} positive", flush=True)
    started = time.perf_counter()
    train(pairs, args.out, args.seed, args.epochs, args.batch, args.minutes)
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
