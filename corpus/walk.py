"""Finding the files under the paths a user names.

Path.rglob skips symlinked folders in silence and hides folders it cannot list, so the
walk is done here: symlinked folders are followed (each real folder once, which also
stops link loops), and a folder that cannot be listed is reported and recorded."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from corpus.errors import ArticleReadError, safe_name


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks
    except OSError:
        return False  # read_file will say what is wrong with it


class FolderWalk:
    """Walks folders in sorted order, skipping hidden names. Problems are collected in
    `errors`; folders that could not be listed in `unreadable_dirs` (as `safe_name`s)."""

    def __init__(self) -> None:
        self.errors: list[ArticleReadError] = []
        self.unreadable_dirs: set[str] = set()
        self._walked: set[str] = set()  # real paths of folders already listed

    def _entries(self, folder: Path) -> list[os.DirEntry[str]] | None:
        """The folder's visible entries by name; None when it was walked before or cannot
        be listed (then reported)."""
        real = os.path.realpath(folder)
        if real in self._walked:  # a link loop, or a second way into the same folder
            return None
        self._walked.add(real)
        try:
            with os.scandir(folder) as listing:
                entries = [e for e in listing if not e.name.startswith(".")]
        except OSError as exc:
            why = "permission denied" if isinstance(exc, PermissionError) else (
                exc.strerror or str(exc))
            self.errors.append(ArticleReadError(folder, f"cannot read folder: {why}"))
            self.unreadable_dirs.add(safe_name(folder))
            return None
        return sorted(entries, key=lambda e: e.name)

    def _walk(self, root: Path) -> Iterator[Path]:
        # A stack of listings, not recursion: folder depth is not bounded by Python's.
        entries = self._entries(root)
        stack = [(root, iter(entries))] if entries is not None else []
        while stack:
            folder, listing = stack[-1]
            entry = next(listing, None)
            if entry is None:
                stack.pop()
                continue
            child = folder / entry.name
            if not _is_dir(entry):
                yield child
            elif (entries := self._entries(child)) is not None:
                stack.append((child, iter(entries)))

    def files(self, paths: Iterable[Path]) -> Iterator[Path]:
        """Files named, and the files under folders named, as absolute paths."""
        for path in paths:
            absolute = Path(os.path.abspath(path))
            if absolute.is_dir():
                yield from self._walk(absolute)
            else:
                yield absolute


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files `FolderWalk` finds, for callers that do not need its problems."""
    yield from FolderWalk().files(paths)
