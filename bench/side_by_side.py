"""Processes side by side on one local index: index runs while one-shot `newsbot search`
processes start every half second (at most IN_FLIGHT at once) and a long-lived app asks
every second. Counts failed searches and crashes, tracks the index's size on disk, and
compares the final index with a clean build of the same folder.

    python -m bench.side_by_side [--runs 10] [--articles 300] [--work DIR]

Uses the `hash` embedder (writes are fast, so runs and searches overlap a lot). Child
processes get a file-size limit, so a runaway file cannot fill the disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO
from retrieval.index.report import folder_bytes

FILE_LIMIT = 2 * 1024**3  # bytes a child may write to one file
# One-shot searches running at once. Each is a new Python process that needs more than
# half a second of CPU to start: unbounded, they pile up by the hundred on a small machine
# and starve everything (an index run then waits in vain for a search to let go).
IN_FLIGHT = 4
WORDS = ("harbour", "storm", "council", "budget", "rocket", "launch", "vaccine", "trial",
         "drought", "river", "tram", "bridge", "election", "senator", "festival", "museum",
         "glacier", "wildfire", "airline", "strike", "market", "rally", "orchard", "vineyard",
         "satellite", "comet", "ferry", "tunnel", "library", "stadium")

LONG_LIVED = r"""
import sys, time
from pathlib import Path
from retrieval.app import NewsApp
from retrieval.settings import get_settings

stop, every = Path(sys.argv[1]), float(sys.argv[2])
app = NewsApp.open(get_settings(), create=False)
n = 0
while not stop.exists():
    n += 1
    try:
        found = app.search(f"What happened to the {sys.argv[3 + n % 3]}?", k=3)
        print("ok", len(found.passages), flush=True)
    except Exception as exc:
        print("fail", type(exc).__name__, str(exc).splitlines()[0][:200], flush=True)
    time.sleep(every)
