"""Session fixtures for server mode: a real PostgreSQL (the distribution's binaries, in a
temporary folder, on a free port of 127.0.0.1) and a real Chroma server (`chroma run`).
Each is started once for the whole session, stopped and deleted at the end, and skipped
with its reason where its binaries are missing. Import the fixtures into a test module.

Outside pytest (bench/server_load.py), `chroma_server()` and `postgres_server()` are the
same servers as context managers: they raise `Unavailable` (what the fixture skips on) or
`ServerFailed` (what it fails on).

Fault tests stop and start them under a running index: `restart_postgres(url)` runs
`pg_ctl restart` on the server of that URL, `stop_chroma(port)` and `start_chroma(port)`
stop the `chroma run` on that port and start it again on the same folder and port."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
_PG_RESTARTS: dict[str, Callable[[], None]] = {}  # by the URL postgres_server() gave
_CHROMAS: dict[int, ChromaProcess] = {}  # by port


class Unavailable(Exception):
    """The server cannot run here (its binaries or a user are missing): a skip in tests."""


class ServerFailed(Exception):
    """The server was there but did not start: a failure in tests."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(ready: object, what: str, proc: subprocess.Popen | None = None,
          timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            raise ServerFailed(f"{what} did not start")
        time.sleep(0.2)


@contextlib.contextmanager
def _as_fixture(server: contextlib.AbstractContextManager) -> Iterator:
    try:
        with server as value:
            yield value
    except Unavailable as exc:
        pytest.skip(str(exc))
    except ServerFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def chroma_port() -> Iterator[int]:
    """A `chroma run` server on 127.0.0.1; its port."""
    with _as_fixture(chroma_server()) as port:
        yield port


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own on 127.0.0.1 (trust authentication); the URL of its
    `postgres` database."""
    with _as_fixture(postgres_server()) as url:
        yield url


class ChromaProcess:
    """One `chroma run` on a folder and port of its own, which can be stopped and started."""

    def __init__(self) -> None:
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="newsbot-chroma-"))
        self.process: subprocess.Popen | None = None

    def beating(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat",
                                   timeout=1)
            return True
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [CHROMA, "run", "--path", str(self.data), "--host", "127.0.0.1", "--port",
             str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        _wait(self.beating, "chroma run", self.process)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def stop_chroma(port: int) -> None:
    _CHROMAS[port].stop()


def start_chroma(port: int) -> None:
    _CHROMAS[port].start()


def restart_postgres(url: str) -> None:
    """`pg_ctl restart` (fast mode): every open session is ended, as in a real restart."""
    _PG_RESTARTS[url]()


@contextlib.contextmanager
def chroma_server() -> Iterator[int]:
    """A `chroma run` server on 127.0.0.1 in a temporary folder; its port."""
    if not Path(CHROMA).exists():
        raise Unavailable("the chroma CLI is absent")
    server = ChromaProcess()
    _CHROMAS[server.port] = server
    try:
        server.start()
        yield server.port
    finally:
        server.stop()
        del _CHROMAS[server.port]
        shutil.rmtree(server.data, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server of its own on 127.0.0.1 (trust authentication) in a temporary
    folder; the URL of its `postgres` database. It refuses to run as root, so as root it
    runs as `postgres`."""
    if not INITDB:
        raise Unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise Unavailable("psycopg is not installed (the server extra)") from None
    bin_dir = Path(INITDB[-1]).parent
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            owner: pwd.struct_passwd | None = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable("running as root and there is no postgres user to run "
                              "PostgreSQL") from None
        if not shutil.which("runuser"):
            raise Unavailable("running as root without runuser to run PostgreSQL as "
                              "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    else:
        owner = None
    root = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = root / "log"
            detail = log.read_text()[-2000:] if log.exists() else done.stderr[-2000:]
            raise ServerFailed(f"{Path(args[0]).name} failed: {detail}")

    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-locale", "--no-sync")
        options = ["-D", str(data), "-l", str(root / "log"), "-w", "-o",
                   f"-k {root} -h 127.0.0.1 -p {port} -F"]
        run(str(bin_dir / "pg_ctl"), *options, "start")
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        _PG_RESTARTS[url] = lambda: run(str(bin_dir / "pg_ctl"), *options, "-m", "fast",
                                        "restart")
        yield url
    finally:
        _PG_RESTARTS.pop(f"postgresql://postgres@127.0.0.1:{port}/postgres", None)
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                            "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def database(url: str, name: str) -> str:
    """The URL of a new, empty database `name` on the server of `url`."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
