"""What a newcomer meets in the first hour, each said plainly: a mistyped path, outlet or
setting, reads during a rebuild, an empty index's stats, piped chat, progress times, quiet
model loading, and a page's publication time of day."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, story, write_article

import bot.progress as progress
from bot.cli import cli
from corpus.webpage import read_html
from retrieval.app import NewsApp
from retrieval.errors import IndexEmpty, SettingsError
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import get_settings


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def newsbot(*args: str, stdin: str = "", env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own (stdin a pipe, not a terminal)."""
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                          capture_output=True, timeout=300, env={**os.environ, **(env or {})})


def test_indexing_a_missing_path_creates_no_index_folder(tmp_path: Path) -> None:
    result = run("index", "/no/such/path")
    assert result.exit_code == 1
    assert "/no/such/path: no such file or folder; nothing was indexed" in result.output
    assert not (tmp_path / "index").exists()


def test_reads_during_a_rebuild_say_a_rebuild_is_under_way(tmp_path: Path) -> None:
    settings = get_settings()
    with NewsApp.open(settings, embedder=HashEmbedder(), create=True) as app:
        app.index()
        with app.index_store.running():  # `index --rebuild` holds the run lock throughout
            app.rebuild()  # what it does before it indexes everything again
            with NewsApp.open(settings, embedder=HashEmbedder()) as reader:
                with pytest.raises(IndexEmpty) as refused:
                    reader.search("Who won the World Cup final?")
                assert "is being rebuilt (since " in str(refused.value)
                assert refused.value.fix == "await-rebuild"  # said by each front end
        with NewsApp.open(settings, embedder=HashEmbedder()) as reader:
            with pytest.raises(IndexEmpty) as stopped:  # the run stopped there: nothing going
                reader.search("Who won the World Cup final?")
            assert "was emptied by a rebuild at " in str(stopped.value)
            assert "that stopped before it committed an article" in str(stopped.value)
            assert stopped.value.fix == "index-again"
            app.index()
            assert reader.search("World Cup final").passages  # whole again
        assert app.index_store.catalog.get_meta("rebuild_started") is None


def test_a_misspelled_outlet_names_the_closest_and_the_outlets() -> None:
    assert run("index").exit_code == 0
    result = run("search", "World Cup", "--source", "Ledger Dialy")
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("error: no outlet named 'Ledger Dialy' (did you mean "
                           "'Ledger Daily'?); outlets: ")
    assert "Touchline Press" in line and "Northern Ledger" in line
    assert run("search", "World Cup", "--source", "ledger daily").exit_code == 0  # any case
    far = run("ask", "Who won?", "--source", "Zzyzx Gazette")
    assert "no outlet named 'Zzyzx Gazette'; outlets: " in far.output


