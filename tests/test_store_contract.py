"""The stores' contract, run alike on both backends: the one `Catalog` over SQLite and over
PostgreSQL (the real server of standins/servers.py; skipped where its binaries are missing),
and each backend's keyword index, which must rank its candidates by `bm25.rank_score`."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from corpus.article import Article
from retrieval import bm25
from retrieval.index.chunking import Chunk
from retrieval.index.pg_keywords import tokens
from retrieval.index.sqlite import SqliteDatabase
from retrieval.index.stores import CatalogStore, Database, KeywordIndex
from retrieval.types import SearchFilters
from standins.servers import database

_schemas = itertools.count()


@pytest.fixture(scope="module")
def contract_url(request: pytest.FixtureRequest) -> str:
    return database(request.getfixturevalue("postgres_url"), "contract")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        opened: Database = SqliteDatabase(tmp_path / "manifest.sqlite")
    else:
        from retrieval.index.postgres import PostgresDatabase

        url = request.getfixturevalue("contract_url")
        opened = PostgresDatabase(url, f"contract_{next(_schemas)}", pool_size=2)
    yield opened
    opened.close()


def article(n: int, source: str = "Orbit Wire", day: int | None = 1, title: str = "",
            body: str = "") -> Article:
    published = datetime(2024, 3, day, 12, tzinfo=UTC) if day else None
    return Article(f"a{n}", title or f"Headline {n}", body or f"Body of article {n}.",
                   url=f"https://news.example/{n}", source=source, published_at=published,
                   origin=f"/news/{n}.md", origin_file=f"/news/{n}.md")


def add(db: Database, catalog: CatalogStore, keywords: KeywordIndex, item: Article,
        texts: list[str], duplicate_of: str | None = None) -> dict[str, int]:
    """The article with its chunks and keyword rows, in one transaction: chunk id -> key."""
    keys = {}
    with db.transaction() as tx:
        catalog.add_article(tx, item, duplicate_of, "2024-03-20T00:00:00+00:00")
        for ord_, text in enumerate(texts):
            chunk = Chunk(f"{item.id}:{ord_}", item.id, ord_, text)
            keys[chunk.id] = catalog.add_chunk(tx, chunk)
            keywords.add(tx, keys[chunk.id], item.title, text)
    return keys


# --- the catalog -------------------------------------------------------------------------
def test_articles_and_chunks_read_back(db: Database) -> None:
    catalog, keywords = db.stores()
    add(db, catalog, keywords, article(1, day=2), ["First part.", "Second part here."])
    add(db, catalog, keywords, article(2, "orbit wire", day=None), ["Undated text."])
    add(db, catalog, keywords, article(3, "Harbor Post", day=5), ["A copy."], duplicate_of="a1")
    indexed = catalog.indexed_articles()
    assert sorted(indexed) == ["a1", "a2", "a3"] and indexed["a3"].duplicate_of == "a1"
    assert indexed["a1"].content_hash == article(1, day=2).content_hash
    assert catalog.chunk_ids("a1") == ["a1:0", "a1:1"] and catalog.chunk_count() == 4
    rows = catalog.chunk_rows(["a1:1", "a2:0", "gone"])
    assert set(rows) == {"a1:1", "a2:0"}
    assert (rows["a1:1"].text, rows["a1:1"].ord, rows["a1:1"].title) == (
        "Second part here.", 1, "Headline 1")
    assert rows["a1:1"].published_at == datetime(2024, 3, 2, 12, tzinfo=UTC)
    assert rows["a2:0"].published_at is None and rows["a1:1"].stems
    assert catalog.source_spellings(["ORBIT WIRE"]) == {"Orbit Wire", "orbit wire"}
    # Newest first, undated last, the duplicate left out; or only among some ids.
    assert [s.id for s in catalog.latest(5)] == ["a1", "a2"]
    assert [s.id for s in catalog.latest(5, ["a2", "a3"])] == ["a2"]
    assert catalog.latest(5, []) == []
    stats = catalog.stats()
    assert (stats["articles"], stats["duplicates"], stats["chunks"]) == (3, 1, 4)
    assert stats["sources"] == {"Harbor Post": 1, "Orbit Wire": 1, "orbit wire": 1}
    assert catalog.average_chunk_words() == pytest.approx(9 / 4)  # stems per chunk


def test_articles_of_many_chunks(db: Database) -> None:
    """More ids than one statement may bind on SQLite: read in batches."""
    catalog, keywords = db.stores()
    add(db, catalog, keywords, article(1), ["One."])
    add(db, catalog, keywords, article(2), ["Two."])
    ids = [f"unknown:{i}" for i in range(2500)] + ["a2:0", "a1:0"]
    assert catalog.articles_of_chunks(ids) == {"a1", "a2"}
    assert catalog.all_chunk_ids() == {"a1:0", "a2:0"}


def test_removing_an_article_returns_its_keys_and_marks_them_pending(db: Database) -> None:
    catalog, keywords = db.stores()
    catalog.mark_pending(["a1:0", "x"])
    catalog.mark_pending(["x"])  # already pending: no error, no second row
    keys = add(db, catalog, keywords, article(1), ["One.", "Two."])
    assert catalog.pending() == ["x"]  # committed chunks are no longer pending
    with db.transaction() as tx:
        removed = catalog.remove_article(tx, "a1")
        keywords.remove(tx, [key for key, _ in removed])
    assert sorted(removed) == sorted((key, chunk_id) for chunk_id, key in keys.items())
    assert sorted(catalog.pending()) == ["a1:0", "a1:1", "x"]
    assert catalog.indexed_articles() == {} and catalog.chunk_count() == 0
    assert keywords.document_frequencies(["one"]) == {}
    catalog.clear_pending(["a1:0", "x"])
    assert catalog.pending() == ["a1:1"]


def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    catalog, keywords = db.stores()
    with pytest.raises(RuntimeError), db.transaction() as tx:
        catalog.add_article(tx, article(1), None, "now")
        keywords.add(tx, catalog.add_chunk(tx, Chunk("a1:0", "a1", 0, "Lost words.")),
                     "Headline", "Lost words.")
        raise RuntimeError("stop")
    assert catalog.indexed_articles() == {} and keywords.document_frequencies(["lost"]) == {}


def test_meta_values_are_replaced_and_removed(db: Database) -> None:
    catalog, _ = db.stores()
    assert catalog.get_meta("generation") is None
    catalog.set_meta("generation", "1")
    catalog.set_meta("generation", "2")
    assert catalog.get_meta("generation") == "2"
    catalog.set_meta("generation", None)
    assert catalog.get_meta("generation") is None


def test_stories_moves_and_clearing(db: Database) -> None:
    catalog, keywords = db.stores()
    add(db, catalog, keywords, article(1), ["Alpha.", "Beta."])
    add(db, catalog, keywords, article(2), ["Gamma."])
    assert catalog.articles_without_story() == {"a1": "Alpha.\nBeta.", "a2": "Gamma."}
    sig = np.arange(4, dtype=np.uint64)
    with db.transaction() as tx:
        catalog.set_story(tx, "a1", "a1", sig)
        catalog.set_story(tx, "a2", "a1", sig + 1)
        catalog.set_story(tx, "a2", "a1", sig + 2)  # a second signature replaces the first
    found = catalog.story_signatures()
    assert set(found) == {"a1", "a2"} and found["a2"][1] == "a1"
    assert list(found["a2"][0]) == [2, 3, 4, 5]
    assert catalog.articles_without_story() == {}
    moved = Article("a2", "Headline 2", "Body of article 2.", origin="/new/2.md",
                    origin_file="/new/2.md")
    with db.transaction() as tx:
        catalog.move_articles(tx, [moved])
    assert catalog.indexed_articles()["a2"].origin_file == "/new/2.md"
    catalog.set_meta("embedding_model", "hash")
    with db.transaction() as tx:
        catalog.clear(tx)
        keywords.clear(tx)
    assert catalog.chunk_count() == 0 and catalog.story_signatures() == {}
    assert catalog.get_meta("embedding_model") is None
    assert keywords.document_frequencies(["alpha"]) == {}


# --- the keyword index -------------------------------------------------------------------------
CORPUS = [
    ("Volcano erupts", ["Lava flowed from the crater overnight.", "The crater glowed red."]),
    ("Rover lands", ["The rover reached the crater rim, officials said."]),
    ("Budget passes", ["Lawmakers said the budget passed after a long night."]),
    ("Lava cools", ["Scientists said the lava cooled into new rock near the coast."]),
]


def _indexed(db: Database) -> tuple[KeywordIndex, dict[str, tuple[str, str]]]:
    catalog, keywords = db.stores()
    texts = {}
    for n, (title, chunks) in enumerate(CORPUS):
        source = "Orbit Wire" if n % 2 else "Harbor Post"
        add(db, catalog, keywords, article(n, source, day=n + 1, title=title), chunks)
        texts.update({f"a{n}:{i}": (title, text) for i, text in enumerate(chunks)})
    return keywords, texts


def expected_scores(texts: dict[str, tuple[str, str]], terms: list[str]) -> dict[str, float]:
    """`bm25.rank_score` of every chunk holding a term, from the FTS5 tokenizer's stems."""
    cut = {i: (tokens(title), tokens(text)) for i, (title, text) in texts.items()}
    df = Counter(t for title, text in cut.values() for t in set(title) | set(text))
    avg = sum(len(a) + len(b) for a, b in cut.values()) / len(cut)
    return {i: bm25.rank_score(Counter(title), Counter(text), len(title) + len(text), df,
                               len(cut), avg, terms)
            for i, (title, text) in cut.items() if set(terms) & (set(title) | set(text))}


