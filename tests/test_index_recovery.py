"""A run killed with SIGKILL at any step leaves an index the next run completes, with no
duplicate and no missing chunk."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import story, write_article
from test_index_incremental import assert_consistent

from corpus import load_articles
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex

# Runs an update in a child process that SIGKILLs itself on the Nth call of one method.
CHILD = r"""
import os, signal, sys
from pathlib import Path
from corpus import load_articles
from retrieval.index import news_index as index_module
from retrieval.index.catalog import Catalog
from retrieval.index.embedding import HashEmbedder

target, method, when, index_dir, corpus = sys.argv[1:6]
owner = {"VectorStore": index_module.VectorStore, "Catalog": Catalog,
         "NewsIndex": index_module.NewsIndex}[target]
original = getattr(owner, method)
calls = {"n": 0}

def dying(self, *args, **kwargs):
    calls["n"] += 1
    if calls["n"] == int(when):
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *args, **kwargs)

setattr(owner, method, dying)
news_index = index_module.NewsIndex(Path(index_dir), HashEmbedder())
news_index.update(load_articles([Path(corpus)]), [Path(corpus)], batch_chunks=8)
print("finished")
"""


def make_corpus(folder: Path, n: int, topic: str = "harbour") -> None:
    for i in range(n):
        write_article(folder, f"a{i:03d}.md", f"Report {i}", story(f"{topic} {i}", 4),
                      url=f"https://news.example/{i}")


def run_child(target: str, method: str, when: int, index_dir: Path, corpus: Path) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, target, method, str(when), str(index_dir), str(corpus)],
        capture_output=True, text=True, timeout=120,
    )
    return proc.returncode


def complete_and_check(index_dir: Path, corpus: Path, expected: int) -> None:
    news_index = NewsIndex(index_dir, HashEmbedder())
    report = news_index.update(load_articles([corpus]), [corpus])
    assert report.failed == 0
    assert news_index.stats()["articles"] == expected
    assert_consistent(news_index)
    # And the state is final: one more run changes nothing.
    again = news_index.update(load_articles([corpus]), [corpus])
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    news_index.close()


@pytest.mark.parametrize(
    ("target", "method", "when"),
    [
        ("Catalog", "mark_pending", 3),        # batches 1-2 committed, batch 3 not started
        ("VectorStore", "upsert", 3),          # pending ids recorded, nothing in Chroma yet
        ("NewsIndex", "_commit", 3),          # vectors in Chroma, catalog not committed
    ],
)
def test_kill_during_first_index(tmp_path: Path, target: str, method: str, when: int) -> None:
    corpus = tmp_path / "news"
    make_corpus(corpus, 40)  # one chunk each: five batches of 8
    assert run_child(target, method, when, tmp_path / "idx", corpus) == -signal.SIGKILL
    complete_and_check(tmp_path / "idx", corpus, 40)


@pytest.mark.parametrize("when", [1, 2])
def test_kill_while_replacing_and_removing(tmp_path: Path, when: int) -> None:
    corpus = tmp_path / "news"
    make_corpus(corpus, 10)
    complete_and_check(tmp_path / "idx", corpus, 10)
    for path in sorted(corpus.glob("*.md"))[:3]:
        path.unlink()
    make_corpus(corpus, 3, topic="changed")  # rewrites a000..a002 with new text
    (corpus / "a009.md").unlink()
    # delete #1 removes a009's chunks; later deletes drop replaced chunks
    assert run_child("VectorStore", "delete", when, tmp_path / "idx", corpus) == -signal.SIGKILL
    complete_and_check(tmp_path / "idx", corpus, 9)


def test_kill_at_random_moments_of_the_cli(tmp_path: Path) -> None:
    corpus = tmp_path / "news"
    make_corpus(corpus, 150)
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(tmp_path / "idx"),
           "NEWSBOT_EMBEDDING_MODEL": "hash"}
    cmd = [sys.executable, "-m", "bot", "index", str(corpus)]
    for delay in (0.8, 1.2, 1.6, 2.0):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    complete_and_check(tmp_path / "idx", corpus, 150)
