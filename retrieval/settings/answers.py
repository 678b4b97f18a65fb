"""The answers' settings (how long, when to decline, where votes on them are kept) and the
language model's."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from retrieval.settings.group import SettingsGroup, data_home


class AnswerSettings(SettingsGroup):
    """`settings.answers`: what an answer holds, when it is declined, and its votes."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_ANSWER_")

    passages: int = Field(
        default=5, ge=1, le=20,
        description="Passages given to the answerer (and numbered for citations).")
    max_sentences: int = Field(
        default=3, ge=1, le=10, description="Longest extractive answer, in sentences.")
    reader: bool = Field(
        default=True,
        description="Lead an answer with the words the span reader marks as the answer "
        "(a small model that reads the first passages) when it is likely enough to be "
        "right. Off: the lead comes from the sentence ranker's candidates alone, and the "
        "reader is never loaded.")
    decline_below: float | None = Field(
        default=None, ge=0.0, le=1.0, validation_alias="NEWSBOT_DECLINE_BELOW",
        description="Decline when the confidence that the passages hold the answer (0 to 1) "
        "is below this. Unset: the point fitted on news-dev with the answer weights "
        "(answerable questions against off-corpus probes, bench/README.md).")
    # Here, not with bot's Discord settings, although Discord is where members vote today:
    # the core records the votes (`NewsApp.vote`), and the core never imports bot.
    # The variable keeps its old name so that no .env file breaks.
    feedback_db: Path = Field(
        default_factory=lambda: data_home() / "feedback.sqlite",
        validation_alias="NEWSBOT_DISCORD_FEEDBACK_DB",
        description="Where the 👍/👎 votes on answers are kept (SQLite).")


class LlmSettings(SettingsGroup):
    """`settings.llm`: who writes answers (extractive, or a language model) and how."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_LLM_")

    provider: Literal["none", "ollama", "openai", "llamacpp"] = Field(
        default="none",
        description="Who writes answers: `none` (extractive, no LLM), `ollama`, `openai` (any "
        "OpenAI-compatible server) or `llamacpp` (a GGUF file run in process).",
    )
    model: str = Field(default="llama3.2", description="Model name for ollama/openai.")
    base_url: str | None = Field(
        default=None, description="Server URL, e.g. http://127.0.0.1:8080/v1 for an "
        "OpenAI-compatible server or http://127.0.0.1:11434 for Ollama.")
    api_key: SecretStr | None = Field(
        default=None, description="API key for the openai provider. Never printed.")
    gguf_path: Path | None = Field(default=None, description="GGUF file for llamacpp.")
    temperature: float = Field(default=0.1, ge=0, le=2,
                               description="Sampling temperature.")
    max_tokens: int = Field(default=300, ge=1, description="Longest answer, in tokens.")
    timeout: float = Field(default=60.0, gt=0,
                           description="Seconds a question waits for the model; past them it "
                           "gets the extractive answer, with a note.")
