import json
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from bot.cli import cli


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(cli)], ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output, f"`newsbot {' '.join(path)} --help` shows no example"


def test_index_help_names_every_file_type_the_readers_read() -> None:
    from retrieval.types import ARTICLE_SUFFIXES

    shown = " ".join(CliRunner().invoke(cli, ["index", "--help"]).output.split())
    assert len(ARTICLE_SUFFIXES) >= 6 and "FILE_TYPES" not in shown
    named = set(re.findall(r"\.[a-z]+(?:\.[a-z]+)?(?=[,; ])", shown))
    assert set(ARTICLE_SUFFIXES) <= named


def test_help_needs_no_heavy_imports() -> None:
    code = ("import sys; from bot.cli import main; sys.argv=['newsbot','--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch','chromadb','sentence_transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().endswith("[]")


def test_commands_that_answer_nothing_leave_langchain_unloaded() -> None:
    """search, stats, doctor and the feeds commands go through `NewsApp` too; the answer
    chain (and langchain behind it) loads with the first question answered."""
    code = ("import sys, retrieval.app\n"
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('langchain')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_index_default_corpus_then_stats_json() -> None:
    result = CliRunner().invoke(cli, ["index", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["added"] >= 20 and summary["failed"] == 0
    data = json.loads(CliRunner().invoke(cli, ["stats", "--json"]).output)
    assert data["articles"] == summary["added"]
    assert data["chunks"] >= data["articles"]
    assert data["model"] == "hash:256"
    assert data["first_published"] < data["last_published"]


def test_index_progress_is_logged_when_stderr_is_not_a_terminal(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.progress import progress_bar

    monkeypatch.setattr(progress_bar, "log_every_s", 0.0)
    monkeypatch.setattr(progress_bar, "show_after_s", 0.0)
    with progress_bar(quiet=False) as update:
        update(250, 1000)
        update(1000, 1000)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("embedded 250/1000 articles (25 %)")
    assert lines[0].endswith(" s left")  # seconds under a minute
    with progress_bar(quiet=True) as update:
        assert update is None


def test_stats_without_index_is_a_clean_error() -> None:
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 1
    assert "run `newsbot index` first" in result.output
