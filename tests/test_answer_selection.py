"""The extractive answerer picks the sentence that answers, not the one that restates the
question, and leads with the answer itself when one candidate clearly wins. Passages are
written for these tests; the embedder is the real bundled model (as `newsbot ask` uses)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from retrieval.answer.answer_types import Span, candidates, question_kind
from retrieval.answer.citations import check_citations
from retrieval.answer.extractive import (
    answer_from,
    choose,
    compose,
    extract,
    same_story,
    shipped_model,
)
from retrieval.answer.features import Question, Sentence, read_question, sentence_candidates
from retrieval.answer.lead import choose_lead, shipped_lead
from retrieval.index.embedding import SentenceTransformerEmbedder
from retrieval.search.question import parse_question
from retrieval.types import Passage

EMBED = SentenceTransformerEmbedder().embed_documents  # loads on first use


def reading(question: str, idf: dict[str, float] | None = None) -> Question:
    """The answer's reading of a question, with the IDF a search would have read."""
    return read_question(parse_question(question, date(2026, 6, 9)).with_idf(idf or {}))


def passage(text: str, n: int = 0, relevance: float = 8.0) -> Passage:
    return Passage(chunk_id=f"c{n}", article_id=f"a{n}", text=text, title="t", url="",
                   source="Test Desk", published_at=None, score=relevance,
                   relevance=relevance)


TRAM = passage(
    "The Harbor City tram runs from the ferry terminal to the stadium along Bay Road. "
    "The project cost 610 million dollars and took four years to build. "
    "Riders praised the new tram on its first morning.")
FLOOD = passage(
    "The Riverton flood forced 2,000 residents to leave their homes on Sunday. "
    "No deaths were reported, the county sheriff said. "
    "Volunteers filled sandbags along the river through the night.")
FINALS = passage(
    "The Coastal Hawks won the basketball finals in six games on Thursday. "
    "Guard Tomas Reyes was named the most valuable player of the finals after scoring 31 "
    "points in the last game. The team will hold a parade on Saturday.")
ELECTION = passage(
    "Voters in Mexico elected Claudia Sheinbaum as the country's first female president. "
    "Claudia Sheinbaum will take office in October, her party said.")
LAUNCH = passage(
    "The Northstar probe will launch from the coast. "
    "The Northstar probe is set to launch on March 14, 2026, the agency said. "
    "Engineers finished testing the probe's heat shield last month.")

# Rare question words weigh more, as the index's IDF makes them.
IDF = {"mvp": 6.0, "riverton": 6.0, "sheinbaum": 7.0, "northstar": 6.0, "harbor": 4.0,
       "tram": 5.0, "basketbal": 2.0, "final": 1.5, "flood": 3.0}

CASES = [
    ("How much did the Harbor City tram cost?", TRAM, "610 million dollars"),
    ("Did anyone die in the Riverton flood?", FLOOD, "No deaths were reported"),
    ("Which country elected Claudia Sheinbaum as its first female president?", ELECTION,
     "Mexico"),
    ("When will the Northstar probe launch?", LAUNCH, "March 14, 2026"),
]


@pytest.mark.parametrize(("question", "source", "expected"), CASES)
def test_the_best_sentence_holds_the_answer(question: str, source: Passage,
                                            expected: str) -> None:
    found = extract(reading(question, IDF), [source], EMBED)
    assert expected in found.sentences[0].text


def test_mvp_is_found_as_most_valuable_player() -> None:
    found = extract(reading("Who was named MVP of the basketball finals?", IDF), [FINALS],
                    EMBED)
    assert found.sentences, "not declined for want of the word MVP"
    assert any("Tomas Reyes was named the most valuable player" in s.text
               for s in found.sentences)
    assert found.question.acronyms == {"mvp": "m v p"}


def test_a_sentence_that_restates_the_question_loses_to_one_that_answers() -> None:
    restating = passage("The Harbor City tram cost was debated by the city council for "
                        "months before the Harbor City tram opened.", relevance=9.0)
    found = extract(reading("How much did the Harbor City tram cost?", IDF),
                    [restating, TRAM], EMBED)
    assert "610 million dollars" in found.sentences[0].text


@pytest.mark.parametrize(("question", "source", "expected"), [
    c for c in CASES if question_kind(c[0]) != "yesno"])
