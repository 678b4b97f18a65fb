"""Index progress for a person, on any run longer than `SHOW_AFTER_S`: a rich progress bar
on a terminal, and plain lines when stderr is piped or a log file (a large corpus takes
hours on a laptop: the log should say how far it got). A short run shows nothing."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click

Update = Callable[[int, int], None]
SHOW_AFTER_S = 2.0


def duration(seconds: float) -> str:
    """"42 s" under a minute (where "0 min" says nothing), else "3.5 min"."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


class progress_bar:
    show_after_s = SHOW_AFTER_S
    log_every_s = 10.0  # piped: the first line after `show_after_s`, then one this often

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.started = 0.0

    def __enter__(self) -> Update | None:
        if self.quiet:
            return None
        self.started = time.monotonic()
        return self._bar() if sys.stderr.isatty() else self._log_lines()

    def _bar(self) -> Update:
        def update(done: int, total: int) -> None:
            if self.bar is None:
                if time.monotonic() - self.started < self.show_after_s or done >= total:
                    return
                from rich.console import Console
                from rich.progress import Progress

                self.bar = Progress(transient=True, console=Console(stderr=True))
                self.bar.__enter__()
                self.task = self.bar.add_task("embedding articles", total=total)
            self.bar.update(self.task, completed=done, total=total)

        return update

    def _log_lines(self) -> Update:
        last = self.started - self.log_every_s + self.show_after_s  # the first line

        def update(done: int, total: int) -> None:
            nonlocal last
            now = time.monotonic()
            if done >= total or now - last < self.log_every_s:  # the summary says the end
                return
            last = now
            elapsed = now - self.started
            left = elapsed * (total - done) / done if done else 0.0
            click.echo(f"embedded {done}/{total} articles ({100 * done / max(1, total):.0f} %) "
                       f"in {duration(elapsed)}, about {duration(left)} left", err=True)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
