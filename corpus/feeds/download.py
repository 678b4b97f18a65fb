"""Polite HTTP GETs for feeds, pages and robots.txt, with the stdlib's urllib.

Every request sends the configured User-Agent, gives up after a timeout (per attempt,
the whole download included, so a server dripping bytes cannot hold a run), reads at
most a size cap (then drops the connection; a compressed body is capped on its
decompressed size too, so a gzip bomb stops there), follows at most five redirects and
only to http(s) URLs, keeps to a number of requests at once per host, and retries server
errors and broken connections with a growing pause. Every connection, redirects included,
goes through the fetch policy (`policy`): private addresses are refused where the socket
is connected. Proxy variables are not used: through a proxy, the policy could not see the
address connected to. Safe to call from many threads."""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from functools import partial
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from corpus.feeds.errors import FetchError
from corpus.feeds.policy import Connector, FetchPolicy, host_of

# Pauses before the second and third try; tests make them short.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0)
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_SHOWN_URL = 120
_UNSAFE = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]')  # what http.client or servers refuse


def is_web_url(url: str) -> bool:
    """An absolute http or https URL with a host: the only kind newsbot ever requests."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # "http://[broken"
        return False


def ascii_url(url: str) -> str:
    """`url` as http.client can send it: a non-ASCII host in IDNA, other non-ASCII
    characters and spaces percent-encoded (feeds link to such URLs; urllib refuses them)."""
    if url.isascii() and not _UNSAFE.search(url):
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        netloc = parts.netloc.replace(host, host.encode("idna").decode("ascii"))
    except UnicodeError:  # not a name IDNA can write; urllib will say what is wrong
        netloc = parts.netloc
    keep = "%/:?#[]@!$&'()*+,;=~"
    return urlunsplit((parts.scheme, quote(netloc, keep), quote(parts.path, keep),
                       quote(parts.query, keep), quote(parts.fragment, keep)))


def shown(url: str) -> str:
    """A URL short enough for a one-line message."""
    return url if len(url) <= _MAX_SHOWN_URL else url[: _MAX_SHOWN_URL - 1] + "…"


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int  # 200-ish, or 304 (not modified: no body)
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type() if self.headers.get("Content-Type") else ""

    @property
    def charset(self) -> str | None:
        return self.headers.get_content_charset()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by `Downloader` itself, which checks each target's scheme
    (urllib would follow one to ftp://) and counts them."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Request(urllib.request.Request):
    """A request that carries how its connections are made (the policy, for one feed)."""

    def __init__(self, url: str, headers: dict[str, str], connector: Connector) -> None:
        super().__init__(url, headers=headers)
        self.connector = connector


def _guarded(connection: type[http.client.HTTPConnection], connector: Connector, host: str,
             **kwargs: object) -> http.client.HTTPConnection:
    opened = connection(host, **kwargs)
    opened._create_connection = connector  # resolves, checks and connects
    return opened


class _GuardedHTTP(urllib.request.HTTPHandler):
    def http_open(self, req: _Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_guarded, http.client.HTTPConnection, req.connector), req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def https_open(self, req: _Request) -> http.client.HTTPResponse:
        return self.do_open(partial(_guarded, http.client.HTTPSConnection, req.connector),
                            req, context=self._context)


class _Inflater:
    """A gzip or deflate body decompressed as it comes, failing past `max_bytes`."""

    def __init__(self, encoding: str, max_bytes: int, limit: str) -> None:
        self._zlib = zlib.decompressobj(47 if encoding in ("gzip", "x-gzip") else 15)
        self.max_bytes, self.limit, self.total = max_bytes, limit, 0

    def __call__(self, data: bytes) -> bytes:
        pieces = []
        try:
            while data:  # never more than one byte past the cap in memory
                piece = self._zlib.decompress(data, self.max_bytes - self.total + 1)
                self.total += len(piece)
                if self.total > self.max_bytes:
                    raise FetchError(self.limit)
                pieces.append(piece)
                data = self._zlib.unconsumed_tail
        except zlib.error:
            raise FetchError("damaged compressed body") from None
        return b"".join(pieces)


class Downloader:
    def __init__(self, user_agent: str, timeout: float, max_bytes: int, per_host: int,
                 retry_delays: tuple[float, ...] | None = None,
                 max_redirects: int = MAX_REDIRECTS, policy: FetchPolicy | None = None) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.per_host = per_host
        self.retry_delays = RETRY_DELAYS if retry_delays is None else retry_delays
        self.max_redirects = max_redirects
        self.policy = policy or FetchPolicy()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _NoRedirect, _GuardedHTTP, _GuardedHTTPS)
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    def get(self, url: str, headers: Mapping[str, str] | None = None, *,
            only_types: tuple[str, ...] = (), max_bytes: int | None = None,
            for_feed: str = "") -> Response:
        """GET `url`, retried as configured. `only_types` (for pages: the HTML types):
        refuse a response of another content type without reading its body. `for_feed`:
        the URL of the feed this is fetched for, whose own host may be private. Raises
        `FetchError` (`AddressRefused` when the policy refuses an address)."""
        tries = len(self.retry_delays) + 1
        connector = self.policy.connector(host_of(for_feed))
        for attempt in range(1, tries + 1):
            try:
                return self._follow(url, dict(headers or {}), only_types,
                                    max_bytes or self.max_bytes, connector)
            except FetchError as exc:
                if not exc.retry or attempt == tries:
                    if attempt > 1:
                        exc.reason += f" (after {attempt} tries)"
                    raise
            time.sleep(self.retry_delays[attempt - 1])
        raise AssertionError("unreachable")

    def _follow(self, url: str, headers: dict[str, str], only_types: tuple[str, ...],
                max_bytes: int, connector: Connector) -> Response:
        current = url
        for _ in range(self.max_redirects + 1):
            if not is_web_url(current):
                raise FetchError(f"not an http(s) URL: {shown(current)}")
            response, location = self._once(current, headers, only_types, max_bytes,
                                             connector)
            if response is not None:
                return response
            current = urljoin(current, location)
        raise FetchError(f"more than {self.max_redirects} redirects")

    def _slot(self, url: str) -> threading.BoundedSemaphore:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"
        with self._slots_lock:
            if key not in self._slots:
                self._slots[key] = threading.BoundedSemaphore(self.per_host)
            return self._slots[key]

    def _once(self, url: str, headers: dict[str, str], only_types: tuple[str, ...],
              max_bytes: int, connector: Connector) -> tuple[Response | None, str]:
        """One request: (the response, "") or (None, where it redirects to)."""
        request = _Request(ascii_url(url), {**headers, "User-Agent": self.user_agent,
                                            "Accept-Encoding": "gzip"}, connector)
        with self._slot(url):
            deadline = time.monotonic() + self.timeout
            try:
                with self._opener.open(request, timeout=self.timeout) as reply:
                    if only_types and reply.headers.get_content_type() not in only_types:
                        kind = reply.headers.get("Content-Type") or "no content type"
                        raise FetchError(f"not an HTML page ({kind.split(';')[0]})")
                    body = self._read(reply, max_bytes, deadline)
                    return Response(reply.geturl(), reply.status, reply.headers, body), ""
            except urllib.error.HTTPError as exc:
                with exc:  # it holds the connection
                    return self._http_error(url, exc)
            except FetchError:
                raise
            except (TimeoutError, urllib.error.URLError, http.client.HTTPException,
                    OSError, ValueError) as exc:
                raise _connection_problem(exc, self.timeout) from None

    def _http_error(self, url: str, exc: urllib.error.HTTPError) -> tuple[Response | None, str]:
        if exc.code == 304:
            return Response(url, 304, exc.headers, b""), ""
        location = exc.headers.get("Location") if exc.headers else None
        if exc.code in _REDIRECTS and location:
            return None, location
        reason = f"HTTP {exc.code} {exc.reason}".strip()
        raise FetchError(reason, retry=exc.code >= 500, status=exc.code)

    def _read(self, reply: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
        """The body, up to `max_bytes`; past that the connection is dropped unread."""
        limit = f"larger than {max_bytes / 1e6:g} MB"
        length = reply.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(limit)
        encoding = (reply.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported content encoding {shown(encoding)}")
        inflate = None if encoding == "identity" else _Inflater(encoding, max_bytes, limit)
        chunks: list[bytes] = []
        total = 0
        while chunk := reply.read(_CHUNK):
            total += len(chunk)
            if total > max_bytes:
                raise FetchError(limit)
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {self.timeout:g} s", retry=True)
            chunks.append(inflate(chunk) if inflate else chunk)
        return b"".join(chunks)


def _connection_problem(exc: BaseException, timeout: float) -> FetchError:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return FetchError(f"timed out after {timeout:g} s", retry=True)
    if isinstance(exc, ValueError):  # an URL http.client refuses (spaces, control bytes)
        return FetchError(f"invalid URL ({exc})")
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return FetchError(f"connection failed: {text}", retry=True)