app.close()
"""


@dataclass
class StressReport:
    runs: list[int] = field(default_factory=list)          # exit status of each index run
    run_seconds: list[float] = field(default_factory=list)
    run_errors: list[str] = field(default_factory=list)
    searches: int = 0
    failed_searches: list[str] = field(default_factory=list)
    long_lived_ok: int = 0
    long_lived_failed: list[str] = field(default_factory=list)
    max_bytes: int = 0
    final_bytes: int = 0
    same_as_clean_build: bool = False
    seconds: float = 0.0


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


PARAGRAPHS = int(os.environ.get("NEWSBOT_STRESS_PARAGRAPHS", "6"))  # 6: about one chunk


def write_article(folder: Path, n: int, version: int, rng: random.Random) -> None:
    words = [rng.choice(WORDS) for _ in range(20 * PARAGRAPHS)]
    body = "\n\n".join(" ".join(words[i:i + 20]).capitalize() + "."
                       for i in range(0, len(words), 20))
    (folder / f"a{n:04d}.md").write_text(
        f"---\ntitle: \"Report {n} on the {words[0]} (v{version})\"\nsource: Wire {n % 5}\n"
        f"published_at: 2024-05-{1 + n % 28:02d}\n---\n\n{body}\n", encoding="utf-8")


def change_corpus(folder: Path, run: int, articles: int, rng: random.Random) -> None:
    """Run 0 writes the corpus; later runs add 10 %, edit 5 % and delete 3 % of it."""
    if run == 0:
        for n in range(articles):
            write_article(folder, n, 0, rng)
        return
    existing = sorted(folder.glob("a*.md"))
    for path in rng.sample(existing, max(1, articles * 3 // 100)):
        path.unlink()
    for path in rng.sample(sorted(folder.glob("a*.md")), max(1, articles // 20)):
        write_article(folder, int(path.stem[1:]), run, rng)
    start = articles + (run - 1) * (articles // 10)
    for n in range(start, start + max(1, articles // 10)):
        write_article(folder, n, run, rng)


def newsbot(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=_limit_files, cwd=REPO)


def index_summary(index_dir: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """(article id -> content hash, catalog chunk ids, Chroma ids) of an index."""
    from retrieval.index.embedding import HashEmbedder
    from retrieval.index.news_index import NewsIndex

    index = NewsIndex(index_dir, HashEmbedder(), create=False)
    try:
        articles = {a.id: a.content_hash for a in index.catalog.indexed_articles().values()}
        return articles, index.catalog.all_chunk_ids(), set(index.vectors.iter_ids())
    finally:
        index.close()


class SearchLoad:
    """New `newsbot search` processes every `every` seconds, at most IN_FLIGHT at once,
    counted into the report (with the index's largest size seen) until `done` is set."""

    def __init__(self, env: dict[str, str], timeout: float, every: float,
                 report: StressReport, index_dir: Path) -> None:
        self.env, self.timeout, self.every = env, timeout, every
        self.report, self.index_dir = report, index_dir
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(IN_FLIGHT)

    def one_search(self, n: int) -> None:
        try:
            result = newsbot(["search", f"Which {WORDS[n % len(WORDS)]} was in the news?",
                              "-k", "3", "--json"], self.env, self.timeout)
            problem = "" if result.returncode == 0 else \
                f"exit {result.returncode}: {(result.stderr or result.stdout).strip()[-300:]}"
        except subprocess.TimeoutExpired:
            problem = f"no answer within {self.timeout:g} s"
        with self.lock:
            self.report.searches += 1
            if problem:
                self.report.failed_searches.append(problem)

    def search_in_slot(self, n: int) -> None:
        try:
            self.one_search(n)
        finally:
            self.slots.release()

    def spawn_searches(self) -> None:
        threads, n = [], 0
        while not self.done.is_set():
            if self.slots.acquire(blocking=False):  # else this tick is skipped: see IN_FLIGHT
                thread = threading.Thread(target=self.search_in_slot, args=(n,))
                thread.start()
                threads.append(thread)
                n += 1
            self.report.max_bytes = max(self.report.max_bytes, folder_bytes(self.index_dir))
            self.done.wait(self.every)
        for thread in threads:
            thread.join()


def index_runs(folder: Path, runs: int, articles: int, rng: random.Random,
               env: dict[str, str], timeout: float, report: StressReport) -> None:
    """`runs` index runs, each after changing the corpus, their exit codes and times."""
    for run in range(1, runs + 1):
        change_corpus(folder, run, articles, rng)
        began = time.monotonic()
        try:
            done_run = newsbot(["index", str(folder), "--json"], env, timeout)
            report.runs.append(done_run.returncode)
            if done_run.returncode:
                report.run_errors.append(done_run.stderr.strip()[-300:])
        except subprocess.TimeoutExpired:
            report.runs.append(-1)
        report.run_seconds.append(round(time.monotonic() - began, 1))


def run_stress(work: Path, runs: int = 10, articles: int = 300, search_every: float = 0.5,
               ask_every: float = 1.0, timeout: float = 600.0, seed: int = 7) -> StressReport:
    rng = random.Random(seed)
    folder, index_dir, stop = work / "news", work / "index", work / "stop"
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(index_dir), "NEWSBOT_EMBEDDING_MODEL": "hash",
           "ANONYMIZED_TELEMETRY": "False", "PYTHONPATH": str(REPO)}
    report = StressReport()
    started = time.monotonic()
    change_corpus(folder, 0, articles, rng)
    report.runs.append(newsbot(["index", str(folder), "--json"], env, timeout).returncode)
    long_lived = subprocess.Popen(
        [sys.executable, "-c", LONG_LIVED, str(stop), str(ask_every), *WORDS[:3]], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=_limit_files)
    load = SearchLoad(env, timeout, search_every, report, index_dir)
    spawner = threading.Thread(target=load.spawn_searches)
    spawner.start()
    try:
        index_runs(folder, runs, articles, rng, env, timeout, report)
    finally:
        load.done.set()
        spawner.join()
        stop.touch()
        out, _ = long_lived.communicate(timeout=timeout)
    for line in out.splitlines():
        if line.startswith("ok"):
            report.long_lived_ok += 1
        elif line.strip():
            report.long_lived_failed.append(line)
    if long_lived.returncode != 0:
        report.long_lived_failed.append(f"exit {long_lived.returncode}")
    report.final_bytes = folder_bytes(index_dir)
    clean = work / "clean-index"
    newsbot(["index", str(folder), "--json"], {**env, "NEWSBOT_INDEX_DIR": str(clean)}, timeout)
    final, clean_build = index_summary(index_dir), index_summary(clean)
    report.same_as_clean_build = (final[0] == clean_build[0] and final[1] == clean_build[1]
                                  and final[1] == final[2])
    report.seconds = time.monotonic() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="newsbot-side-by-side-"))
    report = run_stress(work, args.runs, args.articles)
    print(json.dumps({**report.__dict__, "failed_searches": report.failed_searches[:5],
                      "failed_search_count": len(report.failed_searches)}, indent=2))


if __name__ == "__main__":
    main()
