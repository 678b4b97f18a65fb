"""Domain errors. The CLI turns these into one-line messages instead of tracebacks."""

from __future__ import annotations

from pathlib import Path


class NewsbotError(Exception):
    """Base class for every error newsbot reports to a user as a plain message."""


class ArticleReadError(NewsbotError):
    """A file, or one record inside it, could not be read as an article."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
