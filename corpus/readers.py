"""One reader per file format. Each turns raw content into `Article`s or raises
`ArticleReadError` naming the file (and line) that is wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from corpus.article import Article, short_hash
from corpus.cleaning import clean_text
from corpus.errors import ArticleReadError
from corpus.metadata import (
    date_from_text,
    date_from_url,
    join_authors,
    outlet_from_url,
    parse_date,
)

# Field names accepted in JSON records and front matter, in order of preference.
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "name"),
    "body": ("body", "text", "content", "article", "description", "summary"),
    "url": ("url", "link", "href", "canonical_url"),
    "published_at": ("published_at", "date", "published", "pubDate", "pubdate",
                     "datePublished", "date_published", "publish_date", "created_at"),
    "source": ("source", "outlet", "publisher", "site_name", "sitename", "site"),
    "author": ("author", "authors", "byline", "creator"),
    "section": ("section", "category", "categories", "tags"),
    "id": ("id", "guid", "uuid", "article_id"),
}

_HEADLINE_SECTION = re.compile(r"^(?P<title>.+?)\s+[–—]\s+(?P<section>[^–—]{1,40})$")
_BARE_URL = re.compile(r"^https?://\S+$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(?P<meta>.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+)", re.MULTILINE)


def _pick(record: dict[str, Any], name: str) -> Any:
    for key in FIELDS[name]:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, dict):  # e.g. {"name": "Reuters"} or {"#text": ...}
        value = value.get("name") or value.get("title") or value.get("#text") or ""
    if isinstance(value, list):
        value = ", ".join(_as_text(v) for v in value)
    return str(value or "").strip()


_SITE_SUFFIX = re.compile(r"\s+[|–—]\s+[^|–—]{2,40}$")


def _strip_site_suffix(title: str) -> str:
    """"Pope Benedict dies at 95 | CNN" -> "Pope Benedict dies at 95"."""
    stripped = _SITE_SUFFIX.sub("", title)
    return stripped if len(stripped) >= 12 else title


def build_article(
    fields: dict[str, Any], *, origin: str, origin_file: str, where: str, line: int | None
) -> Article:
    """Clean the body and fill the metadata every reader shares."""
    raw_body = _as_text(fields.get("body"))
    if not raw_body:
        raise ArticleReadError(
            where, f"no article text (expected one of: {', '.join(FIELDS['body'][:3])})", line
        )
    cleaned = clean_text(raw_body)
    url = _as_text(fields.get("url"))
    title = _as_text(fields.get("title")) or cleaned.text.split("\n", 1)[0][:120]
    body = cleaned.text
    if not body:
        # A page that was all boilerplate still has a headline worth finding.
        if not title:
            raise ArticleReadError(where, "no article text left after removing boilerplate",
                                   line)
        body = title
    title = _strip_site_suffix(title)
    published = parse_date(fields.get("published_at"))
    if fields.get("published_at") and published is None:
        raise ArticleReadError(where, f"unreadable date {fields['published_at']!r}", line)
    published = published or date_from_url(url) or date_from_text(raw_body)
    source = _as_text(fields.get("source")) or cleaned.outlet or outlet_from_url(url)
    record_id = _as_text(fields.get("id"))
    article_id = record_id or (short_hash("url", url) if url else short_hash("file", origin))
    return Article(
        id=article_id,
        title=title,
        body=body,
        url=url,
        source=source,
        author=join_authors(fields.get("author")),
        published_at=published,
        section=_as_text(fields.get("section")),
        origin=origin,
        origin_file=origin_file,
    )


def read_txt(path: Path, text: str) -> Article:
    """Raw format: headline on the first line (maybe "Headline – Section"), then the body;
    a closing "© YEAR Outlet" line names the outlet; a line that is only a url, its source."""
    lines = text.strip().split("\n")
    headline = lines[0].strip()
    section = ""
    match = _HEADLINE_SECTION.match(headline)
    if match:
        headline, section = match.group("title").strip(), match.group("section").strip()
    url = ""
    rest = lines[1:]
    for i, line in enumerate(rest):  # an optional bare source-url line
        if _BARE_URL.match(line.strip()):
            url = line.strip()
            del rest[i]
            break
    body = "\n".join(rest)
    if not body.strip():
        raise ArticleReadError(path, "only a headline, no article text")
    fields = {"title": headline, "body": body, "section": section, "url": url}
    return build_article(fields, origin=str(path), origin_file=str(path), where=str(path),
                         line=None)


def read_markdown(path: Path, text: str) -> Article:
    """Markdown with optional YAML front matter for the metadata."""
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group("meta")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark else None
            raise ArticleReadError(path, "invalid YAML front matter", line) from None
        if not isinstance(loaded, dict):
            raise ArticleReadError(path, "front matter must be a mapping of fields", 2)
        meta = loaded
        text = text[match.end():]
    if not _pick(meta, "title"):
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        if heading:
            meta["title"] = heading.group(1).strip()
            text = text[: heading.start()] + text[heading.end():]
    body = _MD_MARKS.sub("", _MD_LINK.sub(r"\1", text))
    fields = {name: _pick(meta, name) for name in FIELDS}
    fields["body"] = body
    return build_article(fields, origin=str(path), origin_file=str(path), where=str(path),
                         line=None)


def _json_ld_article(html: str) -> dict[str, Any]:
    """The first JSON-LD object typed as a (News)Article, for exact dates and authors."""
    for block in re.findall(
        r"<script[^>]+application/ld\+json[^>]*>(.*?)</script>", html, re.DOTALL | re.IGNORECASE
    ):
        try:
            data = json.loads(block)
        except json.JSONDecodeError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data])
        for item in items:
            kind = item.get("@type") if isinstance(item, dict) else None
            kinds = kind if isinstance(kind, list) else [kind]
            if any(isinstance(k, str) and k.endswith("Article") for k in kinds):
                return item
    return {}


def read_html(path: Path, text: str) -> Article:
    """An article page: main text and metadata (title, OpenGraph, JSON-LD) via trafilatura."""
    import trafilatura  # heavy; only needed for HTML

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None:
        raise ArticleReadError(path, "no article text found in the HTML")
    found = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    ld = _json_ld_article(text)
    title = ld.get("headline") or found.get("title") or ""
    body = found.get("text") or ""
    first, _, rest = body.partition("\n")
    if title and first.strip() == title.strip():
        body = rest
    fields = {
        "title": title,
        "body": body,
        "url": found.get("url") or ld.get("url") or "",
        "published_at": ld.get("datePublished") or found.get("date"),
        "source": _as_text(ld.get("publisher")) or found.get("sitename") or "",
        "author": ld.get("author") or found.get("author") or "",
        "section": ld.get("articleSection") or ", ".join(found.get("categories") or []),
    }
    return build_article(fields, origin=str(path), origin_file=str(path), where=str(path),
                         line=None)


def read_record(record: Any, path: Path, line: int, *, where: str | None = None) -> Article:
    """One JSON object, with the common field names. `line` is its line (or record) number."""
    place = where or str(path)
    number = None if where else line
    if not isinstance(record, dict):
        raise ArticleReadError(place, f"expected a JSON object, got {type(record).__name__}",
                               number)
    fields = {name: _pick(record, name) for name in FIELDS}
    return build_article(fields, origin=f"{path}#{line}", origin_file=str(path),
                         where=place, line=number)


def read_json_document(path: Path, text: str) -> Iterator[Article | ArticleReadError]:
    """A .json file: one article object, or a list of them (or {"articles": [...]})."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArticleReadError(path, f"invalid JSON: {exc.msg}", exc.lineno) from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    records = data if isinstance(data, list) else [data]
    for number, record in enumerate(records, start=1):
        try:
            yield read_record(record, path, number, where=f"{path} (record {number})")
        except ArticleReadError as exc:
            yield exc
