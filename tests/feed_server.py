"""A real HTTP server on 127.0.0.1 (or another loopback address: 127.0.0.2 is another
host) for the feed tests: each path answers with a canned response (conditional requests
included) or a function, and every request is logged with its headers, so tests can
assert on what a client actually sent; connections are counted, requests or not."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased


@dataclass
class Canned:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""  # answer 304 to a matching If-None-Match
    last_modified: str = ""  # answer 304 to a matching If-Modified-Since


Responder = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        state = self.server.state
        state.record(Request("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
        answer = state.routes.get(self.path.split("?")[0])
        if answer is None:
            self.reply(404, b"not found", "text/plain")
        elif callable(answer):
            answer(self)
        else:
            self.canned(answer)

    def canned(self, answer: Canned) -> None:
        extra = dict(answer.headers)
        if answer.etag:
            extra["ETag"] = answer.etag
        if answer.last_modified:
            extra["Last-Modified"] = answer.last_modified
        if (answer.etag and self.headers.get("If-None-Match") == answer.etag) or (
                answer.last_modified
                and self.headers.get("If-Modified-Since") == answer.last_modified):
            self.reply(304, b"", None, extra)
            return
        self.reply(answer.status, answer.body, answer.content_type, extra)

    def reply(self, status: int, body: bytes, content_type: str | None,
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a test of timeouts); nothing to tell it


class ServerState:
    def __init__(self) -> None:
        self.routes: dict[str, Canned | Responder] = {}
        self.log: list[Request] = []
        self.notes: dict[str, Any] = {}  # what responder functions saw
        self.lock = threading.Lock()
        self.in_flight = 0  # slow pages being answered now
        self.most_in_flight = 0
        self.connections = 0  # accepted, whether a request came or not

    def record(self, request: Request) -> None:
        with self.lock:
            self.log.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping must not hold a test up
    state: ServerState

    def get_request(self) -> tuple[Any, Any]:
        accepted = super().get_request()
        with self.state.lock:
            self.state.connections += 1
        return accepted


class FeedServer:
    """`with FeedServer() as server: server.routes["/feed.xml"] = Canned(...)`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.state = ServerState()
        self._server = _Server((host, 0), Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def routes(self) -> dict[str, Canned | Responder]:
        return self.state.routes

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://{self._server.server_address[0]}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.state.log if r.path == path]


# --- responders ---------------------------------------------------------------------------

def failing(status: int) -> Responder:
    def respond(handler: Handler) -> None:
        handler.reply(status, b"oops", "text/plain")
    return respond


def sleeping(seconds: float) -> Responder:
    def respond(handler: Handler) -> None:
        time.sleep(seconds)
        handler.reply(200, b"<html><body><p>late</p></body></html>", "text/html")
    return respond


def redirect_to(location: str) -> Responder:
    def respond(handler: Handler) -> None:
        handler.reply(302, b"", "text/plain", {"Location": location})
    return respond


def huge_page(total_bytes: int, key: str = "huge", with_length: bool = False) -> Responder:
    """An HTML page of `total_bytes`, sent in chunks; records in notes[key] how much was
    sent and whether the client dropped the connection before the end."""
    def respond(handler: Handler) -> None:
        chunk = b"<p>" + b"filler text " * 5000 + b"</p>\n"
        sent = 0
        outcome = {"sent": 0, "dropped": False}
        handler.server.state.notes[key] = outcome
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            if with_length:
                handler.send_header("Content-Length", str(total_bytes))
            handler.end_headers()
            handler.wfile.write(b"<html><body>")
            while sent < total_bytes:
                handler.wfile.write(chunk)
                sent += len(chunk)
                outcome["sent"] = sent
        except (BrokenPipeError, ConnectionResetError):
            outcome["dropped"] = True
    return respond


def slow_page(seconds: float, html: bytes) -> Responder:
    """A page that takes a while; the state counts how many are answered at once."""
    def respond(handler: Handler) -> None:
        state = handler.server.state
        with state.lock:
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
        time.sleep(seconds)
        with state.lock:  # before replying: the client may send its next request at once
            state.in_flight -= 1
        handler.reply(200, html, "text/html; charset=utf-8")
    return respond


# --- documents ----------------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rss(items: list[dict[str, str]], title: str = "Harbour Gazette") -> bytes:
    """RSS 2.0; each item's keys become its elements (title, link, guid, pubDate, ...)."""
    entries = "".join(
        "<item>" + "".join(f"<{k}>{_escape(v)}</{k}>" for k, v in item.items()) + "</item>"
        for item in items)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{_escape(title)}</title>{entries}</channel></rss>\n").encode()


def atom(entries: list[dict[str, str]], title: str = "Valley Wire") -> bytes:
    body = "".join(
        f"<entry><id>{_escape(e['id'])}</id><title>{_escape(e['title'])}</title>"
        f"<link href=\"{_escape(e['link'])}\"/><updated>{e['updated']}</updated>"
        f"<author><name>{_escape(e.get('author', ''))}</name></author>"
        f"<summary>{_escape(e.get('summary', ''))}</summary></entry>" for e in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{_escape(title)}</title>{body}</feed>\n").encode()


def page(title: str, *paragraphs: str, date: str = "", author: str = "",
         site: str = "") -> bytes:
    """An article page with the usual metadata tags."""
    meta = "".join(
        f'<meta {attr}="{name}" content="{_escape(value)}">'
        for attr, name, value in (("property", "article:published_time", date),
                                  ("name", "author", author),
                                  ("property", "og:site_name", site)) if value)
    text = "".join(f"<p>{_escape(p)}</p>" for p in paragraphs)
    return (f"<html><head><title>{_escape(title)}</title>{meta}</head><body>"
            f"<nav>Home</nav><article><h1>{_escape(title)}</h1>{text}</article>"
            "</body></html>").encode()


def story(topic: str) -> list[str]:
    """Three sentences long enough for trafilatura to take as an article."""
    return [f"The {topic} was the talk of the town on Tuesday, officials told reporters "
            "gathered outside the council chamber.",
            f"Engineers said the {topic} had been planned for years and would be finished "
            "before the winter storms arrive.",
            f"Residents welcomed the {topic}, although some asked why it had taken so long "
            "to begin the work."]
