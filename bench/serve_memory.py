"""Memory of a serving process: `newsbot chat` driven through a pseudo-terminal, asked
questions from a question file, then its resident set (now and peak) read from /proc.

    python -m bench.serve_memory QUESTIONS.jsonl [--index-dir DIR] [-n 30]

The Discord bot's figure comes from `bench/discord_load.py`, which prints the same two
numbers for its process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pexpect

from bench.common import REPO


def memory_mb(pid: int | str = "self") -> tuple[float, float]:
    """(resident now, peak resident) in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("-n", type=int, default=30)
    args = parser.parse_args()
    asked = [json.loads(line)["question"] for line in
             args.questions.read_text(encoding="utf-8").splitlines()[: args.n]]
    env = {**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "HF_HUB_OFFLINE": "1"}
    if args.index_dir:
        env["NEWSBOT_INDEX_DIR"] = str(args.index_dir)
    child = pexpect.spawn(sys.executable, ["-m", "bot", "chat"], env=env, cwd=str(REPO),
                          encoding="utf-8", timeout=120, dimensions=(40, 160))
    child.expect("you>")
    started = time.perf_counter()
    for question in asked:
        child.sendline(question)
        child.expect("you>")
        child.sendline("/reset")  # each question on its own, as many readers ask them
        child.expect("you>")
    seconds = time.perf_counter() - started
    now, peak = memory_mb(child.pid)
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    print(f"newsbot chat: {len(asked)} questions in {seconds:.1f} s; resident {now:.0f} MB, "
          f"peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
