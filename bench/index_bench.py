"""Indexing speed: newsbot against the LangChain quick-start peer, in one run.

    python -m bench.index_bench [--data news-dev-small] [--limit N] [--skip-peer]
    python -m bench.index_bench --limit 150 --processes 3

Prints corpus characters/s and chunks/s for both (same corpus characters: the raw
text of every record), and newsbot's no-op re-index time (in process and as a CLI run).
With `--processes N`, whole processes instead, start-up and model loads included: a fresh
`newsbot index FILE` into an empty index against a fresh process of the peer
(`--peer-process`: import, load the model, split, `Chroma.from_documents`), N times,
alternating which goes first, with each run's ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
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
    from corpus import load_articles
    from retrieval.index.news_index import NewsIndex
    from retrieval.settings import get_settings

    source = write_subset(path, limit, workdir / "subset.jsonl.gz")
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


def write_subset(path: Path, limit: int | None, target: Path) -> Path:
    """The first `limit` records of `path` (the same reader takes either)."""
    import gzip

    if not limit:
        return path
    with gzip.open(path, "rt") as src, gzip.open(target, "wt") as dst:
        for i, line in enumerate(src):
            if i >= limit:
                break
            dst.write(line)
    return target


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, cwd=REPO, capture_output=True)
    return time.perf_counter() - started


def bench_processes(path: Path, limit: int | None, runs: int, chars: int) -> None:
    """Whole processes, alternating which goes first; each in an empty folder."""
    ratios = []
    rows = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            source = write_subset(path, limit, work / "subset.jsonl.gz")
            env = {**os.environ, "NEWSBOT_INDEX_DIR": str(work / "newsbot-index")}
            ours = [sys.executable, "-m", "bot", "index", str(source)]
            peer = [sys.executable, __file__, "--peer-process", str(source), str(work / "peer")]
            order = [("newsbot", ours), ("peer", peer)]
            seconds = {name: timed(cmd, env) for name, cmd in (order if run % 2 == 0
                                                               else order[::-1])}
        ratios.append(seconds["peer"] / seconds["newsbot"])
        rows.append([run + 1, "newsbot first" if run % 2 == 0 else "peer first",
                     round(seconds["newsbot"], 1), round(chars / seconds["newsbot"]),
                     round(seconds["peer"], 1), round(chars / seconds["peer"]),
                     f"{ratios[-1]:.2f}x"])
        print(f"run {run + 1}: newsbot {seconds['newsbot']:.1f} s, peer "
              f"{seconds['peer']:.1f} s", flush=True)
    print_table(["run", "order", "newsbot s", "newsbot chars/s", "peer s", "peer chars/s",
                 "ratio"], rows)
    print(f"ratio: min {min(ratios):.2f}x, median {sorted(ratios)[len(ratios) // 2]:.2f}x, "
          f"max {max(ratios):.2f}x")


def peer_process(source: Path, folder: Path) -> None:
    """The peer as one whole quick-start process: everything it imports and loads."""
    from langchain_chroma import Chroma

    docs = peer_documents(read_records(source))
    Chroma.from_documents(docs, peer_embeddings(), persist_directory=str(folder))


def main() -> None:
    if sys.argv[1:2] == ["--peer-process"]:
        peer_process(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="news-dev-small")
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--processes", type=int, default=0,
                        help="whole processes instead, this many alternated runs")
    args = parser.parse_args()
    path = DATA / args.data / "articles.jsonl.gz"
    if not path.exists():
        sys.exit(f"no benchmark data at {path}")
    records = read_records(path, args.limit)
    chars = sum(len(r["text"]) for r in records)
    print(f"{args.data}: {len(records)} articles, {chars / 1e6:.2f} M characters, "
          f"{os.cpu_count()} cores")
    if args.processes:
        bench_processes(path, args.limit, args.processes, chars)
        return
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
