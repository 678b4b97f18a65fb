"""One story, one result: copies of a story across outlets (a wire story, a rewrite with a
new first paragraph) fold into one search result naming the other outlets; two
different stories on one topic stay apart; every copy stays indexed."""

from pathlib import Path

from conftest import write_article

from corpus import load_articles
from retrieval.index.news_index import NewsIndex
from retrieval.search.searcher import Searcher

WIRE = ("The city council of Harbourview voted eight to three on Tuesday to close the old "
        "ferry terminal by next spring. The terminal opened in 1962 and has lost money for a "
        "decade, the council said. Ferry services will move to the new north pier, which "
        "cost 42 million dollars and has room for two more berths. Residents of the island "
        "district asked for a shuttle bus between the piers, and the council agreed to study "
        "one. The last sailing from the old terminal is planned for the first week of "
        "April, when a farewell concert will be held on the quay.")
REWRITE = ("Island commuters will need a new route next year. " + WIRE.split(". ", 1)[1])
OTHER = ("Harbourview's ferry operator reported record passenger numbers for the summer, "
         "with 1.2 million trips between June and August. The operator credited cheaper "
         "season tickets and a new timetable with sailings every twenty minutes. It plans "
         "to add a night service on weekends and to buy an electric vessel by 2027, its "
         "chief executive told shareholders at the annual meeting on Friday. Passenger "
         "groups welcomed the figures but asked for more seating on the early morning boats, "
         "which were full on most weekdays, and for a clearer timetable at the north pier.")


def index_copies(index: NewsIndex, folder: Path) -> None:
    write_article(folder, "wire.md", "Council votes to close old ferry terminal", WIRE,
                  source="Coast Wire", published_at="2024-03-05", url="https://wire/1")
    write_article(folder, "paper.md", "Old ferry terminal to shut in spring", REWRITE,
                  source="Island Gazette", published_at="2024-03-06", url="https://gazette/2")
    write_article(folder, "other.md", "Ferry passenger numbers hit record", OTHER,
                  source="Coast Wire", published_at="2024-03-07", url="https://wire/3")
    index.update(load_articles([folder]), [folder])


def test_copies_fold_into_one_result_naming_the_other_outlet(news_index: NewsIndex,
                                                              tmp_path: Path) -> None:
    index_copies(news_index, tmp_path / "news")
    stories = dict(news_index.db.reader().execute("SELECT title, story_id FROM articles"))
    assert stories["Council votes to close old ferry terminal"] == \
        stories["Old ferry terminal to shut in spring"]
    assert stories["Ferry passenger numbers hit record"] != \
        stories["Old ferry terminal to shut in spring"]
    searcher = Searcher(news_index)
    folded = searcher.search("When will the old ferry terminal close?", k=5)
    titles = [p.title for p in folded.passages]
    assert len([t for t in titles if "terminal" in t]) == 1  # one result for the story
    top = next(p for p in folded.passages if "terminal" in p.title)
    assert top.also_in == ["Island Gazette" if top.source == "Coast Wire" else "Coast Wire"]
    assert "Ferry passenger numbers hit record" in titles  # the other story stays
    every = searcher.search("When will the old ferry terminal close?", k=5, all_copies=True)
    assert len([p for p in every.passages if "terminal" in p.title]) == 2
    assert news_index.stats()["articles"] == 3  # every copy stays indexed


def test_an_index_from_before_stories_gets_them_on_the_next_run(news_index: NewsIndex,
                                                                 tmp_path: Path) -> None:
    index_copies(news_index, tmp_path / "news")
    db = news_index.db
    with db.transaction() as tx:  # as an index written before stories existed
        tx.execute("UPDATE articles SET story_id = NULL")
        tx.execute("DELETE FROM article_minhash")
    report = news_index.update(load_articles([tmp_path / "news"]), [tmp_path / "news"])
    assert report.unchanged == 3 and report.chunks_embedded == 0
    stories = {r[0] for r in db.reader().execute("SELECT story_id FROM articles")}
    assert len(stories) == 2 and None not in stories


def test_short_texts_and_chains_of_partial_overlaps_do_not_fold() -> None:
    import numpy as np

    from retrieval.index.stories import StoryFinder, signature

    notice = "Sign up for our newsletter to get the best of the week in your inbox. " * 4
    assert not signature(notice).any()  # a consent notice where the article should be
    finder = StoryFinder({})
    assert finder.assign("a", signature(notice)) == "a"
    assert finder.assign("b", signature(notice)) == "b"
    # B resembles A (Jaccard about 0.67), C resembles B as much but A much less (0.43).
    words = [f"w{i}" for i in range(420)]
    texts = {"A": words[0:300], "B": words[60:360], "C": words[120:420]}
    stories = {name: finder.assign(name, signature(" ".join(text)))
               for name, text in texts.items()}
    assert stories["B"] == stories["A"] == "A"
    assert stories["C"] == "C"  # not pulled into A's story through B
    assert signature(" ".join(words)).dtype == np.uint64
