"""Every mistake a user can make on the command line is one clear line (exit status 1, or
2 for a malformed option), never a traceback, and never writes an index as a side effect."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_article

from bot.cli import cli
from retrieval.errors import VectorStoreError
from retrieval.settings import get_settings


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.exception is None or \
        isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.fixture
def indexed() -> None:
    assert run("index").exit_code == 0


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("NEWSBOT_ANSWER_PASSAGES", "abc", "should be a valid integer"),
    ("NEWSBOT_LLM_PROVIDER", "gpt", "'none', 'ollama', 'openai' or 'llamacpp'"),
    ("NEWSBOT_EMBEDDING_BATCH_SIZE", "0", "greater than or equal to 1"),
    ("NEWSBOT_ANSWER_MAX_SENTENCES", "-2", "greater than or equal to 1"),
    ("NEWSBOT_CHROMA_PORT", "99999", "less than or equal to 65535"),
    ("NEWSBOT_DECLINE_BELOW", "7.2", "less than or equal to 1"),
])
def test_a_malformed_setting_names_the_variable(variable: str, value: str, expected: str
                                                ) -> None:
    for command in (["stats"], ["search", "x"], ["index"]):
        line = one_line_error(run(*command, env={variable: value}))
        assert f"{variable}={value!r}" in line and expected in line


def test_a_retired_setting_says_what_replaced_it() -> None:
    line = one_line_error(run("stats", env={"NEWSBOT_REFUSE_BELOW": "7.2"}))
    assert "NEWSBOT_REFUSE_BELOW" in line and "NEWSBOT_DECLINE_BELOW" in line


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-1")
    monkeypatch.setenv("NEWSBOT_LLM_API_KEY", "llm-secret-2")
    monkeypatch.setenv("NEWSBOT_CHROMA_TOKEN", "chroma-secret-3")
    settings = get_settings()
    shown = repr(settings) + str(settings) + json.dumps(settings.model_dump(mode="json"))
    assert not any(s in shown for s in ("discord-secret-1", "llm-secret-2", "chroma-secret-3"))
    line = one_line_error(run("stats", env={"NEWSBOT_ANSWER_PASSAGES": "x"}))
    assert "secret" not in line


@pytest.mark.parametrize("command", ["search", "ask"])
def test_an_empty_question_is_refused(indexed: None, command: str) -> None:
    for question in ("", "   "):
        assert "the question is empty" in one_line_error(run(command, question))


def test_k_must_be_at_least_one(indexed: None) -> None:
    line = one_line_error(run("search", "World Cup", "-k", "0"), code=2)
    assert "-k" in line and ">=1" in line


@pytest.mark.parametrize("command", [["search", "x"], ["ask", "x"], ["chat"], ["stats"],
                                     ["latest"]])
def test_no_index_is_an_error_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    where = tmp_path / "nowhere"
    line = one_line_error(run("--index-dir", str(where), *command))
    assert "run `newsbot index` first" in line
    assert not where.exists()


def test_an_empty_index_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    assert run("index", str(folder)).exit_code == 0
    assert "is empty; run `newsbot index`" in one_line_error(run("search", "anything"))


def test_index_dir_is_accepted_after_the_command(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    assert run("index", "--index-dir", str(elsewhere)).exit_code == 0
    result = run("stats", "--json", "--index-dir", str(elsewhere))
    assert json.loads(result.output)["index_dir"] == str(elsewhere)
    assert not (tmp_path / "index").exists()  # NEWSBOT_INDEX_DIR was not used


def test_plurals_unknown_outlets_and_long_source_lists(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "one.md", "Lighthouse keeper retires", "The last keeper of the "
                  "Stony Point lighthouse retired on Friday after forty years.")
    result = run("index", str(folder))
    assert "(1 chunk embedded in" in result.output
    found = run("search", "lighthouse keeper retires")
    assert "unknown outlet · undated" in found.output and "·  ·" not in found.output
    for i in range(11):
        write_article(folder, f"s{i}.md", f"Story {i} of the fair", f"The county fair opened "
                      f"stall number {i} on Sunday.", source=f"Outlet {i:02d}")
    run("index", str(folder))
    stats = run("stats").output
    assert "sources    12: " in stats and "and 4 more" in stats


def test_an_unreachable_llm_names_its_url(indexed: None,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """The question is still answered (extractively, saying so); the log names the URL."""
    pytest.importorskip("langchain_openai")
    env = {"NEWSBOT_LLM_PROVIDER": "openai", "NEWSBOT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
           "NEWSBOT_DECLINE_BELOW": "0", "NEWSBOT_LLM_TIMEOUT": "5"}
    result = run("ask", "Who won the World Cup final?", env=env)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "The language model did not answer" in result.output
    assert "http://127.0.0.1:9/v1" in caplog.text
    assert "check that the server is running" in caplog.text


def test_a_failing_chroma_query_is_a_domain_error(news_index) -> None:
    vector = news_index.embedder.embed_query("anything")
    with pytest.raises(VectorStoreError, match="the Chroma query failed"):
        news_index.vectors.query(vector, 5, {"published_ts": {"$nonsense": 1}})


def test_a_question_file_with_a_bad_line_names_it(indexed: None, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_bytes(b'{"question": "Who won?"}\n{"question": 5, "date": "soon"}\n')
    assert "q.jsonl:2: not a question record" in one_line_error(run("eval", str(questions)))


def test_a_mistyped_path_never_rebuilds_the_index(indexed: None, tmp_path: Path) -> None:
    line = one_line_error(run("index", str(tmp_path / "typo"), "--rebuild"))
    assert "typo: no such file or folder; nothing was rebuilt" in line
    assert json.loads(run("stats", "--json").output)["articles"] == 24


def test_an_unwritable_eval_output_is_one_line(indexed: None, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Who won the World Cup final?"}\n')
    line = one_line_error(run("eval", str(questions), "--out", str(tmp_path / "no" / "x")))
    assert "cannot write" in line
