"""The terminal chat driven as a person would, through a pseudo-terminal."""

import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest


@pytest.fixture
def chat_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(tmp_path / "index"),
           "NEWSBOT_EMBEDDING_MODEL": "hash", "NEWSBOT_DECLINE_BELOW": "0",
           "HOME": str(tmp_path), "NEWSBOT_CHAT_HISTORY_FILE": str(tmp_path / "history.txt"),
           "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1",
           "COLUMNS": "120", "LINES": "40"}
    subprocess.run([sys.executable, "-m", "bot", "index"], env=env, check=True,
                   capture_output=True)
    return env


def test_chat_session(chat_env: dict[str, str], tmp_path: Path) -> None:
    child = pexpect.spawn(sys.executable, ["-m", "bot", "chat"], env=chat_env,
                          encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect("24 articles")
    child.expect("you>")
    child.sendline("Who scored the winning penalty in the World Cup final?")
    child.expect(r"\[1\]")
    child.expect("Argentina beat France on penalties")  # the numbered source
    child.expect("you>")
    child.sendline("/sources")
    child.expect("· Touchline Press · ")  # title · outlet · date
    child.expect("Lusail Stadium")  # the passage itself, not just its title
    child.expect("you>")
    child.sendline("/help")
    child.expect("/reset")
    child.expect("you>")
    child.sendcontrol("c")  # Ctrl-C at the prompt does not leave
    child.expect("you>")
    child.sendline("/reset")
    child.expect("Conversation forgotten")
    child.expect("you>")
    child.sendline("/quit")
    child.expect("Bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # Line history survives for the next session, where the setting says.
    history = (tmp_path / "history.txt").read_text()
    assert "World Cup final" in history
