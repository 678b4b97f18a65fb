from pathlib import Path

import pytest

from retrieval.answer.followup import condense, looks_like_followup
from retrieval.answer.llm import make_chat_model
from retrieval.errors import LLMError
from retrieval.settings import get_settings


def test_no_provider_means_extractive() -> None:
    assert make_chat_model(get_settings(llm_provider="none")) is None


def test_openai_compatible_server_from_settings() -> None:
    from langchain_openai import ChatOpenAI

    model = make_chat_model(get_settings(llm_provider="openai", llm_model="local-gemma",
                                         llm_base_url="http://127.0.0.1:8080/v1"))
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "local-gemma"
    assert str(model.openai_api_base) == "http://127.0.0.1:8080/v1"


def test_ollama_from_settings() -> None:
    from langchain_ollama import ChatOllama

    model = make_chat_model(get_settings(llm_provider="ollama", llm_model="llama3.2"))
    assert isinstance(model, ChatOllama) and model.model == "llama3.2"


def test_llamacpp_needs_a_gguf_path(tmp_path: Path) -> None:
    with pytest.raises(LLMError, match="NEWSBOT_LLM_GGUF_PATH"):
        make_chat_model(get_settings(llm_provider="llamacpp"))


@pytest.mark.parametrize(("question", "followup"), [
    ("and what did Canada pledge?", True),
    ("What about France?", True),
    ("How much did it cost?", True),
    ("Who won the World Cup final in Qatar?", False),
    ("What did Canada pledge at the Paris talks?", False),
])
def test_followup_detection(question: str, followup: bool) -> None:
    assert looks_like_followup(question) is followup


def test_condense_adds_the_previous_subject() -> None:
    history = [("What happened at the Paris talks on Ukraine?", "...")]
    rewritten = condense("and what did Canada pledge?", history)
    assert rewritten.startswith("What did Canada pledge")
    assert "Paris" in rewritten and "Ukraine" in rewritten
    assert condense("Who won the World Cup final in Qatar?", history) == (
        "Who won the World Cup final in Qatar?")
