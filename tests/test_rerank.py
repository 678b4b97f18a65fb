"""The reranker's features on hand-made candidates: term counts, phrases, names, dates."""

from datetime import date

import pytest

from retrieval.search.candidates import CandidatePassage, bm25_score
from retrieval.search.question import ParsedQuestion, parse_question, wants_number
from retrieval.search.rerank import FEATURES, features
from retrieval.text import sentence_stems

TODAY = date(2024, 3, 10)


def candidate(text: str, title: str = "Headline", published: date | None = TODAY,
              article: str = "a1", ord_: int = 0) -> CandidatePassage:
    return CandidatePassage(f"{article}:{ord_}", article, ord_, text, title, published,
                     stems=sentence_stems(text))


def query(question: str) -> ParsedQuestion:
    parsed = parse_question(question, TODAY)
    return parsed.with_idf(dict.fromkeys(parsed.terms, 1.0))


def row(q: ParsedQuestion, cands: list[CandidatePassage], index: int = 0
        ) -> dict[str, float]:
    for cand in cands:
        cand.bm25 = bm25_score(q, cand, avg_len=20)
    return dict(zip(FEATURES, features(q, cands)[index].tolist(), strict=True))


def test_repeated_terms_count_every_time() -> None:
    once = candidate("Flooding hit the valley.")
    twice = candidate("Flooding, flooding everywhere hit the valley.")
    q = query("Where was the flooding?")
    assert once.spaced.count(" flood ") == 1 and twice.spaced.count(" flood ") == 2
    assert once.length == 4 and twice.length == 6
    assert bm25_score(q, twice, avg_len=5) > bm25_score(q, once, avg_len=5)


def test_empty_stems_are_dropped() -> None:
    # Porter stems a lone "S" to "", which leaves doubled spaces in the stored stems.
    cand = candidate("S plan starts. Rates rise in S quarters S")
    assert cand.stems == " plan start\nrate rise in  quarter "
    assert cand.spaced_sentences == [" plan  start ", " rate  rise  in  quarter "]
    assert cand.spaced == " plan  start  rate  rise  in  quarter "
    assert cand.length == 6 and cand.spaced.count(" start ") == 1
    assert "  " not in candidate("Plan starts.").stems


def test_phrase_names_and_sentence_coverage() -> None:
    q = query("Which prize did Narges Mohammadi win in Oslo?")
    together = candidate("The committee in Oslo named Narges Mohammadi. She won the prize.")
    apart = candidate("Mohammadi spoke. Narges is a name. The prize went elsewhere.")
    a, b = row(q, [together, apart], 0), row(q, [together, apart], 1)
    assert a["phrase"] > b["phrase"] == 0.0
    assert a["names"] == pytest.approx(1.0) and b["names"] < 1.0
    assert a["sentence_coverage"] > b["sentence_coverage"]
    assert a["coverage"] >= b["coverage"]


def test_title_terms_count_as_covered() -> None:
    q = query("What did the volcano destroy?")
    cand = candidate("Homes were lost.", title="Volcano erupts")
    features_row = row(q, [cand])
    assert features_row["title_coverage"] > 0 and features_row["coverage"] > 0


@pytest.mark.parametrize(("published", "after_today", "after_week", "recent_7"), [
    (date(2024, 3, 9), 0.0, 0.0, 1.0),
    (date(2024, 3, 14), 1.0, 0.0, 0.0),  # a few days "after today": quiz dates lag
    (date(2024, 4, 1), 1.0, 1.0, 0.0),
])
def test_date_features(published: date, after_today: float, after_week: float,
                       recent_7: float) -> None:
    r = row(query("volcano"), [candidate("The volcano erupted.", published=published)])
    assert (r["after_today"], r["after_week"], r["recent_7"]) == (
        after_today, after_week, recent_7)


def test_siblings_share_the_article_score() -> None:
    q = query("volcano lava Grindavik")
    strong = candidate("Volcano lava reached Grindavik.", article="a1", ord_=0)
    weak = candidate("Residents left.", article="a1", ord_=1)
    other = candidate("Lava cooled.", article="a2")
    rows = [row(q, [strong, weak, other], i) for i in range(3)]
    assert rows[1]["article_bm25"] == rows[0]["article_bm25"] == pytest.approx(1.0)
    assert rows[2]["article_bm25"] < 1.0
    assert rows[0]["article_hits"] > rows[2]["article_hits"]


def test_number_questions_favour_sentences_with_numbers() -> None:
    q = query("How many towers of the basilica are finished?")
    assert q.wants_number
    with_number = candidate("Five of the 18 towers of the basilica are finished.")
    without = candidate("The towers of the basilica are nearly finished.")
    elsewhere = candidate("The towers rise. In 2026 a choir sang.")  # digit, other sentence
    rows = [row(q, [with_number, without, elsewhere], i) for i in range(3)]
    assert [r["number_match"] for r in rows] == [1.0, 0.0, 0.0]
    assert not wants_number("Who won the prize?")
    assert wants_number("In what year did the war end?")
    assert wants_number("What year did the war end?")


def test_article_dense_is_the_best_sibling() -> None:
    first, second = candidate("One.", article="a1"), candidate("Two.", article="a1", ord_=1)
    first.dense, second.dense = 0.7, 0.2
    rows = [row(query("one two"), [first, second], i) for i in range(2)]
    assert rows[0]["article_dense"] == rows[1]["article_dense"] == pytest.approx(0.7)
