"""The forward-split report's scoring (bench/forward_split.py), on hand-made records."""

from datetime import date

import pytest

from bench.forward_probes import cutoff
from bench.forward_split import (
    CorpusText,
    lead_verdict,
    score,
    score_probes,
    split_of,
)
from retrieval.evaluation import EvalQuestion

GOLD = "https://example.com/gold"
OTHER = "https://example.com/other"


def question(qid: str, day: date, answer: str, gold: bool = True) -> EvalQuestion:
    return EvalQuestion(qid, f"question {qid}?", day, answer, (GOLD,) if gold else ())


def record(qid: str, passages: list[tuple[str, str]], text: str, lead: str | None = None,
           declined: bool = False, verified: int = 1) -> dict:
    return {"id": qid, "passages": [{"url": u, "text": t} for u, t in passages],
            "answer": {"text": text, "declined": declined, "short_answer": lead,
                       "citations_verified": verified, "citations_total": 1}}


@pytest.mark.parametrize(("lead", "gold", "verdict"), [
    ("Kevin  McCarthy", "kevin mccarthy", "equal"),        # case and spacing
    ("Squid Game", "“Squid Game”", "equal"),              # enclosing quote marks
    ("McCarthy", "Kevin McCarthy", "overlap"),
    ("$5 billion", "$5", "overlap"),
    ("Quay Street", "Mayor Ana Ruiz", "wrong"),
    ("The Giro", "the Tour de France", "wrong"),           # only a function word shared
    ("5", "15 million", "wrong"),                          # words, not substrings
])
def test_lead_verdict(lead: str, gold: str, verdict: str) -> None:
    assert lead_verdict(lead, gold) == verdict


def test_split_by_date_and_undated() -> None:
    assert split_of(question("a", date(2023, 6, 30), "x")) == "fit"
    assert split_of(question("b", date(2023, 7, 1), "x")) == "forward"
    assert split_of(EvalQuestion("c", "q?", None, "x", ())) is None


def test_figures_per_split() -> None:
    pairs = [
        # fit: hit at rank 2, answer holds the gold answer, lead equal
        (question("f1", date(2023, 3, 3), "Ana Ruiz"),
         record("f1", [(OTHER, "Ana Ruiz"), (GOLD, "mayor ana  ruiz won")],
                "**Ana Ruiz** — Ana Ruiz won [1].", lead="ana ruiz")),
        # fit: hit at rank 1, declined although answerable
        (question("f2", date(2023, 6, 30), "Oslo"),
         record("f2", [(GOLD, "in Oslo")], "not covered", declined=True, verified=0)),
        # forward: hit at rank 1, wrong lead, answer lacks the gold answer
        (question("w1", date(2023, 7, 1), "Lyon"),
         record("w1", [(GOLD, "Lyon it was")], "**Paris** — Paris [1].", lead="Paris")),
        # forward: no gold url, declined
        (question("w2", date(2023, 8, 4), "Nobody", gold=False),
         record("w2", [(OTHER, "nothing")], "not covered", declined=True, verified=0)),
    ]
    fit, forward, every = (score(pairs)[name].row() for name in ("fit", "forward", "all"))
    assert (fit["questions"], fit["answerable"], forward["answerable"]) == (2, 2, 1)
    assert (fit["hits@1"], fit["hits@5"], fit["MRR@10"]) == (0.5, 1.0, 0.75)
    assert (forward["hits@1"], forward["MRR@10"]) == (1.0, 1.0)
    assert (fit["contains gold"], fit["answerable declined"]) == (0.5, 0.5)
    assert (fit["lead given"], fit["lead equal (of leads)"], fit["lead wrong"]) == (0.5, 1, 0)
    assert (forward["contains gold"], forward["lead wrong"]) == (0.0, 1.0)
    assert forward["no-gold declined"] == 1.0
    assert fit["mean answer chars"] == len("**Ana Ruiz** — Ana Ruiz won [1].")
    assert (fit["citations verified"], every["citations verified"]) == ("1/2", "2/4")
    assert every["questions"] == 4


def test_probes_are_answers_no_article_holds() -> None:
    corpus = CorpusText(["The prize went to  Ana\nRuiz.", "Rain in Lyon."])
    assert corpus.holds("ana ruiz") and not corpus.holds("ruiz. rain")  # articles apart
    pairs = [
        (question("p1", date(2023, 9, 1), "Ana Ruiz", gold=False),
         record("p1", [(OTHER, "Ana Ruiz again")], "Ana Ruiz [1].")),
        (question("p2", date(2023, 9, 1), "Marlow Prize", gold=False),
         record("p2", [(OTHER, "rain")], "not covered", declined=True)),
        (question("p3", date(2023, 9, 1), "Zagreb", gold=False),
         record("p3", [(OTHER, "rain")], "Rain [1].")),
        (question("a1", date(2023, 9, 1), "Lyon"), record("a1", [], "x")),  # answerable
    ]
    forward = score_probes(pairs, corpus)["forward"]
    assert (forward.no_gold, forward.in_corpus, forward.in_passages) == (3, 1, 1)
    assert (forward.probes, forward.declined) == (2, 1)
    assert score_probes(pairs, corpus)["fit"].no_gold == 0


def test_cutoff_is_the_monday_before_less_the_gap() -> None:
    assert cutoff(date(2023, 7, 14), 7) == date(2023, 7, 3)   # a Friday
    assert cutoff(date(2023, 7, 10), 7) == date(2023, 7, 3)   # a Monday
    assert cutoff(date(2023, 7, 13), 0) == date(2023, 7, 10)