@pytest.mark.parametrize("terms", [["lava", "crater", "said"], ["crater"], ["rover", "budget"]])
def test_keyword_stores_rank_by_bm25_py(db: Database, terms: list[str]) -> None:
    keywords, texts = _indexed(db)
    want = expected_scores(texts, terms)
    scored = keywords.scored(terms, SearchFilters(), 10)  # type: ignore[attr-defined]
    assert {i for i, _ in scored} == set(want)
    for chunk_id, score in scored:
        assert score == pytest.approx(want[chunk_id], rel=1e-9), chunk_id
    assert [s for _, s in scored] == sorted((s for _, s in scored), reverse=True)
    assert keywords.search(terms, SearchFilters(), 2) == [i for i, _ in scored[:2]]


def test_keyword_frequencies_and_filters(db: Database) -> None:
    keywords, _ = _indexed(db)
    assert keywords.document_frequencies(["lava", "crater", "zebra"]) == {"lava": 2, "crater": 3}
    by_source = keywords.search(["said"], SearchFilters(sources=("orbit wire",)), 10)
    assert sorted(by_source) == ["a1:0", "a3:0"]
    by_date = keywords.search(["lava", "crater"], SearchFilters(since=date(2024, 3, 2)), 10)
    assert sorted(by_date) == ["a1:0", "a3:0"]
    assert keywords.search([], SearchFilters(), 10) == []
