"""What follows cost an index run: the same batch of news-dev articles indexed into a
fresh index with no follows and with 20 (the labelled topics and the extra follows of
bench/follow_topics.json), in the same process on the same embedder, several rounds in
alternating order.

    python -m bench.follow_overhead [--articles 40] [--rounds 3]

Prints each run's seconds, the median of each side, the ratio (floor: at most 1.10) and
how long the matching itself took (the index's end-of-run call, timed alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import REPO
from bench.follow_replay import arrivals
from corpus.article import Article
from retrieval.app import NewsApp
from retrieval.index.embedding import Embedder
from retrieval.settings import get_settings


def one_run(folder: Path, embedder: Embedder, batch: list[Article], topics: list[str]
            ) -> tuple[float, float]:
    """Seconds for indexing `batch` into a fresh index with these follows, and of those,
    seconds spent matching."""
    app = NewsApp.open(get_settings(index_dir=folder), embedder=embedder, chat_model=None,
                       create=True)
    for topic in topics:  # added before the run, as a user adds them once
        app.follows.add(topic)
    matching = app.index_store.on_update
    spent = [0.0]

    def timed(report: object) -> None:
        started = time.perf_counter()
        matching(report)
        spent[0] += time.perf_counter() - started

    app.index_store.on_update = timed
    started = time.perf_counter()
    app.index_articles(batch)
    seconds = time.perf_counter() - started
    noticed = len(app.follows.pending())
    app.close()
    print(f"  {len(topics):>2} follows: {seconds:6.2f} s (matching {spent[0]:.2f} s, "
          f"{noticed} notices)", flush=True)
    return seconds, spent[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=Path, default=REPO / "bench" / "follow_topics.json")
    parser.add_argument("--articles", type=int, default=40, help="Articles in the batch.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    spec = json.loads(args.topics.read_text(encoding="utf-8"))
    topics = [t["topic"] for t in spec["topics"]] + spec.get("extra_follows", [])
    topics = topics[:20]
    articles, _, _ = arrivals(spec)
    batch = articles[:args.articles]
    runs: dict[int, list[tuple[float, float]]] = {0: [], len(topics): []}
    with tempfile.TemporaryDirectory(prefix="follow-overhead-") as tmp:
        warm = NewsApp.open(get_settings(index_dir=Path(tmp) / "warm"), chat_model=None,
                            create=True)
        embedder = warm.index_store.embedder
        warm.index_articles(articles[-5:])  # the model loaded before anything is timed
        warm.close()
        for number in range(args.rounds):
            print(f"round {number + 1}/{args.rounds}", flush=True)
            order = (0, len(topics)) if number % 2 == 0 else (len(topics), 0)
            for count in order:
                folder = Path(tmp) / f"run-{number}-{count}"
                runs[count].append(one_run(folder, embedder, batch, topics[:count]))
    without = statistics.median(s for s, _ in runs[0])
    with_follows = statistics.median(s for s, _ in runs[len(topics)])
    matching = statistics.median(m for _, m in runs[len(topics)])
    print(f"\n{len(batch)} articles, embedder {embedder.name}, median of {args.rounds} runs:"
          f"\n  without follows  {without:.2f} s\n  with {len(topics)} follows  "
          f"{with_follows:.2f} s (matching {matching:.2f} s)\n  ratio {with_follows / without:.3f}"
          f" (floor: at most 1.10); matching alone {100 * matching / without:.1f} % of a run")


if __name__ == "__main__":
    main()
