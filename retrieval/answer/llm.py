"""LangChain chat models chosen by settings. Imports happen only when a provider is used."""

from __future__ import annotations

from typing import Any

from retrieval.errors import LLMError
from retrieval.settings import Settings

DEFAULT_URLS = {"ollama": "http://127.0.0.1:11434", "openai": "https://api.openai.com/v1"}


# Providers whose stream marks its last chunk (a finish or done reason): a stream that
# ends without one was cut off.
MARKS_ITS_END = ("openai", "ollama")


def ends_reply(chunk: Any) -> bool:
    """Whether this streamed chunk is the one that says the reply is finished."""
    meta = getattr(chunk, "response_metadata", None) or {}
    return any(meta.get(key) for key in ("finish_reason", "done_reason", "done"))


def model_where(settings: Settings) -> str:
    """'the language model at URL', for messages and the log."""
    url = settings.llm.base_url or DEFAULT_URLS.get(settings.llm.provider)
    return f"the language model at {url}" if url else "the language model"


def describe_failure(settings: Settings, exc: Exception) -> str:
    """One line: which model at which URL failed, how, and what to check."""
    name = type(exc).__name__
    detail = str(exc).splitlines()[0][:200] if str(exc) else name
    if settings.llm.provider == "llamacpp":
        return f"the llama.cpp model {settings.llm.gguf_path} failed: {name}: {detail}"
    model = model_where(settings)
    lowered = f"{name} {detail}".lower()
    if "timeout" in lowered or "timed out" in lowered:
        return (f"{model} did not answer within {settings.llm.timeout:g} s; check that it "
                "is running, or raise NEWSBOT_LLM_TIMEOUT")
    if "connect" in lowered or "refused" in lowered:
        return (f"cannot reach {model} ({name}: {detail}); check that the server is running "
                "and NEWSBOT_LLM_BASE_URL")
    return f"{model} failed: {name}: {detail}; check NEWSBOT_LLM_MODEL and NEWSBOT_LLM_BASE_URL"


def make_chat_model(settings: Settings) -> Any | None:
    """The configured chat model, or None for the extractive answerer."""
    provider = settings.llm.provider
    if provider == "none":
        return None
    try:
        if provider == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(model=settings.llm.model, base_url=settings.llm.base_url or None,
                              temperature=settings.llm.temperature,
                              num_predict=settings.llm.max_tokens,
                              client_kwargs={"timeout": settings.llm.timeout})
        if provider == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=settings.llm.model, base_url=settings.llm.base_url or None,
                              api_key=(settings.llm.api_key.get_secret_value()
                                       if settings.llm.api_key else "not-needed"),
                              temperature=settings.llm.temperature,
                              max_tokens=settings.llm.max_tokens,
                              timeout=settings.llm.timeout, max_retries=0)
        if provider == "llamacpp":
            if not settings.llm.gguf_path:
                raise LLMError("NEWSBOT_LLM_GGUF_PATH must name a .gguf file for llamacpp")
            from langchain_community.chat_models import ChatLlamaCpp

            return ChatLlamaCpp(model_path=str(settings.llm.gguf_path),
                                temperature=settings.llm.temperature,
                                max_tokens=settings.llm.max_tokens, n_ctx=4096, verbose=False)
    except ImportError as exc:
        raise LLMError(f"the {provider} provider needs an extra package: {exc.name} "
                       "(pip install '.[llm]' in newsbot's checkout)") from None
    raise LLMError(f"unknown LLM provider {provider!r}; use none, ollama, openai or llamacpp")
