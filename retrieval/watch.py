"""Keeping the index in step without anyone running a command: files added, edited or
deleted in the corpus folders are indexed within seconds (watchfiles, with a quiet period
so a file still being written is not read half-way), and feeds are polled on an
interval. Any single failure is reported and the loop goes on; a stop request ends it
between two batches of an index run, never in the middle of one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from corpus.loader import SUPPORTED, suffix_of
from retrieval.errors import Interrupted, NewsbotError
from retrieval.index.news_index import Progress
from retrieval.index.report import IndexReport

log = logging.getLogger("newsbot.watch")

Notify = Callable[[IndexReport], None]


class Indexes(Protocol):
    """What the loop asks of the app (`NewsApp`, which builds the loop: `NewsApp.watcher`)."""

    def index(self, paths: Iterable[Path] | None = None, *, rebuild: bool = False,
              progress: Progress | None = None) -> IndexReport: ...

    def index_changes(self, changed: Iterable[Path], progress: Progress | None = None
                      ) -> IndexReport: ...


def _wanted(path: str) -> bool:
    """Article files, and folders (moved in, or gone: no suffix and no longer there)."""
    where = Path(path)
    if where.name.startswith("."):
        return False
    if where.is_dir() or (not where.exists() and not where.suffix):
        return True
    return suffix_of(where) in SUPPORTED


class Watcher:
    def __init__(self, app: Indexes, folders: Iterable[Path], *, quiet_s: float = 2.0,
                 poll_every_s: float | None = None,
                 poll_feeds: Callable[[], IndexReport | None] | None = None,
                 on_indexed: Notify | None = None,
                 describe: Callable[[NewsbotError], str] = str) -> None:
        self.app = app
        self.describe = describe  # a front end's words for an error, with what to do
        self.folders = [Path(f).expanduser() for f in folders]
        self.quiet_s = quiet_s
        self.poll_every_s = poll_every_s
        self.poll_feeds = poll_feeds
        self.on_indexed = on_indexed
        self.stop = threading.Event()
        self.runs = 0
        self._retry: set[Path] = set()  # changes a failed run must take up again

    def _check_stop(self, done: int, total: int) -> None:
        if self.stop.is_set() and done < total:
            raise Interrupted(f"stopped after {done} of {total} articles; the next run "
                              "picks up the rest")

    def _run(self, what: str, index: Callable[[], IndexReport | None]) -> bool:
        """One run; False when it failed or was stopped (its work is then taken up again)."""
        log.info("%s: indexing", what)
        try:
            report = index()
            self.runs += 1
            for error in report.errors if report else []:
                log.warning("skipped %s", error)
            if report and report.changed:
                log.info("%s: added %d, updated %d, removed %d", what, report.added,
                         report.updated, report.removed)
                if self.on_indexed:
                    self.on_indexed(report)
            return True
        except Interrupted as exc:
            log.info("%s: %s", what, exc)
        except NewsbotError as exc:  # e.g. a `newsbot index` elsewhere has the index
            log.error("%s failed: %s; trying again shortly", what, self.describe(exc))
        except Exception:  # one failure never ends the loop
            log.exception("%s failed; trying again shortly", what)
        return False

    def run(self) -> None:
        """Until `stop` is set: a first catch-up run, then changes as they come."""
        from watchfiles import watch

        self._run("catch-up", lambda: self.app.index(self.folders, progress=self._check_stop))
        next_poll = time.monotonic() if self.poll_feeds else float("inf")
        quiet_ms = max(50, int(self.quiet_s * 1000))
        for changes in watch(*self.folders, stop_event=self.stop, step=quiet_ms,
                             debounce=max(quiet_ms * 10, 1600), yield_on_timeout=True,
                             rust_timeout=1000, raise_interrupt=False):
            files = sorted({Path(p) for _, p in changes if _wanted(p)} | self._retry)
            if files and not self.stop.is_set():
                done = self._run(f"{len(files)} changed file(s)", lambda f=files:
                                 self.app.index_changes(f, progress=self._check_stop))
                self._retry = set() if done else set(files)
            if self.poll_feeds and time.monotonic() >= next_poll and not self.stop.is_set():
                self._run("feeds", self.poll_feeds)
                next_poll = time.monotonic() + (self.poll_every_s or 900.0)
