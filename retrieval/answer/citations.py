"""Citation check for every answer: markers that name no passage are removed, each cited
sentence is checked against its passage (lexically, then by embedding), and sources are
renumbered in order of first citation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from retrieval.text import content_terms, split_sentences, stem_set
from retrieval.types import Embed, Passage

_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
LEXICAL_SUPPORT = 0.6
EMBEDDING_SUPPORT = 0.7


@dataclass
class Citation:
    n: int            # new number, in order of first citation
    passage: Passage
    quote: str


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation]
    verified: int = 0
    total: int = 0
    unsupported: list[str] = field(default_factory=list)


def lexical_support(sentence: str, passage_text: str) -> float:
    terms = content_terms(sentence)
    if not terms:
        return 1.0
    present = stem_set(passage_text)
    return sum(t in present for t in terms) / len(terms)


def best_quote(sentence: str, passage_text: str) -> str:
    """The passage sentence that shares most words with `sentence`."""
    sentences = split_sentences(passage_text) or [passage_text]
    return max(sentences, key=lambda s: lexical_support(sentence, s) * 2
               + lexical_support(s, sentence))


def _numbers(group: str) -> list[int]:
    return [int(x) for x in re.split(r"\s*[,;]\s*", group)]


_LEADING = re.compile(r"^((?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+)")


def _attach_leading_markers(sentences: list[str]) -> list[str]:
    """'...gratitude.” [1] Next one.' splits as '[1] Next one.': the marker goes back."""
    out: list[str] = []
    for sentence in sentences:
        match = _LEADING.match(sentence)
        if match and out:
            out[-1] = f"{out[-1]} {match.group(1).strip()}"
            sentence = sentence[match.end():].strip()
        if sentence:
            out.append(sentence)
    return out


def check_citations(text: str, passages: list[Passage], embed: Embed | None = None
                    ) -> CheckedAnswer:
    # "Sentence. [1]" -> "Sentence [1]." so that markers stay with their sentence.
    text = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text.strip())
    renumber: dict[int, int] = {}
    quotes: dict[int, str] = {}
    checked = CheckedAnswer(text="", citations=[])
    out_sentences: list[str] = []
    for sentence in _attach_leading_markers(split_sentences(text)):
        claim = _MARKERS.sub("", sentence).strip()
        cited = [n for m in _MARKERS.finditer(sentence) for n in _numbers(m.group(1))]
        valid = list(dict.fromkeys(n for n in cited if 1 <= n <= len(passages)))
        supported_any = False
        for n in valid:
            checked.total += 1
            passage = passages[n - 1].text
            ok = lexical_support(claim, passage) >= LEXICAL_SUPPORT
            if not ok and embed is not None:
                sentences = split_sentences(passage) or [passage]
                vectors = embed([claim, *sentences])
                ok = float(np.max(vectors[1:] @ vectors[0])) >= EMBEDDING_SUPPORT
            if ok:
                checked.verified += 1
                supported_any = True
            if n not in renumber:
                renumber[n] = len(renumber) + 1
                quotes[n] = best_quote(claim, passage)

        def rewrite(match: re.Match[str]) -> str:
            kept = [renumber[n] for n in _numbers(match.group(1)) if n in renumber]
            return "".join(f"[{k}]" for k in dict.fromkeys(kept))

        fixed = re.sub(r"\s+([.!?,;:])", r"\1", _MARKERS.sub(rewrite, sentence)).strip()
        fixed = re.sub(r"\s{2,}", " ", re.sub(r"(\[\d+\])(\s*\1)+", r"\1", fixed))
        if claim and not supported_any:
            checked.unsupported.append(claim)
        if fixed:
            out_sentences.append(fixed)
    checked.text = " ".join(out_sentences)
    checked.citations = [Citation(new, passages[old - 1], quotes[old])
                         for old, new in sorted(renumber.items(), key=lambda kv: kv[1])]
    return checked
