"""Session fixtures for server mode: a real PostgreSQL (the distribution's binaries, in a
temporary folder, on a free port of 127.0.0.1) and a real Chroma server (`chroma run`).
Each is started once for the whole session, stopped and deleted at the end, and skipped
with its reason where its binaries are missing. Import the fixtures into a test module."""

from __future__ import annotations

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(ready: object, what: str, proc: subprocess.Popen | None = None,
          timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            pytest.fail(f"{what} did not start")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def chroma_port() -> Iterator[int]:
    """A `chroma run` server on 127.0.0.1; its port."""
    if not Path(CHROMA).exists():
        pytest.skip("the chroma CLI is absent")
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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own on 127.0.0.1 (trust authentication); the URL of its
    `postgres` database. It refuses to run as root, so as root it runs as `postgres`."""
    if not INITDB:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (the server extra)")
    bin_dir = Path(INITDB[-1]).parent
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            owner: pwd.struct_passwd | None = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run PostgreSQL")
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser to run PostgreSQL as postgres")
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
            pytest.fail(f"{Path(args[0]).name} failed: {detail}")

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
