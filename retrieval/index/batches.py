"""Articles cut into batches of chunks sized by time: each batch is embedded and committed
in about `COMMIT_EVERY_S`, so a run stopped by Ctrl-C keeps what it embedded up to about
then, and progress moves that often, whatever the embedder's speed."""

from __future__ import annotations

import time
from collections.abc import Iterator

from corpus.article import Article
from retrieval.index.chunking import Chunk, chunk_article

COMMIT_EVERY_S = 1.0
FIRST_BATCH_CHUNKS = 16  # small, to learn the speed before the first commit

Batch = list[tuple[Article, list[Chunk]]]


def timed_batches(articles: list[Article], chunk_max_chars: int, max_chunks: int,
                  every_s: float = COMMIT_EVERY_S) -> Iterator[Batch]:
    """Batches of articles with their chunks; the time the caller takes over each batch
    sizes the next one (at most `max_chunks` chunks, at least one article)."""
    batch: Batch = []
    size = 0
    target = min(FIRST_BATCH_CHUNKS, max_chunks)
    for article in articles:
        chunks = chunk_article(article, chunk_max_chars)
        batch.append((article, chunks))
        size += len(chunks)
        if size >= target:
            started = time.perf_counter()
            yield batch
            rate = size / max(time.perf_counter() - started, 1e-3)  # chunks a second
            # At most twice the last batch: a small one's speed says little of a large one.
            target = max(1, min(max_chunks, 2 * size, int(rate * every_s)))
            batch, size = [], 0
    if batch:
        yield batch
