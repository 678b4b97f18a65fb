"""The index on a real `chroma run` server on 127.0.0.1 (the multi-machine mode): the same
search, and another process's index run seen at once, with nothing to reopen."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import index_rows, write_article

from bot.cli import cli
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from retrieval.index.vectors import open_client
from retrieval.search.searcher import Searcher

CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
pytestmark = pytest.mark.skipif(not Path(CHROMA).exists(), reason="the chroma CLI is absent")

CHILD = r"""
import sys
from pathlib import Path
from corpus import load_articles
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from retrieval.index.vectors import open_client

index_dir, folder, port, collection = sys.argv[1:5]
news_index = NewsIndex(Path(index_dir), HashEmbedder(),
                       open_client(Path(index_dir), "127.0.0.1", int(port)), collection)
print(news_index.update(load_articles([Path(folder)]), [Path(folder)]).added)
"""

ROWS = [("harbour.md", "Harbour reopens", "The harbour in Bergen reopened after the storm "
         "damaged three piers.", "Coast Wire", "2024-05-01"),
        ("budget.md", "Parliament passes budget", "The finance minister said the budget "
         "would cut the deficit.", "Capital Courier", "2024-05-03")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(
        [CHROMA, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("chroma run did not start")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def server_index(index_dir: Path, port: int, collection: str) -> NewsIndex:
    return NewsIndex(index_dir, HashEmbedder(), open_client(index_dir, "127.0.0.1", port),
                     collection)


def test_search_and_other_writers_on_a_server(chroma_port: int, tmp_path: Path) -> None:
    news_index = server_index(tmp_path / "index", chroma_port, "search_test")
    index_rows(news_index, tmp_path / "news", ROWS)
    assert not (tmp_path / "index" / "chroma").exists()  # the vectors live on the server
    assert news_index.vectors.count() == news_index.stats()["chunks"] == 2
    searcher = Searcher(news_index)
    assert searcher.search("Bergen harbour storm").passages[0].title == "Harbour reopens"

    write_article(tmp_path / "more", "zebra.md", "Zebra migration starts",
                  "Thousands of zebra began the annual migration across the Serengeti.")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "index"), str(tmp_path / "more"),
         str(chroma_port), "search_test"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    client = news_index.vectors.client
    result = searcher.search("zebra migration Serengeti")
    assert result.passages[0].title == "Zebra migration starts"
    assert news_index.vectors.client is client  # a server is shared: nothing reopened
    dense_ids = [i for i, _ in news_index.vectors.query(
        news_index.embedder.embed_query("zebra migration Serengeti"), 3)]
    assert result.passages[0].chunk_id in dense_ids


def test_cli_uses_the_server_from_settings(chroma_port: int, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    index_rows(server_index(tmp_path / "index", chroma_port, "cli_test"), tmp_path / "news",
               ROWS)
    monkeypatch.setenv("NEWSBOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("NEWSBOT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSBOT_CHROMA_PORT", str(chroma_port))
    monkeypatch.setenv("NEWSBOT_COLLECTION", "cli_test")
    out = CliRunner().invoke(cli, ["search", "deficit budget", "-k", "1", "--json"])
    assert out.exit_code == 0, out.output
    assert '"title": "Parliament passes budget"' in out.output
