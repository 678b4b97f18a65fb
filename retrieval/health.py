"""Health checks for `newsbot doctor` and the Discord bot's watch on its dependencies:
the index (whether it opens, its two stores agree, writes are pending, the embedding
model loads and matches) and each configured service (PostgreSQL, the Chroma server, the
LLM server), each with its latency. A check never raises: a failure is its one line.
(The Discord token's check lives in `bot/`, which knows Discord.)"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from corpus.errors import Fix, NewsbotError
from retrieval.settings import Settings

SERVICE_TIMEOUT_S = 5.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float
    fix: Fix | None = None  # what to do about a failure, said by each front end

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ServiceError(NewsbotError):
    """A service that did not answer as it should; its message names the URL, `status`
    the HTTP status it answered with (None when it did not answer)."""

    status: int | None = None


def _one_line(exc: BaseException) -> str:
    """Our own errors say what happened in words; anything else is named by its type."""
    text = str(exc).strip()
    if isinstance(exc, NewsbotError) and text:
        return text.splitlines()[0]
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def timed(name: str, probe: Callable[[], str]) -> Check:
    """Run `probe` (which says what it found, or raises) as the check `name`."""
    started = time.perf_counter()
    fix = None
    try:
        detail, ok = probe(), True
    except Exception as exc:  # every failure is the check's answer, never a crash
        detail, ok, fix = _one_line(exc), False, getattr(exc, "fix", None)
    return Check(name, ok, detail, round(time.perf_counter() - started, 4), fix)


def http_get(url: str, headers: dict[str, str] | None = None,
             timeout: float = SERVICE_TIMEOUT_S) -> Any:
    """GET `url` and return its JSON (or None for an empty body); an HTTP error raises."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
    except urllib.error.HTTPError as exc:  # before URLError: it is one
        error = ServiceError(f"{url} answered {exc.code} {exc.reason}")
        error.status = exc.code
        raise error from None
    except urllib.error.URLError as exc:
        raise ServiceError(f"cannot reach {url}: {_reason(exc.reason)}") from None
    except TimeoutError:
        raise ServiceError(f"{url} did not answer within {timeout:g} s") from None
    return json.loads(body) if body.strip() else None


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "the name does not resolve (DNS)"
    if isinstance(reason, TimeoutError):
        return "no answer in time"
    return str(getattr(reason, "strerror", None) or reason)


