"""One poll of the feeds: every feed downloaded with a conditional request, its new items'
pages downloaded once, each written as an article file, and the outcome stored.

Downloads run in a thread pool (the downloader keeps to its limit per host); the store
is used from the calling thread only. Per feed, files are written first and then the
items and the feed's validators recorded in one transaction, so a run killed at any point
leaves whole articles and, at worst, fetches some again (into the same file names).
Nothing here deletes an article: items that scroll off a feed keep their files."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from corpus.feeds.download import Downloader, Response, shown
from corpus.feeds.errors import FeedError, FeedFormatError, FetchError
from corpus.feeds.page import ItemDraft, PageReader
from corpus.feeds.parse import FeedItem, ParsedFeed, parse_feed
from corpus.feeds.policy import REFUSED, FetchPolicy
from corpus.feeds.store import Feed, FeedStore, FetchedItem
from corpus.feeds.text import one_line
from corpus.feeds.write import write_article

_FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
                "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
                "application/json;q=0.8, */*;q=0.5")

_MAX_VALIDATOR = 256


@dataclass(frozen=True)
class FetchOptions:
    """How politely to fetch (library code takes these values, never the settings)."""

    user_agent: str
    timeout: float = 20.0
    max_page_mb: float = 5.0
    per_host: int = 2
    retry_delays: tuple[float, ...] | None = None  # None: download.RETRY_DELAYS
    workers: int = 8
    allow_hosts: tuple[str, ...] = ()  # reachable whatever their address (policy.py)

    def downloader(self) -> Downloader:
        return Downloader(self.user_agent, self.timeout, int(self.max_page_mb * 1_000_000),
                          self.per_host, self.retry_delays,
                          policy=FetchPolicy.allowing(self.allow_hosts))


@dataclass
class FeedResult:
    feed: Feed
    not_modified: bool = False
    written: list[Path] = field(default_factory=list)
    error: str = ""  # why the feed failed; "" when it did not
    notes: list[str] = field(default_factory=list)  # items written from the feed's own text
    refused: list[str] = field(default_factory=list)  # those of them the policy refused


@dataclass
class PollReport:
    results: list[FeedResult] = field(default_factory=list)

    @property
    def polled(self) -> int:
        return len(self.results)

    @property
    def not_modified(self) -> int:
        return sum(r.not_modified for r in self.results)

    @property
    def new_articles(self) -> int:
        return sum(len(r.written) for r in self.results)

    @property
    def failures(self) -> list[FeedResult]:
        return [r for r in self.results if r.error]

    @property
    def written(self) -> list[Path]:
        return [path for r in self.results for path in r.written]


@dataclass
class _Plan:
    """A feed's state between the phases of a poll."""

    result: FeedResult
    response: Response | None = None
    parsed: ParsedFeed | None = None
    new: list[FeedItem] = field(default_factory=list)
    drafts: list[ItemDraft | None] = field(default_factory=list)


def _conditional(feed: Feed, folder: Path) -> dict[str, str]:
    headers = {"Accept": _FEED_ACCEPT}
    if feed.validators_for != str(folder):  # what this folder has not got: ask for all
        return headers
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    return headers


def _download(downloader: Downloader, plan: _Plan, folder: Path) -> None:
    feed = plan.result.feed
    try:
        plan.response = downloader.get(feed.url, _conditional(feed, folder), for_feed=feed.url)
    except FetchError as exc:
        plan.result.error = exc.reason
    except Exception as exc:  # one feed's surprise must not end the poll of the others
        plan.result.error = _unexpected(exc)


def _parse(store: FeedStore, folder: Path, plan: _Plan, urls_this_run: set[str]) -> None:
    """The feed's new items: not fetched before, by guid in this feed or by link in any,
    nor listed twice in this run."""
    response, feed = plan.response, plan.result.feed
    if response is None or response.status == 304:
        plan.result.not_modified = response is not None
        return
    try:
        plan.parsed = parse_feed(response.body, response.url, response.content_type)
    except FeedFormatError as exc:
        plan.result.error = str(exc)
        return
    except Exception as exc:
        plan.result.error = _unexpected(exc)
        return
    guids: set[str] = set()
    for item in plan.parsed.items:
        if item.guid in guids or (item.url and item.url in urls_this_run):
            continue
        guids.add(item.guid)
        if item.url:
            urls_this_run.add(item.url)
        if not store.known(folder, feed.url, item.guid, item.url):
            plan.new.append(item)


