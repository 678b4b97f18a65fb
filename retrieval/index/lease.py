"""Who may open the embedded Chroma store: one process at a time.

Chroma's embedded store is made for one process. Two processes with it open corrupt it
(a reader replays the other's writes into files the writer is rewriting: "Error sending
backfill request to compactor", segfaults, an HNSW file that grows without bound). So a
process opens the store only while it holds an exclusive lock on `chroma.lock`, and
closes it before letting go. It says who it is in `chroma.owner` (an index run holds
the store for the whole run; a search process while it runs). A process that wants the
store writes `chroma.want`; a holder that is not indexing lets go within a moment.
The lock is the kernel's (flock): a process killed at any point releases it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from retrieval.index.lock import held_elsewhere

POLL_S = 0.05
ASK_EVERY_S = 0.5
WANT_EXPIRES_S = 120.0  # an index run that asked longer ago than this gave up or died


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


class StoreLease:
    def __init__(self, index_dir: Path) -> None:
        self.lock_path = index_dir / "chroma.lock"
        self.owner_path = index_dir / "chroma.owner"
        self.want_path = index_dir / "chroma.want"
        self._handle: IO[str] | None = None
        self._since = 0.0

    @property
    def held(self) -> bool:
        return self._handle is not None

    def holder(self) -> dict[str, Any] | None:
        """Who holds the store, as it wrote itself down (None when unknown or free)."""
        try:
            return json.loads(self.owner_path.read_text())
        except (OSError, ValueError):
            return None

    def index_run_elsewhere(self) -> bool:
        """Whether an index run in another process holds the store or waits for it
        (searches then stand back: a run must not starve behind a stream of them)."""
        holder = self.holder()
        if holder and holder.get("role") == "index" and holder.get("pid") != os.getpid():
            return self._locked_elsewhere()
        try:
            want = json.loads(self.want_path.read_text())
        except (OSError, ValueError):
            return False
        return (want.get("role") == "index" and want.get("pid") != os.getpid()
                and time.time() - float(want.get("at", 0)) < WANT_EXPIRES_S
                and _alive(int(want.get("pid", 0))))

    def _locked_elsewhere(self) -> bool:
        return held_elsewhere(self.lock_path, create=True)

    def acquire(self, wait_s: float, role: str) -> bool:
        """Take the store, asking the holder to let go, for up to `wait_s` seconds. A
        search stands back (returns False) as soon as an index run waits too."""
        if self._handle is not None:
            return True
        handle = open(self.lock_path, "a")  # noqa: SIM115 - kept open while held
        deadline = time.monotonic() + wait_s
        asked_at = 0.0
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if now >= deadline or (role != "index" and self.index_run_elsewhere()):
                    handle.close()
                    return False
                if now - asked_at >= ASK_EVERY_S:  # again and again: a holder that took
                    self._write(self.want_path, {"pid": os.getpid(), "role": role,  # the
                                                 "at": time.time()})  # store since must see it
                    asked_at = now
                time.sleep(POLL_S)
        self._handle, self._since = handle, time.time()
        self.announce(role)
        if asked_at:  # granted: nobody need stand back for this wish any more
            with contextlib.suppress(OSError):
                want = json.loads(self.want_path.read_text())
                if want.get("pid") == os.getpid():
                    self.want_path.unlink()
        return True

    def announce(self, role: str) -> None:
        """Say what this process holds the store for now."""
        if self._handle is not None:
            self._write(self.owner_path, {"pid": os.getpid(), "role": role,
                                          "since": self._since})

    def wanted_by_another(self) -> bool:
        """Whether another process asked for the store since this one took it."""
        try:
            want = json.loads(self.want_path.read_text())
        except (OSError, ValueError):
            return False
        return want.get("pid") != os.getpid() and float(want.get("at", 0)) >= self._since

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self.owner_path.unlink(missing_ok=True)
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(data))
            tmp.replace(path)  # whole or nothing: a reader never sees half of it
        except OSError:
            pass  # a hint only: the lock itself is what protects the store