# --- services ------------------------------------------------------------------------------
def postgres_probe(settings: Settings) -> Callable[[], str]:
    def probe() -> str:
        import psycopg

        from retrieval.index.postgres import shown_url

        assert settings.index.database_url is not None
        url = settings.index.database_url.get_secret_value()
        with psycopg.connect(url, connect_timeout=int(SERVICE_TIMEOUT_S),
                             autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return f"{shown_url(url)} answers (PostgreSQL {version})"
    return probe


def chroma_probe(settings: Settings) -> Callable[[], str]:
    def probe() -> str:
        scheme = "https" if settings.index.chroma_ssl else "http"
        base = f"{scheme}://{settings.index.chroma_host}:{settings.index.chroma_port}"
        headers = ({"Authorization": f"Bearer {settings.index.chroma_token.get_secret_value()}"}
                   if settings.index.chroma_token else {})
        http_get(f"{base}/api/v2/heartbeat", headers)
        return f"{base} answers"
    return probe


def llm_probe(settings: Settings) -> Callable[[], str]:
    """The model server lists its models (a request that generates nothing)."""
    def probe() -> str:
        from retrieval.answer.llm import DEFAULT_URLS

        if settings.llm.provider == "llamacpp":
            path = settings.llm.gguf_path
            if not path or not path.expanduser().is_file():
                raise FileNotFoundError(f"NEWSBOT_LLM_GGUF_PATH={path}: no such file")
            return f"{path} is there (loaded in this process)"
        base = (settings.llm.base_url or DEFAULT_URLS[settings.llm.provider]).rstrip("/")
        if settings.llm.provider == "ollama":
            http_get(f"{base}/api/tags", timeout=min(settings.llm.timeout, SERVICE_TIMEOUT_S))
        else:
            key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else ""
            http_get(f"{base}/models", {"Authorization": f"Bearer {key}"} if key else None,
                     timeout=min(settings.llm.timeout, SERVICE_TIMEOUT_S))
        return f"{base} answers ({settings.llm.provider}, model {settings.llm.model})"
    return probe


def service_checks(settings: Settings) -> list[Check]:
    """One check per configured service (none in local mode without an LLM)."""
    checks = []
    if settings.index.database_url:
        checks.append(timed("PostgreSQL", postgres_probe(settings)))
    if settings.index.chroma_host:
        checks.append(timed("Chroma server", chroma_probe(settings)))
    if settings.llm.provider != "none":
        checks.append(timed("LLM server", llm_probe(settings)))
    return checks


# --- the index ------------------------------------------------------------------------------
def index_checks(settings: Settings) -> list[Check]:
    """The index opens and its stores agree (with what is pending), the embedding model
    loads and is the one the index was built with, and (when answers use it) the span
    reader loads and reads."""
    from retrieval.answer.reader_lead import reads_spans
    from retrieval.index.embedding import embedder_from_settings
    from retrieval.index.news_index import NewsIndex

    opened: dict[str, Any] = {}

    def index_probe() -> str:
        index = opened["index"] = NewsIndex.open(settings, _NoEmbedder(), create=False)
        stats = index.catalog.stats()
        pending = len(index.catalog.pending())
        with index.access.reading() as vectors:
            if vectors is None:
                raise ConnectionError("the vector store did not answer (a Chroma server "
                                      "down, or an index run elsewhere holds it)")
            index.reads.check_consistency(vectors)
        waiting = (f"; {pending} pending writes (an index run is going, or stopped: the "
                   "next run completes them)" if pending else "; no pending writes")
        return (f"{stats['articles']} articles, {stats['chunks']} chunks in "
                f"{index.db.footprint()[0]}{waiting}")

    def model_probe() -> str:
        embedder = embedder_from_settings(settings)
        embedder.embed_query("health check")
        built = opened["index"].model if "index" in opened else None
        if built and built != embedder.name:
            raise NewsbotError(f"the index was built with {built!r}, not {embedder.name!r}",
                               fix=Fix.REBUILD)
        return f"{embedder.name} loads" + (" and built this index" if built else "")

    try:
        checks = [timed("index", index_probe), timed("embedding model", model_probe)]
        if reads_spans(settings):
            checks.append(timed("answer reader", reader_probe(settings)))
        return checks
    finally:
        if "index" in opened:
            opened["index"].close()


def reader_probe(settings: Settings) -> Callable[[], str]:
    """The bold lead's reader loads (exporting its ONNX file the first time) and reads."""
    def probe() -> str:
        from retrieval.answer.reader import SpanReader

        reader = SpanReader(cache_dir=settings.embedding.onnx_dir)
        spans = reader.read("Who opened the dam?", ["Mayor Ana Ruiz opened the dam on Monday."])
        if not spans:
            raise RuntimeError("the reader marked nothing in a one-sentence passage")
        return "loads and reads (NEWSBOT_ANSWER_READER=false turns it off)"

    return probe


class _NoEmbedder:
    """The index's stand-in embedder: the doctor loads the real one in a check of its own."""

    name = "none"


class HealthLog:
    """What the Discord bot logs of its dependencies: given each round of checks (one a
    minute), one line naming those that fail, and one when all are well again."""

    def __init__(self) -> None:
        self.failing: set[str] = set()

    def observe(self, checks: list[Check]) -> list[str]:
        failed = [c for c in checks if not c.ok]
        recovered = sorted(self.failing - {c.name for c in failed})
        self.failing = {c.name for c in failed}
        lines = []
        if failed:
            lines.append("unhealthy: " + "; ".join(f"{c.name}: {c.detail}" for c in failed))
        if recovered:
            lines.append(f"recovered: {', '.join(recovered)}")
        return lines
