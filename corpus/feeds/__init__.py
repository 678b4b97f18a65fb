"""The feed reader: subscriptions kept in SQLite (`store`), feeds and pages downloaded
politely (`download`, `robots`), RSS, Atom and JSON Feed read (`parse`), each new item's
page turned into an article (`page`) and written as a Markdown file (`write`), one poll
of every feed (`poll`), OPML import and export (`opml`, `manage`).

Like the rest of `corpus`, it knows nothing of indexes or settings: callers pass the
values in, and index the feeds folder afterwards."""

from corpus.feeds.errors import FeedError, FeedFormatError, FetchError
from corpus.feeds.manage import add_feed, find_feed, import_feeds
from corpus.feeds.opml import read_opml
from corpus.feeds.poll import FeedResult, FetchOptions, PollReport, poll_feeds
from corpus.feeds.store import Feed, FeedStore

__all__ = [
    "Feed",
    "FeedError",
    "FeedFormatError",
    "FeedResult",
    "FeedStore",
    "FetchError",
    "FetchOptions",
    "PollReport",
    "add_feed",
    "find_feed",
    "import_feeds",
    "poll_feeds",
    "read_opml",
]
