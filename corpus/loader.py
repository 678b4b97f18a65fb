"""Finding article files and reading them, collecting per-file problems instead of stopping."""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corpus.article import Article
from corpus.errors import ArticleReadError
from corpus.readers import read_html, read_json_document, read_markdown, read_record, read_txt

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"
DEFAULT_MAX_FILE_MB = 20.0

SINGLE_ARTICLE_READERS = {
    ".txt": read_txt,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
}
STREAM_SUFFIXES = (".jsonl.gz", ".jsonl", ".ndjson")
SUPPORTED = (*SINGLE_ARTICLE_READERS, ".json", *STREAM_SUFFIXES)


@dataclass
class FileResult:
    """What one file gave: its articles, its problems, and whether it was read to the end
    (only then may articles that vanished from it be removed from the index)."""

    path: str
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleReadError] = field(default_factory=list)
    complete: bool = True


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleReadError] = field(default_factory=list)
    complete_files: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        self.files.append(result.path)
        self.articles.extend(result.articles)
        self.errors.extend(result.errors)
        # Only a file read without any problem may have its vanished articles removed.
        if result.complete and not result.errors:
            self.complete_files.add(result.path)


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    for suffix in STREAM_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named, and the files under folders named (sorted, hidden ones skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_dir() or any(part.startswith(".") for part in rel):
                    continue
                yield Path(os.path.abspath(child))
        else:
            yield Path(os.path.abspath(path))


def _decode(path: Path, data: bytes) -> str:
    if not data.strip():
        raise ArticleReadError(path, "empty file")
    if b"\x00" in data[:8192]:
        raise ArticleReadError(path, "binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArticleReadError(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})", line
        ) from None


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleReadError(
                path, f"file too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:g} MB)"
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise ArticleReadError(path, "no such file (or a broken link)") from None
    except IsADirectoryError:
        raise ArticleReadError(path, "is a directory, not a file") from None
    except PermissionError:
        raise ArticleReadError(path, "cannot read: permission denied") from None
    except OSError as exc:
        raise ArticleReadError(path, f"cannot read: {exc.strerror or exc}") from None


def _read_stream(path: Path, max_record_bytes: int) -> FileResult:
    """JSON Lines (maybe gzip-compressed), one article per line, read lazily so a damaged
    tail keeps everything before it."""
    result = FileResult(str(path))
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    number = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):  # `number` is read after the loop
                if not raw.strip():
                    continue
                if len(raw) > max_record_bytes:
                    result.errors.append(ArticleReadError(path, "record too large", number))
                    continue
                try:
                    record = json.loads(raw.decode("utf-8"))
                    result.articles.append(read_record(record, path, number))
                except UnicodeDecodeError:
                    result.errors.append(ArticleReadError(path, "not valid UTF-8", number))
                except json.JSONDecodeError as exc:
                    result.errors.append(
                        ArticleReadError(path, f"invalid JSON: {exc.msg}", number)
                    )
                except ArticleReadError as exc:
                    result.errors.append(exc)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        detail = "truncated" if isinstance(exc, EOFError) else "corrupt"
        result.errors.append(
            ArticleReadError(path, f"{detail} gzip data after line {number}; kept lines before it")
        )
        result.complete = False
    except FileNotFoundError:
        result.errors.append(ArticleReadError(path, "no such file (or a broken link)"))
        result.complete = False
    except OSError as exc:
        result.errors.append(ArticleReadError(path, f"cannot read: {exc.strerror or exc}"))
        result.complete = False
    if number == 0 and not result.errors:
        result.errors.append(ArticleReadError(path, "empty file"))
    return result


def read_file(path: Path, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> FileResult:
    """Read one file of any supported format; problems are returned, never raised."""
    max_bytes = int(max_file_mb * 1_000_000)
    suffix = suffix_of(path)
    if suffix in STREAM_SUFFIXES:
        return _read_stream(path, max_bytes)
    result = FileResult(str(path))
    try:
        if not path.exists():
            raise ArticleReadError(path, "no such file (or a broken link)")
        if suffix not in SUPPORTED:
            raise ArticleReadError(
                path, f"unsupported file type {suffix or '(none)'!r}; expected one of "
                + ", ".join(SUPPORTED)
            )
        text = _decode(path, _read_bytes(path, max_bytes))
        if suffix == ".json":
            for item in read_json_document(path, text):
                if isinstance(item, ArticleReadError):
                    result.errors.append(item)
                else:
                    result.articles.append(item)
        else:
            result.articles.append(SINGLE_ARTICLE_READERS[suffix](path, text))
    except ArticleReadError as exc:
        result.errors.append(exc)
        result.complete = False
    return result


def load_articles(
    paths: Iterable[Path | str], max_file_mb: float = DEFAULT_MAX_FILE_MB
) -> LoadResult:
    """Read every article under `paths`. Problems are collected per file and line."""
    loaded = LoadResult()
    for path in iter_files(Path(p).expanduser() for p in paths):
        loaded.add(read_file(path, max_file_mb))
    return loaded
