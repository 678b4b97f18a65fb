"""Domain errors. The CLI turns these into one-line messages instead of tracebacks."""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path

# Lone surrogates cannot be written as UTF-8: Python makes them from undecodable bytes in
# file names (U+DC80..U+DCFF) and json.loads makes them from "\ud800"-style escapes.
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DETAIL = 200


def safe_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def _escape_byte(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def safe_name(path: Path | str) -> str:
    """A path as text that encodes as UTF-8: a byte that is not UTF-8 is shown as `\\xe9`,
    which keeps two such names apart (and tells the user which byte is wrong)."""
    return _SURROGATE.sub(_escape_byte, os.fspath(path))


class Fix(StrEnum):
    """What a person does about an error. The message says what happened; each front end
    says the fix in its own words (a command on the CLI, an admin's job on Discord)."""

    INDEX = "index"  # nothing is indexed yet: index the articles
    INDEX_AGAIN = "index-again"  # a run stopped short or left a gap: index again
    REBUILD = "rebuild"  # the index must be built again from the articles
    AWAIT_REBUILD = "await-rebuild"  # a rebuild is under way: ask again once it is done
    AWAIT_INDEX = "await-index"  # an index run has committed nothing yet: ask again soon
    ADD_FEED = "add-feed"  # there are no feeds: subscribe to one
    LIST_FEEDS = "list-feeds"  # a feed was not found: see which there are


class NewsbotError(Exception):
    """Base class for every error newsbot reports to a user as a plain message."""

    fix: Fix | None = None

    def __init__(self, *args: object, fix: Fix | None = None) -> None:
        super().__init__(*args)
        if fix is not None:
            self.fix = fix


class ArticleReadError(NewsbotError):
    """A file, or one record inside it, could not be read as an article."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = safe_name(path)
        self.line = line
        self.message = safe_text(message)
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {self.message}")

    @classmethod
    def unexpected(cls, path: Path | str, exc: Exception, line: int | None = None
                   ) -> ArticleReadError:
        """A failure no reader foresaw, told in one short line instead of a traceback."""
        lines = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        return cls(path, f"unexpected {detail[:_MAX_DETAIL]}", line)


class UnusableFile(ArticleReadError):
    """A file no reader can use at all: empty, unreadable (permission denied) or a broken
    link. Met in a folder, it is skipped and listed, not a failure of the run."""
