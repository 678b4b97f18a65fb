"""A notice: one story that arrived for one follow, as every front end shows it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from retrieval.types import day_of, parse_moment


@dataclass
class Notice:
    follow_id: int
    owner: str
    topic: str
    story_id: str
    article_id: str
    title: str
    url: str
    source: str
    published_at: str | None  # ISO, as stored
    why: str  # one or two sentences of the article that hold the topic
    also_in: list[str] = field(default_factory=list)  # outlets of the story's copies
    score: float = 0.0
    matched_at: str = ""

    def body(self) -> str:
        """What the store keeps of it (the key columns are kept apart)."""
        keep = {k: v for k, v in asdict(self).items()
                if k not in ("follow_id", "owner", "story_id", "article_id", "matched_at")}
        return json.dumps(keep, ensure_ascii=False)

    @classmethod
    def from_row(cls, follow_id: int, story_id: str, article_id: str, owner: str,
                 matched_at: str, body: str) -> Notice:
        data: dict[str, Any] = json.loads(body)
        return cls(follow_id=follow_id, owner=owner, story_id=story_id,
                   article_id=article_id, matched_at=matched_at, **data)

    @property
    def day(self) -> str:
        return day_of(parse_moment(self.published_at))

    def lines(self) -> list[str]:
        """The notice for a terminal: headline, outlet and date, link, why, copies."""
        out = [f"[{self.topic}] {self.title}", f"  {self.source or 'unknown outlet'} · "
               f"{self.day} · {self.url}"]
        if self.why:
            out.append(f"  {self.why}")
        if self.also_in:
            out.append(f"  also in: {', '.join(self.also_in)}")
        return out
