"""The `Article` record that every reader produces."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower-case, whitespace-collapsed text: what "the same body" means for duplicates."""
    return _SPACE.sub(" ", text).strip().casefold()


def short_hash(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8"))
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Article:
    """One cleaned news article.

    `id` is stable across runs: the record's own id when it has one, else derived
    from its url, else from the file (and record number) it came from.
    """

    id: str
    title: str
    body: str
    url: str = ""
    source: str = ""
    author: str = ""
    published_at: datetime | None = None
    section: str = ""
    # The file it was read from, absolute, as `errors.safe_name` writes it (a byte that is
    # not UTF-8 shows as "\xe9"); "path#line" for records.
    origin: str = ""
    origin_file: str = field(default="", compare=False)

    @property
    def body_hash(self) -> str:
        """Hash of the normalised body, used to index exact duplicates once."""
        return short_hash(normalise_text(self.body))

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index; a change means re-embedding."""
        meta = json.dumps(
            [self.title, self.url, self.source, self.author, self.date_iso, self.section],
            ensure_ascii=False,
        )
        return short_hash(meta, self.body)

    @property
    def date_iso(self) -> str:
        return self.published_at.isoformat() if self.published_at else ""

    def to_dict(self) -> dict:
        data = asdict(self)
        data["published_at"] = self.date_iso or None
        data["content_hash"] = self.content_hash
        return data
