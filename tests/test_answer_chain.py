"""The question's path, read top-down: the answer chain is five named steps, the search
parses the question once and hands it to the answer, and `ask` goes app -> chain ->
search -> answer modules without coming back to a module it left."""

import ast
import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import index_rows
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from test_answers import ARTICLES as ANSWER_ARTICLES

from retrieval.answer.chain import Answerer, Asked, Condensed, Draft, Retrieved, Selected
from retrieval.app import NewsApp
from retrieval.errors import IndexEmpty
from retrieval.index.news_index import NewsIndex
from retrieval.search.searcher import Searcher
from retrieval.settings import get_settings
from retrieval.text import content_terms, proper_nouns
from retrieval.types import Answer, SearchFilters

REPO = Path(__file__).resolve().parent.parent
ARTICLES = ANSWER_ARTICLES[:2]  # the dam and the Paris pledge


@pytest.fixture
def filled(news_index: NewsIndex, tmp_path: Path) -> NewsIndex:
    index_rows(news_index, tmp_path / "news", ARTICLES)
    return news_index


def test_the_chain_is_five_named_steps_in_order(filled: NewsIndex) -> None:
    answerer = Answerer(Searcher(filled), None, get_settings(decline_below=0.0))
    steps = answerer.chain.steps
    assert [step.name for step in steps] == ["condense", "retrieve", "select", "compose",
                                             "verify"]
    # Each step takes the record the one before made: walk them by hand.
    asked = Asked("Who led the dam project?", [], None, None, None, deadline=math.inf)
    condensed = answerer.condense(asked)
    retrieved = answerer.retrieve(condensed)
    selected = answerer.select(retrieved)
    draft = answerer.compose(selected)
    answer = answerer.verify(draft)
    assert [type(r) for r in (condensed, retrieved, selected, draft, answer)] == [
        Condensed, Retrieved, Selected, Draft, Answer]
    assert retrieved.result.question.text == condensed.standalone == asked.question
    assert not selected.declined and "Maria Duarte" in draft.text and "Maria Duarte" in answer.text
    assert answer.text == answerer.answer(asked.question).text


def test_the_search_parses_the_question_once_for_the_answer(
        filled: NewsIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    searcher = Searcher(filled)
    question = "How much did Canada pledge at the Paris talks?"
    parsed = searcher.search(question).question
    assert parsed.terms == content_terms(question)
    assert parsed.names == proper_nouns(question)
    assert parsed.idf == searcher.idf(parsed.terms)[0]
    # An answer reads the document frequencies once: the search's, handed on.
    reads = []
    real = filled.keywords.document_frequencies

    def counted(terms: list[str]) -> dict[str, int]:
        reads.append(list(terms))
        return real(terms)

    monkeypatch.setattr(filled.keywords, "document_frequencies", counted)
    answer = Answerer(searcher, None, get_settings(decline_below=0.0)).answer(question)
    assert "2.5 billion dollars" in answer.text
    assert reads == [parsed.terms]


def test_an_empty_index_is_said_by_the_search_itself(news_index: NewsIndex) -> None:
    searcher = Searcher(news_index)
    with pytest.raises(IndexEmpty, match="is empty"):
        searcher.search("Who led the dam project?")
    with pytest.raises(IndexEmpty, match="is empty"):
        Answerer(searcher, None, get_settings()).answer("Who led the dam project?")


ORCHESTRATORS = {"retrieval/app.py", "retrieval/answer/chain.py"}
# Records and helpers every layer shares: not a stop on the path.
SHARED = ("retrieval/text.py", "retrieval/types.py", "retrieval/errors.py",
          "retrieval/settings.py")


def _stop(path: str) -> str | None:
    """The stop on the question's path a file is: the chain, the search, the index, or
    the answer modules the chain uses."""
    if not path.startswith("retrieval/") or path in SHARED:
        return None
    if path == "retrieval/answer/chain.py":
        return "chain"
    return path.split("/")[1].removesuffix(".py")  # app, search, index, answer


@contextmanager
def stops_called() -> Iterator[list[str]]:
    """The stops that the app and the chain call into, in order, a stop repeated only
    when something else came between."""
    seen: list[str] = []
    root = str(REPO) + "/"

    def profile(frame, event, _arg):
        if event != "call" or frame.f_back is None:
            return
        callee = frame.f_code.co_filename.removeprefix(root)
        caller = frame.f_back.f_code.co_filename.removeprefix(root)
        stop = _stop(callee)
        if (caller in ORCHESTRATORS and callee != caller and stop and stop != _stop(caller)
                and (not seen or seen[-1] != stop)):
            seen.append(stop)

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


def written(reply: str, times: int) -> GenericFakeChatModel:
    """A chat model (outside, so faked) that writes `reply` each time it is asked."""
    return GenericFakeChatModel(messages=iter([AIMessage(content=reply)] * times))


@pytest.mark.parametrize(("declines", "llm", "outlet"), [
    (False, False, ""), (True, False, ""), (False, True, ""), (False, False, "River Post")])
def test_ask_visits_each_module_once_in_order(filled: NewsIndex, declines: bool,
                                              llm: bool, outlet: str) -> None:
    model = written("Engineer Maria Duarte led the project [1].", 2) if llm else None
    app = NewsApp(get_settings(decline_below=float(declines)), filled, chat_model=model)
    question = "Who led the dam project?"
    filters = SearchFilters(sources=(outlet,)) if outlet else None  # checked by the search
    app.answer(question, filters=filters)  # builds the searcher and the answerer
    with stops_called() as path:
        answer = app.answer(question, filters=filters)
    assert answer.declined == declines
    assert answer.answerer == ("llm" if llm else "extractive")
    assert path == ["chain", "search", "answer"]


def test_the_answer_reaches_the_index_only_through_the_searcher() -> None:
    """No `searcher.index.embedder` or `searcher.index.catalog`, no import of the index:
    what the answer needs of it is a named method of the searcher or in the result."""
    reaching = []
    for path in sorted((REPO / "retrieval" / "answer").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            through = (isinstance(node, ast.Attribute) and node.attr == "index"
                       and "searcher" in ast.unparse(node.value))
            imports = (isinstance(node, ast.ImportFrom) and node.module
                       and node.module.startswith("retrieval.index"))
            if through or imports:
                reaching.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not reaching
