"""A language model server that fails, against the real OpenAI client: loopback socket
servers that accept and never answer, refuse, or stream a few tokens and then hang or
close. No question outlasts NEWSBOT_LLM_TIMEOUT by more than the time to compose the
extractive answer, and the CLI, the chat and Discord all say that the model did not
answer; a streamed answer cut short keeps what it verifiably cited."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import index_rows
from rich.console import Console

from bot.chat import ChatSession
from bot.cli import cli
from bot.discord.format import answer_embeds
from retrieval.answer.chain import CUT_OFF_NOTE, NO_LLM_NOTE
from retrieval.app import NewsApp
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import get_settings

pytest.importorskip("langchain_openai")

TIMEOUT_S = 2.0
SLACK_S = 8.0  # composing the extractive answer after the deadline, on a busy machine
QUESTION = "Who led the dam project?"
ARTICLES = [
    ("dam.md", "River dam opens after ten years", "The Lakeside dam opened on Monday after "
     "ten years of building. It holds enough water for two million homes. Engineer Maria "
     "Duarte led the project.", "River Post", "2024-05-06"),
    ("pledge.md", "Canada pledges aid at Paris talks", "Canada pledged 2.5 billion dollars "
     "for Ukraine's recovery at the Paris talks.", "Northern Ledger", "2024-05-07"),
]


class ModelServer:
    """An OpenAI-compatible endpoint on 127.0.0.1 that misbehaves as told: `silent`
    (reads the request, never answers), `hang` or `close` (streams `tokens`, then hangs
    or closes). A token "{cite}" stands for passage 1's first sentence cited as [1]."""

    def __init__(self, mode: str, tokens: tuple[str, ...] = ()) -> None:
        self.mode, self.tokens = mode, tokens
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1"
        self.stop = threading.Event()
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            body = self._request(conn)
            self.requests += 1
            if self.mode != "silent":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                             b"connection: close\r\n\r\n")
                for token in self.tokens:
                    text = first_sentence_cited(body) if token == "{cite}" else token
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                             "model": "m", "choices": [{"index": 0, "delta": {
                                 "content": text}, "finish_reason": None}]}
                    conn.sendall(f"data: {json.dumps(chunk)}\n\n".encode())
                    time.sleep(0.05)
                if self.mode == "close":
                    return
            self.stop.wait(60)  # holds the connection open, answering nothing more

    @staticmethod
    def _request(conn: socket.socket) -> dict:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
        while len(body) < length:
            body += conn.recv(65536)
        return json.loads(body)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def first_sentence_cited(request: dict) -> str:
    prompt = request["messages"][-1]["content"]
    passage = prompt.split("[1] ", 1)[1].split("\n", 1)[1]
    return passage.split(". ")[0].rstrip(".") + " [1]."


@pytest.fixture
def serve() -> Iterator:
    servers: list[ModelServer] = []

    def start(mode: str, tokens: tuple[str, ...] = ()) -> ModelServer:
        servers.append(ModelServer(mode, tokens))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def llm_app(url: str, tmp_path: Path) -> NewsApp:
    settings = get_settings(llm_provider="openai", llm_model="m", llm_base_url=url,
                            llm_timeout=TIMEOUT_S, decline_below=0.0,
                            index_dir=tmp_path / "index")
    app = NewsApp.open(settings, embedder=HashEmbedder(), create=True)
    index_rows(app.index_store, tmp_path / "news", ARTICLES)
    return app


def timed_answer(app: NewsApp, **kwargs: object) -> tuple[object, float]:
    started = time.monotonic()
    answer = app.answer(QUESTION, **kwargs)
    return answer, time.monotonic() - started


def assert_extractive(answer: object) -> None:
    assert answer.answerer == "extractive" and NO_LLM_NOTE in answer.notes
    assert "Maria Duarte" in answer.text and answer.citations_verified >= 1


def test_hung_and_dead_servers_give_the_extractive_answer_in_time(
        serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hung = serve("silent")
    with socket.socket() as spare:  # a port nothing listens on: a dead server
        spare.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{spare.getsockname()[1]}/v1"
    for url in (hung.url, dead_url):
        app = llm_app(url, tmp_path / url.rsplit(":", 1)[1].split("/")[0])
        try:
            for streamed in (False, True):
                caplog.clear()
                tokens: list[str] = []
                answer, seconds = timed_answer(
                    app, on_token=tokens.append if streamed else None,
                    history=[("What opened on Monday?", "The Lakeside dam [1].")])
                assert seconds < TIMEOUT_S + SLACK_S, seconds
                assert_extractive(answer)
                assert url in caplog.text  # the log says which server failed
            # The next question after the fault: answered the same way, not an error.
            assert_extractive(timed_answer(app)[0])
        finally:
            app.close()
    assert hung.requests >= 1


def test_a_stream_cut_short_keeps_what_it_cited(serve, tmp_path: Path) -> None:
    for mode in ("hang", "close"):
        server = serve(mode, ("{cite}",))
        app = llm_app(server.url, tmp_path / mode)
        try:
            tokens: list[str] = []
            answer, seconds = timed_answer(app, on_token=tokens.append)
            assert seconds < TIMEOUT_S + SLACK_S
            assert tokens and answer.answerer == "llm"
            assert answer.citations_verified == 1 and "[1]" in answer.text
            if mode == "hang":
                assert CUT_OFF_NOTE in answer.notes
        finally:
            app.close()


def test_a_stream_cut_short_before_a_citation_falls_back(serve, tmp_path: Path) -> None:
    for mode in ("hang", "close"):
        server = serve(mode, ("The", " dam", " was"))
        app = llm_app(server.url, tmp_path / mode)
        try:
            tokens: list[str] = []
            answer, seconds = timed_answer(app, on_token=tokens.append)
            assert seconds < TIMEOUT_S + SLACK_S
            assert "".join(tokens) == "The dam was"
            assert_extractive(answer)
        finally:
            app.close()


def test_every_front_end_says_the_model_did_not_answer(
        serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hung = serve("silent")
    app = llm_app(hung.url, tmp_path)
    try:
        console = Console(record=True, width=200)
        ChatSession(app, console).ask(QUESTION)
        chat_text = console.export_text()
        assert "did not answer, so" in chat_text and "Maria Duarte" in chat_text
        assert "went wrong" not in chat_text
        answer = app.answer(QUESTION)
        description = answer_embeds(answer, "footer")[0].description
        assert "did not answer, so" in description and "Maria Duarte" in description
    finally:
        app.close()
    for name, value in (("LLM_PROVIDER", "openai"), ("LLM_MODEL", "m"),
                        ("LLM_BASE_URL", hung.url), ("LLM_TIMEOUT", str(TIMEOUT_S)),
                        ("DECLINE_BELOW", "0")):
        monkeypatch.setenv(f"NEWSBOT_{name}", value)
    monkeypatch.setenv("NEWSBOT_INDEX_DIR", str(tmp_path / "index"))
    out = CliRunner().invoke(cli, ["ask", QUESTION])
    assert out.exit_code == 0, out.output
    assert "did not answer, so" in out.output and "Maria Duarte" in out.output
