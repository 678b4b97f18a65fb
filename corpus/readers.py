"""One reader per file format. Each turns raw content into `Article`s or raises
`ArticleReadError` naming the file (and line) that is wrong. HTML is in `corpus.webpage`."""

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
    is_missing,
    join_authors,
    outlet_from_url,
    parse_date,
    to_text,
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


_MAX_REPR = 60


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML, except that a date that cannot exist (2023-02-30, 25:00) stays the text
    it was written as; PyYAML would raise a bare ValueError from deep inside."""


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def _pick(record: dict[str, Any], name: str) -> Any:
    for key in FIELDS[name]:
        value = record.get(key)
        if not is_missing(value):
            return value
    return None


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


_SITE_SUFFIX = re.compile(r"\s+[|–—]\s+[^|–—]{2,40}$")


def _strip_site_suffix(title: str) -> str:
    """"Pope Benedict dies at 95 | CNN" -> "Pope Benedict dies at 95"."""
    stripped = _SITE_SUFFIX.sub("", title)
    return stripped if len(stripped) >= 12 else title


def build_article(
    fields: dict[str, Any], *, origin: str, origin_file: str, where: str, line: int | None
) -> Article:
    """Clean the body and fill the metadata every reader shares."""
    raw_body = to_text(fields.get("body"))
    if not raw_body:
        raise ArticleReadError(
            where, f"no article text (expected one of: {', '.join(FIELDS['body'][:3])})", line
        )
    cleaned = clean_text(raw_body)
    url = to_text(fields.get("url"))
    title = to_text(fields.get("title")) or cleaned.text.split("\n", 1)[0][:120]
    body = cleaned.text
    if not body:
        # A page that was all boilerplate still has a headline worth finding.
        if not title:
            raise ArticleReadError(where, "no article text left after removing boilerplate",
                                   line)
        body = title
    title = _strip_site_suffix(title)
    stated = fields.get("published_at")
    published = parse_date(stated)
    # A date that is there but unreadable is reported, as a wrong date would mislead search.
    if published is None and stated and not is_missing(stated):
        raise ArticleReadError(where, f"unreadable date {_short_repr(stated)}", line)
    published = published or date_from_url(url) or date_from_text(raw_body)
    source = to_text(fields.get("source")) or cleaned.outlet or outlet_from_url(url)
    record_id = to_text(fields.get("id"))
    article_id = record_id or (short_hash("url", url) if url else short_hash("file", origin))
    return Article(
        id=article_id,
        title=title,
        body=body,
        url=url,
        source=source,
        author=join_authors(fields.get("author")),
        published_at=published,
        section=to_text(fields.get("section")),
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
            loaded = yaml.load(match.group("meta"), Loader=_FrontMatterLoader) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark else None
            raise ArticleReadError(path, "invalid YAML front matter", line) from None
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            # e.g. an integer past Python's digit limit; still this file's own problem
            detail = ArticleReadError.unexpected(path, exc).message
            raise ArticleReadError(path, f"invalid YAML front matter ({detail})", 2) from None
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
        where = f"{path} (record {number})"
        try:
            yield read_record(record, path, number, where=where)
        except ArticleReadError as exc:
            yield exc
        except Exception as exc:  # an odd value costs only its own record
            yield ArticleReadError.unexpected(where, exc)
