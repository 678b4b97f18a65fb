"""Sentence-aware chunking: chunks end at sentence ends and fit the embedding window."""

from __future__ import annotations

from dataclasses import dataclass

from corpus.article import Article
from retrieval.text import split_sentences


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


def chunk_ids(article: Article, count: int) -> list[str]:
    """Deterministic: the same article content always gives the same ids. The content
    hash is computed once per article (it hashes the whole body)."""
    prefix = f"{article.id}:{article.content_hash[:8]}"
    return [f"{prefix}:{i:03d}" for i in range(count)]


def paragraph_sentences(text: str) -> list[str]:
    """Sentences, each paragraph's first one marked with a leading line break."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        sentences = split_sentences(paragraph)
        if sentences:
            out.append("\n" + sentences[0])
            out.extend(sentences[1:])
    return out


def chunk_article(article: Article, max_chars: int) -> list[Chunk]:
    texts = pack_sentences(paragraph_sentences(article.body), max_chars)
    ids = chunk_ids(article, len(texts))
    return [Chunk(i, article.id, n, t) for n, (i, t) in enumerate(zip(ids, texts, strict=True))]


def embedding_text(title: str, chunk_text: str) -> str:
    """What gets embedded: the headline gives every chunk its story's context."""
    return f"{title}\n{chunk_text}" if title else chunk_text
