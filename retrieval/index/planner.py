"""The incremental plan: which indexed articles go, which loaded ones are embedded, which
are unchanged, and which are exact duplicates of another article's body."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from corpus.article import Article
from corpus.errors import ArticleReadError
from corpus.loader import LoadResult
from retrieval.index.rows import IndexedArticle


@dataclass
class Plan:
    remove: set[str] = field(default_factory=set)
    embed: list[Article] = field(default_factory=list)
    duplicates: list[tuple[Article, str]] = field(default_factory=list)  # (copy, original)
    moved: list[Article] = field(default_factory=list)  # unchanged, read from another file
    unchanged: int = 0
    errors: list[ArticleReadError] = field(default_factory=list)


def _in_scope(origin_file: str, scope: list[str]) -> bool:
    return any(origin_file == s or origin_file.startswith(s.rstrip(os.sep) + os.sep)
               for s in scope)


def plan_removals(loaded: LoadResult, scope: list[Path],
                  indexed: dict[str, IndexedArticle]) -> set[str]:
    """Articles under `scope` that the load no longer holds. An article stays when its
    file was read with errors or lies in a folder that could not be read: a damaged file
    or a locked folder never costs what was indexed from it."""
    seen = {a.id for a in loaded.articles}
    scope_strs = [os.path.abspath(p.expanduser()) for p in scope]
    unreadable = sorted(loaded.unreadable_dirs)
    removed = set()
    for row in indexed.values():
        if row.id in seen or not _in_scope(row.origin_file, scope_strs):
            continue
        if _in_scope(row.origin_file, unreadable):
            continue
        if row.origin_file in loaded.complete_files or not _exists(row.origin_file):
            removed.add(row.id)
    return removed


_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def _exists(path: str) -> bool:
    """Whether the file is still there. Names are stored with bytes that are not UTF-8
    written as `\\xe9` (`corpus.errors.safe_name`); those are tried as the bytes too."""
    raw = _ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), path)
    try:
        return Path(path).exists() or (raw != path and Path(raw).exists())
    except OSError:  # cannot tell (a folder on the way is locked): keep its articles
        return True


def orphaned_duplicates(loaded: LoadResult, removed: set[str],
                        indexed: dict[str, IndexedArticle]) -> set[str]:
    """Duplicates that must become stories of their own (or copies of another one): their
    original is removed, changes its text in this load, or no longer has their text."""
    changed = {a.id for a in loaded.articles
               if a.id in indexed and indexed[a.id].body_hash != a.body_hash}
    orphans = set()
    for row in indexed.values():
        if row.duplicate_of is None or row.id in removed:
            continue
        original = indexed.get(row.duplicate_of)
        if (row.duplicate_of in removed or row.duplicate_of in changed or original is None
                or original.body_hash != row.body_hash):
            orphans.add(row.id)
    return orphans


def reread(article_ids: set[str], indexed: dict[str, IndexedArticle], max_file_mb: float
           ) -> list[Article]:
    """The articles with these ids, read again from the files they came from (a duplicate
    whose file is outside this run's paths still holds its story)."""
    from corpus.loader import load_articles

    files = sorted({indexed[i].origin_file for i in article_ids if i in indexed})
    loaded = load_articles([Path(f) for f in files], max_file_mb) if files else LoadResult()
    return [a for a in loaded.articles if a.id in article_ids]


def plan_additions(articles: list[Article], indexed: dict[str, IndexedArticle], plan: Plan
                   ) -> None:
    """Fills `plan` with what to embed, what is unchanged or moved, and duplicates.
    `indexed` must no longer hold the articles planned for removal."""
    canonical = {r.body_hash: r.id for r in indexed.values() if r.duplicate_of is None}
    for article in articles:  # an original whose text changes no longer holds its old text
        row = indexed.get(article.id)
        if row and row.body_hash != article.body_hash and canonical.get(row.body_hash) == row.id:
            del canonical[row.body_hash]
    taken: set[str] = set()
    for article in articles:
        if article.id in taken:
            plan.errors.append(ArticleReadError(
                article.origin, f"article id {article.id!r} appears twice; kept the first"))
            continue
        taken.add(article.id)
        row = indexed.get(article.id)
        if row and row.content_hash == article.content_hash:
            plan.unchanged += 1
            if row.origin_file != article.origin_file:
                plan.moved.append(article)
            continue
        canon = canonical.get(article.body_hash)
        if canon and canon != article.id:
            plan.duplicates.append((article, canon))
            continue
        canonical[article.body_hash] = article.id
        plan.embed.append(article)
