"""Every domain error of the retrieval library. Each derives from `NewsbotError`, which
every front end (CLI, chat, Discord) turns into a one-line message, never a traceback.
A message says what happened, never which command to run: its `fix` (a `Fix`) is said
by each front end in its own words."""

from __future__ import annotations

from corpus.errors import ArticleReadError, Fix, NewsbotError

__all__ = [
    "ArticleReadError",
    "EmbeddingModelError",
    "Fix",
    "DiskFull",
    "FollowError",
    "IndexBusy",
    "IndexDamaged",
    "IndexDatabaseError",
    "IndexEmpty",
    "IndexMissing",
    "IndexModelMismatch",
    "IndexSchemaError",
    "Interrupted",
    "InvalidRequest",
    "LLMError",
    "ModelWeightsError",
    "NewsbotError",
    "RunLockLost",
    "SettingsError",
    "VectorStoreError",
    "VectorStoreUnreachable",
]


class SettingsError(NewsbotError):
    """A setting (environment variable or `.env` line) has a value it does not accept."""


class FollowError(NewsbotError):
    """A follow cannot be added, found or kept (its store is damaged or from a newer
    newsbot, a topic is empty or already followed)."""


class InvalidRequest(NewsbotError):
    """A question or option a user gave cannot be used (an empty question, k < 1, ...)."""


class IndexMissing(NewsbotError):
    """There is no index yet where the settings point."""


class IndexEmpty(NewsbotError):
    """The index exists but holds no article."""


class IndexBusy(NewsbotError):
    """Another process is updating the same index."""


class IndexModelMismatch(NewsbotError):
    """The index was built with another embedding model than the one configured."""


class IndexSchemaError(NewsbotError):
    """The index files were written by a newer newsbot, or cannot be read as an index."""


class IndexDamaged(IndexSchemaError):
    """An index file cannot be read, or the two stores disagree in a way no run explains."""


class IndexDatabaseError(NewsbotError):
    """Server mode's PostgreSQL database could not be reached, or a statement on it failed."""


class RunLockLost(IndexDatabaseError):
    """An index run lost the database connection that held its lock, and stopped."""


class DiskFull(NewsbotError):
    """A write failed for lack of space; what was committed before is kept."""


class Interrupted(NewsbotError):
    """A run was asked to stop (Ctrl-C, SIGTERM): what it committed stays, the rest is
    picked up by the next run."""


class VectorStoreError(NewsbotError):
    """Chroma could not be opened, reached or queried."""


class VectorStoreUnreachable(VectorStoreError):
    """The Chroma server did not answer (down, restarting, unreachable)."""


class EmbeddingModelError(NewsbotError):
    """The configured embedding model cannot be found or loaded."""


class ModelWeightsError(NewsbotError):
    """A shipped weights file (answers, rerank, reader) is missing, unreadable, or was
    fitted for other features than this version computes."""


class LLMError(NewsbotError):
    """The language model could not be reached or failed."""
