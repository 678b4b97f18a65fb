"""The answer chain with the extractive answerer and with fake chat models for the edge
cases (a real llama.cpp server is exercised in test_llm_llamacpp.py)."""

import re
from datetime import date
from pathlib import Path

import pytest
from conftest import index_rows
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from retrieval.answer.chain import Answerer
from retrieval.answer.citations import check_citations
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings
from retrieval.types import Passage

ARTICLES = [
    ("dam.md", "River dam opens after ten years", "The Lakeside dam opened on Monday after "
     "ten years of building. It holds enough water for two million homes. Engineer Maria "
     "Duarte led the project.", "River Post", "2024-05-06"),
    ("pledge.md", "Canada pledges aid at Paris talks", "Canada pledged 2.5 billion dollars "
     "for Ukraine's recovery at the Paris talks. Prime Minister Mark Carney announced the "
     "money on Tuesday.", "Northern Ledger", "2024-05-07"),
    ("paris.md", "Leaders meet in Paris on Ukraine", "European leaders met in Paris on "
     "Tuesday to discuss security guarantees for Ukraine. France hosted the meeting.",
     "Global Desk", "2024-05-07"),
]


@pytest.fixture
def searcher(news_index, tmp_path: Path) -> Searcher:
    index_rows(news_index, tmp_path / "news", ARTICLES)
    return Searcher(news_index)


def settings(**overrides):
    return get_settings(decline_below=0.0, **overrides)


def fake(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))


class BrokenModel(GenericFakeChatModel):
    error: type[Exception] = RuntimeError

    def _generate(self, *args, **kwargs):
        raise self.error("connection refused by provider")

    def _stream(self, *args, **kwargs):
        raise self.error("connection refused by provider")


def test_extractive_answer_quotes_passages(searcher: Searcher) -> None:
    answer = Answerer(searcher, None, settings()).answer("Who led the dam project?")
    assert not answer.declined
    assert "Maria Duarte" in answer.text
    assert answer.sources[0].title == "River dam opens after ten years"
    # Every sentence, without its markers, is word for word in the cited passage.
    for source in answer.sources:
        assert source.quote in source.passage
    assert answer.citations_verified == answer.citations_total >= 1


def test_llm_answer_with_valid_and_invalid_markers(searcher: Searcher) -> None:
    model = fake("Canada pledged 2.5 billion dollars for Ukraine's recovery [1][7]. "
                 "France hosted the meeting [2].")
    tokens: list[str] = []
    answer = Answerer(searcher, model, settings()).answer(
        "What did Canada pledge at the Paris talks?", on_token=tokens.append)
    assert len(tokens) > 3 and "".join(tokens).startswith("Canada pledged")
    assert "[7]" not in answer.text
    assert answer.citations_total == 2 and answer.citations_verified == 2
    assert [s.n for s in answer.sources] == [1, 2]
    assert answer.sources[0].title == "Canada pledges aid at Paris talks"


def test_llm_answer_without_citations_is_flagged(searcher: Searcher) -> None:
    answer = Answerer(searcher, fake("Canada gave money."), settings()).answer(
        "What did Canada pledge?")
    assert answer.citations_total == 0
    assert answer.unsupported == ["Canada gave money."]
    assert answer.sources == []


def test_all_citations_invalid(searcher: Searcher) -> None:
    answer = Answerer(searcher, fake("Canada pledged money [9]. It was a lot [12]."),
                      settings()).answer("What did Canada pledge?")
    assert "[" not in answer.text
    assert answer.citations_total == 0 and len(answer.unsupported) == 2


def test_unsupported_citation_is_not_verified(searcher: Searcher) -> None:
    answer = Answerer(searcher, fake("Brazil won the chess olympiad in Lima [1]."),
                      settings()).answer("What did Canada pledge?")
    assert answer.citations_total == 1 and answer.citations_verified == 0
    assert answer.unsupported


def test_empty_reply_and_provider_errors_fall_back_to_extractive(
        searcher: Searcher, caplog: pytest.LogCaptureFixture) -> None:
    """A model that fails gives the extractive answer with a note; the log says why,
    naming the model's URL."""
    class Slow(BrokenModel):
        error: type[Exception] = TimeoutError

    cases = [(fake(""), {}, "empty reply|No generation chunks"),
             (BrokenModel(messages=iter([])), {"llm_base_url": "http://127.0.0.1:9/v1"},
              r"cannot reach the language model at http://127.0.0.1:9/v1 \(RuntimeError: "
              "connection refused"),
             (Slow(messages=iter([])), {}, "did not answer within 60 s")]
    extractive = Answerer(searcher, None, settings()).answer("What did Canada pledge?")
    for model, overrides, logged in cases:
        caplog.clear()
        answer = Answerer(searcher, model, settings(**overrides)).answer(
            "What did Canada pledge?", on_token=lambda _: None)
        assert answer.answerer == "extractive" and answer.text == extractive.text
        assert answer.citations_verified >= 1
        assert any("did not answer" in note for note in answer.notes)
        assert re.search(logged, caplog.text), caplog.text


def test_llm_that_does_not_know_declines(searcher: Searcher) -> None:
    answer = Answerer(searcher, fake("I don't know."), settings()).answer("Canada?")
    assert answer.declined and "don't cover this" in answer.text


def test_nothing_relevant_declines_with_coverage(searcher: Searcher) -> None:
    answerer = Answerer(searcher, None, get_settings(decline_below=1.0))
    answer = answerer.answer("Who won the cricket world cup?")
    assert answer.declined
    assert answer.text == "The indexed articles (3 articles up to 2024-05-07) don't cover this."


def test_follow_up_is_rewritten_without_llm(searcher: Searcher) -> None:
    answerer = Answerer(searcher, None, settings())
    first = answerer.answer("What happened at the Paris talks on Ukraine?")
    follow = answerer.answer("and what did Canada pledge?",
                             history=[(first.standalone_question, first.text)])
    assert "Paris" in follow.standalone_question and "Canada" in follow.standalone_question
    assert "2.5 billion" in follow.text


def test_follow_up_is_rewritten_by_the_llm(searcher: Searcher) -> None:
    model = fake("What did Canada pledge at the Paris talks on Ukraine?",
                 "Canada pledged 2.5 billion dollars for Ukraine's recovery [1].")
    answer = Answerer(searcher, model, settings()).answer(
        "and what did Canada pledge?", history=[("What happened at the Paris talks?", "...")])
    assert answer.standalone_question == "What did Canada pledge at the Paris talks on Ukraine?"
    assert answer.citations_verified == 1


def test_citation_check_renumbers_in_order_of_use() -> None:
    passages = [Passage(f"c{i}", f"a{i}", text, f"T{i}", f"u{i}", "S", None, 1.0)
                for i, text in enumerate(["Cats sleep a lot.", "Dogs bark at night."], 1)]
    checked = check_citations("Dogs bark at night. [2] Cats sleep a lot [1][1].", passages)
    assert checked.text == "Dogs bark at night [1]. Cats sleep a lot [2]."
    assert [c.passage.chunk_id for c in checked.citations] == ["c2", "c1"]
    assert (checked.verified, checked.total) == (2, 2)


def test_dates_flow_into_the_search(searcher: Searcher) -> None:
    answer = Answerer(searcher, None, settings()).answer(
        "What opened yesterday?", today=date(2024, 5, 7))
    assert answer.sources and answer.sources[0].title == "River dam opens after ten years"
