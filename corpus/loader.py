"""Finding article files and reading them, collecting per-file problems instead of stopping."""

from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import stat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corpus.article import Article
from corpus.errors import ArticleReadError, UnusableFile, safe_name
from corpus.readers import read_json_document, read_markdown, read_record, read_txt
from corpus.walk import FolderWalk, iter_files
from corpus.webpage import read_html

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
# UTF-32 first: its little-endian mark starts with UTF-16's. The codecs drop the mark.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

__all__ = ["DEFAULT_MAX_FILE_MB", "SAMPLE_DIR", "FileResult", "LoadResult", "iter_files",
           "load_articles", "read_file"]


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
    # Absolute folders (in the form of Article.origin_file) that could not be listed. Their
    # files are absent from this load and may even look missing (Path.exists() is False
    # without permission), so an indexer must NOT remove an article whose origin file lies
    # under one of these folders.
    unreadable_dirs: set[str] = field(default_factory=set)
    # Files met in a folder whose type newsbot does not read (photo.jpg, style.css, a
    # README): real news folders hold them, so they are passed over, not failures.
    skipped: list[str] = field(default_factory=list)
    # Files of a supported type met in a folder that no reader can use (empty, unreadable):
    # listed as skipped, not failures (a folder of a user's files has such files).
    unusable: list[ArticleReadError] = field(default_factory=list)

    def add(self, result: FileResult, named: bool = False) -> None:
        self.files.append(result.path)
        if not named and result.errors and all(isinstance(e, UnusableFile)
                                               for e in result.errors):
            self.unusable.extend(result.errors)
            return
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


def _bom_codec(head: bytes) -> str | None:
    return next((codec for bom, codec in _BOMS if head.startswith(bom)), None)