def test_an_unknown_embedding_device_is_refused_up_front(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_EMBEDDING_DEVICE", "gpu")
    with pytest.raises(SettingsError) as refused:
        get_settings()
    assert str(refused.value) == ("NEWSBOT_EMBEDDING_DEVICE='gpu' is not accepted: it should "
                                  "be `auto`, `cpu`, `cuda`, `cuda:N` (a GPU's number) or "
                                  "`mps`")
    result = run("stats")
    assert result.exit_code == 1 and "Traceback" not in result.output
    for good in ("auto", "cpu", "cuda", "cuda:1", "CUDA:0"):
        monkeypatch.setenv("NEWSBOT_EMBEDDING_DEVICE", good)
        assert get_settings().embedding.device == good.lower()


def test_a_misspelled_setting_is_warned_about_with_the_closest_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("NEWSBOT_INDX_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("NEWSBOT_STRESS_PARAGRAPHS", "3")  # far from any setting: not a typo
    (tmp_path / ".env").write_text("NEWSBOT_EMBEDING_MODEL=hash\n")  # cwd is tmp_path
    with caplog.at_level(logging.WARNING, logger="newsbot.settings"):
        get_settings()
        get_settings()  # once per process, not once per read
    assert [r.getMessage() for r in caplog.records] == [
        "NEWSBOT_INDX_DIR is not a newsbot setting; did you mean NEWSBOT_INDEX_DIR?",
        "NEWSBOT_EMBEDING_MODEL is not a newsbot setting; did you mean "
        "NEWSBOT_EMBEDDING_MODEL?"]
    # From the command line: one line on stderr, and the command still runs.
    shown = newsbot("stats", env={"NEWSBOT_DECLINE_BELLOW": "0.5"})
    assert "NEWSBOT_DECLINE_BELLOW is not a newsbot setting; did you mean " \
        "NEWSBOT_DECLINE_BELOW?" in shown.stderr.splitlines()


def test_stats_of_an_empty_index_shows_no_empty_lists(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert run("index", str(tmp_path / "empty")).exit_code == 0
    shown = run("stats").output
    assert "sources    none" in shown and "published  no dates" in shown
    assert "sources    0:" not in shown and "? .. ?" not in shown


def test_the_progress_line_counts_seconds_under_a_minute(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clock = iter([100.0, 140.0, 220.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a log file: lines, not a bar
    with progress.progress_bar(False) as update:
        assert update is not None
        update(4, 5)   # 40 s for 4 articles: about 10 s left
        update(5, 50)  # 120 s for 5: about 18 min left
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["embedded 4/5 articles (80 %) in 40 s, about 10 s left",
                     "embedded 5/50 articles (10 %) in 2.0 min, about 18.0 min left"]


def test_a_pages_publication_time_keeps_its_time_of_day(tmp_path: Path) -> None:
    html = ("<html><head><title>Harbour bridge opens</title>"
            '<meta property="article:published_time" content="2024-03-05T08:30:00Z">'
            "</head><body><article><h1>Harbour bridge opens</h1>"
            + "".join(f"<p>{p}</p>" for p in story("harbour bridge"))
            + "</article></body></html>")
    article = read_html(tmp_path / "bridge.html", html)
    assert article.published_at is not None
    assert article.published_at.isoformat() == "2024-03-05T08:30:00+00:00"


def test_piped_chat_reads_plain_lines_and_echoes_each_question(tmp_path: Path) -> None:
    assert run("index").exit_code == 0
    questions = ["Who won the World Cup final in Qatar?", "", "  What did the city council "
                 "approve?", "/quit", "Never asked"]
    chat = newsbot("chat", stdin="\n".join(questions) + "\n")
    assert chat.returncode == 0, chat.stderr
    assert "Input is not a terminal" not in chat.stdout + chat.stderr
    assert "you>" not in chat.stdout  # no prompt: each question is echoed once instead
    lines = chat.stdout.splitlines()
    echoed = [i for i, line in enumerate(lines) if line.startswith("> ")]
    assert [lines[i] for i in echoed] == ["> Who won the World Cup final in Qatar?",
                                          "> What did the city council approve?", "> /quit"]
    first_answer = "\n".join(lines[echoed[0] + 1:echoed[1]])  # read back against its input
    assert "Argentina" in first_answer
    assert echoed[1] + 1 < echoed[2] and chat.stdout.rstrip().endswith("Bye.")


@pytest.mark.slow
def test_loading_the_model_shows_no_progress_bar() -> None:
    # transformers imported first, as another part of a program may have done.
    code = ("import transformers\n"
            "from retrieval.index.embedding import SentenceTransformerEmbedder\n"
            "SentenceTransformerEmbedder(device='cpu').model\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "Loading weights" not in proc.stdout + proc.stderr


def test_index_json_counts_the_files_passed_over(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "a.md", "Story A", story("trains"))
    (folder / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    summary = json.loads(run("index", str(folder), "--json").output.splitlines()[-1])
    assert (summary["added"], summary["skipped"], summary["failed"]) == (1, 1, 0)


def test_no_index_says_which_argument_or_setting_named_the_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = run("--index-dir", str(tmp_path / "typo"), "search", "harbour")
    assert given.exit_code == 1
    assert f"no index at {tmp_path / 'typo'} (named by --index-dir); run `newsbot index` " \
        "first" in given.output
    monkeypatch.setenv("NEWSBOT_INDEX_DIR", str(tmp_path / "other"))
    assert f"no index at {tmp_path / 'other'} (named by NEWSBOT_INDEX_DIR); " in \
        run("stats").output
    monkeypatch.delenv("NEWSBOT_INDEX_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the default folder, under it
    assert "(the default folder; NEWSBOT_INDEX_DIR or --index-dir names another); run " \
        "`newsbot index` first" in run("ask", "Who won?").output
