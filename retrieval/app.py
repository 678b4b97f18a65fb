"""The application layer: one object that every front end (the CLI, the terminal chat,
the Discord bot, a watch loop) opens from settings and talks to. It wires the index, the
searcher and the answerer together, checks what users send, and is safe to use from
several threads at once, an index run among them.

    app = NewsApp.open(get_settings())
    result = app.search("Who won the World Cup final?")
    answer = app.answer("And who scored the winning penalty?", history=[...])
    app.close()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus.article import Article
from corpus.loader import LoadResult, load_articles
from retrieval.answer.followup import History
from retrieval.conversation import Conversation
from retrieval.errors import InvalidRequest, NewsbotError
from retrieval.evaluation import AnswerReport, evaluate, read_questions
from retrieval.feedback import FeedbackStore, open_votes
from retrieval.feeds import Feeds, FetchReport, Note, fetch_and_index, logged_fetch
from retrieval.follows.service import Follows
from retrieval.health import Check, HealthLog, http_get, index_checks, service_checks, timed
from retrieval.index.embedding import Embedder
from retrieval.index.news_index import NewsIndex, Progress
from retrieval.index.report import IndexReport
from retrieval.index.sources import record_sources, sources_to_index
from retrieval.search.searcher import Searcher, SearchResult
from retrieval.settings import Settings, get_settings
from retrieval.types import Answer, ArticleSummary, Passage, SearchFilters

if TYPE_CHECKING:  # the chain brings langchain: loaded when a question is first answered
    from retrieval.answer.chain import Answerer, OnToken

MAX_QUESTION_CHARS = 2000
# `latest TOPIC`: relevance points under the best hit past which an article is about
# something else, and the least relevance of one about the topic at all (fitted on the
# sample corpus and news-dev-small: bench/README.md, "latest TOPIC").
TOPIC_GAP = 4.0
TOPIC_FLOOR = 4.0
_UNSET: Any = object()
# What the front ends use besides `NewsApp`, so that they import one module of the core
# (with `types`, `errors` and `settings`): a test holds `bot/` to that.
__all__ = ["AnswerReport", "Check", "Conversation", "FeedbackStore", "Feeds", "FetchReport",
           "HealthLog", "History", "IndexReport", "NewsApp", "Note", "clean_question",
           "evaluate", "http_get", "index_checks", "open_votes", "read_questions",
           "service_checks", "timed"]


def clean_question(question: str) -> str:
    """The question stripped, with any byte that is not UTF-8 replaced; an empty or very
    long one is an `InvalidRequest`."""
    text = question.encode("utf-8", "replace").decode("utf-8").strip()
    if not text:
        raise InvalidRequest("the question is empty; ask something like "
                             "\"Who won the World Cup final?\"")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidRequest(f"the question is {len(text)} characters long; the limit is "
                             f"{MAX_QUESTION_CHARS}")
    return text


def about_topic(passages: list[Passage]) -> set[str]:
    """The articles these search hits show to be about the topic searched: those whose
    passage stands within `TOPIC_GAP` relevance points of the best one, and above
    `TOPIC_FLOOR` (a topic the index does not hold has only weak hits). Relevance, not
    rank: on a small index the last places go to whatever matched a word. A story that
    several outlets carried is one hit already (the search folds its copies)."""
    best = max((p.relevance for p in passages), default=0.0)
    cut = max(best - TOPIC_GAP, TOPIC_FLOOR)
    return {p.article_id for p in passages if p.relevance >= cut}


class NewsApp:
    def __init__(self, settings: Settings, index: NewsIndex, chat_model: Any = _UNSET) -> None:
        self.settings = settings
        self.index_store = index
        self.follows = Follows(index)  # matches what every index run adds
        self._chat_model = chat_model
        self._lock = threading.Lock()  # builds the searcher and answerer once
        self._searcher: Searcher | None = None
        self._answerer: Answerer | None = None
        self._votes: FeedbackStore | None = None
        self._own_votes = False  # the app closes only a vote store it opened

    @classmethod
    def open(cls, settings: Settings | None = None, *, embedder: Embedder | None = None,
             chat_model: Any = _UNSET, create: bool = False, index_dir: Path | None = None,
             discard_damaged: bool = False) -> NewsApp:
        """The app over the index the settings name. Without `create`, a missing index is
        an `IndexMissing` error and nothing is written to disk. `chat_model` overrides the
        configured LLM (None: extractive answers). With `discard_damaged` (a rebuild), an
        index too damaged to open is deleted and started afresh."""
        settings = settings or get_settings()
        index = NewsIndex.open(settings, embedder, index_dir, create=create,
                               discard_damaged=discard_damaged)
        return cls(settings, index, chat_model)

    def close(self) -> None:
        """Stop the search thread and close every connection."""
        if self._searcher is not None:
            self._searcher.close()
        if self._votes is not None and self._own_votes:
            self._votes.close()
        self.index_store.close()

    def __enter__(self) -> NewsApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- parts, built on first use -------------------------------------------------------
    @property
    def searcher(self) -> Searcher:
        with self._lock:  # one searcher, however many threads ask first
            if self._searcher is None:
                self.index_store.check_model()
                self._searcher = Searcher(self.index_store)
            return self._searcher

    @property
    def answerer(self) -> Answerer:
        searcher = self.searcher
        with self._lock:
            if self._answerer is None:
                model = self._chat_model
                if model is _UNSET:
                    from retrieval.answer.llm import make_chat_model

                    model = make_chat_model(self.settings)
                from retrieval.answer.chain import Answerer

                self._answerer = Answerer(searcher, model, self.settings)
            return self._answerer

    def outlets(self) -> list[str]:
        """The outlets of the indexed articles, most articles first."""
        return list(self.index_store.catalog.stats()["sources"])

    @property
    def streams(self) -> bool:
        """Whether answers come token by token (an LLM writes them)."""
        return self.answerer.chat_model is not None

    def ready(self) -> Searcher:
        """The searcher, once the index is known to hold something to search."""
        searcher = self.searcher
        searcher.ensure_not_empty()
        return searcher

    # --- asking ----------------------------------------------------------------------------
    def search(self, question: str, k: int = 10, filters: SearchFilters | None = None,
               today: date | None = None, all_copies: bool = False) -> SearchResult:
        """The k best passages for the question, best first; a story that several outlets
        carried shows once (the others in `also_in`) unless `all_copies`."""
        if k < 1:
            raise InvalidRequest(f"k must be at least 1 (got {k})")
        question = clean_question(question)
        return self.searcher.search(question, k=k, filters=filters, today=today,
                                    all_copies=all_copies)

    def answer(self, question: str, history: History | None = None,
               filters: SearchFilters | None = None, today: date | None = None,
               on_token: OnToken | None = None) -> Answer:
        """A cited answer; `history` holds earlier (question, answer) turns, and
        `on_token` receives an LLM's answer as it is written."""
        question = clean_question(question)
        return self.answerer.answer(question, history=history, filters=filters, today=today,
                                    on_token=on_token)

    # --- indexing -----------------------------------------------------------------------------
    def index(self, paths: Iterable[Path] | None = None, *, rebuild: bool = False,
              progress: Progress | None = None) -> IndexReport:
        """Bring the index in step with PATHS (default: `sources_to_index`): new and changed
        articles embedded, vanished ones removed; read problems never stop the run."""
        targets, gone = sources_to_index(self.settings.index, self.index_store.index_dir,
                                         [Path(p) for p in paths or []], rebuild)
        with self.index_store.running():  # from the start: reads can say a run is going
            if rebuild:
                self.rebuild()
            else:
                self.index_store.check_model()
            # Recorded first: a run stopped half-way (Ctrl-C) is finished by a plain run.
            notes = record_sources(self.index_store.index_dir, targets, replace=rebuild)
            loaded = load_articles(targets, self.settings.index.max_file_mb)
            report = self.index_store.update(loaded, targets, progress=progress)
        report.skipped, report.unusable = loaded.skipped, loaded.unusable + gone
        report.notes = notes
        return report

    def index_changes(self, changed: Iterable[Path], progress: Progress | None = None
                      ) -> IndexReport:
        """Bring the index in step with files that were added, edited or deleted: the ones
        still there are read, articles of the ones gone are removed."""
        scope = sorted({Path(p) for p in changed})
        present = [p for p in scope if p.exists()]
        self.index_store.check_model()
        loaded = (load_articles(present, self.settings.index.max_file_mb) if present
                  else LoadResult())
        report = self.index_store.update(loaded, scope, progress=progress)
        report.unusable = loaded.unusable
        return report

    def summaries(self, article_ids: Iterable[str]) -> list[ArticleSummary]:
        """These articles, newest first (for "newly indexed" notices)."""
        ids = list(article_ids)
        return self.index_store.catalog.latest(len(ids), ids) if ids else []

    def index_articles(self, articles: list[Article], progress: Progress | None = None
                       ) -> IndexReport:
        """Add or update articles that come from elsewhere (a feed); removes nothing."""
        self.index_store.check_model()
        return self.index_store.update(LoadResult(articles=list(articles)), [],
                                       progress=progress)

    def rebuild(self) -> None:
        """Empty the index (e.g. to switch models). Until an index run fills it again,
        reads say that a rebuild is under way rather than that the index is empty."""
        self.index_store.rebuild()

    # --- reading --------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Articles, duplicates, chunks, sources, dates, model, size: no Chroma needed."""
        return self.index_store.stats(with_vectors=False)

    def latest(self, limit: int = 10, topic: str | None = None,
               today: date | None = None) -> list[ArticleSummary]:
        """The newest indexed articles, or the newest among those about `topic`."""
        if limit < 1:
            raise InvalidRequest(f"the number of articles must be at least 1 (got {limit})")
        if not topic:
            return self.index_store.catalog.latest(limit)
        found = self.search(topic, k=max(10, 2 * limit), today=today).passages
        return self.index_store.catalog.latest(limit, about_topic(found))

    # --- answers as given and members' votes on them ------------------------------------
    def use_votes(self, store: FeedbackStore) -> None:
        """Keep answers and votes in `store` (its opener closes it) instead of the
        database the settings name."""
        self._votes, self._own_votes = store, False

    def votes(self) -> FeedbackStore:
        """The vote store, opened on first use at `NEWSBOT_DISCORD_FEEDBACK_DB`."""
        with self._lock:
            if self._votes is None:
                self._votes = open_votes(self.settings)
                self._own_votes = True
            return self._votes

    def record_answer(self, answer: Answer, guild_id: int | None = None,
                      channel_id: int | None = None) -> str:
        """Keep an answer as it was given; its id is what a vote names."""
        return self.votes().record_answer(answer, guild_id, channel_id)

    def vote(self, answer_id: str, user_id: int, up: bool) -> bool:
        """A member's vote on an answer; False when that answer is not on record."""
        return self.votes().vote(answer_id, user_id, up)

    # --- feeds and the watch loop ----------------------------------------------------------
    def feeds(self, note: Note | None = None) -> Feeds:
        """The feed list of this index (the caller closes it)."""
        return Feeds(self.settings, note) if note else Feeds(self.settings)

    def fetch_and_index(self, progress: Progress | None = None) -> FetchReport | None:
        """Poll every feed, write its new articles to the feeds folder and index that
        folder: what `newsbot fetch` and the watch loop do. None when there is no feed."""
        with self.feeds() as feeds:  # opened each time: feeds may be added meanwhile
            return fetch_and_index(feeds, lambda folder: self.index([folder],
                                                                    progress=progress))

    def feed_poller(self) -> Callable[[], IndexReport | None]:
        """For the watch loop: a fetch, its problems logged (nobody watches the loop)."""
        return logged_fetch(self.fetch_and_index)

    def watcher(self, folders: Iterable[Path], *, with_feeds: bool = True,
                on_indexed: Callable[[IndexReport], None] | None = None,
                describe: Callable[[NewsbotError], str] = str) -> Any:
        """The watch loop over `folders` (and the feeds), a `retrieval.watch.Watcher`;
        `describe` words the errors it logs (the front end's, with what to do)."""
        from retrieval.watch import Watcher

        return Watcher(self, folders, quiet_s=self.settings.feeds.watch_debounce_s,
                       poll_every_s=self.settings.feeds.watch_poll_minutes * 60,
                       poll_feeds=self.feed_poller() if with_feeds else None,
                       on_indexed=on_indexed, describe=describe)
