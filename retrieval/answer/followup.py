"""Follow-up questions rewritten into standalone ones before retrieval.

With an LLM, `CONDENSE_*` prompts do it. Without one, a deterministic rule: a question
that leans on the conversation (starts with "and"/"what about", uses a pronoun and names
nothing, or is very short) gets the previous question's names and key words added."""

from __future__ import annotations

import re

from retrieval.text import STOPWORDS, content_terms, proper_nouns, stem, words

_CONNECTOR = re.compile(
    r"^\s*(?:and|but|so|also|then|ok(?:ay)?|what about|how about)\b[\s,]*", re.IGNORECASE)
_PRONOUNS = {"he", "she", "they", "it", "his", "her", "their", "its", "them", "him", "that",
             "this", "those", "these", "there", "then"}

History = list[tuple[str, str]]  # (standalone question, answer text)


def looks_like_followup(question: str) -> bool:
    if _CONNECTOR.match(question):
        return True
    lowered = {w.lower() for w in words(question)}
    names = proper_nouns(question)
    return bool(lowered & _PRONOUNS) and not names or len(content_terms(question)) <= 1


def condense(question: str, history: History) -> str:
    """The question with what it refers to spelled out, or unchanged."""
    if not history or not looks_like_followup(question):
        return question
    previous = history[-1][0]
    present = {stem(w) for w in words(question)}
    keep: list[str] = []
    for word in words(previous):
        s = stem(word)
        if word.lower() in STOPWORDS or word.lower() in _PRONOUNS or s in present:
            continue
        if s not in {stem(k) for k in keep}:
            keep.append(word)
    core = _CONNECTOR.sub("", question).strip()
    core = core[:1].upper() + core[1:]
    if not keep:
        return core
    ending = "?" if core.endswith("?") else ""
    return f"{core.rstrip('?').rstrip()} ({' '.join(keep[:8])}){ending}"
