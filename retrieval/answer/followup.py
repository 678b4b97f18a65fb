"""Follow-up questions rewritten into standalone ones before retrieval.

With an LLM, `CONDENSE_*` prompts do it. Without one, a deterministic rule: a question
that leans on the conversation gets the previous turn's subject added in brackets at its
end ("Was anyone hurt (people evacuated Mount Terran erupted)?"): the search finds the
story by it, while the answer weighs what the user's own words ask (`chain.select`). A
question leans on the conversation when it starts with "and"/"what about", is one word,
refers back to someone or something ("he", "it", "they"), or names nothing of its own
(no name, no figure) and points back ("that", "there"), asks about anyone or anything,
or is short. One that names a subject of its own is left as it is. A follow-up spelled
out also leans toward the story the previous answer quoted (`lean`,
`retrieval/search/lean.py`). Measured on bench/followups.json (`python -m
bench.followups`; bench/README.md)."""

from __future__ import annotations

import calendar
import re

from retrieval.search.lean import Lean
from retrieval.text import STOPWORDS, content_terms, proper_nouns, split_sentences, stem, words

_CONNECTOR = re.compile(
    r"^\s*(?:and|but|so|also|then|ok(?:ay)?|what about|how about)\b[\s,]*", re.IGNORECASE)
# Words that stand for someone or something already named: a follow-up even beside a
# name of its own ("How far from Earth did it travel?").
_PERSONAL = {"he", "she", "it", "they", "him", "her", "his", "its", "their", "them"}
# Words that point back at what was said.
_PRONOUNS = _PERSONAL | {"that", "this", "those", "these", "there", "then"}
# Words that ask about the people or things of the story without naming them.
_INDEFINITE = {"anyone", "anybody", "someone", "somebody", "everyone", "everybody", "anything",
               "something", "everything", "nobody", "nothing"}
_INDEFINITE_STEMS = {stem(w) for w in _INDEFINITE}
# Capitalised, but when, not who or what: "Which retailer warned in January?" names no one.
_TIME_NAMES = {stem(w) for w in (*calendar.month_name[1:], *calendar.day_name)}
# A question of this many content terms or fewer, naming nothing, is about the story
# already under discussion ("How many people died?", "Who scored the winning kick?").
SHORT = 3
CARRIED = 8  # words of subject carried into a follow-up, at most
ANSWER_NAMES = 3  # names taken from the answer when the question named no one
# How much more a passage of the story the previous answer quoted scores in a follow-up's
# search (the best few passages score within about 0.5 of each other); 1.0 put that
# story first but lost another follow-up, 0.5 is the best of those measured
# (bench/followups.json's tuning set).
LEAN = 0.5
# How much more a sentence of that story is worth in the answer (a sentence's chance of
# holding the answer): enough to prefer it over a like sentence of another story.
SENTENCE_LEAN = 0.1

History = list[tuple[str, str]]  # (standalone question, answer text)


def names_something(question: str) -> bool:
    """A name (a capitalised word past the first) or a figure: a subject of its own."""
    return bool(proper_nouns(question)) or any(w[0].isdigit() for w in words(question))


def looks_like_followup(question: str) -> bool:
    if _CONNECTOR.match(question):
        return True
    terms = content_terms(question)
    lowered = {w.lower() for w in words(question)}
    if len(terms) <= 1 or lowered & _PERSONAL:  # "Why?", "Canada?", "Where did he die?"
        return True
    if names_something(question):
        return False
    return bool(lowered & (_PRONOUNS | _INDEFINITE)) or \
        len([t for t in terms if t not in _INDEFINITE_STEMS]) <= SHORT


def _first_names(text: str) -> list[str]:
    """The capitalised words past the first of the text's first sentence."""
    sentences = split_sentences(text.replace("**", ""))
    tokens = words(sentences[0]) if sentences else []
    return [w for w in tokens[1:] if w[0].isupper() and w.lower() not in STOPWORDS]


def subject_words(previous: str, answered: str, question: str) -> list[str]:
    """The subject of the previous turn: the words of its question that its answer holds
    too ("earthquake Turkey Syria" of "How strong was the earthquake that hit Turkey and
    Syria?", not "strong", which was what it asked), with its names if the answer repeats
    none of them ("NATO" answered as "the North Atlantic Treaty Organization"), and, when
    the question named no one ("Which retailer warned it may go bankrupt?"), the names its
    answer opens with; less the words the follow-up holds."""
    have = {stem(w) for w in words(question)}
    said = {stem(w) for w in words(answered)}
    asked: list[str] = []
    for word in words(previous):
        lowered = word.lower()
        if lowered in STOPWORDS or lowered in _PRONOUNS or lowered in _INDEFINITE or \
                stem(word) in have | {stem(k) for k in asked}:
            continue
        asked.append(word)
    keep = [w for w in asked if stem(w) in said] or asked
    names = set(proper_nouns(previous)) - _TIME_NAMES
    if names and not names & {stem(w) for w in keep}:  # the answer spelled them otherwise
        keep += [w for w in asked if stem(w) in names and w not in keep]
    if not names:
        seen = have | {stem(w) for w in keep}
        named = [w for w in dict.fromkeys(_first_names(answered)) if stem(w) not in seen]
        keep += named[:ANSWER_NAMES]
    return keep[:CARRIED]


def condense(question: str, history: History) -> str:
    """The question with what it refers to spelled out, or unchanged."""
    if not history or not looks_like_followup(question):
        return question
    core = _CONNECTOR.sub("", question).strip()
    core = core[:1].upper() + core[1:]
    keep = subject_words(*history[-1], core)
    if not keep:
        return core
    ending = "?" if core.endswith("?") else ""
    return f"{core.rstrip('?').rstrip()} ({' '.join(keep)}){ending}"


def lean(question: str, history: History) -> Lean | None:
    """How far the search leans toward the story the previous answer quoted: all the way
    for a follow-up that names nothing, less for each name or figure of its own."""
    if not history:
        return None
    own = len(proper_nouns(question)) + sum(w[0].isdigit() for w in words(question))
    return Lean.toward(history[-1][1], LEAN / (1 + own), SENTENCE_LEAN / (1 + own))
