"""What the catalog hands back, as plain records: here, apart from `catalog.py`, so that
the store interfaces (`stores.py`) and the catalog that implements them can both name
them without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class IndexedArticle:
    id: str
    content_hash: str
    body_hash: str
    duplicate_of: str | None
    origin_file: str


@dataclass(frozen=True)
class ChunkRow:
    """A committed chunk with what search needs of its article."""

    chunk_id: str
    article_id: str
    ord: int
    text: str
    stems: str | None
    title: str
    url: str
    source: str
    published_at: datetime | None
    story_id: str | None = None
