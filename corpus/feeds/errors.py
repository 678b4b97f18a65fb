"""The errors of the feed reader. `FeedError` is a user's mistake or a damaged file (the
CLI prints it as one line); `FetchError` is one request that did not work out, which
costs a feed or a page but never a whole run."""

from __future__ import annotations

from corpus.errors import NewsbotError


class FeedError(NewsbotError):
    """An unknown or duplicate feed, a URL that is not http(s), an unreadable OPML file."""


class FeedFormatError(FeedError):
    """A feed's document is not RSS, Atom or JSON Feed, or is cut short."""


class FetchError(Exception):
    """A request failed. `retry`: worth another try (5xx, timeouts, dropped connections);
    `status`: the HTTP status when the server answered."""

    def __init__(self, reason: str, *, retry: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry
        self.status = status
