"""Server mode while its services fail and come back, against servers of this module's
own (standins/servers.py): PostgreSQL restarted with `pg_ctl restart` under a running app
and under an index run, and `chroma run` stopped and started again. After each fault the
next question gets a cited answer (keyword-only while Chroma is down), never an error."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_article

from bot.cli import cli
from corpus import load_articles
from corpus.loader import SAMPLE_DIR
from retrieval.app import NewsApp
from retrieval.errors import IndexDatabaseError, VectorStoreError
from retrieval.health import HealthLog, service_checks
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import Settings, get_settings
from standins.servers import (
    _as_fixture,
    chroma_server,
    database,
    postgres_server,
    restart_postgres,
    start_chroma,
    stop_chroma,
)

QUESTION = "Who won the World Cup final in Qatar?"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[str]:
    """A PostgreSQL of this module's own: restarting it disturbs no other test."""
    with _as_fixture(postgres_server()) as url:
        yield url


@pytest.fixture(scope="module")
def own_chroma() -> Iterator[int]:
    with _as_fixture(chroma_server()) as port:
        yield port


def server_settings(base_url: str, port: int, name: str, tmp: Path) -> Settings:
    return get_settings(database_url=database(base_url, name), chroma_host="127.0.0.1",
                        chroma_port=port, collection=name, index_dir=tmp / name,
                        decline_below=0.0)


def server_app(settings: Settings) -> NewsApp:
    return NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)


def assert_cited(app: NewsApp, keyword_only: bool = False) -> None:
    answer = app.answer(QUESTION)
    assert not answer.declined and answer.sources, answer.text
    assert answer.citations_verified >= 1
    said = " ".join(answer.notes)
    assert ("keyword search only" in said) is keyword_only, said


def consistent(app: NewsApp) -> tuple[int, int, int]:
    """Chunks in the catalog, vectors in Chroma, keyword rows; nothing left pending."""
    index = app.index_store
    assert not index.catalog.pending()
    keyword_rows = index.db.one("SELECT docs FROM keyword_totals")[0]  # type: ignore[attr-defined]
    return index.catalog.chunk_count(), index.vectors.count(), keyword_rows


def advisory_locks(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            ).fetchone()[0]


# --- PostgreSQL ------------------------------------------------------------------------------
def test_searches_go_on_after_a_postgres_restart(own_postgres: str, own_chroma: int,
                                                 tmp_path: Path) -> None:
    app = server_app(server_settings(own_postgres, own_chroma, "postgres_restart", tmp_path))
    try:
        app.index([SAMPLE_DIR])
        assert_cited(app)
        before = [p.chunk_id for p in app.search(QUESTION).passages]
        for _ in range(2):  # every pooled connection was ended, twice over
            restart_postgres(own_postgres)
            assert_cited(app)
            assert [p.chunk_id for p in app.search(QUESTION).passages] == before
    finally:
        app.close()


def test_a_run_that_loses_postgres_stops_and_the_next_completes(
        own_postgres: str, own_chroma: int, tmp_path: Path) -> None:
    settings = server_settings(own_postgres, own_chroma, "postgres_midrun", tmp_path)
    app = server_app(settings)
    try:
        def restart_once(done: int, total: int) -> None:
            if done and not restarted:
                restarted.append(done)
                restart_postgres(own_postgres)

        restarted: list[int] = []
        loaded = load_articles([SAMPLE_DIR])
        with pytest.raises(IndexDatabaseError) as stopped:
            app.index_store.update(loaded, [SAMPLE_DIR], progress=restart_once,
                                   batch_chunks=16)
        assert restarted and len(str(stopped.value).splitlines()) == 1
        assert advisory_locks(settings.index.database_url.get_secret_value()) == 0  # holds nothing
        assert_cited(app)  # what was committed answers meanwhile
        report = app.index_store.update(loaded, [SAMPLE_DIR])
        assert report.added > 0
        chunks, vectors, keyword_rows = consistent(app)
        assert chunks == vectors == keyword_rows
        again = app.index_store.update(loaded, [SAMPLE_DIR])
        assert again.changed == 0
        assert_cited(app)
    finally:
        app.close()


# --- Chroma server ---------------------------------------------------------------------------
def test_chroma_down_answers_from_keywords_and_back_uses_both(
        own_postgres: str, own_chroma: int, tmp_path: Path) -> None:
    app = server_app(server_settings(own_postgres, own_chroma, "chroma_down", tmp_path))
    try:
        app.index([SAMPLE_DIR])
        assert_cited(app)
        stop_chroma(own_chroma)
        try:
            assert_cited(app, keyword_only=True)
            result = app.search(QUESTION)
            assert result.keyword_only and result.passages
            assert result.keyword_only_why == "the Chroma server did not answer"
        finally:
            start_chroma(own_chroma)
        assert_cited(app)  # both sides again, same app
        assert not app.search(QUESTION).keyword_only
    finally:
        app.close()


