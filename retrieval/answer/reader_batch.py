"""Questions waiting for the reader at the same time, read in one run.

Many answers at once (a busy Discord server) each want the reader; one model run at a time
shares the cores best, and one run over several questions' passages costs less than one
run each. A caller whose question finds no run in progress runs at once (a lone question
waits for nothing); callers that arrive during a run queue, and when it ends one of them
runs the queued questions together, up to `most` of them. The reader's scores of a
passage do not depend on what else is in its run (`retrieval/models/token_int8.py`), so
one user's answer never depends on another's question.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Job(Generic[Item, Result]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class Coalescer(Generic[Item, Result]):
    """Calls `run(items)` (one result per item, in order) with the items of the callers
    waiting together; each caller gets its own result, or the run's exception."""

    def __init__(self, run: Callable[[list[Item]], Sequence[Result]], most: int) -> None:
        if most < 1:
            raise ValueError("a run must take at least one item")
        self._run = run
        self._most = most
        self._queue: list[_Job[Item, Result]] = []
        self._running = False
        self._turn = threading.Condition()

    def __call__(self, item: Item) -> Result:
        job: _Job[Item, Result] = _Job(item)
        with self._turn:
            self._queue.append(job)
            while not job.done:
                if self._running:
                    self._turn.wait()
                    continue
                # No run in progress: this caller runs the oldest waiting items (its own
                # among them unless more than `most` came first; then it runs again).
                batch, self._queue = self._queue[: self._most], self._queue[self._most:]
                self._running = True
                self._turn.release()
                try:
                    self._finish(batch)
                finally:
                    self._turn.acquire()
                    self._running = False
                    self._turn.notify_all()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _finish(self, batch: list[_Job[Item, Result]]) -> None:
        """Runs the batch; a failure is every waiter's, as its own call's would be."""
        try:
            results = list(self._run([j.item for j in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
        except BaseException as exc:
            for j in batch:
                j.error, j.done = exc, True
            if not isinstance(exc, Exception):
                raise  # an interrupt stops the caller that ran the batch too
            return
        for j, result in zip(batch, results, strict=True):
            j.result, j.done = result, True
