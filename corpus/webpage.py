"""The HTML reader: main text via trafilatura, metadata from JSON-LD where it is usable.

Pages embed JSON-LD of every shape (a number, null, a list of mixed things, an @graph
that is not a list), so each value is checked before use and the page's own metadata
fills whatever the JSON-LD gets wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from corpus.article import Article
from corpus.errors import ArticleReadError
from corpus.metadata import parse_date, to_text
from corpus.readers import build_article

_LD_BLOCK = re.compile(r"<script[^>]+application/ld\+json[^>]*>(.*?)</script>",
                       re.DOTALL | re.IGNORECASE)
_META_TAG = re.compile(r"<meta\s[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
# Where a page states its publication time (trafilatura keeps only the day of it).
_TIME_PROPERTIES = ("article:published_time", "og:published_time", "datepublished")
_MAX_LD_DEPTH = 3  # lists inside @graph inside lists: deeper is not real markup


def _ld_objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON object in a JSON-LD block: the block itself, a list, or an @graph."""
    if depth > _MAX_LD_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _ld_objects(item, depth + 1)
    elif isinstance(data, dict):
        graph = data.get("@graph")
        if isinstance(graph, list | dict):
            yield from _ld_objects(graph, depth + 1)
        else:
            yield data


def _is_article(item: dict[str, Any]) -> bool:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.endswith("Article") for k in kinds)


def _json_ld_article(html: str) -> dict[str, Any]:
    """The first JSON-LD object typed as a (News)Article, for exact dates and authors."""
    for block in _LD_BLOCK.findall(html):
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):  # broken markup is common; the page still reads
            continue
        for item in _ld_objects(data):
            if _is_article(item):
                return item
    return {}


def _meta_published(html: str) -> str | None:
    """The publication time a <meta> tag states (`article:published_time`), when it
    reads as a date."""
    for tag in _META_TAG.findall(html):
        attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTRIBUTE.findall(tag)}
        name = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "")
        value = attrs.get("content", "").strip()
        if name.lower() in _TIME_PROPERTIES and value and parse_date(value):
            return value
    return None


def read_html(path: Path, text: str) -> Article:
    """An article page: main text and metadata (title, OpenGraph, JSON-LD) via trafilatura."""
    import trafilatura  # heavy; only needed for HTML

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None:
        raise ArticleReadError(path, "no article text found in the HTML")
    found = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    ld = _json_ld_article(text)
    title = to_text(ld.get("headline")) or to_text(found.get("title"))
    body = to_text(found.get("text"))
    first, _, rest = body.partition("\n")
    if title and first.strip() == title:
        body = rest
    # The JSON-LD date is the exact one, but only when it reads as a date; then the
    # page's meta tags, which carry the time of day that trafilatura's date drops.
    ld_date = ld.get("datePublished")
    published = ld_date if parse_date(ld_date) else _meta_published(text) or found.get("date")
    fields = {
        "title": title,
        "body": body,
        "url": to_text(found.get("url")) or to_text(ld.get("url")),
        "published_at": published,
        "source": to_text(ld.get("publisher")) or to_text(found.get("sitename")),
        "author": to_text(ld.get("author")) or to_text(found.get("author")),
        "section": to_text(ld.get("articleSection")) or to_text(found.get("categories")),
    }
    return build_article(fields, origin=str(path), origin_file=str(path), where=str(path),
                         line=None)
