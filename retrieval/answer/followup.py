"""Follow-up questions rewritten into standalone ones before retrieval.

With an LLM, `CONDENSE_*` prompts do it. Without one, a deterministic rule: a question
that leans on the conversation gets the previous turn's subject added in brackets at its
end ("Was anyone hurt (people evacuated Mount Terran erupted)?"): the search finds the
story by it, while the answer weighs what the user's own words ask (`chain.select`). A
question leans on the conversation when it starts with "and"/"what about", is one word,
or names nothing of its own (no name, no figure) and points back ("it", "they"), asks
about anyone or anything, or is short. One that names a subject of its own is left as
it is. Measured on bench/followups.json (`python -m bench.followups`)."""

from __future__ import annotations

import re

from retrieval.text import STOPWORDS, content_terms, proper_nouns, stem, words

_CONNECTOR = re.compile(
    r"^\s*(?:and|but|so|also|then|ok(?:ay)?|what about|how about)\b[\s,]*", re.IGNORECASE)
# Words that point back at what was said.
_PRONOUNS = {"he", "she", "they", "it", "his", "her", "their", "its", "them", "him", "that",
             "this", "those", "these", "there", "then"}
# Words that ask about the people or things of the story without naming them.
_INDEFINITE = {"anyone", "anybody", "someone", "somebody", "everyone", "everybody", "anything",
               "something", "everything", "nobody", "nothing"}
_INDEFINITE_STEMS = {stem(w) for w in _INDEFINITE}
# A question of this many content terms or fewer, naming nothing, is about the story
# already under discussion ("How many people died?", "Who scored the winning kick?").
SHORT = 3
# The previous question's words carried into a follow-up (the subject, not a sentence).
CARRIED = 8

History = list[tuple[str, str]]  # (standalone question, answer text)


def names_something(question: str) -> bool:
    """A name (a capitalised word past the first) or a figure: a subject of its own."""
    return bool(proper_nouns(question)) or any(w[0].isdigit() for w in words(question))


def looks_like_followup(question: str) -> bool:
    if _CONNECTOR.match(question):
        return True
    terms = content_terms(question)
    if len(terms) <= 1:  # "Why?", "Canada?"
        return True
    if names_something(question):
        return False
    lowered = {w.lower() for w in words(question)}
    return bool(lowered & (_PRONOUNS | _INDEFINITE)) or \
        len([t for t in terms if t not in _INDEFINITE_STEMS]) <= SHORT


def subject_words(previous: str, answered: str, question: str) -> list[str]:
    """The subject of the previous turn: the words of its question that its answer holds
    too ("earthquake Turkey Syria" of "How strong was the earthquake that hit Turkey and
    Syria?", not "strong", which was what it asked), less those the follow-up holds."""
    present = {stem(w) for w in words(question)}
    said = {stem(w) for w in words(answered)}
    keep: list[str] = []
    for word in words(previous):
        lowered = word.lower()
        s = stem(word)
        if lowered in STOPWORDS or lowered in _PRONOUNS or lowered in _INDEFINITE or \
                s in present or s in {stem(k) for k in keep}:
            continue
        keep.append(word)
    shared = [w for w in keep if stem(w) in said]
    return (shared or keep)[:CARRIED]


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
