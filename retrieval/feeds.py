"""The feeds of one index as a service the core hands out: where feed articles go, the
feeds database, managing the feed list, and the one fetch: poll every feed, write what is
new and index the feeds folder (`fetch_and_index`). The CLI's `feeds` and `fetch`,
`newsbot watch` and the Discord bot's watch all go through this, by way of
`NewsApp.feeds`, `NewsApp.fetch_and_index` and `NewsApp.feed_poller`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corpus.errors import Fix, NewsbotError
from corpus.feeds import FeedError, FeedStore, FetchOptions, PollReport

if TYPE_CHECKING:
    from corpus.feeds import Feed
    from corpus.feeds.manage import ImportReport
    from retrieval.index.report import IndexReport
    from retrieval.settings import Settings

log = logging.getLogger("newsbot.feeds")
Note = Callable[[str], None]  # how a front end shows a one-off note (moved files, ...)


def feeds_dir_of(settings: Settings, note: Note = log.info) -> Path:
    """Where feed articles are written: NEWSBOT_FEEDS_DIR, else `feeds` in the index folder
    (beside it, two indexes in one parent folder would index each other's articles; a
    rebuild keeps it: only the index's own files are ever discarded)."""
    if settings.feeds.dir is not None:
        return Path(settings.feeds.dir).expanduser().absolute()
    index_dir = Path(settings.index.dir).expanduser().absolute()
    folder = index_dir / "feeds"
    legacy = index_dir.parent / "feeds"
    if not folder.exists() and legacy.is_dir() and (index_dir / "feeds.sqlite").exists():
        note(f"feed articles now go to {folder}, in the index folder; those in {legacy} "
             f"stay indexed (set NEWSBOT_FEEDS_DIR={legacy} to keep writing there)")
    return folder


def feeds_db_of(settings: Settings, note: Note = log.info) -> Path:
    """The feeds database: NEWSBOT_FEEDS_DB, else `feeds.sqlite` in the index folder.
    An index made before each had its own gets a copy of the file they all shared, so
    nobody loses a feed list (the old file stays, for the other indexes); a new index
    starts with none."""
    if settings.feeds.db is not None:
        return Path(settings.feeds.db).expanduser()
    path = Path(settings.index.dir).expanduser() / "feeds.sqlite"
    shared = legacy_feeds_db()
    if not path.exists() and path.parent.is_dir() and shared.is_file():
        from corpus.feeds.store import copy_database

        copy_database(shared, path)
        note(f"copied the feed list from {shared} to {path}; each index now keeps its own")
    return path


def legacy_feeds_db() -> Path:
    """Where every index's feeds were kept before each index had its own."""
    from retrieval.settings import data_home

    return data_home() / "feeds.sqlite"


def fetch_options(settings: Settings) -> FetchOptions:
    feeds = settings.feeds
    return FetchOptions(user_agent=feeds.fetch_user_agent, timeout=feeds.fetch_timeout,
                        max_page_mb=feeds.fetch_max_page_mb, per_host=feeds.fetch_per_host,
                        allow_hosts=tuple(feeds.fetch_allow_hosts))


class Feeds:
    """The feed list of one index. Its database is opened on first use (and created only
    by what adds feeds: reading a list that does not exist creates nothing)."""

    def __init__(self, settings: Settings, note: Note = log.info) -> None:
        self.db = feeds_db_of(settings, note)
        self.folder = feeds_dir_of(settings, note)
        self.options = fetch_options(settings)
        self._store: FeedStore | None = None

    def store(self, create: bool = True) -> FeedStore | None:
        if self._store is None and (create or self.db.exists()):
            self._store = FeedStore(self.db)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Feeds:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def listed(self) -> list[Feed]:
        store = self.store(create=False)
        return store.feeds() if store else []

    def article_count(self, feed: Feed) -> int:
        store = self.store()
        assert store is not None
        return store.article_count(feed.url, self.folder)

    def add(self, url: str, name: str | None = None) -> Feed:
        """Subscribe to a feed, read once first to check that it is one."""
        from corpus.feeds import add_feed
        from corpus.feeds.manage import check_url
        from corpus.feeds.poll import check_feed

        store = self.store()
        assert store is not None
        title = ""
        if store.find(check_url(url)) is None:  # (a URL already there is refused below)
            title = check_feed(check_url(url), self.options).title  # its name by default
        return add_feed(store, url, name, title)

    def remove(self, name_or_url: str) -> tuple[Feed, list[Path]]:
        """Stop polling a feed; its articles stay, in the folders returned."""
        from corpus.feeds import find_feed

        store = self.store(create=False)
        if store is None:
            raise FeedError("there are no feeds yet", fix=Fix.ADD_FEED)
        feed = find_feed(store, name_or_url)
        folders = store.article_folders(feed.url)  # where they were written, whatever index
        store.remove(feed)
        return feed, folders

    def import_opml(self, file: Path) -> ImportReport:
        from corpus.feeds import import_feeds, read_opml

        entries = read_opml(file)  # a bad file is one error, before the database is created
        store = self.store()
        assert store is not None
        return import_feeds(store, entries)

    def export_opml(self, file: Path | None = None) -> tuple[str, int]:
        """The feeds as OPML 2.0, written to `file` when given, and how many there are."""
        from corpus.feeds.opml import opml_text
        from corpus.feeds.write import write_atomic

        listed = self.listed()
        text = opml_text([(feed.name, feed.url) for feed in listed])
        if file is not None:
            try:
                write_atomic(file.expanduser(), text)
            except OSError as exc:
                raise FeedError(f"cannot write {file}: {exc.strerror or exc}") from None
        return text, len(listed)

    def poll(self) -> PollReport | None:
        """Poll every feed and write its new articles; None when there is no feed."""
        from corpus.feeds import poll_feeds

        store = self.store(create=False)
        if store is None or not store.feeds():
            return None
        return poll_feeds(store, self.folder, self.options)


@dataclass
class FetchReport:
    """What one fetch did: the poll, and the index run over the feeds folder, or why that
    run could not be made (`not_indexed`: the index busy, say; the articles stay written
    and the next fetch or watch run indexes them)."""

    poll: PollReport
    indexed: IndexReport | None = None
    not_indexed: NewsbotError | None = None

    @property
    def failed(self) -> bool:
        """A feed failed or an article file could not be read (the exit status is 1)."""
        return bool(self.poll.failures) or bool(self.indexed and self.indexed.failed)


def fetch_and_index(feeds: Feeds, index: Callable[[Path], IndexReport]) -> FetchReport | None:
    """Poll every feed, then index the whole feeds folder with `index` (articles written
    while an earlier run could not index come in too); None when there is no feed."""
    polled = feeds.poll()
    if polled is None:
        return None
    feeds.folder.mkdir(parents=True, exist_ok=True)  # an empty folder indexes as nothing
    try:
        return FetchReport(polled, index(feeds.folder))
    except NewsbotError as exc:  # the poll stands: its articles are written
        return FetchReport(polled, not_indexed=exc)


def logged_fetch(fetch: Callable[[], FetchReport | None]
                 ) -> Callable[[], IndexReport | None]:
    """`fetch` for the watch loop: what a poll nobody watches could not do goes to the log,
    and an index run that could not be made is raised (the loop logs it, polls again)."""
    def poll() -> IndexReport | None:
        report = fetch()
        if report is None:
            return None
        for failed in report.poll.failures:
            log.warning("feed %s failed: %s", failed.feed.name, failed.error)
        for result in report.poll.results:  # a feed leading into the private network
            for refused in result.refused:
                log.warning("feed %s: %s", result.feed.name, refused)
        if report.not_indexed is not None:
            raise report.not_indexed
        return report.indexed

    return poll
