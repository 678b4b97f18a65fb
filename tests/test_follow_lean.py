"""A follow-up's lean toward the story the previous answer quoted (retrieval/search/lean.py):
which passages it finds by the answer's text alone, how far it leans, and that a
follow-up naming a subject of its own leans less (#39 item 5)."""

from __future__ import annotations

from retrieval.answer.answer_types import NUMBER, question_kind
from retrieval.answer.followup import LEAN, SENTENCE_LEAN, lean
from retrieval.search.candidates import CandidatePassage
from retrieval.search.lean import Lean
from retrieval.types import Passage

GAME = ("Kestrel Bay beat the Harrow Owls 112-104 in overtime on Monday night, with "
        "Dana Pike scoring 48 points. It was the Owls' fourth defeat in a row.")
RETURN_GAME = ("Kestrel Bay lost to the Harrow Owls 99-91 on Saturday. Dana Pike scored "
               "22 points.")
ANSWER = ("**48** — Kestrel Bay beat the Harrow Owls 112-104 in overtime on Monday night, "
          "with Dana Pike scoring 48 points [1].")


def candidate(chunk: str, article: str, text: str, story: str | None = None
              ) -> CandidatePassage:
    return CandidatePassage(chunk, article, 0, text, "a headline", None, story_id=story)


def test_the_quoted_story_is_found_by_the_answer_s_text() -> None:
    toward = Lean.toward(ANSWER, 0.5)
    assert toward is not None
    cands = [candidate("return:0", "return", RETURN_GAME),
             candidate("game:0", "game", GAME),
             candidate("game:1", "game", "The Owls' coach said little afterwards."),
             candidate("copy:0", "copy", "Another outlet's report.", story="game"),
             candidate("other:0", "other", "A bridge opened in Osterby.")]
    cands[1].story_id = cands[2].story_id = "game"
    # Every passage of the quoted article (and another outlet's copy of its story) leans;
    # the other game of the same teams does not.
    assert toward.bonus(cands).tolist() == [0.0, 0.5, 0.5, 0.5, 0.0]


def test_a_declined_or_empty_answer_leans_nowhere() -> None:
    assert Lean.toward("", 0.5) is None
    assert Lean.toward("Kestrel Bay won [1].", 0.5) is None  # too short to be a quote
    assert Lean.toward(ANSWER, 0.0) is None


def test_a_follow_up_naming_something_leans_less() -> None:
    history = [("How many points did Dana Pike score against the Owls?", ANSWER)]
    nothing = lean("What was the final score?", history)
    named = lean("Where does Pike play next?", history)
    assert nothing is not None and named is not None
    assert nothing.weight == LEAN and nothing.sentence_weight == SENTENCE_LEAN
    assert named.weight == LEAN / 2 and named.sentence_weight == SENTENCE_LEAN / 2
    assert lean("What was the final score?", []) is None


def test_sentences_of_the_quoted_story_gain_in_the_answer() -> None:
    toward = Lean.toward(ANSWER, LEAN, SENTENCE_LEAN)
    assert toward is not None

    def passage(text: str) -> Passage:
        return Passage("c", "a", text, "t", "u", "s", None, 1.0)

    assert toward.sentence_bonus(passage(GAME), "It was the Owls' fourth defeat in a row.") \
        == SENTENCE_LEAN
    assert toward.sentence_bonus(passage(RETURN_GAME), "Dana Pike scored 22 points.") == 0.0


def test_a_score_is_asked_as_a_number() -> None:
    assert question_kind("What was the final score?") == NUMBER
    assert question_kind("What is the score?") == NUMBER
    assert question_kind("Who scored the winning goal?") != NUMBER
