"""Adding, removing, importing and exporting feeds: the checks around `FeedStore`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from corpus.errors import Fix
from corpus.feeds.download import is_web_url, shown
from corpus.feeds.errors import FeedError
from corpus.feeds.opml import OpmlFeed
from corpus.feeds.store import Feed, FeedStore
from corpus.feeds.text import one_line

MAX_NAME = 100


def check_url(url: str) -> str:
    """The URL stripped; a `FeedError` unless it is an absolute http(s) URL."""
    url = url.strip()
    if not is_web_url(url) or one_line(url) != url:
        raise FeedError(f"{shown(one_line(url)) or 'an empty URL'!r} is not an http(s) URL; "
                        "a feed URL looks like https://example.com/rss.xml")
    return url


def check_name(name: str) -> str:
    clean = one_line(name)
    if not clean:
        raise FeedError("a feed's name cannot be empty")
    if len(clean) > MAX_NAME:
        raise FeedError(f"a feed's name can be at most {MAX_NAME} characters")
    return clean


def default_name(store: FeedStore, url: str) -> str:
    """The site's host ("example.com"), or host and path when another feed has the host,
    numbered when even that is taken."""
    parts = urlsplit(url)
    host = (parts.hostname or "feed").removeprefix("www.")
    candidates = [host, one_line(host + parts.path.rstrip("/"), MAX_NAME)]
    for candidate in candidates:
        if not store.name_taken(candidate):
            return candidate
    return unique_name(store, candidates[-1])


def unique_name(store: FeedStore, name: str) -> str:
    if not store.name_taken(name):
        return name
    number = 2
    while store.name_taken(f"{name} ({number})"):
        number += 1
    return f"{name} ({number})"


def add_feed(store: FeedStore, url: str, name: str | None = None, title: str = "") -> Feed:
    """Subscribe to `url` as `name`; without one, by the feed's own `title` (numbered when
    another feed has it), or by its host when the feed has no title."""
    url = check_url(url)
    if name:
        return store.add(url, check_name(name))
    title = one_line(title, MAX_NAME)
    return store.add(url, unique_name(store, title) if title else default_name(store, url))


def find_feed(store: FeedStore, name_or_url: str) -> Feed:
    feed = store.find(name_or_url) or store.find(name_or_url.strip())
    if feed is None:
        raise FeedError(f"no feed named {one_line(name_or_url, 120)!r} (or with that URL)",
                        fix=Fix.LIST_FEEDS)
    return feed


@dataclass
class ImportReport:
    added: list[Feed] = field(default_factory=list)
    already: int = 0  # URLs already subscribed
    refused: list[str] = field(default_factory=list)  # "URL: why", one a line


def import_feeds(store: FeedStore, entries: list[OpmlFeed]) -> ImportReport:
    """Subscribe to every feed read from an OPML file (`opml.read_opml`); URLs already
    there are left as they are."""
    report = ImportReport()
    for entry in entries:
        try:
            url = check_url(entry.url)
        except FeedError as exc:
            report.refused.append(str(exc))
            continue
        if store.find(url) is not None:
            report.already += 1
            continue
        name = one_line(entry.name, MAX_NAME)
        name = unique_name(store, name) if name else default_name(store, url)
        report.added.append(store.add(url, name))
    return report
