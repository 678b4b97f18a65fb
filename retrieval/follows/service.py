"""Follows as a service of the app: add, list and remove them, match what every index
run adds (the index calls `after_run` at the end of each run, whoever started it), and
hand the notices to the front ends that show them, each once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import FollowError
from retrieval.follows.match import ArticleMatch, Follow, Matcher
from retrieval.follows.notices import Notice
from retrieval.follows.store import FILE_NAME, FollowDb, PostgresFollowDb, SqliteFollowDb

if TYPE_CHECKING:
    from retrieval.index.news_index import NewsIndex
    from retrieval.index.report import IndexReport

log = logging.getLogger("newsbot.follows")
LOCAL = "local"
MAX_TOPIC_CHARS = 200
MAX_FOLLOWS_PER_OWNER = 25


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def topic_key(topic: str) -> str:
    return " ".join(topic.lower().split())


class Follows:
    def __init__(self, index: NewsIndex) -> None:
        self.index = index
        self.matcher = Matcher(index)
        self._db: FollowDb | None = None
        index.on_update = self.after_run

    # --- the store ---------------------------------------------------------------------
    def db(self, create: bool = True) -> FollowDb | None:
        """The store, opened on first use; None when there is none and `create` is off
        (so that an index run or a listing with no follows writes nothing)."""
        if self._db is None:
            database = self.index.db
            if database.dialect.name == "postgres":
                self._db = PostgresFollowDb(database)
            else:
                path = self.index.index_dir / FILE_NAME
                if not create and not path.is_file():
                    return None
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = SqliteFollowDb(path)
        return self._db

    def _q(self, db: FollowDb, query: str) -> str:
        return query.replace("?", db.mark)

    # --- managing ------------------------------------------------------------------------
    def add(self, topic: str, outlets: tuple[str, ...] = (), owner: str = LOCAL) -> Follow:
        """Follow `topic` (plain words) for `owner` (the local user unless a channel),
        optionally only from these outlets."""
        topic = " ".join(topic.split())
        if not topic:
            raise FollowError("the topic is empty; follow something like \"Gaza ceasefire\"")
        if len(topic) > MAX_TOPIC_CHARS:
            raise FollowError(f"the topic is {len(topic)} characters long; the limit is "
                              f"{MAX_TOPIC_CHARS}")
        outlets = tuple(o.strip() for o in outlets if o.strip())
        if outlets and self.index.catalog.chunk_count():
            known = {s.lower() for s in self.index.catalog.source_spellings(outlets)}
            unknown = [o for o in outlets if o.lower() not in known]
            if unknown:
                raise FollowError(f"no indexed article comes from {unknown[0]!r}; outlets "
                                  "are named as `newsbot stats` lists them")
        db = self.db()
        assert db is not None
        mine = self.listed(owner)
        if any(f.topic.lower() == topic.lower() for f in mine):
            raise FollowError(f"{topic!r} is already followed here")
        if len(mine) >= MAX_FOLLOWS_PER_OWNER:
            raise FollowError(f"{len(mine)} follows here already, the most there can be; "
                              "remove one first")
        vector = self.matcher.embed(topic)  # now, so that no index run has to
        with db.transaction() as tx:
            tx.execute(self._q(db, "INSERT INTO follows (owner, topic, topic_key, outlets, "
                                   "created_at) VALUES (?, ?, ?, ?, ?)"),
                       (owner, topic, topic_key(topic), "\n".join(outlets), _now()))
            self._keep_vectors(db, tx, {topic: vector})
        return next(f for f in self.listed(owner) if f.topic == topic)

    def _keep_vectors(self, db: FollowDb, tx: Any, vectors: dict[str, np.ndarray]) -> None:
        insert = self._q(db, "INSERT INTO follow_vectors VALUES (?, ?, ?) "
                             "ON CONFLICT (topic, model) DO NOTHING")
        for topic, vector in vectors.items():
            tx.execute(insert, (topic, self.index.embedder.name,
                                np.asarray(vector, dtype=np.float32).tobytes()))

    def topic_vectors(self, topics: list[str]) -> dict[str, np.ndarray]:
        """The followed topics' vectors for the index's model: stored when the follow was
        added; embedded and stored here for a follow older than that, or another model."""
        db = self.db()
        assert db is not None
        rows = db.rows(self._q(db, "SELECT topic, vector FROM follow_vectors WHERE model = ?"),
                       (self.index.embedder.name,))
        wanted = set(topics)
        found = {t: np.frombuffer(bytes(v), dtype=np.float32) for t, v in rows if t in wanted}
        missing = {t: self.matcher.embed(t) for t in wanted - found.keys()}
        if missing:
            with db.transaction() as tx:
                self._keep_vectors(db, tx, missing)
        return found | missing

    def listed(self, owner: str | None = LOCAL) -> list[Follow]:
        """The follows of `owner` (None: of every owner), oldest first."""
        db = self.db(create=False)
        if db is None:
            return []
        where, params = ("WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        rows = db.rows(self._q(db, f"SELECT id, owner, topic, outlets, created_at FROM follows "
                                   f"{where} ORDER BY id"), params)
        return [Follow(int(r[0]), r[1], r[2], tuple(o for o in r[3].split("\n") if o), r[4])
                for r in rows]

    def remove(self, topic_or_id: str, owner: str = LOCAL) -> Follow:
        """Stop following; its notices are forgotten with it."""
        wanted = topic_key(topic_or_id)
        found = [f for f in self.listed(owner)
                 if topic_key(f.topic) == wanted or str(f.id) == wanted]
        if not found:
            raise FollowError(f"{topic_or_id!r} is not followed here; the follows are listed "
                              "by `follows` (`newsbot follow list`)")
        db = self.db()
        assert db is not None
        with db.transaction() as tx:
            tx.execute(self._q(db, "DELETE FROM follow_notices WHERE follow_id = ?"),
                       (found[0].id,))
            tx.execute(self._q(db, "DELETE FROM follows WHERE id = ?"), (found[0].id,))
            tx.execute("DELETE FROM follow_vectors WHERE topic NOT IN "
                       "(SELECT topic FROM follows)")
        return found[0]

    # --- matching ------------------------------------------------------------------------
    def after_run(self, report: IndexReport) -> None:
        """Called by the index at the end of every run: notices for what it added. A
        failure here is logged, never the run's."""
        if not report.added_ids:
            return
        try:
            follows = self.listed(None)
            if follows:
                written = self.notice(follows, report.added_ids)
                log.info("follows: %d new notice(s) from %d article(s)", written,
                         len(report.added_ids))
        except Exception:
            log.exception("follows: matching the new articles failed; they were indexed")

    def matches(self, follows: list[Follow], article_ids: list[str], stored: bool = True
                ) -> list[tuple[Follow, ArticleMatch]]:
        """Each follow's matching stories among these articles; `stored`: the follows
        are kept ones, whose topic vectors the store holds."""
        texts = [f.topic for f in follows]
        known = self.topic_vectors(texts) if stored else None
        topics = self.matcher.topics(texts, known)
        return self.matcher.match(topics, follows, self.matcher.articles(article_ids))

    def notice(self, follows: list[Follow], article_ids: list[str]) -> int:
        """Write a notice for each (follow, story) that matched and had none; how many."""
        found = self.matches(follows, article_ids)
        db = self.db()
        assert db is not None
        written = 0
        insert = self._q(db, "INSERT INTO follow_notices VALUES (?, ?, ?, ?, ?, NULL, ?) "
                             "ON CONFLICT (follow_id, story_id) DO NOTHING")
        with db.transaction() as tx:
            for follow, fit in found:
                notice = self._notice_of(follow, fit)
                cursor = tx.execute(insert, (follow.id, fit.story_id, fit.article_id,
                                             follow.owner, _now(), notice.body()))
                written += max(0, cursor.rowcount)
        return written

    def _notice_of(self, follow: Follow, fit: ArticleMatch) -> Notice:
        return Notice(follow.id, follow.owner, follow.topic, fit.story_id, fit.article_id,
                      fit.title, fit.url, fit.source,
                      fit.published_at.isoformat() if fit.published_at else None, fit.why,
                      self._copies(fit), round(fit.score, 3))

    def _copies(self, fit: ArticleMatch) -> list[str]:
        """The other outlets that ran this story (already indexed)."""
        database = self.index.db
        mark = database.dialect.mark
        rows = database.rows(f"SELECT DISTINCT source FROM articles WHERE story_id = {mark} "
                             f"AND id <> {mark} AND source <> {mark} ORDER BY source",
                             (fit.story_id, fit.article_id, fit.source))
        return [r[0] for r in rows if r[0]]

    # --- delivering ----------------------------------------------------------------------
    def pending(self, owner: str | None = None, owner_prefix: str | None = None
                ) -> list[Notice]:
        """Notices not shown yet, oldest first: of `owner`, or of owners starting with
        `owner_prefix` ("discord:")."""
        db = self.db(create=False)
        if db is None:
            return []
        where, params = "delivered_at IS NULL", []
        if owner is not None:
            where, params = where + " AND owner = ?", [owner]
        elif owner_prefix is not None:
            where, params = where + " AND owner LIKE ?", [owner_prefix + "%"]
        rows = db.rows(self._q(db, "SELECT follow_id, story_id, article_id, owner, "
                                   f"matched_at, body FROM follow_notices WHERE {where} "
                                   "ORDER BY matched_at, follow_id, story_id"), params)
        return [Notice.from_row(*r) for r in rows]

    def delivered(self, notice: Notice) -> None:
        """The notice has been shown; it is never handed out again."""
        db = self.db()
        assert db is not None
        with db.transaction() as tx:
            tx.execute(self._q(db, "UPDATE follow_notices SET delivered_at = ? "
                                   "WHERE follow_id = ? AND story_id = ?"),
                       (_now(), notice.follow_id, notice.story_id))

    def take(self, owner: str = LOCAL) -> list[Notice]:
        """The pending notices of `owner`, marked shown (for a terminal that prints them)."""
        notices = self.pending(owner)
        for notice in notices:
            self.delivered(notice)
        return notices

    def check(self, topic: str, days: int, outlets: tuple[str, ...] = ()) -> list[Notice]:
        """What a follow of `topic` would have matched among the articles published (or,
        undated, indexed) in the last `days` days before the newest article: one notice
        per story, best first. Nothing is written."""
        database = self.index.db
        mark = database.dialect.mark
        newest = database.one("SELECT max(published_ts) FROM articles")
        end = float(newest[0]) if newest and newest[0] is not None else \
            datetime.now(UTC).timestamp()
        since = end - days * 86400
        since_iso = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
        rows = database.rows("SELECT id FROM articles WHERE duplicate_of IS NULL AND "
                             f"(published_ts >= {mark} OR (published_ts IS NULL AND "
                             f"indexed_at >= {mark}))", (since, since_iso))
        follow = Follow(0, LOCAL, " ".join(topic.split()), outlets)
        if not follow.topic:
            raise FollowError("the topic is empty; check something like \"Gaza ceasefire\"")
        found = self.matches([follow], [r[0] for r in rows], stored=False)
        found.sort(key=lambda m: -m[1].score)
        return [self._notice_of(f, fit) for f, fit in found]
