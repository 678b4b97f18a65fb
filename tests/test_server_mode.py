"""Server mode on a real PostgreSQL and a real `chroma run` (standins/servers.py): the same
passages as local mode, incremental runs, a killed run completed, two runs at once, a
rebuild that touches only its own index, and the settings that turn it on."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, write_article

from bot.cli import cli
from corpus import load_articles
from corpus.loader import SAMPLE_DIR
from retrieval.answer.chain import Answerer
from retrieval.errors import IndexBusy, IndexEmpty
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from retrieval.index.pg_keywords import tokens
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings
from retrieval.text import content_terms
from retrieval.types import SearchFilters
from standins.servers import database

QUESTIONS = [
    "Who won the World Cup final in Qatar?",
    "When did the Artemis capsule splash down in the Pacific?",
    "Which country landed near the lunar south pole?",
    "Where did Queen Elizabeth die?",
    "How many people died in the Maui wildfire?",
    "Why did Silicon Valley Bank collapse?",
    "What happened to the Titan submersible?",
    "Finland joined NATO after Russia invaded Ukraine",
    "Which technology did OpenAI launch as a chatbot?",
]


def server_index(url: str, port: int, collection: str, tmp: Path) -> NewsIndex:
    settings = get_settings(database_url=url, chroma_host="127.0.0.1", chroma_port=port,
                            collection=collection, index_dir=tmp / collection)
    return NewsIndex.open(settings, HashEmbedder())


def counts(index: NewsIndex) -> tuple[int, int, int]:
    """Chunks in the catalog, vectors in Chroma, rows in the keyword index."""
    keyword_rows = index.db.one("SELECT docs FROM keyword_totals")[0]  # type: ignore[attr-defined]
    return index.catalog.chunk_count(), index.vectors.count(), keyword_rows


@pytest.fixture(scope="module")
def local_sample(tmp_path_factory: pytest.TempPathFactory) -> NewsIndex:
    """The sample corpus indexed in local mode (embedded Chroma and SQLite)."""
    index = NewsIndex(tmp_path_factory.mktemp("local") / "index", HashEmbedder())
    index.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    return index


# --- without servers -------------------------------------------------------------------------
@pytest.mark.parametrize("variable", ["NEWSBOT_CHROMA_HOST", "NEWSBOT_DATABASE_URL"])
def test_half_configured_server_mode_is_one_line(variable: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    value = "127.0.0.1" if variable == "NEWSBOT_CHROMA_HOST" else "postgresql://u:hunter2@h/db"
    monkeypatch.setenv(variable, value)
    out = CliRunner().invoke(cli, ["stats"])
    assert out.exit_code != 0
    message = out.output.strip()
    assert len(message.splitlines()) == 1, message
    assert "NEWSBOT_CHROMA_HOST" in message and "NEWSBOT_DATABASE_URL" in message
    assert f"{variable} is set" in message and "hunter2" not in message


def test_unreachable_database_is_one_line_without_the_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://news:hunter2@127.0.0.1:1/db")
    monkeypatch.setenv("NEWSBOT_CHROMA_HOST", "127.0.0.1")
    out = CliRunner().invoke(cli, ["stats"])
    assert out.exit_code != 0
    assert "postgresql://news@127.0.0.1:1/db" in out.output and "hunter2" not in out.output
    assert "Traceback" not in out.output


def test_tokens_are_the_fts5_tokenizers() -> None:
    """The stems the PostgreSQL side stores are those FTS5's porter tokenizer makes,
    including where Porter's C version departs from the published algorithm."""
    text = ("Technology apologies: possibly incredibly humbly responsible visibly "
            "O'Brien's café don't agreed as is by 3.5 U.S. e-mail running generously")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize = "
               "'porter unicode61 remove_diacritics 2')")
    db.execute("INSERT INTO f VALUES (?)", (text,))
    db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, f, instance)")
    assert tokens(text) == [r[0] for r in db.execute("SELECT term FROM temp.v ORDER BY offset")]


# --- on the servers ----------------------------------------------------------------------------
def test_same_passages_as_local_mode(postgres_url: str, chroma_port: int,
                                     local_sample: NewsIndex, tmp_path: Path) -> None:
    server = server_index(postgres_url, chroma_port, "parity", tmp_path)
    report = server.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    assert report.added == local_sample.stats()["articles"] - local_sample.stats()["duplicates"]
    assert counts(server) == (local_sample.catalog.chunk_count(),) * 3
    assert not (tmp_path / "parity" / "manifest.sqlite").exists()  # nothing local
    local, remote = Searcher(local_sample), Searcher(server)
    for question in QUESTIONS:
        terms = content_terms(question)
        df = local_sample.keywords.document_frequencies(terms)
        assert server.keywords.document_frequencies(terms) == df
        for filters in (SearchFilters(), SearchFilters(sources=("orbit wire",))):
            want = local_sample.keywords.scored(terms, filters, 40, df)
            got = server.keywords.scored(terms, filters, 40, df)
            assert [i for i, _ in got] == [i for i, _ in want], question
            assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-9)
        expected = [p.chunk_id for p in local.search(question, k=5).passages]
        assert expected and [p.chunk_id for p in remote.search(question, k=5).passages
                             ] == expected, question
        # The same answer, word for word, with the same sources.
        settings = get_settings(decline_below=0.0)
        here = Answerer(local, None, settings).answer(question)
        there = Answerer(remote, None, settings).answer(question)
        assert here.text and there.text == here.text, question
        assert [s.chunk_id for s in there.sources] == [s.chunk_id for s in here.sources]
    server.close()


