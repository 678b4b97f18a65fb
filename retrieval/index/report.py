"""What an index run did: the summary every front end prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import ArticleReadError


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    chunks_embedded: int = 0
    characters_embedded: int = 0
    seconds: float = 0.0
    errors: list[ArticleReadError] = field(default_factory=list)
    added_ids: list[str] = field(default_factory=list)  # for "newly indexed" notices
    skipped: list[str] = field(default_factory=list)  # files of types that are not read
    # Files no reader can use (empty, unreadable): listed once, not failures of the run.
    unusable: list[ArticleReadError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how this run relates to the index

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "duplicates": self.duplicates, "failed": self.failed,
            "skipped": len(self.skipped), "unusable": len(self.unusable),
            "chunks_embedded": self.chunks_embedded, "seconds": round(self.seconds, 2),
        }


def folder_bytes(folder: Path) -> int:
    """Size on disk of the files under `folder` (for `stats`)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:  # a lease's temporary file, there and gone
            continue
    return total
