"""robots.txt, read once per host and run, for article pages (a feed itself was chosen by
the user, so it is always read).

As RFC 9309 has it: a robots.txt that is missing or refused (4xx) allows everything; one
that cannot be had because the server fails or cannot be reached (or that is absurdly
large) disallows everything for this run, as the site may be down or overloaded."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from corpus.feeds.download import Downloader
from corpus.feeds.errors import FetchError
from corpus.feeds.policy import AddressRefused

_MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB


class RobotsRules:
    def __init__(self, downloader: Downloader) -> None:
        self.downloader = downloader
        # Per host: the parsed rules, or the reason nothing may be fetched there.
        self._rules: dict[str, RobotFileParser | str] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def refusal(self, url: str, for_feed: str = "") -> str:
        """Why robots.txt forbids `url` (or the fetch policy its host, for the feed at
        `for_feed`); "" when it may be fetched."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            host_lock = self._host_locks.setdefault(origin, threading.Lock())
        with host_lock:  # one fetch of robots.txt per host, however many pages wait
            if origin not in self._rules:
                try:
                    self._rules[origin] = self._load(origin, for_feed)
                except AddressRefused as exc:  # for this feed: another may be allowed
                    return exc.reason
        rules = self._rules[origin]
        if isinstance(rules, str):
            return rules
        if rules.can_fetch(self.downloader.user_agent, url):
            return ""
        return "robots.txt disallows it"

    def _load(self, origin: str, for_feed: str) -> RobotFileParser | str:
        rules = RobotFileParser(origin + "/robots.txt")
        try:
            response = self.downloader.get(origin + "/robots.txt",
                                           max_bytes=_MAX_ROBOTS_BYTES, for_feed=for_feed)
        except AddressRefused:
            raise
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                rules.allow_all = True
                return rules
            return f"robots.txt could not be read ({exc.reason})"
        rules.parse(response.body.decode("utf-8", "replace").splitlines())
        return rules
