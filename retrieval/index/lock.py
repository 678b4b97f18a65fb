"""One index run at a time: an exclusive lock on `index.lock` in the index folder. A
second process (or thread) asking for it is told at once that the index is busy."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retrieval.errors import IndexBusy


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    with open(index_dir / "index.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(f"another `newsbot index` is updating {index_dir}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