def test_the_lead_span_is_verbatim_from_the_cited_sentence(question: str, source: Passage,
                                                           expected: str) -> None:
    # Whatever its chance: how a lead is quoted, not whether the threshold lets it be.
    anyone = replace(shipped_lead(), threshold=0.0)
    found = extract(reading(question, IDF), [source], EMBED, lead_model=anyone)
    assert found.lead is not None and expected in found.lead
    assert found.lead in found.sentences[0].text
    text = compose(found.sentences, found.lead)
    assert text.startswith(f"**{found.lead}** — ")
    checked = check_citations(text, [source], EMBED)
    assert checked.verified == checked.total >= 1
    assert not checked.unsupported


def test_no_lead_for_a_yes_no_question() -> None:
    flood = reading("Did anyone die in the Riverton flood?", IDF)
    assert extract(flood, [FLOOD], EMBED).lead is None


def test_no_lead_when_two_candidates_are_close() -> None:
    tied = passage("The final was played between the Coastal Hawks and the River Kings in "
                   "Lakeside on Sunday.")
    found = extract(reading("Which team won the final?"), [tied], EMBED)
    assert found.lead is None


def test_the_answer_stays_short_and_says_nothing_twice() -> None:
    echo = passage("No deaths were reported, the county sheriff said on Monday.", n=1)
    found = extract(reading("Did anyone die in the Riverton flood?", IDF), [FLOOD, echo], EMBED)
    texts = [s.text for s in found.sentences]
    assert 1 <= len(texts) <= 3
    assert sum("No deaths were reported" in t for t in texts) == 1
    assert len(compose(found.sentences, found.lead)) <= 500


def test_question_kinds() -> None:
    assert [question_kind(q) for q, _, _ in CASES] == [
        "money", "yesno", "place", "date"]
    assert question_kind("Who was named MVP of the basketball finals?") == "person"
    assert question_kind("What percentage of voters backed the plan?") == "number"
    assert question_kind("Which company bought the studio?") == "name"
    assert re.fullmatch(r"\w+", question_kind("Tell me about the tram"))


def test_a_caption_is_never_run_into_the_sentence_before_it() -> None:
    storm = passage("The storm cut power to a million homes on Thursday, officials said. "
                    "📸 Flooded homes and streets: photos show the storm's aftermath. "
                    "Crews worked through the night to restore power to the homes.")
    found = extract(reading("How many homes lost power in the storm?", IDF), [storm], EMBED)
    assert all(not s.text.startswith("📸") for s in found.ranked)
    checked = check_citations(compose(found.sentences, found.lead), [storm], EMBED)
    assert checked.verified == checked.total >= 1


def test_this_weeks_story_outranks_last_years_on_the_same_subject() -> None:
    from datetime import datetime

    from retrieval.answer.features import age_values

    def dated(text: str, n: int, day: date) -> Passage:
        return Passage(chunk_id=f"c{n}", article_id=f"a{n}", text=text, title="t", url="",
                       source="Test Desk", published_at=datetime(day.year, day.month, day.day),
                       score=8.0, relevance=8.0)

    # The same sentence but for the winner: only the articles' dates tell them apart.
    old = dated("The Coastal Hawks won the harbour regatta on Sunday, the club said.", 0,
                date(2025, 6, 1))
    new = dated("The River Kings won the harbour regatta on Sunday, the club said.", 1,
                date(2026, 6, 7))
    question = "Which team won the harbour regatta?"
    for order in ([old, new], [new, old]):
        found = extract(reading(question), order, EMBED)
        assert "River Kings" in found.sentences[0].text
    assert age_values(None) == {"fresh": 0.0, "this_week": 0.0}  # undated: no help, no harm
    assert age_values(2)["this_week"] == 1.0 and age_values(30)["this_week"] == 0.0
    assert 1.0 >= age_values(0)["fresh"] > age_values(30)["fresh"] > age_values(400)["fresh"]


def test_a_further_sentence_must_be_worth_its_length() -> None:
    """A short sentence fairly likely to hold the answer joins the best one; a slightly
    likelier one ten times as long does not, nor one that says what the best one says."""
    def sentence(text: str, score: float, position: int) -> Sentence:
        return Sentence(0, position, text, [], {}, score)

    best = sentence("The county board approved the new budget for the harbor district "
                    "on Tuesday evening.", 0.4, 0)
    echo = sentence("On Tuesday evening the county board approved the new budget for the "
                    "harbor district.", 0.5, 1)
    short = sentence("The vote was five to two.", 0.3, 2)
    long = sentence("Several residents spoke during the meeting about parking fees, the "
                    "ferry schedule, the state of the sea wall near the old pier, the cost "
                    "of the planned library, the winter lights on Main Street and the "
                    "district's plans for the summer fair, before the members voted.", 0.35, 3)
    model = replace(shipped_model(), length_cost=0.001)
    question = reading("What did the county board approve?")
    picked = choose(question, [echo, best, short, long], model, max_sentences=3)
    assert picked == [echo, short]
    picked = choose(question, [best, long, short], model, max_sentences=3)
    assert picked == [best, short]
    # Free length: every sentence that adds something is worth it, up to the limit.
    free = replace(model, length_cost=0.0)
    assert choose(question, [best, long, short], free, max_sentences=3) == [best, short, long]
    assert choose(question, [best, long, short], free, max_sentences=2) == [best, long]


