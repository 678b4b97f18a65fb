"""Hybrid search on a real Chroma and SQLite FTS5 (hash embedder for speed)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from conftest import index_rows, story, write_article

from corpus import load_articles
from retrieval.search.langchain_retriever import NewsRetriever
from retrieval.search.rerank import Reranker, RerankModel
from retrieval.search.searcher import Searcher
from retrieval.types import SearchFilters

ARTICLES = [
    ("volcano.md", "Volcano erupts near Reykjavik", "Lava from the Sundhnukur crater reached "
     "the town of Grindavik on Sunday. Residents had been evacuated weeks earlier.",
     "Nordic Wire", "2024-01-14"),
    ("budget.md", "Parliament passes budget", "The finance minister said the budget would "
     "cut the deficit. Opposition parties voted against the spending plan.",
     "Capital Courier", "2024-02-20"),
    ("cup.md", "City win the cup final", "Manchester City beat Inter Milan 1-0 in Istanbul to "
     "win the Champions League. Rodri scored the only goal.", "Touchline Press", "2023-06-10"),
    ("rover.md", "Rover finds organic molecules", "The Perseverance rover found organic "
     "molecules in Jezero crater, NASA scientists said on Tuesday.", "Orbit Wire",
     "2024-06-10"),
]


@pytest.fixture
def searcher(news_index, tmp_path: Path) -> Searcher:
    index_rows(news_index, tmp_path / "news", ARTICLES)
    return Searcher(news_index)


def titles(result) -> list[str]:
    return [p.title for p in result.passages]


def test_keyword_names_are_found(searcher: Searcher) -> None:
    result = searcher.search("Where did lava reach Grindavik?", today=date(2024, 6, 12))
    assert titles(result)[0] == "Volcano erupts near Reykjavik"
    p = result.passages[0]
    assert (p.source, p.published_at.date().isoformat(), p.url) == (
        "Nordic Wire", "2024-01-14", "https://news.example/volcano.md")


def test_fusion_finds_what_either_side_finds(searcher: Searcher) -> None:
    searcher.dense_depth = searcher.keyword_depth = 2
    question = "Rodri goal Istanbul"
    cands = searcher.gather(question).candidates
    dense = searcher.index.vectors.query(searcher.index.embedder.embed_query(question), 2, None)
    keyword = searcher.index.keywords.search(["rodri", "goal", "istanbul"], SearchFilters(), 2)
    assert {c.chunk_id for c in cands} == {i for i, _ in dense} | set(keyword)
    # Each side's candidates get the other side's score, so the reranker sees both.
    by_id = {c.chunk_id: c for c in cands}
    top_keyword = by_id[keyword[0]]
    assert top_keyword.bm25 > 0 and top_keyword.dense != 0
    fused = searcher.search(question, k=4)
    assert titles(fused)[0] == "City win the cup final"
    scores = [p.score for p in fused.passages]
    assert all(s == s for s in scores)  # no NaN
    assert scores == sorted(scores, reverse=True)


def test_common_terms_only_score_chunks_with_a_rarer_term(searcher: Searcher) -> None:
    terms = ["lava", "crater", "said"]  # in 1, 2 and 2 of the four articles
    _, df = searcher.idf(terms)
    assert (df["lava"], df["crater"], df["said"]) == (1, 2, 2)
    for filters in (SearchFilters(), SearchFilters(since=date(2020, 1, 1))):
        # No term is in more than 2,000 chunks here: one query.
        whole = dict(searcher.index.keywords.scored(terms, filters, 10, df))
        searcher.index.keywords.split_docs = 1
        split = dict(searcher.index.keywords.scored(terms, filters, 10, df))
        searcher.index.keywords.split_docs = 2000
        assert len(whole) == 3  # volcano (lava, crater), rover (crater, said), budget (said)
        assert list(split) == [i for i in whole if i.startswith(_article_id(searcher, "volcano"))]
        # The lava chunk keeps the score the common terms add to it.
        for chunk_id, score in split.items():
            assert score == pytest.approx(whole[chunk_id])
        assert score > dict(searcher.index.keywords.scored(["lava"], filters, 10, df))[chunk_id]


def _article_id(searcher: Searcher, name: str) -> str:
    return searcher.index.db.reader().execute("SELECT id FROM articles WHERE url LIKE ?",
                                              (f"%{name}.md",)).fetchone()[0]


def test_searches_from_many_threads_match_one_at_a_time(searcher: Searcher) -> None:
    # The Discord bot searches from several tasks at once; each search also runs its
    # keyword side in the searcher's worker thread, on the same SQLite connection.
    questions = ["Grindavik lava", "budget deficit vote", "Rodri goal Istanbul",
                 "organic molecules Jezero", "crater said Sunday"] * 4
    alone = [[p.chunk_id for p in searcher.search(q, k=3).passages] for q in questions]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(
            lambda q: [p.chunk_id for p in searcher.search(q, k=3).passages], questions))
    assert together == alone
    assert all(alone)


def test_source_and_date_filters(searcher: Searcher) -> None:
    only = searcher.search("news", k=10, filters=SearchFilters(sources=("orbit wire",)))
    assert {p.source for p in only.passages} == {"Orbit Wire"}
    dated = searcher.search("budget deficit lava crater", k=10, filters=SearchFilters(
        since=date(2024, 1, 1), until=date(2024, 3, 1)))
    assert set(titles(dated)) <= {"Volcano erupts near Reykjavik", "Parliament passes budget"}
    assert dated.passages


def test_strict_time_words_filter_relative_to_today(searcher: Searcher) -> None:
    result = searcher.search("What happened in 2023?", k=10, today=date(2024, 6, 12))
    assert titles(result) == ["City win the cup final"]
    assert result.window and result.window.strict
    recent = searcher.search("What did the rover find yesterday?", k=10,
                             today=date(2024, 6, 11))
    assert titles(recent) == ["Rover finds organic molecules"]


def test_time_words_that_hold_no_article_become_a_preference(searcher: Searcher) -> None:
    """A story that recalls 1997, or a plan for next year: the window holds no article,
    so the question is searched across the index (preferring the window) rather than
    finding nothing."""
    result = searcher.search("Which volcano erupted near Reykjavik, 25 years after it "
                             "last did in 1997?", k=10, today=date(2024, 6, 12))
    assert "Volcano erupts near Reykjavik" in titles(result)
    assert result.window and not result.window.strict
    assert result.window.since == date(1997, 1, 1)
    planned = searcher.search("Which city plans to host the cup final in 2026?", k=10,
                              today=date(2024, 6, 12))
    assert planned.window is None and planned.passages


def test_at_most_two_passages_per_article(news_index, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    body = " ".join(f"Sentence {i} about the harbour crane strike." for i in range(200))
    write_article(folder, "long.md", "Harbour strike", body)
    write_article(folder, "other.md", "Crane accident", "A crane fell in the harbour.")
    news_index.update(load_articles([folder]), [folder])
    assert news_index.stats()["chunks"] > 5
    result = Searcher(news_index).search("harbour crane strike", k=10)
    counts = {}
    for p in result.passages:
        counts[p.article_id] = counts.get(p.article_id, 0) + 1
    assert max(counts.values()) == 2
    assert "Crane accident" in titles(result)


def test_keyword_index_follows_removals(searcher: Searcher, tmp_path: Path) -> None:
    (tmp_path / "news" / "volcano.md").unlink()
    folder = tmp_path / "news"
    searcher.index.update(load_articles([folder]), [folder])
    result = Searcher(searcher.index).search("Grindavik lava", k=10)
    assert "Volcano erupts near Reykjavik" not in titles(result)


def test_a_long_lived_searcher_follows_index_runs(searcher: Searcher, tmp_path: Path) -> None:
    before = searcher.search("Grindavik lava", k=10)
    assert titles(before)[0] == "Volcano erupts near Reykjavik"
    rare_before = searcher.idf(["sundhnukur"])[0]["sundhnukur"]
    folder = tmp_path / "more"
    write_article(folder, "quake.md", "Quake shakes Grindavik",
                  "A swarm of earthquakes shook Grindavik again, and lava followed.")
    for i in range(6):
        write_article(folder, f"filler{i}.md", f"Market report {i}", story("markets"))
    searcher.index.update(load_articles([folder]), [folder])
    after = searcher.search("Grindavik lava", k=10)
    assert "Quake shakes Grindavik" in titles(after)
    # More chunks, same document frequency: the term's IDF must rise with the new count.
    assert searcher.idf(["sundhnukur"])[0]["sundhnukur"] > rare_before
    assert searcher._chunk_count == searcher.index.stats()["chunks"]

    (tmp_path / "news" / "volcano.md").unlink()
    searcher.index.update(load_articles([tmp_path / "news"]), [tmp_path / "news"])
    assert "Volcano erupts near Reykjavik" not in titles(searcher.search("Grindavik lava"))
    assert searcher._chunk_count == searcher.index.stats()["chunks"]


def test_plain_fusion_reranker_still_ranks(searcher: Searcher) -> None:
    searcher.reranker = Reranker(RerankModel.plain_fusion())
    result = searcher.search("Perseverance rover Jezero", k=2)
    assert titles(result)[0] == "Rover finds organic molecules"


def test_langchain_retriever(searcher: Searcher) -> None:
    retriever = NewsRetriever(searcher=searcher, k=2)
    docs = retriever.invoke("Which crater did the rover explore?")
    assert len(docs) == 2
    assert docs[0].metadata["title"] == "Rover finds organic molecules"
    assert "Jezero" in docs[0].page_content
