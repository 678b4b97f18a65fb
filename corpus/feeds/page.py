"""One new feed item into the article that is written for it: its page downloaded and read
like any HTML article (trafilatura, JSON-LD), or, when the page cannot be had, the item's
own text. The page's metadata wins over the item's (it is the article's own); the item's
fills what the page lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from corpus.article import Article
from corpus.errors import ArticleReadError
from corpus.feeds.download import Downloader, Response, is_web_url
from corpus.feeds.errors import FetchError
from corpus.feeds.parse import FeedItem
from corpus.feeds.robots import RobotsRules
from corpus.feeds.text import clean_body, one_line, title_line
from corpus.metadata import outlet_from_url
from corpus.webpage import read_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"


@dataclass(frozen=True)
class ItemDraft:
    """What is written for one feed item."""

    guid: str
    url: str  # the item's link when it is http(s); "" otherwise
    title: str
    body: str
    source: str
    author: str
    published_at: datetime | None
    fallback: str  # why the item's own text was used; "" when the page was read


def _decode(response: Response) -> str:
    charset = response.charset or "utf-8"
    try:
        return response.body.decode(charset, "replace")
    except LookupError:  # a charset Python does not know
        return response.body.decode("utf-8", "replace")


def read_page(response: Response) -> Article | None:
    """The article on a downloaded page; None when there is no article text on it."""
    try:
        # The label only names the page in read_html's own messages, which are not shown.
        return read_html(Path("page.html"), _decode(response))
    except ArticleReadError:  # no article text
        return None
    except Exception:  # a page no extractor foresaw costs only its own item
        return None


class PageReader:
    def __init__(self, downloader: Downloader, robots: RobotsRules | None = None) -> None:
        self.downloader = downloader
        self.robots = robots or RobotsRules(downloader)

    def _page(self, url: str, for_feed: str) -> tuple[Article | None, str]:
        """The page's article, or None and why not ("" when the item links nowhere: then
        its own text is all there is, and nothing to report)."""
        if not url:
            return None, ""
        if not is_web_url(url):
            scheme = urlsplit(url).scheme if ":" in url else ""
            return None, f"its link is not http(s) ({scheme or 'relative'}:)"
        refusal = self.robots.refusal(url, for_feed)
        if refusal:
            return None, refusal
        try:
            response = self.downloader.get(url, {"Accept": _PAGE_ACCEPT},
                                           only_types=HTML_TYPES, for_feed=for_feed)
        except FetchError as exc:
            return None, exc.reason
        article = read_page(response)
        return article, "" if article else "no article text on the page"

    def draft(self, item: FeedItem, feed_title: str, feed_url: str = "") -> ItemDraft | None:
        """The article for `item` of the feed at `feed_url`; None when neither the page
        nor the item holds any text or title at all."""
        try:
            page, why = self._page(item.url, feed_url)
        except Exception as exc:  # a surprise costs the page, not the item
            page, why = None, f"page not read (unexpected {type(exc).__name__})"
        url = item.url if is_web_url(item.url) else ""
        title = title_line(page.title if page and page.title else item.title)
        body = (page.body if page else "") or item.text or title
        if not body:
            return None
        return ItemDraft(
            guid=item.guid,
            url=url,
            title=title,
            body=clean_body(body),
            source=one_line((page.source if page else "") or feed_title
                            or outlet_from_url(url), 200),
            author=one_line((page.author if page else "") or item.author, 300),
            published_at=(page.published_at if page else None) or item.published,
            fallback=why,
        )
