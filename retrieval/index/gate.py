"""A readers-writer gate inside one process: many searches at once, or one closing of the
vector store with no search in flight (a search must not use a client being closed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Gate:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active = 0
        self._exclusive = False
        self._waiting = 0  # exclusive requests waiting: new searches let them go first

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._exclusive and not self._waiting)
            self._active += 1
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    @contextmanager
    def exclusive(self, timeout: float | None = None) -> Iterator[bool]:
        """Yields True once no search is in flight, or False after `timeout` seconds."""
        with self._changed:
            self._waiting += 1
            try:
                got = self._changed.wait_for(
                    lambda: not self._exclusive and self._active == 0, timeout)
            finally:
                self._waiting -= 1
                self._changed.notify_all()
            if got:
                self._exclusive = True
        try:
            yield got
        finally:
            if got:
                with self._changed:
                    self._exclusive = False
                    self._changed.notify_all()
