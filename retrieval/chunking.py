"""Sentence-aware chunking: chunks end at sentence ends and fit the embedding window."""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.article import Article

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


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """A single sentence longer than a chunk is cut at word boundaries (the only cut)."""
    pieces, current = [], ""
    for word in sentence.split():
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def pack_sentences(sentences: list[str], max_chars: int) -> list[str]:
    """Whole sentences packed into chunks of at most `max_chars`. A sentence starting with
    a line break keeps it, so paragraphs (and headline-like lines) stay apart."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in sentences:
        brk = "\n" if sentence.startswith("\n") else " "
        sentence = sentence.lstrip("\n")
        for piece in _split_long(sentence, max_chars) if len(sentence) > max_chars else [sentence]:
            if current and size + 1 + len(piece) > max_chars:
                chunks.append("".join(current).strip())
                current, size = [], 0
            current.append((brk if current else "") + piece)
            size += len(piece) + (1 if size else 0)
            brk = " "
    if current:
        tail = "".join(current).strip()
        # A short tail joins the chunk before it, as long as that stays near the limit.
        if chunks and len(tail) < max_chars // 4 and len(chunks[-1]) + len(tail) < max_chars * 1.25:
            chunks[-1] = f"{chunks[-1]}\n{tail}"
        else:
            chunks.append(tail)
    return chunks


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    ord: int
    text: str


def chunk_id(article: Article, ord_: int) -> str:
    """Deterministic: the same article content always gives the same ids."""
    return f"{article.id}:{article.content_hash[:8]}:{ord_:03d}"


def paragraph_sentences(text: str) -> list[str]:
    """Sentences, each paragraph's first one marked with a leading line break."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        sentences = split_sentences(paragraph)
        if sentences:
            out.append("\n" + sentences[0])
            out.extend(sentences[1:])
    return out


def chunk_article(article: Article, max_chars: int = 1000) -> list[Chunk]:
    texts = pack_sentences(paragraph_sentences(article.body), max_chars)
    return [Chunk(chunk_id(article, i), article.id, i, t) for i, t in enumerate(texts)]


def embedding_text(title: str, chunk_text: str) -> str:
    """What gets embedded: the headline gives every chunk its story's context."""
    return f"{title}\n{chunk_text}" if title else chunk_text