def test_the_lead_names_someone_in_full() -> None:
    """"McCarthy" in most sentences, "Kevin McCarthy" in one: the lead is the full name,
    quoted from the sentence that holds it, which comes first."""
    texts = ["Lawmakers voted on Tuesday to remove McCarthy from the post.",
             "House Speaker Kevin McCarthy lost the vote by a narrow margin.",
             "McCarthy said he would not run for the post again."]
    found = []
    for position, text in enumerate(texts):
        spans = [Span(name, "person", text.index(name), text.index(name) + len(name))
                 for name in ("Kevin McCarthy", "McCarthy") if name in text][:1]
        found.append(Sentence(0, position, text, spans, {}, 0.5 - position / 10))
    question = reading("Which lawmaker was removed as speaker of the House?")
    anyone = replace(shipped_lead(), threshold=0.0)  # whatever its chance
    assert choose_lead(question, found, anyone)[0].text == "Kevin McCarthy"
    chosen, lead, _ = answer_from(question, found, shipped_model(), 3, anyone)
    assert lead == "Kevin McCarthy" and chosen[0] is found[1]


def test_a_question_in_the_passage_is_never_quoted_as_the_answer() -> None:
    asked = passage("How much did the Harbor City tram cost to build? "
                    "The project cost 610 million dollars and took four years to build. "
                    "Riders praised the new tram on its first morning.")
    found = extract(reading("How much did the Harbor City tram cost to build?", IDF), [asked],
                    EMBED)
    assert found.ranked and all(not s.text.endswith("?") for s in found.ranked)
    assert "610 million dollars" in found.sentences[0].text


def test_the_asking_sentence_counts_more_than_the_story_it_follows() -> None:
    """A question that opens with its story: the sentence about the story restates it,
    the one about what is asked answers it."""
    strike = passage(
        "Hollywood actors joined by Sean Penn went on strike on Friday, bringing film and "
        "television production to a standstill. "
        "The union's president, Fran Drescher, spoke to members outside the gates.")
    question = ("Hollywood actors went on strike, bringing film and television production "
                "to a standstill. Who is the president of the union?")
    assert reading(question).asked == ["presid", "union"]
    found = extract(reading(question, {"hollywood": 5.0, "strike": 4.0}), [strike], EMBED)
    assert "Fran Drescher" in found.sentences[0].text


def test_words_that_answer_for_one_another_meet_the_stemmers_forms() -> None:
    """"died" stems to "di" and "buy" to "bui": the related words are matched in those
    forms, so "How many people died" is covered by "The death toll ..."."""
    question = reading("How many people died in the Harbin quake?")
    toll = passage("The death toll passed 3,000 by Friday, officials said.")
    found = sentence_candidates(question, [toll], None)
    assert found[0].values["coverage"] > 0
    bought = sentence_candidates(reading("Who did the bank buy?"),
                                 [passage("It purchased a rival lender, Coast Savings, "
                                          "for cash.")], None)
    assert bought[0].values["coverage"] > 0


@pytest.mark.parametrize(("sentence", "amount"), [
    ("He closed his 44 billion dollar purchase of the network.", "44 billion dollar"),
    ("The mission cost roughly 10 billion US dollars in all.", "10 billion US dollars"),
])
def test_amounts_in_dollars_are_money(sentence: str, amount: str) -> None:
    assert [s.text for s in candidates(sentence) if s.kind == "money"] == [amount]


def test_a_passage_far_below_the_best_is_not_quoted() -> None:
    """On a small index the last places go to other stories: their sums answer other
    questions, however well they fit "how much"."""
    launch = passage("The telescope left Earth on Saturday aboard a rocket from Kourou. "
                     "Engineers spent years testing its mirrors before the launch.",
                     relevance=9.0)
    other = passage("The law directs about 370 billion dollars toward clean energy "
                    "programmes across the country.", n=1, relevance=1.0)
    found = extract(reading("How much did the telescope cost?"), [launch, other], EMBED)
    assert found.ranked and {s.passage for s in found.ranked} == {0}