def test_index_run_without_chroma_fails_in_one_line_and_the_next_completes(
        own_postgres: str, own_chroma: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = server_settings(own_postgres, own_chroma, "chroma_run", tmp_path)
    app = server_app(settings)
    loaded = load_articles([SAMPLE_DIR])
    try:
        def stop_once(done: int, total: int) -> None:
            if done and not stopped:
                stopped.append(done)
                stop_chroma(own_chroma)

        stopped: list[int] = []
        try:
            with pytest.raises(VectorStoreError) as failed:
                app.index_store.update(loaded, [SAMPLE_DIR], progress=stop_once,
                                       batch_chunks=16)
            assert stopped and len(str(failed.value).splitlines()) == 1
            assert app.index_store.catalog.pending()  # what the next run completes
            # The command line says it in one line too, with nothing written.
            for name, value in (("DATABASE_URL", settings.index.database_url.get_secret_value()),
                                ("CHROMA_HOST", "127.0.0.1"), ("CHROMA_PORT", str(own_chroma)),
                                ("COLLECTION", "chroma_run")):
                monkeypatch.setenv(f"NEWSBOT_{name}", value)
            write_article(tmp_path / "more", "zebra.md", "Zebra migration starts",
                          "Thousands of zebra began the annual migration.")
            out = CliRunner().invoke(cli, ["index", str(tmp_path / "more")])
            assert out.exit_code == 1 and "Traceback" not in out.output
            message = out.output.strip()
            assert len(message.splitlines()) == 1 and "Chroma" in message, message
            assert_cited(app, keyword_only=True)
        finally:
            start_chroma(own_chroma)
        app.index_store.update(loaded, [SAMPLE_DIR])
        chunks, vectors, keyword_rows = consistent(app)
        assert chunks == vectors == keyword_rows
        assert not app.index_store.catalog.pending()
        assert_cited(app)
    finally:
        app.close()


# --- health: `newsbot doctor` and the bot's watch --------------------------------------------
class ModelList(http.server.BaseHTTPRequestHandler):
    """An LLM server that lists its models (all `newsbot doctor` asks of it)."""

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "m"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def doctor(*args: str) -> tuple[int, dict]:
    out = CliRunner().invoke(cli, ["doctor", *args])
    assert "Traceback" not in out.output
    return out.exit_code, json.loads(out.output) if "--json" in args else out.output


def test_doctor_checks_the_index_and_each_service(
        own_postgres: str, own_chroma: int, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from standins.discord_server import FakeDiscord

    settings = server_settings(own_postgres, own_chroma, "doctor", tmp_path)
    server_app(settings).close()  # an empty index
    llm = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ModelList)
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    discord = FakeDiscord()
    env = {"DATABASE_URL": settings.index.database_url.get_secret_value(),
           "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(own_chroma), "COLLECTION": "doctor",
           "LLM_PROVIDER": "openai", "LLM_MODEL": "m",
           "LLM_BASE_URL": f"http://127.0.0.1:{llm.server_address[1]}/v1"}
    for name, value in env.items():
        monkeypatch.setenv(f"NEWSBOT_{name}", value)
    try:
        with discord.running():
            monkeypatch.setenv("NEWSBOT_DISCORD_API_URL", discord.api_base)
            monkeypatch.setenv("DISCORD_TOKEN", discord.token)
            status, report = doctor("--json")
            names = [c["name"] for c in report["checks"]]
            assert names == ["index", "embedding model", "answer reader", "PostgreSQL",
                             "Chroma server", "LLM server", "Discord"]
            assert status == 0 and report["ok"], report
            assert all(c["seconds"] >= 0 for c in report["checks"])
            status, screen = doctor()
            assert status == 0 and len(screen.splitlines()) == 7, screen
            monkeypatch.setenv("DISCORD_TOKEN", "not-the-token")
            stop_chroma(own_chroma)
            try:
                status, report = doctor("--json")
            finally:
                start_chroma(own_chroma)
        failed = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
        assert status == 1 and not report["ok"]
        assert set(failed) == {"index", "Chroma server", "Discord"}, failed
        assert failed["Discord"].startswith("Discord rejected the token in DISCORD_TOKEN")
    finally:
        llm.shutdown()


def test_the_bot_logs_a_line_a_round_while_unhealthy_and_one_on_recovery(
        own_postgres: str, own_chroma: int, tmp_path: Path) -> None:
    settings = server_settings(own_postgres, own_chroma, "health_log", tmp_path)
    said = HealthLog()
    assert said.observe(service_checks(settings)) == []
    stop_chroma(own_chroma)
    try:
        for _ in range(2):  # a round a minute: a line a minute, no more
            lines = said.observe(service_checks(settings))
            assert len(lines) == 1 and lines[0].startswith("unhealthy: Chroma server"), lines
    finally:
        start_chroma(own_chroma)
    assert said.observe(service_checks(settings)) == ["recovered: Chroma server"]
    assert said.observe(service_checks(settings)) == []
