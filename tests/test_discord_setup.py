"""A newcomer's first runs of `newsbot discord`, as real processes: `--guild` before the
bot is invited there (the invite link first, one line, then the commands synced when it
joins), and Discord out of reach (one line, exit 1). No test resolves a real name: the
child process's DNS is replaced (NO_DNS), and every address is on loopback."""

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO
from test_discord_cli import read_lines, start_bot

from bot.cli import cli
from standins.discord_server import FakeDiscord

# `newsbot discord` in a process whose DNS knows no name but loopback's: Discord's own
# address (and any other) does not resolve, as on a machine that is offline.
NO_DNS = """
import socket, sys
real = socket.getaddrinfo
def no_dns(host, *args, **kwargs):
    if host in ("127.0.0.1", "localhost", b"127.0.0.1"):
        return real(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
socket.getaddrinfo = no_dns
from bot.cli import main
sys.argv[0] = "newsbot"
main()
"""


def wait_for_line(lines: list[str], bot: subprocess.Popen, text: str) -> int:
    """The index of the first output line holding `text`."""
    deadline = time.monotonic() + 60
    while not any(text in line for line in lines):
        assert bot.poll() is None and time.monotonic() < deadline, "".join(lines)
        time.sleep(0.1)
    return next(i for i, line in enumerate(lines) if text in line)


def test_guild_before_the_invite_shows_the_link_then_one_line_and_goes_on(
        tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0
    with FakeDiscord(heartbeat_interval=0.5).running() as server:
        elsewhere = server.add_guild("Reading room", join=False)  # not invited yet
        gid = str(elsewhere.guild_id)
        bot = start_bot(tmp_path, server, server.token, args=("--guild", gid))
        lines = read_lines(bot)
        try:
            link = wait_for_line(lines, bot, "Invite newsbot to a server: https://")
            refused = wait_for_line(lines, bot, f"server {gid} refused the slash commands")
            wait_for_line(lines, bot, "logged in as")  # it went on
            assert link < refused
            assert "must be invited there before --guild works" in lines[refused]
            put = f"/guilds/{gid}/commands"
            assert [r.status for r in server.requests("PUT", put)] == [403]
            server.invite(elsewhere)  # the newcomer opens the link: synced at once
            synced = server.wait_for(lambda r: r.method == "PUT" and r.path.endswith(put)
                                     and r.status == 200, timeout=20)
            assert {c["name"] for c in synced.json} >= {"ask", "latest", "sources"}
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        time.sleep(0.2)  # the last lines
    output = "".join(lines)
    assert bot.returncode == 0, output
    assert sum("refused the slash commands" in line for line in lines) == 1, output
    assert "Traceback" not in output, output


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def run_discord(extra: dict[str, str], dns: bool = True) -> tuple[int, list[str]]:
    env = {**os.environ, "DISCORD_TOKEN": "newsbot-test-token", "PYTHONUNBUFFERED": "1",
           **extra}
    command = ["-m", "bot", "discord"] if dns else ["-c", NO_DNS, "discord"]
    done = subprocess.run([sys.executable, *command], cwd=REPO, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    return done.returncode, done.stdout.strip().splitlines()


def one_error_line(lines: list[str]) -> str:
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    assert not any("Traceback" in line or line.startswith(" ") for line in lines), lines
    return errors[0]


@pytest.fixture
def indexed() -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0


def test_an_api_address_with_nothing_listening_is_one_line(indexed) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/v10"
    code, lines = run_discord({"NEWSBOT_DISCORD_API_URL": url})
    assert code == 1
    assert one_error_line(lines) == (f"error: cannot reach Discord at NEWSBOT_DISCORD_API_URL="
                                     f"{url}: connection refused; check the network connection"
                                     " (and NEWSBOT_DISCORD_API_URL if set)")


def test_an_api_address_that_does_not_resolve_is_one_line(indexed) -> None:
    url = "http://discord.newsbot.invalid/api/v10"
    code, lines = run_discord({"NEWSBOT_DISCORD_API_URL": url}, dns=False)
    assert code == 1
    assert "the name does not resolve (DNS)" in one_error_line(lines)


def test_discord_itself_out_of_reach_is_one_line(indexed) -> None:
    """Discord's own address (no NEWSBOT_DISCORD_API_URL) on a machine without DNS: the
    login fails, as it does offline."""
    code, lines = run_discord({}, dns=False)
    assert code == 1
    assert one_error_line(lines) == (
        "error: cannot reach Discord at https://discord.com: the name does not resolve "
        "(DNS); check the network connection (and NEWSBOT_DISCORD_API_URL if set)")


class GoneAfterGateway(http.server.BaseHTTPRequestHandler):
    """Answers GET /gateway, and stops listening before it does: the login that follows
    finds the port closed (Discord going away between two requests)."""

    def do_GET(self) -> None:
        self.server.socket.close()
        body = json.dumps({"url": "ws://127.0.0.1:9/gateway"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_refused_login_is_one_line(indexed) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), GoneAfterGateway)
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v10"
    serving = threading.Thread(target=server.handle_request, daemon=True)
    serving.start()
    code, lines = run_discord({"NEWSBOT_DISCORD_API_URL": url})
    serving.join(5)
    assert code == 1
    assert one_error_line(lines) == (
        f"error: cannot reach Discord at {url.removesuffix('/api/v10')}: connection refused; "
        "check the network connection (and NEWSBOT_DISCORD_API_URL if set)")