def test_a_name_from_the_question_is_not_its_answer() -> None:
    """"Elon Musk" is not who Musk fired, though "Elon" is not in the question."""
    question = reading("Who did Musk fire after buying the company?")
    sentences = passage("Elon Musk took control of the company on Thursday night. "
                        "He dismissed the chief executive, Parag Agrawal, on his first day.")
    spans = {s.text[:10]: [sp.text for sp in s.spans]
             for s in sentence_candidates(question, [sentences], None)}
    assert spans == {"Elon Musk ": [], "He dismiss": ["Parag Agrawal"]}


@pytest.mark.parametrize(("sentence", "span", "kind"), [
    ("Leaders met at the climate summit in Dubai on Wednesday.", "Dubai", "place"),
    ("She is serving a prison sentence in Tehran.", "Tehran", "place"),
    ("Talks in New York ended without a deal.", "New York", "place"),
    ("The New Zealand side won the final.", "New Zealand", "place"),
    ("Goalkeeper Emiliano Martínez saved a penalty.", "Emiliano Martínez", "person"),
    ("General Motors recalled the trucks.", "General Motors", "person"),
])
def test_places_and_names_as_a_reader_takes_them(sentence: str, span: str,
                                                 kind: str) -> None:
    """A name after "in" is a place though no list holds it; "New" stays with "York"; a
    title goes from a full name but not from a one-word one."""
    assert (span, kind) in [(s.text, s.kind) for s in candidates(sentence)]


def test_a_name_after_in_with_a_possessive_stays_a_name() -> None:
    spans = candidates("The plan was set out in Biden's speech on Tuesday.")
    assert ("Biden", "person") in [(s.text, s.kind) for s in spans]


def test_what_happened_counts_apart_from_whom_it_happened_to() -> None:
    """Every sentence of the story names the final; the answer is the one that says who
    was named MVP. "LVII" is a number, not initials to spell out."""
    question = reading("Who was named MVP of Super Bowl LVII?")
    assert question.acronyms == {"mvp": "m v p"}
    story = passage("The Chiefs beat the Eagles 38-35 in Super Bowl LVII on Sunday. "
                    "Quarterback Patrick Mahomes threw three touchdown passes and was "
                    "named the game's most valuable player.")
    restating, answering = sentence_candidates(question, [story], None)
    assert restating.values["coverage"] > answering.values["coverage"]
    assert (restating.values["predicate_coverage"], answering.values["predicate_coverage"]
            ) == (0.0, 1.0)


MAYOR = passage(
    "Dana Whitfield was elected mayor of Harbor City on Tuesday with 54 percent of the "
    "vote. She defeated the sitting councillor Robert Ames, who conceded before midnight. "
    "Whitfield celebrated with supporters at a café on Quay Street.")
EVACUATION = passage(
    "Mount Keld erupted on Wednesday, sending ash five kilometres into the sky. "
    "Authorities evacuated 3,200 residents from four villages on the volcano's slopes.")


@pytest.mark.parametrize(("question", "source", "expected"), [
    ("Who is the mayor of Harbor City?", MAYOR, "Dana Whitfield"),
    ("How many residents were evacuated after Mount Keld erupted?", EVACUATION, "3,200"),
    ("How much did the Harbor City tram cost?", TRAM, "610 million dollars"),
])
def test_the_likeliest_lead_is_the_answer(question: str, source: Passage,
                                          expected: str) -> None:
    """Of the candidates of the asked-for kind, the lead model gives the answer the best
    chance: not the street of the mayor's party, nor the ash cloud's height."""
    found = extract(reading(question, IDF), [source], EMBED)
    anyone = replace(shipped_lead(), threshold=0.0)
    lead, chance = choose_lead(found.question, found.ranked, anyone)
    assert lead is not None and lead.text == expected
    assert chance == found.lead_chance


def test_a_shared_weekday_does_not_make_two_reports_one_story() -> None:
    """The men's final and the women's final were both "on Sunday": a day or month name
    names no story, so the second report does not join the first."""
    question = reading("Who won the World Cup final in Qatar?")
    men = Sentence(0, 0, "Argentina won the World Cup on Sunday, beating France on "
                   "penalties in Qatar.", [], {}, 0.9)
    women = Sentence(1, 0, "Spain beat England in the Women's World Cup final in Sydney "
                     "on Sunday.", [], {}, 0.5)
    rematch = Sentence(1, 0, "Fans in France asked for a rematch on Sunday.", [], {},
                       0.5)
    assert not same_story(question, men, women)
    assert same_story(question, men, rematch)  # France: the same story
