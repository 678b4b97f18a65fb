"""Session fixtures for server mode: a real PostgreSQL (the distribution's binaries, in a
temporary folder, on a free port of 127.0.0.1) and a real Chroma server (`chroma run`).
Each is started once for the whole session, stopped and deleted at the end, and skipped
with its reason where its binaries are missing. Import the fixtures into a test module.

Outside pytest (bench/server_load.py), `chroma_server()` and `postgres_server()` are the
same servers as context managers: they raise `Unavailable` (what the fixture skips on) or
`ServerFailed` (what it fails on)."""

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
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


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


@contextlib.contextmanager
def chroma_server() -> Iterator[int]:
    """A `chroma run` server on 127.0.0.1 in a temporary folder; its port."""
    if not Path(CHROMA).exists():
        raise Unavailable("the chroma CLI is absent")
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="newsbot-chroma-"))
    server = subprocess.Popen(
        [CHROMA, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})

    def beating() -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return True
        except OSError:
            return False

    try:
        _wait(beating, "chroma run", server)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


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
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
            "-o", f"-k {root} -h 127.0.0.1 -p {port} -F", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
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
