"""Word-level helpers for keyword search and reranking: tokens, stopwords, stems.

Stems use the Porter algorithm, the same one SQLite's FTS5 `porter` tokenizer applies,
so a query stem can be looked up in the FTS vocabulary.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
# PyStemmer (a dependency) makes this the C implementation; the pure-Python fallback
# gives the same stems.
_STEMMER = snowballstemmer.stemmer("porter")

STOPWORDS = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
    "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
    "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no",
    "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
    "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that",
    "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "you", "your", "yours", "yourself", "according", "said", "says", "say", "one",
    "ones", "many", "much", "well", "may", "might", "must", "shall", "new", "week", "weeks",
    "this", "last", "year", "years", "recently", "recent", "called", "named", "name",
    "known", "become", "became", "following", "following's", "quiz"
])


# Words that end in a period without ending a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "lt", "sgt", "capt",
    "st", "jr", "sr", "no", "vs", "inc", "corp", "co", "ltd", "u.s", "u.k", "u.n", "e.g",
    "i.e", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "mt", "ft", "ave", "blvd", "dept", "est", "approx", "fig", "a.m", "p.m",
}
_BOUNDARY = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`; line breaks always end a sentence."""
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            candidate = paragraph[start : match.start()]
            last_word = candidate.rsplit(None, 1)[-1].rstrip(".!?").lower() if candidate else ""
            if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
                continue
            end = match.end() - len(match.group(0).lstrip("\"”’')]"))
            sentences.append(paragraph[start:end].strip())
            start = match.end()
        sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return _STEMMER.stemWord(word)


def content_terms(text: str) -> list[str]:
    """Distinct stems of the words that carry meaning, in order of appearance."""
    seen: dict[str, None] = {}
    for word in words(text):
        lower = word.lower()
        if lower in STOPWORDS or (len(lower) < 2 and not lower.isdigit()):
            continue
        seen.setdefault(stem(lower), None)
    return list(seen)


def sentence_stems(text: str) -> str:
    """Stems of each sentence, space separated, one sentence a line: stored with every
    chunk at index time so reranking does not re-stem passages per question."""
    return "\n".join(" ".join(stem(w) for w in words(s)) for s in split_sentences(text))


def stem_set(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


def proper_nouns(text: str) -> list[str]:
    """Capitalised words not at the start of a sentence: names, places, organisations."""
    found: dict[str, None] = {}
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        tokens = words(sentence)
        for token in tokens[1:]:
            if token[0].isupper() and token.lower() not in STOPWORDS:
                found.setdefault(stem(token), None)
    return list(found)
