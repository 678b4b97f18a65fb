"""Indexing speed: newsbot against the LangChain quick-start peer, in one run.

    python bench/index_bench.py [--data news-dev-small] [--limit N] [--skip-peer]

Prints corpus characters/s and chunks/s for both (same corpus characters: the raw
text of every record), and newsbot's no-op re-index time (in process and as a CLI run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    DATA,
    REPO,
    peer_documents,
    peer_embeddings,
    print_table,
    read_records,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def bench_newsbot(path: Path, limit: int | None, workdir: Path) -> tuple[dict, float, float]:
    import gzip

    from corpus import load_articles
    from retrieval.index.news_index import NewsIndex
    from retrieval.settings import get_settings

    source = path
    if limit:  # a smaller copy of the file, read by the same reader
        source = workdir / "subset.jsonl.gz"
        with gzip.open(path, "rt") as src, gzip.open(source, "wt") as dst:
            for i, line in enumerate(src):
                if i >= limit:
                    break
                dst.write(line)
    index = NewsIndex.open(get_settings(), index_dir=workdir / "newsbot-index")
    # Model loads are not indexing (the peer loads its model before its clock starts too):
    # one question, and one batch large enough for the index path.
    index.embedder.embed_query("warm up")
    index.embedder.embed_documents(["warm up"] * 32)
    started = time.perf_counter()
    report = index.update(load_articles([source]), [source])
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = index.update(load_articles([source]), [source])
    noop = time.perf_counter() - started
    assert again.added == again.updated == 0
    index.close()
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(workdir / "newsbot-index")}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "index", str(source)], env=env, check=True,
                   cwd=REPO, capture_output=True)
    noop_cli = time.perf_counter() - started
    return {"seconds": first, "chunks": report.chunks_embedded}, noop, noop_cli


def bench_peer(records: list[dict], workdir: Path) -> dict:
    from langchain_chroma import Chroma

    embeddings = peer_embeddings()
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    docs = peer_documents(records)
    Chroma.from_documents(docs, embeddings, persist_directory=str(workdir / "peer-index"))
    return {"seconds": time.perf_counter() - started, "chunks": len(docs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="news-dev-small")
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    path = DATA / args.data / "articles.jsonl.gz"
    if not path.exists():
        sys.exit(f"no benchmark data at {path}")
    records = read_records(path, args.limit)
    chars = sum(len(r["text"]) for r in records)
    print(f"{args.data}: {len(records)} articles, {chars / 1e6:.2f} M characters, "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ours, noop, noop_cli = bench_newsbot(path, args.limit, work)
        rows = [["newsbot", ours["chunks"], round(ours["seconds"], 1),
                 round(chars / ours["seconds"]), round(ours["chunks"] / ours["seconds"], 1)]]
        if not args.skip_peer:
            peer = bench_peer(records, work)
            rows.append(["langchain quick-start", peer["chunks"], round(peer["seconds"], 1),
                         round(chars / peer["seconds"]),
                         round(peer["chunks"] / peer["seconds"], 1)])
    print_table(["system", "chunks", "seconds", "chars/s", "chunks/s"], rows)
    print(f"newsbot no-op re-index: {noop:.2f} s in process, {noop_cli:.2f} s as `newsbot index`")


if __name__ == "__main__":
    main()
