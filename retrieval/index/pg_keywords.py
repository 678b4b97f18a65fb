"""The keyword index on PostgreSQL (server mode), ranked like the SQLite side so that a
question gets the same passages in both modes. Every SQL statement about it lives here.

Both rank candidates by `retrieval/bm25.py`'s `rank_score`: K1 and B, a term's frequency
counted TITLE_WEIGHT times in the headline and once in the text, the length of a chunk
in tokens of both, `rank_idf` over every chunk, and each query term re-read by the FTS5
tokenizer. Here it is computed in SQL (the constants passed in from `bm25.py`) over the
same tokens as FTS5's, cut the way its `porter unicode61 remove_diacritics 2` tokenizer
cuts them, stemmed with our Porter stemmer (`retrieval/text.py`):

- `terms`, a tsvector of a chunk's distinct stems (put in verbatim, as the 'simple'
  configuration keeps them), with a GIN index: which chunks hold any query term, and
  how many hold each one;
- `title_tf` and `text_tf`, each stem's count in the headline and in the text, and
  `length`, for BM25 (`ts_rank` is not BM25);
- `keyword_totals`, the chunk count and the token count of them all, kept in the same
  transaction as the rows (FTS5 keeps the same two numbers)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from retrieval import bm25
from retrieval.text import stem
from retrieval.types import SearchFilters

if TYPE_CHECKING:
    from retrieval.index.stores import Hits, Tx

KEYWORD_SCHEMA = """
CREATE TABLE IF NOT EXISTS keyword_rows (
    key bigint PRIMARY KEY,
    terms tsvector NOT NULL,
    title_tf jsonb NOT NULL,
    text_tf jsonb NOT NULL,
    length integer NOT NULL
);
CREATE INDEX IF NOT EXISTS keyword_rows_terms ON keyword_rows USING gin (terms);
CREATE TABLE IF NOT EXISTS keyword_totals (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    docs bigint NOT NULL,
    tokens bigint NOT NULL
);
INSERT INTO keyword_totals VALUES (true, 0, 0) ON CONFLICT DO NOTHING;
"""

_TOKEN = re.compile(r"[^\W_]+")


def _vowel(word: str, i: int) -> bool:
    return word[i] in "aeiou" or (word[i] == "y" and i > 0 and not _vowel(word, i - 1))


def _measure(word: str) -> int:
    """Porter's m: how many vowel-consonant sequences `word` has."""
    flags = [_vowel(word, i) for i in range(len(word))]
    return sum(1 for a, b in zip(flags, flags[1:], strict=False) if a and not b)


def _cvc(word: str) -> bool:
    return (len(word) >= 3 and not _vowel(word, len(word) - 3) and _vowel(word, len(word) - 2)
            and not _vowel(word, len(word) - 1) and word[-1] not in "wxy")


def _fts5_porter(word: str) -> str:
    """SQLite's Porter stemmer from ours (the published algorithm): SQLite's follows
    Martin Porter's C version, whose step 2 also turns LOGI into LOG and BLI (not only
    ABLI) into BLE. Ours leaves such a word as step 2 found it, so finishing those two
    rules (with steps 4 and 5 after BLE) gives SQLite's stem: technologi -> technolog,
    possibli -> possibl, incredibli -> incred."""
    if word.endswith("logi") and _measure(word[:-4]) > 0:
        return word[:-1]
    if word.endswith("bli") and _measure(word[:-3]) > 0:
        word = word[:-1] + "e"
        if word.endswith("ible") and _measure(word[:-4]) > 1:
            return word[:-4]
        m = _measure(word[:-1])
        return word[:-1] if m > 1 or (m == 1 and not _cvc(word[:-1])) else word
    return word


def _stem(token: str) -> str:
    # FTS5's porter tokenizer leaves tokens under 3 or over 64 bytes as they are.
    return _fts5_porter(stem(token)) if 3 <= len(token.encode()) <= 64 else token


def tokens(text: str) -> list[str]:
    """Stems of `text` as FTS5's `porter unicode61 remove_diacritics 2` cuts it: any
    character that is not a letter or digit separates tokens (apostrophes too), case
    and diacritics are folded away."""
    folded = "".join(c for c in unicodedata.normalize("NFD", text.lower())
                     if unicodedata.category(c) != "Mn")
    return [_stem(t) for t in _TOKEN.findall(folded)]


