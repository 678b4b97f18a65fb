"""Feed articles as Markdown files with YAML front matter, the format `corpus.readers`
reads back field for field.

A file's name is made only of [a-z0-9-] (so nothing a feed says can climb out of the
feeds folder, or be too long for a file system) and is stable: the same item always gets
the same name, so a run killed after writing but before recording rewrites the same file
next time instead of adding a second one. Files are written to a hidden temporary file
and renamed, so no reader ever sees half an article."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from contextlib import suppress
from pathlib import Path

import yaml

from corpus.article import short_hash
from corpus.feeds.page import ItemDraft

MAX_SLUG = 60
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_HASH_CHARS = 10


def slug(text: str, fallback: str, limit: int = MAX_SLUG) -> str:
    """Lower-case ASCII words joined by "-", at most `limit` characters; `fallback` when
    nothing is left (a title of dots, slashes or only non-Latin letters)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words.strip("-") or fallback


def feed_folder(feeds_dir: Path, feed_name: str) -> Path:
    """The feed's own folder: its name as a slug (a hash when the name has no ASCII)."""
    return feeds_dir / slug(feed_name, "feed-" + short_hash("feed", feed_name)[:8])


def article_path(feeds_dir: Path, feed_name: str, draft: ItemDraft) -> Path:
    """`<feed>/<YYYY-MM-DD>-<title>-<hash of guid>.md` under `feeds_dir`."""
    day = draft.published_at.date().isoformat() if draft.published_at else "undated"
    key = short_hash("feed-item", draft.guid or draft.url)[:_HASH_CHARS]
    path = feed_folder(feeds_dir, feed_name) / f"{day}-{slug(draft.title, 'article')}-{key}.md"
    if path.parent.parent != feeds_dir:  # by construction; checked because it matters
        raise ValueError(f"refusing to write outside {feeds_dir}: {path}")
    return path


def render(draft: ItemDraft, feed_name: str) -> str:
    """The file's text: front matter (title, url, source, author, published_at, and the
    feed it came from, which the reader ignores), then the body."""
    meta = {
        "title": draft.title,
        "url": draft.url,
        "source": draft.source,
        "author": draft.author,
        "published_at": draft.published_at.isoformat() if draft.published_at else "",
        "feed": feed_name,
    }
    front = yaml.safe_dump({k: v for k, v in meta.items() if v}, allow_unicode=True,
                           sort_keys=False, width=1_000_000)
    return f"---\n{front}---\n\n{draft.body}\n"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` in one step: a hidden temporary file (which the corpus
    walker skips) renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide articles from other users
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)  # only our own temporary file, never an article
        raise


def write_article(feeds_dir: Path, feed_name: str, draft: ItemDraft) -> Path:
    path = article_path(feeds_dir, feed_name, draft)
    write_atomic(path, render(draft, feed_name))
    return path
