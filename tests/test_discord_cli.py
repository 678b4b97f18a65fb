"""`newsbot discord` as a user runs it: a real process, logging in to a local
Discord-protocol server on 127.0.0.1, answering, and stopping cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO

from bot.cli import cli
from standins.discord_server import FakeDiscord


def start_bot(tmp_path: Path, server: FakeDiscord, token: str,
              extra: dict[str, str] | None = None, args: tuple[str, ...] = ()
              ) -> subprocess.Popen:
    env = {**os.environ, "DISCORD_TOKEN": token, "NEWSBOT_DISCORD_API_URL": server.api_base,
           "NEWSBOT_INDEX_DIR": str(tmp_path / "index"), "NEWSBOT_EMBEDDING_MODEL": "hash",
           "NEWSBOT_DECLINE_BELOW": "0", "NEWSBOT_DISCORD_USER_COOLDOWN": "0",
           "NEWSBOT_DISCORD_FEEDBACK_DB": str(tmp_path / "feedback.sqlite"),
           "PYTHONUNBUFFERED": "1", **(extra or {})}
    return subprocess.Popen([sys.executable, "-m", "bot", "discord", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_lines(bot: subprocess.Popen) -> list[str]:
    lines: list[str] = []

    def pump() -> None:
        for line in bot.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_the_bot_process_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0
    with FakeDiscord(heartbeat_interval=0.5).running() as server:
        bot = start_bot(tmp_path, server, server.token)
        lines = read_lines(bot)
        try:
            deadline = time.monotonic() + 60
            while not any("logged in as" in line for line in lines):
                assert bot.poll() is None and time.monotonic() < deadline, "".join(lines)
                time.sleep(0.1)
            assert any("servers: " in line and "(" in line for line in lines)
            ref = server.slash("ask", {"question": "Who won the World Cup final in Qatar?"})
            server.wait_until(lambda: ref.acked == 5, timeout=5)
            edit = server.wait_for(lambda r: r.method == "PATCH" and ref.token in r.path
                                   and bool((r.json or {}).get("embeds")) and r.status == 200,
                                   timeout=30)
            assert "[1]" in edit.json["embeds"][0]["description"]
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
        time.sleep(0.2)  # the last lines
        output = "".join(lines)
        assert bot.returncode == 0, output
        assert "Invite newsbot to a server: https://discord.com/oauth2/authorize?" in output
        assert "scope=bot+applications.commands" in output and "permissions=" in output
        assert server.token not in output  # the token is never printed
        assert "Traceback" not in output, output
        # The bot has no voice: no library warning about voice before our own lines.
        assert not [line for line in lines if "voice" in line or "PyNaCl" in line
                    or "davey" in line], output


def test_a_rejected_token_is_one_line(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0
    with FakeDiscord().running() as server:
        bot = start_bot(tmp_path, server, "not-the-token")
        output, _ = bot.communicate(timeout=60)
    assert bot.returncode == 1
    assert output.strip().splitlines()[-1].startswith("error: Discord rejected the token")
    assert "not-the-token" not in output and "Traceback" not in output


def test_doctor_says_how_to_reset_a_rejected_token_as_the_bot_does(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["index"]).exit_code == 0
    with FakeDiscord().running() as server:
        bot = start_bot(tmp_path, server, "not-the-token")
        output, _ = bot.communicate(timeout=60)
        said = output.strip().splitlines()[-1].removeprefix("error: ")
        doctor = CliRunner().invoke(cli, ["doctor"], env={
            "DISCORD_TOKEN": "not-the-token", "NEWSBOT_DISCORD_API_URL": server.api_base})
    assert doctor.exit_code == 1
    (line,) = [line for line in doctor.output.splitlines() if " Discord " in line]
    assert line.startswith("FAIL") and line.endswith(said), doctor.output
    assert "Reset Token" in said and "not-the-token" not in doctor.output
