"""Matching a follow's topic against the articles an index run added, and only those.

The topic is read as search reads a question (`parse_question`: its content stems and
names, each term weighted by its IDF in the index) and embedded by the index's model.
Each new article is then scored on the two sides of the hybrid search: dense, the best
cosine between the topic and the article's stored chunk vectors; keyword, the IDF-
weighted share of the topic's terms the article holds (anywhere, and in its headline).
Every part is a similarity or a share in [0, 1], so the threshold means the same on a
hundred articles and on a million: nothing grows with the index (a raw BM25 or a rank
would). The weights and the threshold are fitted by `bench/follow_replay.py` on the
earlier half of its labelled arrivals and reported on the later half."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from retrieval import bm25
from retrieval.index.chunking import embedding_text
from retrieval.index.news_index import NewsIndex
from retrieval.index.rows import ChunkRow
from retrieval.search.question import ParsedQuestion, parse_question
from retrieval.settings import BUNDLED_MODEL
from retrieval.text import split_sentences, stem, stem_set, words

WHY_CHARS = 300


@dataclass(frozen=True)
class Calibration:
    """How the parts add up, and the score a match needs. Each embedding model's cosines
    have a scale of their own, so each model has its own, fitted by `python -m
    bench.follow_replay --fit` on the earlier half of the labelled arrivals (bench/README.md,
    "Following a story"); the figures reported are those of the later half."""

    coverage_weight: float
    title_weight: float
    threshold: float

    def score(self, dense: float, coverage: float, title_coverage: float) -> float:
        return dense + self.coverage_weight * coverage + self.title_weight * title_coverage


CALIBRATIONS = {
    BUNDLED_MODEL: Calibration(coverage_weight=0.25, title_weight=0.0, threshold=0.759),
    "hash": Calibration(coverage_weight=1.0, title_weight=0.5, threshold=1.409),  # tests'
}


def calibration_for(model: str) -> Calibration:
    """The model's own calibration; another model takes the bundled model's (closest in
    kind to a sentence-transformer a user may configure)."""
    return CALIBRATIONS.get(model.split(":")[0], CALIBRATIONS[BUNDLED_MODEL])


@dataclass(frozen=True)
class Follow:
    id: int
    owner: str  # "local", or "discord:<channel id>"
    topic: str
    outlets: tuple[str, ...] = ()
    created_at: str = ""

    def takes(self, source: str) -> bool:
        """Whether an article from this outlet is one the follow wants."""
        return not self.outlets or source.lower() in {o.lower() for o in self.outlets}


@dataclass
class ArticleMatch:
    """How well one article fits one follow's topic, with what to show for it."""

    article_id: str
    story_id: str
    title: str
    url: str
    source: str
    published_at: datetime | None
    dense: float
    coverage: float
    title_coverage: float
    score: float  # by the matcher's calibration
    why: str = ""


@dataclass
class Batch:
    """The articles of one index run: their chunks (catalog rows, in order), the chunks'
    vectors and stems; and, made once per article for every follow to read, its chunk
    vectors as one matrix, its stems and its headline's."""

    chunks: dict[str, list[ChunkRow]]
    vectors: dict[str, np.ndarray]
    stems: dict[str, set[str]]
    _views: dict[str, tuple[np.ndarray, set[str], set[str]]] = field(default_factory=dict)

    def view(self, chunks: list[ChunkRow]) -> tuple[np.ndarray, set[str], set[str]]:
        """(chunk vectors, stems held anywhere, stems of the headline) of one article."""
        key = chunks[0].article_id
        if key not in self._views:
            rows = [self.vectors[c.chunk_id] for c in chunks if c.chunk_id in self.vectors]
            matrix = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0))
            title = {stem(w) for w in words(chunks[0].title)}
            held = title.union(*(self.stems.get(c.chunk_id, set()) for c in chunks))
            self._views[key] = (matrix, held, title)
        return self._views[key]


def chunk_stems(row: ChunkRow) -> set[str]:
    """The stems of a chunk: stored with it at index time, else made from its text."""
    return set(row.stems.split()) if row.stems is not None else stem_set(row.text)


@dataclass
class Topic:
    parsed: ParsedQuestion
    vector: np.ndarray


