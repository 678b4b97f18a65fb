"""The index on a real `chroma run` server on 127.0.0.1 (standins/servers.py): the same
search, and another process's index run seen at once, with nothing to reopen. (Server
mode from the settings, with PostgreSQL beside it, is tests/test_server_mode.py.)"""

import subprocess
import sys
from pathlib import Path

from conftest import index_rows, write_article

from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex
from retrieval.index.vectors import open_client
from retrieval.search.searcher import Searcher

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


def server_index(index_dir: Path, port: int, collection: str) -> NewsIndex:
    return NewsIndex(index_dir, HashEmbedder(), open_client(index_dir, "127.0.0.1", port),
                     collection)


def test_search_and_other_writers_on_a_server(chroma_port: int,
                                              tmp_path: Path) -> None:
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
