"""Index progress for a person: a rich progress bar on a terminal, and when stderr is a
log file, a line now and then (a large corpus takes hours on a laptop: the log should say
how far it got)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click

Update = Callable[[int, int], None]


def duration(seconds: float) -> str:
    """"42 s" under a minute (where "0 min" says nothing), else "3.5 min"."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


class progress_bar:
    log_every_s = 30.0

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None
        self.task = None

    def __enter__(self) -> Update | None:
        if self.quiet:
            return None
        if not sys.stderr.isatty():
            return self._log_lines()
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.bar.__enter__()

        def update(done: int, total: int) -> None:
            if self.task is None:
                self.task = self.bar.add_task("embedding articles", total=total)
            self.bar.update(self.task, completed=done, total=total)

        return update

    def _log_lines(self) -> Update:
        started = time.monotonic()
        last = started

        def update(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done >= total or now - last < self.log_every_s:  # the summary says the end
                return
            last = now
            elapsed = now - started
            left = elapsed * (total - done) / done if done else 0.0
            click.echo(f"embedded {done}/{total} articles ({100 * done / max(1, total):.0f} %) "
                       f"in {duration(elapsed)}, about {duration(left)} left", err=True)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
