"""Adapt the bundled embedder to news questions, and pack it as int8 ONNX (not shipped).

    python bench/cross_data.py INDEX q-fit.jsonl cand-fit.jsonl --before 2023-07-01
    nice python bench/train_embedder.py cand-fit.jsonl OUT_DIR \
        --articles ../shared/data/news-dev/articles.jsonl.gz
    python bench/train_embedder.py cand-fit.jsonl OUT_DIR --export PACKED_DIR
    NEWSBOT_EMBEDDING_MODEL=PACKED_DIR newsbot index --rebuild ...

Training triplets (anchor, positive, negative), none from a week the forward split
scores (questions and articles dated before 2023-07-01 only):
- question -> a chunk of one of its gold articles that holds the answer (the scoring
  rule's hit, found whether or not today's search ranks it), with a hard negative: one of
  the search's top passages (`cross_data.py`'s dump) that does not hold the answer and
  is not from a gold article;
- headline -> its article's lead chunk, and -> one of its body chunks, each with a chunk
  of another article of the same week as the negative. The chunks go in without their
  headline: the index embeds headline + chunk, which would make the pair a string match
  (the first run, 2026-12-05, had them in; bench/README.md "An embedder adapted to news").

The model starts from the bundled all-MiniLM-L6-v2 weights and is trained with
sentence-transformers' `SentenceTransformerTrainer` and `MultipleNegativesRankingLoss`
(the other rows of a batch are negatives too; no two rows of a batch share an anchor).
`--export` writes a packed model folder: the model as ONNX with mean pooling and normalisation
folded in, weights in int8 (`model.onnx`, for questions), the same weights as int8
safetensors (`weights.int8.safetensors`, for index batches in torch: `BertEncoder`), and
the manifest that `retrieval/models/onnx.py` reads.
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

from bench.common import plain_evidence
from bench.train_cross import TimeLimit
from retrieval.evaluation import contains_answer
from retrieval.index.chunking import chunk_article, embedding_text
from retrieval.models.files import resolve_model_path
from retrieval.settings import BUNDLED_MODEL

CUT = date(2023, 7, 1)
# A little under the index's chunk_max_chars (1000), as every run so far was trained.
CHUNK_CHARS = 900


def fit_articles(path: Path) -> dict[str, tuple[str, list[str], tuple[int, int]]]:
    """url -> (title, chunks, ISO week) for articles published before the cut."""
    from corpus import load_articles

    out = {}
    for article in load_articles([path]).articles:
        day = article.published_at.date() if article.published_at else None
        if day is None or day >= CUT or not article.title:
            continue
        chunks = [c.text for c in chunk_article(article, CHUNK_CHARS)]
        if chunks:
            out[article.url] = (article.title, chunks, day.isocalendar()[:2])
    return out


def search_misses(candidates: Path, questions: Path) -> dict[str, list[str]]:
    """Question id -> the search's passages (as the index embeds them) that do not hold the
    answer. Another chunk of a gold article is the same story, often with the answer in
    other words, so it is not a negative."""
    gold = {}
    for line in questions.read_text().splitlines():
        row = json.loads(line)
        gold[row["id"]] = set(row["gold_urls"])
    misses_of = {}
    for line in candidates.read_text().splitlines():
        row = json.loads(line)
        misses_of[row["id"]] = [embedding_text(p["title"], p["text"]) for p in row["passages"]
                                if not contains_answer(row["answer"], p["text"])
                                and p["url"] not in gold.get(row["id"], ())]
    return misses_of


def question_triplets(candidates: Path, questions: Path, articles: dict, per_question: int,
                      rng: random.Random) -> list[tuple[str, str, str]]:
    misses_of = search_misses(candidates, questions)
    triplets = []
    for line in questions.read_text().splitlines():
        row = json.loads(line)
        if row["date"] >= CUT.isoformat() or not row["gold_urls"]:
            continue
        positives = [embedding_text(articles[u][0], chunk) for u in row["gold_urls"]
                     if u in articles for chunk in articles[u][1]
                     if contains_answer(row["answer"], chunk)]
        misses = misses_of.get(row["id"], [])
        if not positives or not misses:
            continue
        for positive in rng.sample(positives, min(per_question, len(positives))):
            triplets.append((row["question"], positive, rng.choice(misses)))
    return triplets


def evidence_triplets(candidates: Path, questions: Path, rng: random.Random
                      ) -> list[tuple[str, str, str]]:
    """question -> the quiz's own evidence sentence (markup dropped), for every fit-week
    question, answerable from the corpus or not, with a search passage that does not hold
    the answer as the negative."""
    rows = [json.loads(line) for line in questions.read_text().splitlines()]
    misses_of = search_misses(candidates, questions)
    triplets = []
    for row in rows:
        evidence = plain_evidence(row.get("evidence"))
        misses = misses_of.get(row["id"])
        if row["date"] >= CUT.isoformat() or len(evidence) < 40 or not misses:
            continue
        triplets.append((row["question"], evidence, rng.choice(misses)))
    return triplets


def headline_triplets(articles: dict, count: int, rng: random.Random
                      ) -> list[tuple[str, str, str]]:
    by_week: dict[tuple[int, int], list[str]] = defaultdict(list)
    for url, (_, _, week) in articles.items():
        by_week[week].append(url)
    triplets = []
    for url in rng.sample(sorted(articles), min(count, len(articles))):
        title, chunks, week = articles[url]
        others = [o for o in by_week[week] if o != url and articles[o][0] != title]
        if not others:
            continue
        picks = [chunks[0]] + ([rng.choice(chunks[1:])] if len(chunks) > 1 else [])
        for chunk in picks:
            _, other_chunks, _ = articles[rng.choice(others)]
            triplets.append((title, chunk, rng.choice(other_chunks)))
    return triplets


def train(triplets: list[tuple[str, str, str]], out: Path, seed: int, epochs: float,
          batch: int, max_tokens: int, minutes: float, negatives: bool = True,
          bf16: bool = True, lr: float = 3e-5) -> None:
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.training_args import BatchSamplers

    torch.manual_seed(seed)
    model = SentenceTransformer(resolve_model_path(BUNDLED_MODEL), device="cpu")
    model.max_seq_length = max_tokens
    columns = {"anchor": [t[0] for t in triplets], "positive": [t[1] for t in triplets]}
    if negatives:
        columns["negative"] = [t[2] for t in triplets]
    data = Dataset.from_dict(columns)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=epochs,
        per_device_train_batch_size=batch, learning_rate=lr, warmup_ratio=0.1,
        seed=seed, data_seed=seed, bf16=bf16, use_cpu=True, save_strategy="no",
        logging_steps=20, report_to="none", batch_sampler=BatchSamplers.NO_DUPLICATES)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=data,
        loss=MultipleNegativesRankingLoss(model), callbacks=[TimeLimit(minutes)])
    trainer.train()
    print(f"{trainer.state.global_step} of {trainer.state.max_steps} steps", flush=True)
    model.max_seq_length = 256  # what the index embeds with
    model.save_pretrained(str(out / "model"))


def export(model_dir: Path, target: Path) -> None:
    """The packed model folder: `NEWSBOT_EMBEDDING_MODEL=TARGET` runs it."""
    from retrieval.models.onnx import write_packed_model

    write_packed_model(model_dir, target, BUNDLED_MODEL, "bench/train_embedder.py")
    print(f"wrote {target} ({(target / 'model.onnx').stat().st_size / 1e6:.1f} MB ONNX)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("candidates", type=Path, help="cross_data.py's dump for fit weeks")
    parser.add_argument("out", type=Path, help="where the trained model goes")
    parser.add_argument("--questions", type=Path,
                        default=Path("../shared/data/news-dev/questions.jsonl"))
    parser.add_argument("--articles", type=Path,
                        default=Path("../shared/data/news-dev/articles.jsonl.gz"))
    parser.add_argument("--headlines", type=int, default=2000, help="articles for headline pairs")
    parser.add_argument("--per-question", type=int, default=2)
    parser.add_argument("--evidence", action="store_true",
                        help="add question -> the quiz's evidence sentence pairs")
    parser.add_argument("--no-negatives", action="store_true",
                        help="pairs only: the batch's other rows are the negatives")
    parser.add_argument("--lr", type=float, default=3e-5, help="peak learning rate")
    parser.add_argument("--fp32", action="store_true", help="train in float32, not bfloat16")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--minutes", type=float, default=55.0, help="stop training after")
    parser.add_argument("--export", type=Path, default=None,
                        help="only export OUT/model to this folder (int8 ONNX + manifest)")
    args = parser.parse_args()
    if args.export:
        export(args.out / "model", args.export)
        return
    rng = random.Random(args.seed)
    started = time.monotonic()
    articles = fit_articles(args.articles)
    triplets = question_triplets(args.candidates, args.questions, articles,
                                 args.per_question, rng)
    print(f"{len(articles)} fit-week articles, {len(triplets)} question triplets", flush=True)
    if args.evidence:
        evidence = evidence_triplets(args.candidates, args.questions, rng)
        print(f"{len(evidence)} evidence triplets", flush=True)
        triplets += evidence
    triplets += headline_triplets(articles, args.headlines, rng)
    rng.shuffle(triplets)
    print(f"{len(triplets)} triplets in all", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    train(triplets, args.out, args.seed, args.epochs, args.batch, args.max_tokens,
          args.minutes, not args.no_negatives, not args.fp32, args.lr)
    print(f"{(time.monotonic() - started) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
