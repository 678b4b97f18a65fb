"""Votes on answers in real SQLite: hashed members, one vote each, an export that
`newsbot eval` reads, and the summary."""

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from retrieval.app import NewsApp
from retrieval.feedback import FeedbackStore
from retrieval.index.news_index import NewsIndex
from retrieval.settings import get_settings
from retrieval.types import Answer, Source

URL = "https://sample.newsbot.example/sport/2022/12/18/world-cup-final"


def answer(question: str, quote: str = "Gonzalo Montiel scored the winning penalty.") -> Answer:
    return Answer(question=question, text=f"{quote[:-1]} [1].", declined=False,
                  standalone_question=question,
                  sources=[Source(n=1, title="Final", source="Touchline Press",
                                  published_at=datetime(2022, 12, 18, tzinfo=UTC), url=URL,
                                  quote=quote)])


def test_votes_are_counted_once_per_member_and_hashed(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    liked = store.record_answer(answer("Who scored the winning penalty?"), 1, 2)
    disliked = store.record_answer(answer("Who won the chess final?"), 1, 2)
    member = 987654321012345678
    assert store.vote(liked, member, up=False) and store.vote(liked, member, up=True)
    assert store.vote(liked, 43, up=True) and store.vote(disliked, member, up=False)
    assert not store.vote("000000000000", 42, up=True)
    data = store.stats()
    assert (data["answers"], data["rated"], data["up"], data["down"]) == (2, 2, 2, 1)
    assert data["most_disliked"][0]["question"] == "Who won the chess final?"
    store.db.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("feedback.sqlite*"))
    assert str(member).encode() not in raw  # only a salted hash is kept
    other = FeedbackStore(tmp_path / "other.sqlite")
    assert store.user_hash(member) != other.user_hash(member)  # salted per database
    other.close()
    store.close()


def test_export_is_a_question_file_that_eval_reads(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    liked = store.record_answer(answer("Who scored the winning penalty in the World Cup "
                                       "final?", "Gonzalo Montiel"))
    store.vote(liked, 7, up=True)
    disliked = store.record_answer(answer("Which sheep won the fair?"))
    store.vote(disliked, 7, up=False)
    store.close()
    env = {"NEWSBOT_DISCORD_FEEDBACK_DB": str(tmp_path / "feedback.sqlite")}
    runner = CliRunner()
    out = tmp_path / "liked.jsonl"
    result = runner.invoke(cli, ["feedback", "export", str(out)], env=env)
    assert result.exit_code == 0 and "wrote 1 question to" in result.output
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["gold_urls"] == [URL] and record["answer"] == "Gonzalo Montiel"
    assert runner.invoke(cli, ["index"]).exit_code == 0
    metrics = json.loads(runner.invoke(cli, ["eval", str(out), "--json"]).output)
    assert metrics["answerable"] == 1 and metrics["hits@5"] == 1.0
    stats = runner.invoke(cli, ["feedback", "stats"], env=env)
    assert "answers 2, rated 2: 1 👍, 1 👎" in stats.output


def test_the_app_records_answers_and_votes_in_the_store_the_settings_name(
        tmp_path: Path, news_index: NewsIndex) -> None:
    settings = get_settings(discord_feedback_db=tmp_path / "votes" / "app.sqlite")
    app = NewsApp(settings, news_index, chat_model=None)
    answer_id = app.record_answer(answer("Who scored the winning penalty?"), 1, 2)
    assert app.vote(answer_id, 42, up=True) and not app.vote("000000000000", 42, up=True)
    app.close()
    store = FeedbackStore(tmp_path / "votes" / "app.sqlite")  # opened lazily, there
    assert (store.stats()["answers"], store.stats()["up"]) == (1, 1)
    store.close()
