"""One index run at a time: an exclusive lock on `index.lock` in the index folder. A
second process (or thread) asking for it is told at once that the index is busy."""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from retrieval.errors import IndexBusy


def held_elsewhere(path: Path, create: bool = False) -> bool:
    """Whether another open file (in any process, this one included) holds an exclusive
    flock on `path`: a shared lock is tried and let go at once. Without `create`, a missing
    file counts as not held (and is not made)."""
    try:
        handle = open(path, "a" if create else "r")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def index_run_going(index_dir: Path) -> bool:
    """Whether an index run (in any process, this one included) holds `index.lock`; a
    folder where no run has ever started gets no lock file from asking."""
    return held_elsewhere(index_dir / "index.lock")


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    with open(index_dir / "index.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(f"another index run (newsbot index, watch or /reindex) is "
                            f"updating {index_dir}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RunHold:
    """A database's run lock, taken once per thread however often a run asks for it: an
    index call holds it while it reads the files (so reads know a run is going from its
    start), and the update it makes takes it again."""

    def __init__(self, take: Callable[[], AbstractContextManager[None]]) -> None:
        self._take = take
        self._held = threading.local()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if getattr(self._held, "run", False):
            yield
            return
        with self._take():
            self._held.run = True
            try:
                yield
            finally:
                self._held.run = False