class Matcher:
    """Scores new articles against topics. Topic vectors are kept (a topic's embedding
    never changes); IDF is read again each run (one query for every follow's terms)."""

    def __init__(self, index: NewsIndex, calibration: Calibration | None = None) -> None:
        self.index = index
        self.calibration = calibration or calibration_for(index.embedder.name)
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, text: str) -> np.ndarray:
        """A topic's vector (kept: it never changes)."""
        if text not in self._vectors:
            self._vectors[text] = np.asarray(self.index.embedder.embed_query(text),
                                             dtype=np.float32)
        return self._vectors[text]

    def topics(self, texts: Iterable[str], known: Mapping[str, np.ndarray] | None = None
               ) -> dict[str, Topic]:
        """The topics parsed and weighted by today's IDF, with their vectors (`known`
        ones, stored with the follows, are not embedded again)."""
        parsed = {t: parse_question(t, datetime.now(UTC).date()) for t in set(texts)}
        terms = sorted({term for p in parsed.values() for term in p.terms})
        df = self.index.keywords.document_frequencies(terms) if terms else {}
        docs = max(1, self.index.catalog.chunk_count())
        idf = {t: bm25.idf(docs, df.get(t, 0)) for t in terms}
        out = {}
        for text, p in parsed.items():
            vector = known[text] if known and text in known else self.embed(text)
            out[text] = Topic(p.with_idf({t: idf[t] for t in p.terms}), vector)
        return out

    def articles(self, article_ids: Iterable[str]) -> Batch:
        """Each article's chunks, with their stored vectors (embedded again only when
        the store cannot be had)."""
        ids = [c for a in article_ids for c in self.index.catalog.chunk_ids(a)]
        rows = self.index.catalog.chunk_rows(ids)
        with self.index.access.reading() as store:
            stored = store.embeddings(ids) if store is not None else {}
        missing = [i for i in ids if i in rows and i not in stored]
        if missing:  # the store is busy elsewhere: embed again rather than miss a story
            texts = [embedding_text(rows[i].title, rows[i].text) for i in missing]
            stored.update(zip(missing, self.index.embedder.embed_documents(texts), strict=True))
        by_article: dict[str, list[ChunkRow]] = {}
        for chunk_id in ids:
            if chunk_id in rows:
                by_article.setdefault(rows[chunk_id].article_id, []).append(rows[chunk_id])
        return Batch(by_article, stored, {i: chunk_stems(rows[i]) for i in rows})

    def score(self, topic: Topic, chunks: list[ChunkRow], batch: Batch) -> ArticleMatch:
        """One article's fit to one topic."""
        first = chunks[0]
        matrix, held, title = batch.view(chunks)
        dense = float((matrix @ topic.vector).max()) if len(matrix) else -1.0
        terms = topic.parsed.weighted_terms
        total = topic.parsed.total_idf
        coverage = sum(w for t, _, w in terms if t in held) / total
        title_coverage = sum(w for t, _, w in terms if t in title) / total
        return ArticleMatch(first.article_id, first.story_id or first.article_id, first.title,
                            first.url, first.source, first.published_at, dense, coverage,
                            title_coverage,
                            self.calibration.score(dense, coverage, title_coverage))

    def match(self, topics: dict[str, Topic], follows: list[Follow],
              batch: Batch) -> list[tuple[Follow, ArticleMatch]]:
        """Each follow's best-fitting article per story in the batch, when it fits."""
        found: dict[tuple[int, str], tuple[Follow, ArticleMatch]] = {}
        for follow in follows:
            topic = topics[follow.topic]
            for chunks in batch.chunks.values():
                if not follow.takes(chunks[0].source):
                    continue
                fit = self.score(topic, chunks, batch)
                key = (follow.id, fit.story_id)
                if fit.score >= self.calibration.threshold and (
                        key not in found or fit.score > found[key][1].score):
                    fit.why = why_it_matched(topic.parsed, chunks)
                    found[key] = (follow, fit)
        return list(found.values())


def why_it_matched(topic: ParsedQuestion, chunks: list[ChunkRow]) -> str:
    """One or two sentences of the article that hold the most of the topic's weight."""
    weights = {t: w for t, _, w in topic.weighted_terms}
    scored: list[tuple[float, int, str]] = []
    for c in chunks[:4]:
        for sentence in split_sentences(c.text):
            stems = {stem(w) for w in words(sentence)}
            scored.append((sum(weights.get(s, 0.0) for s in stems), -len(scored), sentence))
    best = sorted(scored, reverse=True)[:2]
    best.sort(key=lambda s: -s[1])  # in the article's order
    text = " ".join(s for _, _, s in best if s) if best and best[0][0] > 0 else \
        (scored[0][2] if scored else "")
    return text if len(text) <= WHY_CHARS else text[:WHY_CHARS - 1].rstrip() + "…"
