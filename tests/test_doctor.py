"""`newsbot doctor` on a local index (services are tests/test_service_faults.py): one
screen, exit status 0 when all is well and 1 when a check fails, `--json` alike."""

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_article

from bot.cli import cli


def test_doctor_on_a_local_index(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["doctor"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert missing.output.startswith("FAIL index") and "newsbot index" in missing.output
    write_article(tmp_path / "news", "dam.md", "River dam opens",
                  "The Lakeside dam opened on Monday after ten years of building.")
    assert runner.invoke(cli, ["index", str(tmp_path / "news")]).exit_code == 0
    screen = runner.invoke(cli, ["doctor"])
    assert screen.exit_code == 0, screen.output
    lines = screen.output.splitlines()
    assert [line.split()[1] for line in lines] == ["index", "embedding", "answer"]
    assert "loads and reads" in lines[2]
    assert "1 articles" in lines[0] and "no pending writes" in lines[0]
    report = json.loads(runner.invoke(cli, ["doctor", "--json"]).output)
    assert report["ok"] and [c["name"] for c in report["checks"]] == [
        "index", "embedding model", "answer reader"]
    # Without the reader there is nothing of it to check.
    off = json.loads(runner.invoke(cli, ["doctor", "--json"],
                                   env={"NEWSBOT_ANSWER_READER": "false"}).output)
    assert [c["name"] for c in off["checks"]] == ["index", "embedding model"]
    # A configured LLM that is not there fails the doctor, not the index.
    failing = runner.invoke(cli, ["doctor", "--json"], env={
        "NEWSBOT_LLM_PROVIDER": "llamacpp", "NEWSBOT_LLM_GGUF_PATH": str(tmp_path / "x.gguf")})
    report = json.loads(failing.output)
    assert failing.exit_code == 1
    assert [c["name"] for c in report["checks"] if not c["ok"]] == ["LLM server"]


def test_doctor_checks_the_reader_only_when_answers_run_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights without a reader lead: answers never run the reader, so neither does the
    doctor (it asks the chain's own question, `reads_spans`)."""
    from retrieval.answer import chain, reader_lead
    from retrieval.settings import get_settings

    write_article(tmp_path / "news", "dam.md", "River dam opens",
                  "The Lakeside dam opened on Monday after ten years of building.")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(tmp_path / "news")]).exit_code == 0
    monkeypatch.setattr(reader_lead, "shipped_reader_lead", lambda: None)
    report = json.loads(runner.invoke(cli, ["doctor", "--json"]).output)
    assert [c["name"] for c in report["checks"]] == ["index", "embedding model"]
    assert get_settings().answers.reader and not chain.reads_spans(get_settings())


def test_doctor_says_in_words_why_a_server_did_not_answer(tmp_path: Path) -> None:
    write_article(tmp_path / "news", "dam.md", "River dam opens",
                  "The Lakeside dam opened on Monday after ten years of building.")
    runner = CliRunner()
    assert runner.invoke(cli, ["index", str(tmp_path / "news")]).exit_code == 0
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    screen = runner.invoke(cli, ["doctor"], env={"NEWSBOT_LLM_PROVIDER": "openai",
                                                 "NEWSBOT_LLM_BASE_URL": base})
    assert screen.exit_code == 1
    line = next(line for line in screen.output.splitlines() if "LLM server" in line)
    assert f"cannot reach {base}/models: connection refused" in line
    assert "Error" not in line
    missing = runner.invoke(cli, ["--index-dir", str(tmp_path / "none"), "doctor"])
    assert "IndexMissing" not in missing.output and "newsbot index" in missing.output