def test_incremental_update(postgres_url: str, chroma_port: int,
                            tmp_path: Path) -> None:
    folder = tmp_path / "news"
    for name in ("harbour", "budget", "zebra"):
        write_article(folder, f"{name}.md", f"The {name} report",
                      f"Officials discussed the {name} at length on Monday. " * 3,
                      source="Coast Wire", published_at="2024-05-01")
    index = server_index(postgres_url, chroma_port, "incremental", tmp_path)
    assert index.update(load_articles([folder]), [folder]).added == 3
    generation = index.catalog.get_meta("generation")
    write_article(folder, "budget.md", "The budget report",
                  "Parliament passed the austerity budget after a long night.",
                  source="Coast Wire", published_at="2024-05-02")
    (folder / "zebra.md").unlink()
    report = index.update(load_articles([folder]), [folder])
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 1, 1)
    assert counts(index) == (2, 2, 2)
    assert index.catalog.get_meta("generation") != generation  # searchers elsewhere catch up
    assert not index.catalog.pending()
    hits = Searcher(index).search("austerity budget parliament").passages
    assert hits[0].title == "The budget report" and "austerity" in hits[0].text
    assert not index.keywords.search(["zebra"], SearchFilters(), 5)
    assert index.update(load_articles([folder]), [folder]).unchanged == 2
    index.close()


# An index run in a child process; it SIGKILLs itself once the Nth batch's vectors are in
# Chroma (0: never), and with a gate file, waits after its first batch until that exists.
CHILD = r"""
import os, signal, sys, time
from pathlib import Path
from corpus import load_articles
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from retrieval.index.vectors import VectorStore
from retrieval.settings import get_settings

url, port, collection, corpus, die_at, gate = sys.argv[1:7]
original, calls = VectorStore.upsert, {"n": 0}

def upsert(self, *args, **kwargs):
    original(self, *args, **kwargs)
    calls["n"] += 1
    if calls["n"] == int(die_at):
        os.kill(os.getpid(), signal.SIGKILL)
    deadline = time.monotonic() + 120
    while gate != "-" and not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)

VectorStore.upsert = upsert
index = NewsIndex.open(get_settings(database_url=url, chroma_host="127.0.0.1",
                                    chroma_port=int(port), collection=collection),
                       HashEmbedder())
report = index.update(load_articles([Path(corpus)]), [Path(corpus)], batch_chunks=4)
print(report.added, report.unchanged, time.time(), flush=True)
"""


def child(url: str, port: int, collection: str, die_at: int = 0, gate: Path | None = None
          ) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(port), collection, str(SAMPLE_DIR),
         str(die_at), str(gate or "-")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env)


def wait_for(condition: object, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():  # type: ignore[operator]
        assert proc.poll() is None, f"the first run ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within 120 s"
        time.sleep(0.05)


def test_killed_run_is_completed_by_the_next(postgres_url: str, chroma_port: int,
                                             local_sample: NewsIndex, tmp_path: Path) -> None:
    proc = child(postgres_url, chroma_port, "killed", die_at=2)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == -signal.SIGKILL, err
    index = server_index(postgres_url, chroma_port, "killed", tmp_path)
    chunks, vectors, _ = counts(index)
    assert index.catalog.pending() and vectors > chunks  # vectors of an uncommitted batch
    started = time.monotonic()
    report = index.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    assert time.monotonic() - started < 60  # the dead run's lock went with its connection
    assert report.added > 0 and report.unchanged > 0
    assert counts(index) == (local_sample.catalog.chunk_count(),) * 3
    assert not index.catalog.pending()
    index.close()


def test_two_runs_at_once_one_waits(postgres_url: str, chroma_port: int,
                                    local_sample: NewsIndex, tmp_path: Path) -> None:
    import psycopg

    gate = tmp_path / "go-on"
    first = child(postgres_url, chroma_port, "twice", gate=gate)
    index = server_index(postgres_url, chroma_port, "twice", tmp_path)
    wait_for(index.catalog.pending, first, "first batch")  # it holds the lock, mid-run
    second = child(postgres_url, chroma_port, "twice")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        def second_waits() -> bool:  # its lock connection, asking again and again
            return bool(conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s",
                (f"newsbot index run on % pid {second.pid}",)).fetchone())
        wait_for(second_waits, first, "second run waiting")
    time.sleep(1.0)
    assert second.poll() is None  # still waiting while the first is held at its gate
    gate.touch()
    out_first, err_first = first.communicate(timeout=180)
    out_second, err_second = second.communicate(timeout=180)
    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second
    added_first, _, done_first = out_first.split()
    added_second, unchanged_second, done_second = out_second.split()
    articles = local_sample.stats()["articles"] - local_sample.stats()["duplicates"]
    assert int(added_first) == articles  # the first indexed everything ...
    assert (int(added_second), int(unchanged_second)) == (0, articles)  # ... the second waited
    assert float(done_second) >= float(done_first)
    assert counts(index) == (local_sample.catalog.chunk_count(),) * 3
    assert len(set(index.vectors.iter_ids())) == index.vectors.count()
    index.close()


