"""Hybrid search: dense (Chroma) and keyword (SQLite FTS5, BM25) candidates, fused and
reranked locally, with source and date filters and at most a few passages per article."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from retrieval.gate import Gate
from retrieval.index import NewsIndex
from retrieval.rerank import Candidate, QueryInfo, Reranker, bm25, wants_number
from retrieval.text import content_terms, proper_nouns
from retrieval.timewords import TimeWindow, parse_time_words


@dataclass(frozen=True)
class SearchFilters:
    """Hard filters. Dates are inclusive; `sources` match the outlet name exactly
    (case-insensitive)."""

    sources: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None


@dataclass
class Passage:
    chunk_id: str
    article_id: str
    text: str
    title: str
    url: str
    source: str
    published_at: str | None
    score: float
    relevance: float = 0.0  # the score without date features; what refusal is judged on

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchResult:
    passages: list[Passage]
    window: TimeWindow | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


Hits = list[tuple[str, float]]  # chunk ids with their scores, best first


class KeywordSide(NamedTuple):
    """What the keyword worker hands back: IDF of the question's terms, the keyword hits,
    their candidate rows and their stored vectors (for a dense score)."""

    idf: dict[str, float]
    hits: Hits
    rows: dict[str, Candidate]
    vectors: dict[str, Any]


def _any_of(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"' for t in terms)


def _ts(day: date, end: bool = False) -> float:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (moment + timedelta(days=1) if end else moment).timestamp() - (1 if end else 0)


class Searcher:
    def __init__(self, index: NewsIndex, reranker: Reranker | None = None,
                 dense_depth: int = 40, keyword_depth: int = 40, max_per_article: int = 2,
                 title_weight: float = 3.0, common_share: float = 0.08,
                 split_docs: int = 2000) -> None:
        self.index = index
        self.db = index.manifest.db
        self.reranker = reranker or Reranker()
        self.dense_depth = dense_depth
        self.keyword_depth = keyword_depth
        self.max_per_article = max_per_article
        self.title_weight = title_weight
        self.common_share = common_share
        self.split_docs = split_docs
        self._keyword_worker = ThreadPoolExecutor(1, thread_name_prefix="newsbot-keyword")
        index.manifest.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, chunks_fts, row)")
        self._gate = Gate()
        self._stats_stamp: str | None = "not read yet"
        self._chunk_count, self._avg_len = 1, 150.0
        self._catch_up()

    def _catch_up(self) -> None:
        """After an index run that changed something (it bumps `generation`), here or in
        another process: reopen the vector store if it was another process, and re-read
        BM25's chunk count and mean passage length (in words). So a long-lived searcher
        (the chat, the bot) keeps up with the index at one small read per search."""
        stamp = self.index.manifest.get_meta("generation")  # None: built before it existed
        if stamp == self._stats_stamp:
            return
        with self._gate.exclusive():
            self.index.catch_up(stamp)
            self._chunk_count = max(
                1, self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
            # Kept by the indexer, so no scan of every chunk here.
            stored = self.index.manifest.get_meta("avg_chunk_words")
            self._avg_len = (float(stored) if stored
                             else self.index.manifest.average_chunk_words())
            self._stats_stamp = stamp

    # --- the two candidate generators ------------------------------------------------
    def _where_sql(self, filters: SearchFilters) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if filters.sources:
            clauses.append(f"lower(a.source) IN ({','.join('?' * len(filters.sources))})")
            params += [s.lower() for s in filters.sources]
        if filters.since:
            clauses.append("a.published_ts >= ?")
            params.append(_ts(filters.since))
        if filters.until:
            clauses.append("a.published_ts <= ?")
            params.append(_ts(filters.until, end=True))
        return "".join(f" AND {c}" for c in clauses), params

    def _keyword(self, terms: list[str], filters: SearchFilters, k: int,
                 df: dict[str, int] | None = None) -> Hits:
        """The k best chunks by FTS5's BM25 over `terms`.

        FTS5 spends about a microsecond scoring each chunk that holds any term, and on a
        large index most of those hold only a few common ones. So terms in more than
        `split_docs` chunks score only chunks that also hold a rarer term: two queries,
        split by whether a chunk holds a common term, give those chunks the same score
        as one query over every term would (each term counted once in each)."""
        if not terms:
            return []
        df = df or {}
        rare = [t for t in terms if df.get(t, 0) <= self.split_docs]
        common = [t for t in terms if df.get(t, 0) > self.split_docs]
        if rare and common:
            expressions = [f"({_any_of(rare)}) AND ({_any_of(common)})",
                           f"({_any_of(rare)}) NOT ({_any_of(common)})"]
        else:
            expressions = [_any_of(terms)]
        hits = [hit for e in expressions for hit in self._bm25_top(e, filters, k)]
        hits.sort(key=lambda hit: -hit[1])
        return hits[:k]

    def _bm25_top(self, match: str, filters: SearchFilters, k: int) -> Hits:
        where, params = self._where_sql(filters)
        if not where:
            # Rank inside FTS5 first and join only the k winners: ~2.5x faster than joining
            # every matching row.
            rows = self.db.execute(
                "SELECT c.id, f.s FROM (SELECT rowid, -bm25(chunks_fts, ?, 1.0) AS s "
                "FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s DESC LIMIT ?) f "
                "JOIN chunks c ON c.rowid = f.rowid ORDER BY f.s DESC",
                [self.title_weight, match, k],
            ).fetchall()
            return [(r[0], r[1]) for r in rows]
        rows = self.db.execute(
            f"SELECT c.id, -bm25(chunks_fts, ?, 1.0) AS s FROM chunks_fts "  # noqa: S608
            f"JOIN chunks c ON c.rowid = chunks_fts.rowid "
            f"JOIN articles a ON a.id = c.article_id "
            f"WHERE chunks_fts MATCH ?{where} ORDER BY s DESC LIMIT ?",
            [self.title_weight, match, *params, k],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def _dense_where(self, filters: SearchFilters) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if filters.sources:
            names = sorted({s for s in filters.sources} | self._source_spellings(filters.sources))
            clauses.append({"source": {"$in": names}})
        if filters.since:
            clauses.append({"published_ts": {"$gte": _ts(filters.since)}})
        if filters.until:
            clauses.append({"published_ts": {"$lte": _ts(filters.until, end=True)}})
        return clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)

    def _keyword_side(self, terms: list[str], filters: SearchFilters,
                      timings: dict[str, float]) -> KeywordSide:
        t = time.perf_counter()
        idf, df = self.idf(terms)
        # Terms in most passages barely move BM25 but make the FTS query slow.
        kept = [term for term in terms if df.get(term, 0) <= self.common_share * self._chunk_count]
        keyword = self._keyword(kept or terms, filters, self.keyword_depth, df)
        ids = [i for i, _ in keyword]
        rows = self._candidate_rows(ids)
        vectors = self.index.vectors.embeddings(ids)
        timings["keyword"] = time.perf_counter() - t
        return KeywordSide(idf, keyword, rows, vectors)

    def _source_spellings(self, sources: tuple[str, ...]) -> set[str]:
        wanted = [s.lower() for s in sources]
        rows = self.db.execute(
            f"SELECT DISTINCT source FROM articles WHERE lower(source) IN "  # noqa: S608
            f"({','.join('?' * len(wanted))})", wanted).fetchall()
        return {r[0] for r in rows}

    def idf(self, terms: list[str]) -> tuple[dict[str, float], dict[str, int]]:
        """BM25 IDF of each term, and its document frequency, from the FTS vocabulary."""
        if not terms:
            return {}, {}
        rows = self.db.execute(
            f"SELECT term, doc FROM temp.vocab WHERE term IN ({','.join('?' * len(terms))})",  # noqa: S608
            terms).fetchall()
        df = dict(rows)
        n = self._chunk_count
        idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in terms}
        return idf, df

    # --- search ----------------------------------------------------------------------
    def gather(self, question: str, filters: SearchFilters | None = None,
               today: date | None = None) -> tuple[QueryInfo, list[Candidate], TimeWindow | None,
                                                   dict[str, float]]:
        """Candidates from both sides, with what the reranker needs to score them."""
        filters = filters or SearchFilters()
        today = today or datetime.now(UTC).date()
        window = parse_time_words(question, today)
        if window and window.strict:
            filters = SearchFilters(
                filters.sources,
                max(filter(None, [filters.since, window.since]), default=None),
                min(filter(None, [filters.until, window.until]), default=None),
            )
        terms = content_terms(question)
        timings: dict[str, float] = {}
        self._catch_up()
        with self._gate.shared():
            dense_where = self._dense_where(filters)
            # The keyword query runs beside the question's embedding and Chroma's query:
            # the model embeds one question on one thread, leaving the other core to SQLite.
            keyword_side = self._keyword_worker.submit(self._keyword_side, terms, filters,
                                                       timings)
            t = time.perf_counter()
            vector = self.index.embedder.embed_query(question)
            timings["embed"] = time.perf_counter() - t
            t = time.perf_counter()
            dense = self.index.vectors.query(vector, self.dense_depth, dense_where)
            timings["dense"] = time.perf_counter() - t
            t = time.perf_counter()
            dense_rows = self._candidate_rows([i for i, _ in dense])
            keyword = keyword_side.result()
        query = QueryInfo(terms, keyword.idf, proper_nouns(question), today,
                          window.since if window else None, window.until if window else None,
                          wants_number(question))
        cands = self._candidates(dense, dense_rows, keyword, vector, query)
        timings["candidates"] = time.perf_counter() - t
        return query, cands, window, timings

    def search(self, question: str, k: int = 10, filters: SearchFilters | None = None,
               today: date | None = None) -> SearchResult:
        started = time.perf_counter()
        query, cands, window, timings = self.gather(question, filters, today)
        t = time.perf_counter()
        scores, relevance = self.reranker.score(query, cands)
        timings["rerank"] = time.perf_counter() - t
        passages = self._pick(cands, scores, relevance, k)
        return SearchResult(passages, window, time.perf_counter() - started, timings)

    def _candidate_rows(self, ids: list[str]) -> dict[str, Candidate]:
        """Candidates for chunk ids, unscored; ids in Chroma but not committed here (a run
        in flight) are left out."""
        if not ids:
            return {}
        rows = self.db.execute(
            "SELECT c.id, c.article_id, c.ord, c.text, a.title, a.published_at, c.stems "
            f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN "  # noqa: S608
            f"({','.join('?' * len(ids))})", ids).fetchall()
        return {r[0]: Candidate(r[0], r[1], r[2], r[3], r[4],
                                date.fromisoformat(r[5][:10]) if r[5] else None, stems=r[6])
                for r in rows}

    def _candidates(self, dense: Hits, dense_rows: dict[str, Candidate], keyword: KeywordSide,
                    vector: np.ndarray, query: QueryInfo) -> list[Candidate]:
        """Both sides' hits as one list (dense first), each with both sides' scores."""
        cands: dict[str, Candidate] = {}
        for rank, (i, score) in enumerate(dense):
            if i in dense_rows:
                cands[i] = dense_rows[i]
                cands[i].dense, cands[i].dense_rank = score, rank
        for rank, (i, _) in enumerate(keyword.hits):
            if i not in cands:
                if i not in keyword.rows:  # removed by an index run since the query
                    continue
                cands[i] = keyword.rows[i]
                # Found only by keyword: the dense score comes from its stored vector.
                stored = keyword.vectors.get(i)
                if stored is not None:
                    cands[i].dense = float(np.dot(np.asarray(stored, dtype=np.float32), vector))
            cands[i].bm25_rank = rank
        # One BM25 for every candidate (FTS5 only chose them): same scale for all.
        for cand in cands.values():
            cand.bm25 = bm25(query, cand, self._avg_len, self.title_weight)
        return list(cands.values())

    def _pick(self, cands: list[Candidate], scores: np.ndarray, relevance: np.ndarray,
              k: int) -> list[Passage]:
        order = np.argsort(-scores, kind="stable")
        per_article: dict[str, int] = {}
        picked: list[tuple[Candidate, float, float]] = []
        for i in order:
            cand = cands[i]
            if per_article.get(cand.article_id, 0) >= self.max_per_article:
                continue
            per_article[cand.article_id] = per_article.get(cand.article_id, 0) + 1
            picked.append((cand, float(scores[i]), float(relevance[i])))
            if len(picked) == k:
                break
        if not picked:
            return []
        meta = dict(
            (r[0], r[1:]) for r in self.db.execute(
                f"SELECT id, url, source, published_at FROM articles WHERE id IN "  # noqa: S608
                f"({','.join('?' * len(picked))})", [c.article_id for c, _, _ in picked]))
        return [
            Passage(c.chunk_id, c.article_id, c.text, c.title, *meta[c.article_id], round(s, 4),
                    round(r, 4))
            for c, s, r in picked
        ]