def _validator(response: Response | None, name: str) -> str | None:
    """A header to send back next time; None (keep the stored one) when absent or not
    something a header may carry back (a hostile server could send anything)."""
    value = response.headers.get(name) if response is not None else None
    if not value or len(value) > _MAX_VALIDATOR or not value.isascii() \
            or not value.isprintable():
        return None
    return value


def _unexpected(exc: Exception) -> str:
    return f"unexpected {type(exc).__name__}: {one_line(str(exc), 160)}"


def _note(item: FeedItem, what: str) -> str:
    which = shown(one_line(item.url)) if item.url else repr(one_line(item.title, 80))
    return f"{which}: {what}"


def _refusals(result: FeedResult) -> str:
    """What `feeds list` shows of the links the policy refused (the feed itself worked)."""
    if not result.refused:
        return ""
    more = len(result.refused) - 1
    return result.refused[0] + (f" (and {more} more link{'s' * (more > 1)})" if more else "")


def _save(store: FeedStore, feeds_dir: Path, plan: _Plan) -> None:
    """Write the feed's new articles, then record them with the validators (or the
    error) in one transaction."""
    result, response = plan.result, plan.response
    fetched: list[FetchedItem] = []
    for item, draft in zip(plan.new, plan.drafts, strict=True):
        if draft is None:  # no page, no text, no title: nothing to keep, nor to retry
            fetched.append(FetchedItem(item.guid, item.url, ""))
            result.notes.append(_note(item, "nothing to write (no page, text or title)"))
            continue
        try:
            path = write_article(feeds_dir, result.feed.name, draft)
        except OSError as exc:
            result.error = f"cannot write {exc.filename or 'an article'}: " \
                f"{exc.strerror or exc}"
            break
        fetched.append(FetchedItem(item.guid, item.url, str(path)))
        result.written.append(path)
        if draft.fallback:
            result.notes.append(_note(item, f"{draft.fallback}; used the feed's own text"))
            if draft.fallback.startswith(REFUSED):
                result.refused.append(_note(item, draft.fallback))
    # Validators only with every item they cover; absent ones keep the stored values.
    keep = response is not None and not result.error
    store.record_poll(result.feed, feeds_dir, fetched, error=result.error or _refusals(result),
                      etag=_validator(response, "ETag") if keep else None,
                      last_modified=_validator(response, "Last-Modified") if keep else None)


def check_feed(url: str, options: FetchOptions) -> ParsedFeed:
    """The feed at `url`, downloaded and read once (before subscribing to it); a
    `FeedError` saying why when it cannot be had or is not a feed (a 404, a web page)."""
    try:
        response = options.downloader().get(url, {"Accept": _FEED_ACCEPT}, for_feed=url)
        return parse_feed(response.body, response.url, response.content_type)
    except (FetchError, FeedFormatError) as exc:
        reason = exc.reason if isinstance(exc, FetchError) else str(exc)
        raise FeedError(f"{shown(url)} is not a feed newsbot can read: {reason}") from None


def poll_feeds(store: FeedStore, feeds_dir: Path, options: FetchOptions,
               feeds: list[Feed] | None = None) -> PollReport:
    """Poll `feeds` (default: every feed in the store) and write their new articles
    under `feeds_dir`. A feed that fails is reported and recorded; the others go on."""
    feeds_dir = feeds_dir.absolute()  # items are recorded by folder
    downloader = options.downloader()
    reader = PageReader(downloader)
    plans = [_Plan(FeedResult(feed)) for feed in (store.feeds() if feeds is None else feeds)]
    pool = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="newsbot-fetch")
    try:
        list(pool.map(lambda plan: _download(downloader, plan, feeds_dir), plans))
        urls_this_run: set[str] = set()
        for plan in plans:
            _parse(store, feeds_dir, plan, urls_this_run)
        pages = [[pool.submit(reader.draft, item, plan.parsed.title if plan.parsed else "",
                              plan.result.feed.url) for item in plan.new] for plan in plans]
        report = PollReport()
        for plan, drafts in zip(plans, pages, strict=True):
            # Each feed is saved once its own pages are in, while later ones download:
            # a run stopped half-way keeps the feeds it finished.
            plan.drafts = [draft.result() for draft in drafts]
            _save(store, feeds_dir, plan)
            report.results.append(plan.result)
    finally:  # on Ctrl-C, downloads not yet started are dropped rather than waited for
        pool.shutdown(wait=False, cancel_futures=True)
    return report