def test_a_second_run_says_who_holds_the_lock(postgres_url: str) -> None:
    from retrieval.index.postgres import PostgresDatabase

    holder, other = PostgresDatabase(postgres_url, "busy"), PostgresDatabase(postgres_url, "busy")
    try:
        busy = pytest.raises(IndexBusy, match=r"another index run .+ newsbot index run on "
                             r".+ pid \d+")
        assert not other.run_going()
        with holder.run_lock():
            assert other.run_going() and holder.run_going()  # reads say a run is going
            with busy, other.run_lock(wait_s=0.5):
                pass
        deadline = time.monotonic() + 5  # a closed session's backend ends a moment later
        while other.run_going():
            assert time.monotonic() < deadline, "the run lock outlived its run"
            time.sleep(0.05)
        with other.run_lock(wait_s=0.5):  # released with the run
            pass
    finally:
        holder.close()
        other.close()


def test_rebuild_touches_only_its_own_index(postgres_url: str, chroma_port: int,
                                            local_sample: NewsIndex, tmp_path: Path) -> None:
    import psycopg

    other_url = database(postgres_url, "newsbot_other")
    mine = server_index(postgres_url, chroma_port, "rebuilt", tmp_path)
    neighbour = server_index(postgres_url, chroma_port, "neighbour", tmp_path)
    elsewhere = server_index(other_url, chroma_port, "elsewhere", tmp_path)
    for index in (mine, neighbour, elsewhere):
        index.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.unrelated (note text)")
        conn.execute("INSERT INTO public.unrelated VALUES ('keep me')")
    full = (local_sample.catalog.chunk_count(),) * 3
    mine.rebuild()
    assert counts(mine) == (0, 0, 0) and mine.model is None
    assert counts(neighbour) == full and counts(elsewhere) == full
    assert Searcher(neighbour).search(QUESTIONS[0]).passages
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SELECT note FROM public.unrelated").fetchall() == [("keep me",)]
    assert mine.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR]).added > 0
    assert counts(mine) == full
    for index in (mine, neighbour, elsewhere):
        index.close()


def test_searchers_elsewhere_survive_a_rebuild(postgres_url: str, chroma_port: int,
                                               tmp_path: Path) -> None:
    """Two machines on one index: one rebuilds (its collection is replaced on the Chroma
    server) while the other's searcher stays open."""
    here = server_index(postgres_url, chroma_port, "shared", tmp_path)
    there = server_index(postgres_url, chroma_port, "shared", tmp_path)
    here.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    searcher = Searcher(here)
    before = [p.chunk_id for p in searcher.search(QUESTIONS[0]).passages]
    there.rebuild()
    with pytest.raises(IndexEmpty):  # said by the search itself, as by the app
        searcher.search(QUESTIONS[0])
    there.update(load_articles([SAMPLE_DIR]), [SAMPLE_DIR])
    after = searcher.search(QUESTIONS[0])
    assert before and [p.chunk_id for p in after.passages] == before
    assert not after.keyword_only and after.timings["dense"] > 0
    here.close()
    there.close()


def test_cli_in_server_mode(postgres_url: str, chroma_port: int,
                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server trusts any password: this one must never be shown.
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", postgres_url.replace("postgres@",
                                                                    "postgres:hunter2@"))
    monkeypatch.setenv("NEWSBOT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSBOT_CHROMA_PORT", str(chroma_port))
    monkeypatch.setenv("NEWSBOT_COLLECTION", "cli_server")
    write_article(tmp_path / "news", "budget.md", "Parliament passes budget",
                  "The finance minister said the budget would cut the deficit.",
                  source="Capital Courier", published_at="2024-05-03")
    out = CliRunner().invoke(cli, ["index", str(tmp_path / "news")])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("added 1,") and "hunter2" not in out.output
    out = CliRunner().invoke(cli, ["search", "deficit budget", "-k", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert '"title": "Parliament passes budget"' in out.output
    index_dir = tmp_path / "index"  # NEWSBOT_INDEX_DIR: nothing of the index is kept there
    assert not (index_dir / "manifest.sqlite").exists()
    assert not (index_dir / "chroma").exists()
    stats = CliRunner().invoke(cli, ["stats"])
    assert stats.exit_code == 0, stats.output
    assert "articles   1 " in stats.output and "hunter2" not in stats.output
    assert f"MB in schema cli_server of {postgres_url}" in stats.output