# Term by term, the GIN index finds the chunks that hold it (its count is the term's
# document frequency); each such chunk's frequencies are read once. Scoring only those
# pairs, rather than every candidate against every term, is ~10x faster.
SCORE_SQL = """
WITH tot AS (SELECT docs::float8 AS n, tokens::float8 / greatest(docs, 1) AS avgdl
             FROM keyword_totals),
p AS (SELECT k.key, k.length, count(*) OVER (PARTITION BY u.n) AS hits,
             %(w)s * coalesce((k.title_tf -> u.term)::float8, 0)
             + coalesce((k.text_tf -> u.term)::float8, 0) AS f
      FROM unnest(%(terms)s::text[]) WITH ORDINALITY AS u(term, n)
      CROSS JOIN LATERAL (SELECT key, length, title_tf, text_tf FROM keyword_rows
                          WHERE terms @@ quote_literal(u.term)::tsquery) k),
s AS (SELECT p.key, sum(greatest(ln((tot.n - p.hits + 0.5) / (p.hits + 0.5)), %(floor)s)
                        * p.f * %(k1p1)s
                        / (p.f + %(k1)s * (1 - %(b)s + %(b)s * p.length / tot.avgdl))) AS score
      FROM p CROSS JOIN tot GROUP BY p.key)
SELECT c.id, s.score FROM s JOIN chunks c ON c.key = s.key {joins}
WHERE true {filters}
ORDER BY s.score DESC, s.key
LIMIT %(k)s
"""


class RowQueries(Protocol):
    """What the keyword index needs of its database (`postgres.py`'s, which owns it)."""

    def rows(self, query: Any, params: Any = ...) -> list[Any]: ...


class PgKeywords:
    def __init__(self, db: RowQueries) -> None:
        self.db = db

    # --- writing (inside the catalog's transaction) ----------------------------------------
    def add(self, tx: Tx, key: int, title: str, text: str) -> None:
        in_title, in_text = tokens(title), tokens(text)
        length = len(in_title) + len(in_text)
        tx.execute("INSERT INTO keyword_rows VALUES (%s, array_to_tsvector(%s::text[]), "
                   "%s::jsonb, %s::jsonb, %s)",
                   (key, sorted(set(in_title) | set(in_text)),
                    json.dumps(Counter(in_title)), json.dumps(Counter(in_text)), length))
        tx.execute("UPDATE keyword_totals SET docs = docs + 1, tokens = tokens + %s",
                   (length,))

    def remove(self, tx: Tx, keys: Iterable[int]) -> None:
        keys = list(keys)
        if not keys:
            return
        tx.execute("WITH gone AS (DELETE FROM keyword_rows WHERE key = ANY(%s) "
                   "RETURNING length) UPDATE keyword_totals SET "
                   "docs = docs - (SELECT count(*) FROM gone), "
                   "tokens = tokens - (SELECT coalesce(sum(length), 0) FROM gone)", (keys,))

    def clear(self, tx: Tx) -> None:
        tx.execute("TRUNCATE keyword_rows")
        tx.execute("UPDATE keyword_totals SET docs = 0, tokens = 0")

    # --- reading ---------------------------------------------------------------------------
    def document_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many chunks hold each stem (absent stems are left out)."""
        if not terms:
            return {}
        rows = self.db.rows(
            "SELECT u.term, (SELECT count(*) FROM keyword_rows "
            "WHERE terms @@ quote_literal(u.term)::tsquery) FROM unnest(%s::text[]) AS u(term)",
            (list(terms),))
        return {term: int(n) for term, n in rows if n}

    def search(self, terms: list[str], filters: SearchFilters, k: int,
               df: dict[str, int] | None = None) -> list[str]:
        """The ids of the k best chunks for `terms` (stems), best first."""
        return [chunk_id for chunk_id, _ in self.scored(terms, filters, k)]

    def scored(self, terms: list[str], filters: SearchFilters, k: int,
               df: dict[str, int] | None = None) -> Hits:
        """The k best chunks with their `bm25.rank_score` over `terms` (stems). Each term
        is read again by the tokenizer, as FTS5 reads a quoted query term; one that falls
        into several tokens (an FTS5 phrase, such as "o'brien") is left out. `df` is
        unused: one query scores every term here."""
        wanted = [cut[0] for cut in map(tokens, terms) if len(cut) == 1]
        if not wanted:
            return []
        clauses, params = [], {}
        if filters.sources:
            clauses.append("lower(a.source) = ANY(%(sources)s)")
            params["sources"] = [s.lower() for s in filters.sources]
        if filters.since:
            clauses.append("a.published_ts >= %(since)s")
            params["since"] = filters.since_ts
        if filters.until:
            clauses.append("a.published_ts <= %(until)s")
            params["until"] = filters.until_ts
        joins = "JOIN articles a ON a.id = c.article_id" if clauses else ""
        query = SCORE_SQL.format(joins=joins, filters="".join(f" AND {c}" for c in clauses))
        rows = self.db.rows(query, {
            **params, "terms": wanted, "k": k, "k1": bm25.K1, "k1p1": bm25.K1 + 1,
            "b": bm25.B, "w": bm25.TITLE_WEIGHT, "floor": bm25.RANK_IDF_FLOOR})
        return [(r[0], float(r[1])) for r in rows]
