"""Server mode under load: questions asked all at once against an index in server mode
(PostgreSQL + a `chroma run` server, both started here on 127.0.0.1), from one process and
from two processes at the same time, beside the same load on a local index (embedded
Chroma + SQLite) of the same corpus. Prints, for each run, the questions answered of those
asked (a declined question counts as answered, an exception does not) and the seconds
from the moment they were all asked to each answer: p50, p95, max.

    python -m bench.server_load [--corpus ARTICLES.jsonl.gz] [--questions-file Q.jsonl]
                                [--questions 20] [--limit N]

Defaults: ../shared/data/news-dev-small (articles and the `question` field of its question
file), the configured embedding model (the bundled one by default), extractive answers.
The corpus is embedded once: the local index reuses the server index's vectors, so only
the server side's index time includes embedding. Needs PostgreSQL's binaries
(/usr/lib/postgresql/*/bin), psycopg and the chroma CLI (the helpers of standins/servers.py);
the servers and every folder made here are removed at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np

from bench.common import DATA, print_table
from retrieval.app import NewsApp
from retrieval.index.embedding import embed_for_index, embedder_from_settings
from retrieval.settings import Settings, get_settings

SMALL = DATA / "news-dev-small"
Result = tuple[float | None, bool]  # (seconds to the answer or None: an exception, declined)


class ReusedVectors:
    """The configured embedder, remembering each index batch's vectors by text so that a
    second index of the same corpus embeds nothing again; questions go straight through."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.memo = inner, inner.name, {}

    def embed_index_batch(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, embed_for_index(self.inner, missing), strict=True))
        return np.stack([self.memo[t] for t in texts])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def read_questions(path: Path, count: int) -> list[tuple[str, date | None]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
               if line.strip()][:count]
    return [(r["question"], date.fromisoformat(r["date"]) if r.get("date") else None)
            for r in records]


def ask_all(app: NewsApp, questions: list[tuple[str, date | None]]) -> list[Result]:
    """Every question at once, one thread each (as the Discord bot's worker threads do)."""
    start = time.perf_counter()

    def one(question: str, day: date | None) -> Result:
        try:
            answer = app.answer(question, today=day)
        except Exception as exc:  # counted as not answered, and said
            print(f"not answered: {question!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return None, False
        return time.perf_counter() - start, answer.declined

    with ThreadPoolExecutor(len(questions)) as pool:
        return list(pool.map(lambda q: one(*q), questions))


def warm(app: NewsApp) -> None:
    """Load the model, open the stores, fit nothing later: the first answer is not timed."""
    app.answer("Who won the World Cup final in Qatar?")


def worker(questions: list[tuple[str, date | None]]) -> None:
    """One process of run (b): settings from the environment; ready, wait for go, ask."""
    with NewsApp.open(get_settings()) as app:
        warm(app)
        print("ready", flush=True)
        sys.stdin.readline()
        print("RESULT " + json.dumps(ask_all(app, questions)), flush=True)


def two_processes(env: dict[str, str], args: argparse.Namespace
                  ) -> tuple[list[list[Result]], float]:
    """Two workers against the same index, released together once both are warm; their
    results and the seconds from the release to the last answer."""
    command = [sys.executable, __file__, "--worker", "--questions", str(args.questions),
               "--questions-file", str(args.questions_file)]
    procs = [subprocess.Popen(command, env={**os.environ, **env}, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for proc in procs:
            line = proc.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit(f"a worker did not start (exit {proc.wait()}): {line!r}")
        start = time.perf_counter()
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            line = next(x for x in proc.stdout if x.startswith("RESULT "))
            results.append([tuple(r) for r in json.loads(line.removeprefix("RESULT "))])
        wall = time.perf_counter() - start
        for proc in procs:
            proc.wait(timeout=120)
        return results, wall
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def row(name: str, results: list[Result], wall: float) -> list[object]:
    times = [s for s, _ in results if s is not None]
    declined = sum(1 for s, d in results if s is not None and d)
    if not times:
        return [name, f"0/{len(results)}", declined, "-", "-", "-", wall]
    return [name, f"{len(times)}/{len(results)}", declined, percentile(times, 0.5),
            percentile(times, 0.95), max(times), wall]


def subset(corpus: Path, limit: int | None, work: Path) -> Path:
    if not limit:
        return corpus
    target = work / "articles.jsonl.gz"
    with gzip.open(corpus, "rt", encoding="utf-8") as source, \
            gzip.open(target, "wt", encoding="utf-8") as out:
        for n, line in enumerate(source):
            if n >= limit:
                break
            out.write(line)
    return target


def build(settings: Settings, embedder: ReusedVectors, corpus: Path) -> tuple[int, float]:
    start = time.perf_counter()
    with NewsApp.open(settings, embedder=embedder, create=True) as app:
        app.index([corpus])
        chunks = app.stats().get("chunks", 0)
    return chunks, time.perf_counter() - start


def timed(app_settings: Settings, questions: list[tuple[str, date | None]]
          ) -> tuple[list[Result], float]:
    with NewsApp.open(app_settings) as app:
        warm(app)
        start = time.perf_counter()
        results = ask_all(app, questions)
        return results, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=SMALL / "articles.jsonl.gz")
    parser.add_argument("--questions-file", type=Path, default=SMALL / "questions.jsonl")
    parser.add_argument("--questions", type=int, default=20, help="asked at once, per process")
    parser.add_argument("--limit", type=int, help="index only the first N articles")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    questions = read_questions(args.questions_file, args.questions)
    if args.worker:
        worker(questions)
        return
    from standins.servers import chroma_server, database, postgres_server

    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="newsbot-server-load-"))
    try:
        with postgres_server() as postgres, chroma_server() as chroma_port:
            env = {"NEWSBOT_DATABASE_URL": database(postgres, "newsbot"),
                   "NEWSBOT_CHROMA_HOST": "127.0.0.1", "NEWSBOT_CHROMA_PORT": str(chroma_port),
                   "NEWSBOT_INDEX_DIR": str(work / "server-index")}
            server = get_settings(database_url=env["NEWSBOT_DATABASE_URL"],
                                  chroma_host="127.0.0.1", chroma_port=chroma_port,
                                  index_dir=work / "server-index")
            local = get_settings(index_dir=work / "local-index")
            corpus = subset(args.corpus, args.limit, work)
            embedder = ReusedVectors(embedder_from_settings(server))
            chunks, server_s = build(server, embedder, corpus)
            _, local_s = build(local, embedder, corpus)
            print(f"{corpus}: {chunks} chunks; indexed in server mode in {server_s:.0f} s, "
                  f"locally in {local_s:.0f} s (vectors reused); model "
                  f"{server.embedding.model}; {len(questions)} questions at once per process",
                  flush=True)
            rows = []
            results, wall = timed(server, questions)
            rows.append(row("(a) server mode, 1 process", results, wall))
            both, wall = two_processes(env, args)
            for n, results in enumerate(both, 1):
                rows.append(row(f"(b) server mode, process {n} of 2", results, wall))
            rows.append(row("(b) server mode, both", both[0] + both[1], wall))
            results, wall = timed(local, questions)
            rows.append(row("(c) local mode, 1 process", results, wall))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(["run", "answered/asked", "declined", "p50 s", "p95 s", "max s", "wall s"],
                rows)
    unanswered = [r[0] for r in rows if r[1].split("/")[0] != r[1].split("/")[1]]
    print("every question got an answer" if not unanswered
          else f"NOT every question got an answer: {', '.join(unanswered)}")
    print(f"bench wall time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
