"""The `Answer` record: text with [n] markers, its numbered sources, and how it was checked."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Source:
    n: int
    title: str
    source: str
    published_at: str | None
    url: str
    quote: str           # the passage sentence that supports the answer
    passage: str = ""    # the whole passage, for /sources
    chunk_id: str = ""


@dataclass
class Answer:
    question: str
    text: str
    sources: list[Source]
    declined: bool
    citations_verified: int = 0
    citations_total: int = 0
    unsupported: list[str] = field(default_factory=list)  # sentences flagged as unsupported
    standalone_question: str = ""
    answerer: str = "extractive"
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for source in data["sources"]:
            source.pop("passage", None)
        return data
