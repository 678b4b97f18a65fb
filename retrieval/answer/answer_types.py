"""What a question asks for (a person, a place, a date, a number, an amount of money, a
name) and the spans of a sentence that could be that answer. Plain patterns and
pycountry's country list: no model, a few microseconds a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from retrieval.text import STOPWORDS

PERSON, PLACE, DATE, NUMBER, MONEY, NAME, YESNO, OTHER = (
    "person", "place", "date", "number", "money", "name", "yesno", "other")
KINDS = (PERSON, PLACE, DATE, NUMBER, MONEY, NAME, YESNO, OTHER)

_PLACE_NOUNS = (r"country|countries|nation|state|city|cities|town|village|county|province|"
                r"region|island|continent|capital|territory|border|port|location")
_PERSON_NOUNS = (r"person|man|woman|men|women|actor|actress|singer|rapper|player|athlete|"
                 r"star|leader|politician|senator|governor|president|minister|ceo|judge|"
                 r"celebrity|musician|artist|author|journalist|host|comedian|coach|"
                 r"candidate|lawmaker|official|executive|founder|billionaire|royal|king|"
                 r"queen|prince|princess|director|member|rocker|figure|pop star")
_MONEY_WORDS = r"cost|costs|pay|paid|worth|spend|spent|raise|raised|price|fine|fined|" \
               r"owe|budget|salary|revenue|sold for|bid|prize|valued|charge|fund"
_RULES: list[tuple[str, re.Pattern[str]]] = [
    (MONEY, re.compile(rf"\bhow much\b.*\b({_MONEY_WORDS})\b|\bhow much money\b|"
                       rf"\bwhat (was|is) the (price|cost|fine|value)\b")),
    (NUMBER, re.compile(r"\bhow (many|much|old|long|far|tall|big|high|fast)\b|"
                        r"\b(what|which) (percentage|percent|share|number|age|rate)\b|"
                        # a game's score is figures ("145-134"), not a name
                        r"\bwhat (is|was) the (final |half-time )?score\b")),
    (DATE, re.compile(r"^when\b|\bwhen (did|will|was|is|does|do|were|are)\b|"
                      r"\b(what|which) (year|month|day|date|decade|season)\b")),
    (PLACE, re.compile(rf"^where\b|\bwhere (did|will|was|is|does|do|were|are)\b|"
                       rf"\b(what|which|whose|in what|in which) ({_PLACE_NOUNS})\b")),
    (PERSON, re.compile(rf"^(who|whom|whose)\b|\b(who|whom)\b|"
                        rf"\b(what|which) ({_PERSON_NOUNS})\b")),
    (YESNO, re.compile(r"^(did|does|do|is|was|were|are|has|have|had|can|could|will|would|"
                       r"should)\b")),
    (NAME, re.compile(r"\b(what|which)\b")),
]


def question_kind(question: str) -> str:
    lowered = " ".join(question.lower().replace("’", "'").split())
    for kind, pattern in _RULES:
        if pattern.search(lowered):
            return kind
    return OTHER


@dataclass(frozen=True)
class Span:
    text: str
    kind: str   # PLACE, PERSON (a name that is not a known place), DATE, NUMBER, MONEY
    start: int  # character offsets in the sentence
    end: int


_MONTHS = (r"January|February|March|April|May|June|July|August|September|October|"
           r"November|December|Jan\.|Feb\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.")
_DAYS = r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_NUMBER_WORD = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|"
                r"thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozens?|"
                r"hundreds|thousands|millions")
# Whose dollars: "10 billion US dollars".
_CURRENCY_PLACE = r"(?:US|U\.S\.|American|Canadian|Australian|Hong Kong|Singapore|New Zealand)"
_SCALE = r"(?:\s?(?:million|billion|trillion|thousand|hundred|[mMbB]n?\b|k\b))?"
_NUM = r"\d+(?:[.,]\d+)*"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (MONEY, re.compile(rf"(?:US)?[$€£¥]\s?{_NUM}{_SCALE}|"
                       rf"\b{_NUM}{_SCALE}\s(?:{_CURRENCY_PLACE}\s)?"
                       r"(?:dollars?|euros?|pounds|yen|yuan|rupees?)\b")),
    (NUMBER, re.compile(rf"\b{_NUM}\s?(?:%|percent\b|per cent\b)")),
    (DATE, re.compile(rf"\b(?:{_MONTHS})(?:\s\d{{1,2}}(?:st|nd|rd|th)?)?(?:,?\s\d{{4}})?|"
                      rf"\b(?:{_DAYS})\b|\b(?:19|20)\d\d\b")),
]
# After names, so that "Blink-182" stays a name.
_PLAIN_NUMBER = re.compile(rf"\b{_NUM}{_SCALE}\b|\b(?:{_NUMBER_WORD})\b", re.IGNORECASE)
# Runs of capitalised words, joined by a few lower-case linking words: "Bank of America".
_NAME = re.compile(r"\b[A-Z][\w.&-]*(?:['’][\w]+)?(?:\s(?:(?:of|the|de|del|da|von|van|and|al|bin)"
                   r"\s)?[A-Z][\w.&-]*(?:['’][\w]+)?)*")
# "WASHINGTON –", "BERLIN (AP) —", "WELLINGTON, New Zealand (AP) —", "Colombo, Sri Lanka
# (CNN)": where a story was filed.
_DATELINE = re.compile(r"^[A-Z][A-Z .]{2,}(?:,\s[A-Z][\w .]+)?\s*(?:\([\w ]+\))?\s*[–—-]\s|"
                       r"^[A-Z][\w .’'-]*(?:,\s[A-Z][\w .]+)?\s\((?:CNN|AP|AFP|Reuters)\)\s*")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,60})[”\"]")
_NOT_NAMES = frozenset({"mr", "mrs", "ms", "dr", "i", "it", "he", "she", "they", "we", "but",
                        "and", "in", "on", "at", "as", "if", "so", "after", "before",
                        "when", "while", "this", "that", "there", "here", "a", "an", "the"})
# What a sentence may put before a full name: "Goalkeeper Emiliano Martínez" is answered
# as "Emiliano Martínez" (kept when one word would be left: "General Motors").
TITLES = frozenset({"president", "vice", "prime", "minister", "senator", "sen", "rep",
                     "gov", "governor", "judge", "justice", "coach", "quarterback",
                     "goalkeeper", "captain", "chancellor", "secretary", "ceo", "chief",
                     "gen", "general", "speaker", "mayor", "professor", "prof", "pope",
                     "striker", "forward", "midfielder", "defender", "pitcher", "guard",
                     "safety", "singer", "rapper", "actor", "actress", "director"})
# "in Dubai": a name right after "in" is a place, whatever list it is missing from.
_AFTER_IN = re.compile(r"\b[Ii]n\s+$")


def candidates(sentence: str) -> list[Span]:
    """Spans that could answer a question, without overlaps (the first pattern wins)."""
    spans: list[Span] = []
    taken = [False] * len(sentence)
    dateline = _DATELINE.match(sentence)
    if dateline:
        taken[: dateline.end()] = [True] * dateline.end()

    def add(kind: str, start: int, end: int) -> None:
        text = sentence[start:end].strip(" ,.;:'’\"“”")
        if not text or any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        spans.append(Span(text, kind, start, end))

    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(sentence):
            add(kind, match.start(), match.end())
    for match in _QUOTED.finditer(sentence):
        if _looks_like_name(match.group(1)):  # a title, not quoted speech
            add(NAME, match.start(), match.end())
    for match in _NAME.finditer(sentence):
        raw = match.group(0)
        if any(taken[match.start():match.end()]):  # "Claudia Sheinbaum on June 2": the name
            raw = raw[:taken.index(True, match.start()) - match.start()]
        text = _trim_name(raw)
        if not text or len(text) < 2 or text.lower().startswith(("i'", "i’")):
            continue
        start = match.start() + raw.index(text)
        if start_of(sentence, start) and " " not in text and not is_place(text):
            continue  # "Time stood still...": any first word is capitalised
        after_in = bool(_AFTER_IN.search(sentence[:start])) and not re.match(
            r"['’]s\b", sentence[start + len(text):])  # "in Biden's speech"
        add(PLACE if is_place(text) or after_in else PERSON, start, start + len(text))
    for match in _PLAIN_NUMBER.finditer(sentence):
        add(NUMBER, match.start(), match.end())
    spans.sort(key=lambda s: s.start)
    return spans


def start_of(sentence: str, offset: int) -> bool:
    return not sentence[:offset].strip(" \"“‘'(")


def _looks_like_name(text: str) -> bool:
    small = {"of", "the", "a", "an", "and", "in", "on", "for", "to", "at", "with"}
    return all(w[:1].isupper() or w[:1].isdigit() or w in small for w in text.split())


def _trim_name(text: str) -> str:
    """Drop capitalised stopwords at either end ("The", "But", "Mr"), but not the "New"
    of "New York", and a title before a full name."""
    text = re.sub(r"['’]s?$", "", text.strip().rstrip("."))  # "Mexico's" -> "Mexico"
    parts = text.split()
    while (parts and parts[0].lower().strip(".") in (_NOT_NAMES | STOPWORDS)
           and not (parts[0] == "New" and len(parts) > 1)):
        parts = parts[1:]
    while parts and parts[-1].lower() in ("of", "the", "and", "for", "on", "de"):
        parts = parts[:-1]
    while len(parts) > 2 and parts[0].lower().strip(".") in TITLES:
        parts = parts[1:]
    return " ".join(parts)


_US_STATES = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado",
              "Connecticut", "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois",
              "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland",
              "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana",
              "Nebraska", "Nevada", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Tennessee",
              "Texas", "Utah", "Vermont", "Virginia", "Washington", "Wisconsin", "Wyoming",
              "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina",
              "North Dakota", "Rhode Island", "South Carolina", "South Dakota", "West Virginia"]
_REGIONS = ["Europe", "Asia", "Africa", "Antarctica", "Australia", "North America",
            "South America", "Middle East", "Gaza", "West Bank", "Crimea", "Kosovo",
            "Taiwan", "Scotland", "England", "Wales", "Northern Ireland", "Hong Kong",
            "Britain", "Great Britain", "Russia", "Iran", "Syria", "Venezuela", "Bolivia",
            "Tanzania", "Vietnam", "Laos", "Moldova", "South Korea", "North Korea",
            "Czech Republic", "Turkey", "Congo", "Ivory Coast", "Vatican", "Palestine"]


@lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    names = {p.lower() for p in _US_STATES + _REGIONS}
    try:
        import pycountry
    except ImportError:  # the list above still covers the common cases
        return frozenset(names)
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names.add(value.lower())
    return frozenset(names)


def is_place(text: str) -> bool:
    lowered = text.lower()
    return lowered in _places() or lowered.removeprefix("the ") in _places()


def fits(kind: str, span: Span) -> bool:
    """Whether a span is the kind of thing the question asks for."""
    if kind == NAME:  # "which team", but also "what did Canada pledge"
        return span.kind in (PERSON, PLACE, NAME, MONEY)
    if kind == PERSON:
        return span.kind == PERSON
    if kind == NUMBER:
        return span.kind in (NUMBER, MONEY)
    return span.kind == kind
