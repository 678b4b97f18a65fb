"""Processes side by side on one embedded index. Only one process at a time has Chroma's
embedded store open (two corrupt it): a long-lived searcher lets go when an index run
elsewhere asks, searches meanwhile answer from the keyword side, and a stress run of
index runs, one-shot searches and a long-lived searcher ends with no failed search and
an index equal to a clean build."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, index_rows

from retrieval.search.searcher import Searcher

OLD = [("harbour.md", "Harbour reopens", "The harbour in Bergen reopened after the storm "
        "damaged three piers.", "Coast Wire", "2024-05-01"),
       ("zebra.md", "Zebra migration starts", "Thousands of zebra began the annual "
        "migration across the Serengeti plains.", "Savanna Times", "2024-05-02")]

# Holds the store as an index run would, until the file named in argv[2] appears.
HOLDER = r"""
import sys, time
from pathlib import Path
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex

index = NewsIndex(Path(sys.argv[1]), HashEmbedder())
with index.access.pinned():
    print("holding", flush=True)
    while not Path(sys.argv[2]).exists():
        time.sleep(0.05)
index.close()
"""


def test_a_search_during_a_run_elsewhere_answers_from_keywords(news_index, tmp_path: Path
                                                               ) -> None:
    index_rows(news_index, tmp_path / "news", OLD)
    searcher = Searcher(news_index)
    assert not searcher.search("zebra migration").keyword_only
    stop = tmp_path / "stop"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(news_index.index_dir),
                               str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"  # we let go when it asked
        started = time.monotonic()
        result = searcher.search("zebra migration Serengeti")
        assert result.keyword_only and time.monotonic() - started < 2.0
        assert result.passages[0].title == "Zebra migration starts"
    finally:
        stop.touch()
        holder.wait(timeout=30)
    result = searcher.search("zebra migration Serengeti")
    assert not result.keyword_only and result.passages[0].title == "Zebra migration starts"


def test_an_index_run_elsewhere_waits_only_for_the_search_in_flight(news_index,
                                                                    tmp_path: Path) -> None:
    index_rows(news_index, tmp_path / "news", OLD[:1])
    searcher = Searcher(news_index)
    searcher.search("harbour storm")  # this process now has the store open
    assert news_index.access._store is not None
    env_dir = str(news_index.index_dir)
    child = subprocess.run(
        [sys.executable, "-m", "bot", "index", str(tmp_path / "news"), "--index-dir", env_dir],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={"NEWSBOT_EMBEDDING_MODEL": "hash", "PATH": "/usr/bin:/bin",
             "ANONYMIZED_TELEMETRY": "False", "HOME": str(tmp_path)})
    assert child.returncode == 0, child.stderr
    assert news_index.access._store is None  # let go for the run
    assert searcher.search("harbour storm").passages[0].title == "Harbour reopens"


@pytest.mark.slow
def test_stress_index_runs_and_searches_side_by_side(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import side_by_side

    monkeypatch.setattr(side_by_side, "PARAGRAPHS", 30)  # several chunks an article
    report = side_by_side.run_stress(tmp_path / "work", runs=4, articles=120)
    assert report.runs == [0] * 5, report.run_errors
    assert report.failed_searches == [] and report.searches >= 10
    assert report.long_lived_failed == [] and report.long_lived_ok >= 5
    assert report.max_bytes < 200 * 1024**2
    assert report.same_as_clean_build


def test_a_long_write_transaction_blocks_no_reader(tmp_path: Path) -> None:
    import json
    import sqlite3
    import threading

    from click.testing import CliRunner

    from bot.cli import cli

    runner = CliRunner()
    assert runner.invoke(cli, ["index"]).exit_code == 0
    writer = sqlite3.connect(tmp_path / "index" / "manifest.sqlite", isolation_level=None,
                             check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT OR REPLACE INTO meta VALUES ('held', 'yes')")
    done = threading.Timer(6.0, lambda: writer.execute("COMMIT"))
    done.start()
    try:
        started = time.monotonic()
        stats = runner.invoke(cli, ["stats", "--json"])
        found = runner.invoke(cli, ["search", "World Cup final", "--json"])
        assert time.monotonic() - started < 5.0  # neither waited for the writer
        assert stats.exit_code == 0 and json.loads(stats.output)["articles"] == 24
        assert found.exit_code == 0 and json.loads(found.output)
        # A writer waits for the other writer instead of failing with "database is locked".
        again = runner.invoke(cli, ["index"])
        assert again.exit_code == 0 and "unchanged 24" in again.output
    finally:
        done.join()
        writer.close()