def _decode_wide(path: Path, data: bytes, codec: str) -> str:
    """UTF-16 or UTF-32 text, known by its byte order mark; it is full of NUL bytes, so
    the binary check must not see it first."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        raise ArticleReadError(path, f"not valid {codec.upper()} text") from None
    if not text.strip():
        raise UnusableFile(path, "empty file")
    if "\x00" in text[:8192]:
        raise ArticleReadError(path, "binary file, not text")
    return text


def _decode(path: Path, data: bytes) -> str:
    codec = _bom_codec(data[:4])
    if codec:
        return _decode_wide(path, data, codec)
    if not data.strip():
        raise UnusableFile(path, "empty file")
    if b"\x00" in data[:8192]:
        raise ArticleReadError(path, "binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArticleReadError(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})", line
        ) from None


def _os_problem(label: Path, exc: OSError) -> ArticleReadError:
    if isinstance(exc, FileNotFoundError):
        return UnusableFile(label, "no such file (or a broken link)")
    if isinstance(exc, IsADirectoryError):
        return ArticleReadError(label, "is a directory, not a file")
    if isinstance(exc, PermissionError):
        return UnusableFile(label, "cannot read: permission denied")
    return ArticleReadError(label, f"cannot read: {exc.strerror or exc}")


def _check_regular(path: Path, label: Path) -> None:
    """Only regular files (or links to them) are opened: opening a named pipe waits for a
    writer forever, and a device such as /dev/zero never ends."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise _os_problem(label, exc) from None
    if stat.S_ISDIR(mode):
        raise ArticleReadError(label, "is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise ArticleReadError(label, "not a regular file (a pipe, socket or device)")


def _read_bytes(path: Path, label: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleReadError(
                label, f"file too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:g} MB)"
            )
        return path.read_bytes()
    except OSError as exc:
        raise _os_problem(label, exc) from None


def _lines(handle: io.BufferedReader | gzip.GzipFile) -> Iterator[bytes]:
    """The stream's lines as UTF-8 bytes; a UTF-16 or UTF-32 feed (known by its byte order
    mark) is decoded and re-encoded, since its lines do not split on b"\\n"."""
    codec = _bom_codec(handle.peek(4)[:4])
    if codec is None:
        yield from handle
        return
    for line in io.TextIOWrapper(handle, encoding=codec):
        yield line.encode("utf-8")


def _read_line(result: FileResult, label: Path, raw: bytes, number: int) -> None:
    """One JSON Lines record into `result`; whatever is wrong with it costs only this line."""
    try:
        record = json.loads(raw.decode("utf-8-sig"))  # -sig: a UTF-8 mark opening the file
        result.articles.append(read_record(record, label, number))
    except UnicodeDecodeError:
        result.errors.append(ArticleReadError(label, "not valid UTF-8", number))
    except json.JSONDecodeError as exc:
        result.errors.append(ArticleReadError(label, f"invalid JSON: {exc.msg}", number))
    except ArticleReadError as exc:
        result.errors.append(exc)
    except Exception as exc:  # an odd value no reader foresaw
        result.errors.append(ArticleReadError.unexpected(label, exc, number))


def _read_stream(path: Path, label: Path, max_record_bytes: int) -> FileResult:
    """JSON Lines (maybe gzip-compressed), one article per line, read lazily so a damaged
    tail keeps everything before it."""
    result = FileResult(str(label))
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    number = 0
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(_lines(handle), start=1):  # `number` is used below
                if not raw.strip():
                    continue
                if len(raw) > max_record_bytes:
                    result.errors.append(ArticleReadError(label, "record too large", number))
                    continue
                _read_line(result, label, raw, number)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        detail = "truncated" if isinstance(exc, EOFError) else "corrupt"
        result.errors.append(ArticleReadError(
            label, f"{detail} gzip data after line {number}; kept lines before it"))
        result.complete = False
    except UnicodeDecodeError as exc:  # only a UTF-16/32 feed is decoded as a whole
        result.errors.append(ArticleReadError(
            label, f"not valid {exc.encoding.upper()} text after line {number}; "
            "kept lines before it"))
        result.complete = False
    except OSError as exc:
        result.errors.append(_os_problem(label, exc))
        result.complete = False
    except Exception as exc:  # keep the lines read before whatever went wrong
        result.errors.append(ArticleReadError.unexpected(label, exc, number or None))
        result.complete = False
    if number == 0 and not result.errors:
        result.errors.append(UnusableFile(label, "empty file"))
    return result


def _read_single(path: Path, label: Path, suffix: str, max_bytes: int,
                 result: FileResult) -> None:
    if suffix not in SUPPORTED:
        raise ArticleReadError(
            label, f"unsupported file type {suffix or '(none)'!r}; expected one of "
            + ", ".join(SUPPORTED)
        )
    text = _decode(label, _read_bytes(path, label, max_bytes))
    if suffix == ".json":
        for item in read_json_document(label, text):
            if isinstance(item, ArticleReadError):
                result.errors.append(item)
            else:
                result.articles.append(item)
    else:
        result.articles.append(SINGLE_ARTICLE_READERS[suffix](label, text))


def read_file(path: Path, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> FileResult:
    """Read one file of any supported format; problems are returned, never raised.

    `path` is used to read; the articles and problems name it by `safe_name(path)`, which
    differs only for a name that is not UTF-8 (and so could not be stored or printed)."""
    max_bytes = int(max_file_mb * 1_000_000)
    label = Path(safe_name(path))
    result = FileResult(str(label))
    try:
        _check_regular(path, label)
        suffix = suffix_of(path)
        if suffix in STREAM_SUFFIXES:
            return _read_stream(path, label, max_bytes)
        _read_single(path, label, suffix, max_bytes, result)
    except ArticleReadError as exc:
        result.errors.append(exc)
        result.complete = False
    except Exception as exc:  # no odd file may end the run; KeyboardInterrupt still does
        result.errors.append(ArticleReadError.unexpected(label, exc))
        result.complete = False
    return result


def load_articles(
    paths: Iterable[Path | str], max_file_mb: float = DEFAULT_MAX_FILE_MB
) -> LoadResult:
    """Read every article under `paths`. Problems are collected per file and line, and
    folders that cannot be listed are reported and kept in `unreadable_dirs`. Files of a
    type newsbot does not read are listed in `skipped` when a folder holds them, files no
    reader can use (empty, unreadable) in `unusable`; a file named on its own must be an
    article, so either is still an error."""
    loaded = LoadResult()
    walk = FolderWalk()
    named = [Path(p).expanduser() for p in paths]
    named_files = {os.path.abspath(p) for p in named if not p.is_dir()}
    for path in walk.files(named):
        loaded.errors.extend(walk.errors)  # a folder's problem in the order it was met
        walk.errors.clear()
        if str(path) not in named_files and suffix_of(path) not in SUPPORTED:
            loaded.skipped.append(safe_name(path))
            continue
        loaded.add(read_file(path, max_file_mb), str(path) in named_files)
    loaded.errors.extend(walk.errors)
    loaded.unreadable_dirs |= walk.unreadable_dirs
    return loaded
