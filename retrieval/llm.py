"""LangChain chat models chosen by settings. Imports happen only when a provider is used."""

from __future__ import annotations

from typing import Any

from corpus.errors import NewsbotError
from retrieval.settings import Settings


class LLMError(NewsbotError):
    """The language model could not be reached or failed."""


def make_chat_model(settings: Settings) -> Any | None:
    """The configured chat model, or None for the extractive answerer."""
    provider = settings.llm_provider
    if provider == "none":
        return None
    try:
        if provider == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or None,
                              temperature=settings.llm_temperature,
                              num_predict=settings.llm_max_tokens)
        if provider == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url or None,
                              api_key=settings.llm_api_key or "not-needed",
                              temperature=settings.llm_temperature,
                              max_tokens=settings.llm_max_tokens,
                              timeout=settings.llm_timeout, max_retries=0)
        if provider == "llamacpp":
            if not settings.llm_gguf_path:
                raise LLMError("NEWSBOT_LLM_GGUF_PATH must name a .gguf file for llamacpp")
            from langchain_community.chat_models import ChatLlamaCpp

            return ChatLlamaCpp(model_path=str(settings.llm_gguf_path),
                                temperature=settings.llm_temperature,
                                max_tokens=settings.llm_max_tokens, n_ctx=4096, verbose=False)
    except ImportError as exc:
        raise LLMError(f"the {provider} provider needs an extra package: {exc.name} "
                       "(pip install 'newsbot[llm]')") from None
    raise LLMError(f"unknown LLM provider {provider!r}; use none, ollama, openai or llamacpp")
