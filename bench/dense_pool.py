"""The dense side alone, searched exactly over a pool of weeks: compares two embedders in
minutes, where a re-index of news-dev takes half an hour.

    python bench/dense_pool.py MODEL QUESTIONS.jsonl VECTORS.npy [--from DAY] [--until DAY]
                               [--chunk-chars N]

The pool: the chunks (cut as the index cuts them, at most `--chunk-chars` characters,
by default the index's own setting, and embedded headline first) of every
news-dev article published from `--from` up to `--until` (excluded), plus the gold
articles of the questions. Chunk vectors are kept in VECTORS.npy and reused when it
exists (one file per model and pool). Each answerable question is embedded by the same
model and scored on its 10 nearest chunks by the shared data's rule. A pool is smaller
than the index, so its figures are higher than the search's dense side: compare models
on one pool, not pools with indexes.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import DATA, print_table
from corpus import load_articles
from retrieval.evaluation import EvalReport, first_hit_rank, read_questions
from retrieval.index.chunking import chunk_article, embedding_text
from retrieval.index.embedding import SentenceTransformerEmbedder
from retrieval.settings.index import IndexSettings

INDEX_CHUNK_CHARS = IndexSettings.model_fields["chunk_max_chars"].default


def pool(articles: Path, since: date, until: date, gold: set[str],
         chunk_chars: int = INDEX_CHUNK_CHARS) -> tuple[list[str], list[str], list[str]]:
    """urls, passage texts and the texts to embed of the pool's chunks."""
    urls, texts, embedded = [], [], []
    for article in load_articles([articles]).articles:
        day = article.published_at.date() if article.published_at else None
        if article.url in gold or (day is not None and since <= day < until):
            for chunk in chunk_article(article, chunk_chars):
                urls.append(article.url)
                texts.append(chunk.text)
                embedded.append(embedding_text(article.title, chunk.text))
    return urls, texts, embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="as NEWSBOT_EMBEDDING_MODEL names it")
    parser.add_argument("questions", type=Path)
    parser.add_argument("vectors", type=Path, help="the pool's chunk vectors (.npy), reused")
    parser.add_argument("--from", dest="since", default="2023-07-01")
    parser.add_argument("--until", default="9999-12-31")
    parser.add_argument("--chunk-chars", type=int, default=INDEX_CHUNK_CHARS,
                        help="a chunk's most characters (default: the index's)")
    parser.add_argument("--articles", type=Path,
                        default=DATA / "news-dev" / "articles.jsonl.gz")
    args = parser.parse_args()
    questions = [q for q in read_questions(args.questions) if q.answerable]
    gold = {url for q in questions for url in q.gold_urls}
    urls, texts, embedded = pool(args.articles, date.fromisoformat(args.since),
                                 date.fromisoformat(args.until), gold, args.chunk_chars)
    embedder = SentenceTransformerEmbedder(args.model, bfloat16=True, batch_size=32)
    if args.vectors.exists():
        vectors = np.load(args.vectors)
    else:
        vectors = np.vstack([embedder.embed_documents(embedded[i:i + 2048])
                             for i in range(0, len(embedded), 2048)]).astype(np.float32)
        np.save(args.vectors, vectors)
    assert len(vectors) == len(urls), f"{args.vectors} is another pool's vectors"
    scores = embedder.embed_documents([q.question for q in questions]) @ vectors.T
    report = EvalReport(questions=len(questions), answerable=len(questions))
    for row, question in zip(scores, questions, strict=True):
        top = np.argsort(-row)[:10]
        report.ranks.append(first_hit_rank([(urls[j], texts[j]) for j in top], question))
    m = report.as_dict()
    print(f"{args.model}: {len(urls)} chunks, {len(questions)} answerable questions")
    print_table(["hits@1", "hits@5", "hits@10", "MRR@10"],
                [[m["hits@1"], m["hits@5"], m["hits@10"], m["mrr@10"]]])


if __name__ == "__main__":
    main()
