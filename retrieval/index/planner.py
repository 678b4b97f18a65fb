"""The incremental plan: which indexed articles go, which loaded ones are embedded, which
are unchanged, and which are exact duplicates of another article's body."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from corpus.article import Article
from corpus.errors import ArticleReadError
from corpus.loader import LoadResult
from retrieval.index.catalog import IndexedArticle


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
    """Articles under `scope` that the load no longer holds. An article of a file that was
    read with errors stays: a damaged file never costs what was indexed from it."""
    seen = {a.id for a in loaded.articles}
    scope_strs = [os.path.abspath(p.expanduser()) for p in scope]
    removed = set()
    for row in indexed.values():
        if row.id in seen or not _in_scope(row.origin_file, scope_strs):
            continue
        if row.origin_file in loaded.complete_files or not Path(row.origin_file).exists():
            removed.add(row.id)
    # Duplicates of a removed story go too; if still present they are planned afresh.
    removed |= {r.id for r in indexed.values() if r.duplicate_of in removed}
    return removed


def plan_additions(articles: list[Article], indexed: dict[str, IndexedArticle], plan: Plan
                   ) -> None:
    """Fills `plan` with what to embed, what is unchanged or moved, and duplicates.
    `indexed` must no longer hold the articles planned for removal."""
    canonical = {r.body_hash: r.id for r in indexed.values() if r.duplicate_of is None}
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
