"""The JSON shapes the issues promise, through the real CLI on the sample corpus."""

import fcntl
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.errors import IndexBusy
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex


@pytest.fixture
def indexed(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("NEWSBOT_DECLINE_BELOW", "0")
    runner = CliRunner()
    assert runner.invoke(cli, ["index"]).exit_code == 0
    return runner


def test_search_json(indexed: CliRunner) -> None:
    result = indexed.invoke(cli, ["search", "penalty shootout Lusail", "-k", "3", "--json"])
    passages = json.loads(result.output)
    assert len(passages) == 3
    for key in ("url", "title", "source", "published_at", "text", "score"):
        assert key in passages[0]
    assert passages[0]["title"] == "Argentina beat France on penalties to win World Cup"
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages),
                                                    reverse=True)


def test_search_rejects_a_bad_date(indexed: CliRunner) -> None:
    result = indexed.invoke(cli, ["search", "x", "--since", "March 3"])
    assert result.exit_code == 2
    assert "not a date like 2023-03-31" in result.output


def test_ask_json(indexed: CliRunner) -> None:
    result = indexed.invoke(cli, ["ask", "Who scored the winning penalty kick?", "--json"])
    answer = json.loads(result.output)
    assert answer["declined"] is False
    assert "[1]" in answer["text"]
    source = answer["sources"][0]
    assert set(source) >= {"n", "title", "source", "published_at", "url", "quote"}
    assert source["quote"] and source["url"].startswith("https://")
    assert answer["citations_verified"] == answer["citations_total"] >= 1


def test_eval_prints_metrics_and_writes_results(indexed: CliRunner, tmp_path: Path) -> None:
    url = "https://sample.newsbot.example/sport/2022/12/18/world-cup-final"
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "date": "2022-12-19", "question": "Who scored the winning penalty kick in "
         "the World Cup final?", "answer": "Gonzalo Montiel", "gold_urls": [url]},
        {"id": "b", "date": "2022-12-19", "question": "Which sheep won the county fair?",
         "answer": "Dolly", "gold_urls": []},
    ]) + "\n")
    out = tmp_path / "results.jsonl"
    result = indexed.invoke(cli, ["eval", str(questions), "--out", str(out), "--answers",
                                  "--json"])
    metrics = json.loads(result.output)
    assert metrics["questions"] == 2 and metrics["answerable"] == 1
    assert metrics["hits@10"] == 1.0 and metrics["mrr@10"] > 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert set(lines[0]["passages"][0]) == {"url", "title", "text", "score"}
    assert "citations_total" in lines[0]["answer"]


def test_a_second_indexer_is_refused(tmp_path: Path) -> None:
    news_index = NewsIndex(tmp_path / "idx", HashEmbedder())
    with open(tmp_path / "idx" / "index.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(IndexBusy, match=r"another index run \(newsbot index, watch or "
                           r"/reindex\) is updating"):
            news_index.rebuild()
