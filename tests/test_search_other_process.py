"""A searcher kept open (the chat, the bot) while `newsbot index` runs in another
process: it must find the new articles by both sides, and never fail mid-run."""

import subprocess
import sys
import threading
from pathlib import Path

from conftest import index_rows, write_article

from retrieval.index.gate import Gate
from retrieval.search.searcher import Searcher

# Indexes a folder in a child process, after `--rebuild` with "rebuild"; with "in-flight"
# it then puts the generation back, so the parent sees committed chunks that its Chroma
# does not know, as it would while a run is still going.
CHILD = r"""
import sys
from pathlib import Path
from corpus import load_articles
from retrieval.index.embedding import HashEmbedder
from retrieval.index.news_index import NewsIndex

index_dir, folder, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
news_index = NewsIndex(index_dir, HashEmbedder())
before = news_index.catalog.get_meta("generation")
if mode == "rebuild":
    news_index.rebuild()
report = news_index.update(load_articles([folder]), [folder])
if mode == "in-flight":
    news_index.catalog.set_meta("generation", before)
print(report.added)
"""

OLD = [("harbour.md", "Harbour reopens", "The harbour in Bergen reopened after the storm "
        "damaged three piers.", "Coast Wire", "2024-05-01")]


def index_in_child(index_dir: Path, folder: Path, mode: str = "finished") -> None:
    write_article(folder, "zebra.md", "Zebra migration starts",
                  "Thousands of zebra began the annual migration across the Serengeti plains.",
                  source="Savanna Times", date="2024-05-02")
    done = subprocess.run([sys.executable, "-c", CHILD, str(index_dir), str(folder), mode],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_finished_run_is_searched_by_both_sides(news_index, tmp_path: Path) -> None:
    index_rows(news_index, tmp_path / "old", OLD)
    searcher = Searcher(news_index)
    assert [p.title for p in searcher.search("zebra migration Serengeti").passages] == [
        "Harbour reopens"]
    index_in_child(news_index.index_dir, tmp_path / "new")

    result = searcher.search("zebra migration Serengeti")
    assert result.passages[0].title == "Zebra migration starts"
    # The dense side sees the new chunk too: this process reopened its Chroma store.
    dense_ids = [i for i, _ in news_index.vectors.query(
        news_index.embedder.embed_query("zebra migration Serengeti"), 5)]
    assert result.passages[0].chunk_id in dense_ids
    assert searcher._chunk_count == 2


def test_rebuild_elsewhere_leaves_only_the_new_articles(news_index, tmp_path: Path) -> None:
    index_rows(news_index, tmp_path / "old", OLD)
    searcher = Searcher(news_index)
    searcher.search("harbour storm")
    index_in_child(news_index.index_dir, tmp_path / "new", mode="rebuild")
    titles = [p.title for p in searcher.search("harbour storm zebra migration").passages]
    assert titles == ["Zebra migration starts"]

def test_run_in_flight_does_not_break_search(news_index, tmp_path: Path) -> None:
    index_rows(news_index, tmp_path / "old", OLD)
    searcher = Searcher(news_index)
    searcher.search("harbour storm")
    index_in_child(news_index.index_dir, tmp_path / "new", mode="in-flight")

    # FTS5 already holds the new chunk; this process's Chroma cannot fetch its vector.
    result = searcher.search("zebra migration Serengeti")
    assert "Zebra migration starts" in [p.title for p in result.passages]
    assert [p.title for p in searcher.search("harbour storm Bergen").passages][0] == (
        "Harbour reopens")


def test_gate_reopens_only_when_no_search_is_in_flight() -> None:
    gate, order = Gate(), []

    def reopen() -> None:
        with gate.exclusive():
            order.append("reopened")

    with gate.shared():
        waiting = threading.Thread(target=reopen)
        waiting.start()
        waiting.join(timeout=0.2)
        assert waiting.is_alive() and order == []  # held back by the search in flight
        order.append("search done")
    waiting.join(timeout=5)
    assert order == ["search done", "reopened"]
