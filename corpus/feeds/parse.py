"""A feed document into its items: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed
(https://jsonfeed.org/version/1.1, and 1.0) read here.

feedparser is lenient, as every feed reader must be (a `&nbsp;` RSS never declared is
common), so a document is refused only when it holds no feed at all or is cut short: a
truncated feed's last item would be stored half-written and never fetched again."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from corpus.article import short_hash
from corpus.feeds.errors import FeedFormatError
from corpus.feeds.text import clean_body, html_to_text, one_line, title_line
from corpus.metadata import parse_date, to_text

_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
# A complete XML feed ends with its root's closing tag (and maybe comments).
_CLOSED = re.compile(rb"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*(?:<!--.*?-->\s*)*\Z",
                     re.DOTALL)
_TAIL = 2048
_FEED_KINDS = "an RSS, Atom or JSON feed"
_WEB_PAGE = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_PARSER_PLACE = re.compile(r"^<unknown>:(\d+):\d+: ")
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


@dataclass(frozen=True)
class FeedItem:
    guid: str  # the item's id, else its link, else a hash of its title and text
    url: str  # its link, absolute; "" when it has none
    title: str
    text: str  # the item's own content or summary, as plain text
    published: datetime | None
    author: str


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    items: list[FeedItem]


def parse_feed(data: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """The items of a feed downloaded from `url` (relative links resolve against it).
    Raises `FeedFormatError` for a document that is no feed, or is truncated."""
    if "json" in content_type or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _json_feed(data, url)
    return _xml_feed(data, url, content_type)


def _item(guid: Any, url: str, title: str, text: str, published: datetime | None,
          author: str) -> FeedItem:
    title = title_line(title)
    guid_text = one_line(to_text(guid)) or url or short_hash("item", title, text)
    return FeedItem(guid_text, url, title, text, published, one_line(author, 300))


# --- RSS and Atom ---------------------------------------------------------------------------

def _truncated(data: bytes) -> bool:
    tail = data[-_TAIL:]
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        tail = data.decode("utf-16", "replace")[-_TAIL:].encode("utf-8")
    return not _CLOSED.search(tail.rstrip(b"\x00"))


def _text_of(detail: Any) -> str:
    """A feedparser text construct (`title_detail`, a `content` entry) as plain text."""
    if not isinstance(detail, dict):
        return ""
    value = to_text(detail.get("value"))
    kind = str(detail.get("type") or "")
    return html_to_text(value) if "html" in kind else clean_body(value)


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = entry.get(key)
        if stamp:
            try:
                return datetime(*stamp[:6], tzinfo=UTC)
            except (TypeError, ValueError):
                continue
    return None


def _xml_item(entry: Any) -> FeedItem:
    contents = [_text_of(c) for c in entry.get("content") or []]
    text = max(contents, key=len, default="") or _text_of(entry.get("summary_detail"))
    if not text and entry.get("summary"):
        text = html_to_text(to_text(entry.get("summary")))
    title = _text_of(entry.get("title_detail")) or to_text(entry.get("title"))
    author = to_text(entry.get("author")) or to_text(entry.get("authors"))
    link = to_text(entry.get("link"))
    return _item(entry.get("id"), link, title, text, _when(entry), author)


def _linked_feed(page: bytes, url: str) -> str:
    """What to do about a web page: add the feed its `<link rel="alternate">` names, or
    find the site's feed."""
    for tag in _LINK_TAG.findall(page[:262144].decode("utf-8", "replace")):
        found = {k.lower(): v.strip("\"'") for k, v in _ATTRIBUTE.findall(tag)}
        if ("alternate" in found.get("rel", "").lower().split()
                and found.get("type", "").lower() in _FEED_TYPES and found.get("href")):
            feed = urljoin(url, found["href"])
            return f"its feed is at {feed}: add that address instead"
    return "give the address of the site's feed (often behind an RSS link on the page)"


def _xml_feed(data: bytes, url: str, content_type: str) -> ParsedFeed:
    # Bytes, never a str: feedparser would take a str that looks like a URL and fetch it.
    parsed = feedparser.parse(data, response_headers={
        "content-location": url, "content-type": content_type or "application/xml"})
    if not parsed.get("version") and not parsed.entries:
        if _WEB_PAGE.search(data[:4096]):
            raise FeedFormatError(f"it is a web page, not {_FEED_KINDS}; {_linked_feed(data, url)}")
        problem = one_line(str(parsed.get("bozo_exception") or ""), 120)
        # The XML parser's "<unknown>:2:0: syntax error": the line is the user's, not the rest.
        problem = _PARSER_PLACE.sub(r"XML error at line \1: ", problem)
        detail = f" ({problem})" if problem and "media type" not in problem else ""
        raise FeedFormatError(f"not {_FEED_KINDS}{detail}")
    if _truncated(data):
        raise FeedFormatError("truncated feed: the document ends before its closing tag")
    title = _text_of(parsed.feed.get("title_detail")) or to_text(parsed.feed.get("title"))
    return ParsedFeed(one_line(title, 200), [_xml_item(e) for e in parsed.entries])


# --- JSON Feed ------------------------------------------------------------------------------

def _json_item(item: dict[str, Any], url: str, feed_author: str) -> FeedItem:
    link = item.get("url") or item.get("external_url")
    link = urljoin(url, link) if isinstance(link, str) and link.strip() else ""
    text = (clean_body(to_text(item.get("content_text")))
            or html_to_text(to_text(item.get("content_html")))
            or clean_body(to_text(item.get("summary"))))
    published = parse_date(item.get("date_published")) or parse_date(item.get("date_modified"))
    author = to_text(item.get("authors")) or to_text(item.get("author")) or feed_author
    return _item(item.get("id"), link.strip(), to_text(item.get("title")), text, published,
                 author)


def _json_feed(data: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise FeedFormatError("malformed JSON Feed: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise FeedFormatError(f"malformed JSON Feed: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise FeedFormatError("malformed JSON Feed: nested too deeply") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(_JSON_FEED_VERSION):
        raise FeedFormatError("not a JSON Feed (no https://jsonfeed.org/version/ field)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedFormatError("malformed JSON Feed: `items` is not a list")
    feed_author = to_text(document.get("authors")) or to_text(document.get("author"))
    found = [_json_item(i, url, feed_author) for i in items if isinstance(i, dict)]
    return ParsedFeed(one_line(to_text(document.get("title")), 200), found)
