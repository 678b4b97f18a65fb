"""👍 / 👎 on answers, kept in SQLite: each answer as it was given (question, text,
cited passages) and each member's vote on it, the member's id hashed. `export` writes
the up-voted ones as a question file that `newsbot eval` reads."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.migrations import (
    Migrations,
    NewerSchema,
    migrate_sqlite,
    run_script,
    set_sqlite_meta_version,
    sqlite_meta_version,
)
from retrieval.errors import NewsbotError
from retrieval.types import Answer

if TYPE_CHECKING:
    from retrieval.settings import Settings

_BASE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (id TEXT PRIMARY KEY, asked_at TEXT NOT NULL,
    question TEXT NOT NULL, standalone TEXT NOT NULL, text TEXT NOT NULL,
    declined INTEGER NOT NULL, sources TEXT NOT NULL, guild_id INTEGER, channel_id INTEGER);
CREATE TABLE IF NOT EXISTS votes (answer_id TEXT NOT NULL, user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL, voted_at TEXT NOT NULL, PRIMARY KEY (answer_id, user_hash));
"""
# Vote stores from before versions were kept have these tables and no version (0): the
# first step, all `IF NOT EXISTS`, only records the version.
MIGRATIONS: Migrations[sqlite3.Connection] = Migrations(
    [("answers as given, members' votes, meta (the salt)", lambda db: run_script(db, _BASE))],
    sqlite_meta_version, set_sqlite_meta_version)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_votes(settings: Settings, *, existing: bool = False) -> FeedbackStore:
    """The vote store the settings name (NEWSBOT_DISCORD_FEEDBACK_DB). With `existing`,
    one not there yet is an error instead of being created: reading votes writes nothing."""
    path = Path(settings.answers.feedback_db).expanduser()
    if existing and not path.exists():
        raise NewsbotError(f"no feedback yet: {path} does not exist (the Discord bot "
                           "writes it)")
    return FeedbackStore(path)


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                  timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        try:
            migrate_sqlite(self.db, MIGRATIONS)
        except NewerSchema as exc:
            self.db.close()
            raise NewsbotError(f"the votes database {path} was written by a newer newsbot "
                                 f"({exc}); upgrade newsbot") from None
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (secrets.token_hex(16),))
        self._salt = self.db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    def user_hash(self, user_id: int) -> str:
        """Discord ids can be enumerated: salted, so a leaked database names no one."""
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:24]

    def record_answer(self, answer: Answer, guild_id: int | None = None,
                      channel_id: int | None = None) -> str:
        """Keep an answer as it was given; returns its id (for the vote buttons)."""
        answer_id = secrets.token_hex(6)
        sources = [{"n": s.n, "url": s.url, "title": s.title, "quote": s.quote}
                   for s in answer.sources]
        with self._lock:
            self.db.execute("INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?)",
                            (answer_id, _now(), answer.question, answer.standalone_question,
                             answer.text, int(answer.declined), json.dumps(sources),
                             guild_id, channel_id))
        return answer_id

    def vote(self, answer_id: str, user_id: int, up: bool) -> bool:
        """A member's vote (a second vote replaces the first); False for unknown answers."""
        with self._lock:
            known = self.db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if not known:
                return False
            self.db.execute("INSERT OR REPLACE INTO votes VALUES (?,?,?,?)",
                            (answer_id, self.user_hash(user_id), 1 if up else -1, _now()))
        return True

    def _rows(self) -> list[tuple[Any, ...]]:
        return self.db.execute(
            "SELECT a.id, a.asked_at, a.standalone, a.text, a.declined, a.sources, "
            "sum(v.vote > 0), sum(v.vote < 0) FROM answers a JOIN votes v ON v.answer_id = a.id "
            "GROUP BY a.id ORDER BY a.asked_at").fetchall()

    def export(self, path: Path) -> int:
        """Up-voted answers as `newsbot eval` questions: the answer's first quote is the
        text a good passage must hold, its cited urls the gold urls."""
        written = 0
        with open(path, "w", encoding="utf-8") as handle:
            for answer_id, asked_at, question, _, declined, sources, up, down in self._rows():
                cited = json.loads(sources)
                if declined or up <= down or not cited:
                    continue
                record = {"id": answer_id, "date": asked_at[:10], "question": question,
                          "answer": cited[0]["quote"],
                          "gold_urls": sorted({c["url"] for c in cited if c["url"]}),
                          "votes": {"up": up, "down": down}}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
        return written

    def stats(self) -> dict[str, Any]:
        rows = self._rows()
        answers = self.db.execute("SELECT count(*) FROM answers").fetchone()[0]
        up = sum(r[6] for r in rows)
        down = sum(r[7] for r in rows)
        worst = sorted((r for r in rows if r[7] > r[6]), key=lambda r: r[6] - r[7])[:5]
        return {"answers": answers, "rated": len(rows), "up": up, "down": down,
                "share_up": round(up / max(1, up + down), 3),
                "most_disliked": [{"question": r[2], "up": r[6], "down": r[7]} for r in worst]}
