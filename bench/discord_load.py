"""The Discord bot under load: 50 `/ask` at once through a local Discord-protocol server
(standins/discord_server.py), against the same questions asked one at a time. Prints the
time from each interaction to its finished answer (p50, p95, max), and the longest gap
between gateway heartbeats (a blocked event loop would show there).

    python -m bench.discord_load [--questions 50] [--index-dir DIR] [--from QUESTIONS.jsonl]

With `--members N` it runs the long test instead (`members_load.py`): N members asking
within 60 s under the per-member cooldown, then questions in waves up to `--total`,
with the process's resident memory after 100, 1,000 and 3,000 questions.

    python -m bench.discord_load --members 200 --total 3000

Uses the configured embedding model (the real one by default) on an index of the bundled
sample corpus, built in a temporary folder unless --index-dir names one. Also prints the
process's resident memory (now and peak): the bot, the app and its index in one process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.discord_serving import serving
from bench.serve_memory import memory_mb
from bot.settings import bot_settings
from standins.discord_server import FakeDiscord

QUESTIONS = ["Who won the World Cup final in Qatar?", "When did Queen Elizabeth die?",
             "Which country joined NATO in 2023?", "What did the writers' strike win?",
             "Who won the Super Bowl?", "When was the Webb telescope launched?",
             "Which bank collapsed in March 2023?", "Where did the wildfire hit Maui?"]


def answered_in(server: FakeDiscord, refs: list, timeout: float = 600.0) -> list[float]:
    """Seconds from each interaction to the edit that put its answer's embeds in place."""
    done: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(refs) and time.monotonic() < deadline:
        for ref in refs:
            if ref.id not in done:
                for rec in server.requests("PATCH", ref.token):
                    if (rec.json or {}).get("embeds") and rec.status == 200:
                        done[ref.id] = rec.at - ref.created
        time.sleep(0.02)
    return [done[r.id] for r in refs if r.id in done]


def summary(name: str, times: list[float], asked: int) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"{name:<22} answered {len(times)}/{asked}  p50 {statistics.median(times):6.2f} s  "
            f"p95 {p95:6.2f} s  max {ordered[-1]:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--from", dest="source", type=Path,
                        help="take the questions from this question file")
    parser.add_argument("--members", type=int, help="run the long test with this many members")
    parser.add_argument("--total", type=int, default=3000, help="questions in the long test")
    args = parser.parse_args()
    if args.members:
        from bench.members_load import run_members

        run_members(args.members, args.total, args.index_dir)
        return
    questions = QUESTIONS
    if args.source:
        questions = [json.loads(line)["question"] for line in
                     args.source.read_text(encoding="utf-8").splitlines()[: args.questions]]
    with tempfile.TemporaryDirectory(prefix="newsbot-discord-load-") as folder:
        work = Path(folder)
        settings = bot_settings(index_dir=args.index_dir or work / "index",
                                discord_user_cooldown=0.0, discord_guild_per_minute=100_000,
                                discord_threads=False, discord_feedback_db=work / "feedback.sqlite")
        with serving(settings, not args.index_dir, args.questions) as (server, ids):
            one_by_one = []
            for i, uid in enumerate(ids):
                ref = server.slash("ask", {"question": questions[i % len(questions)]}, user=uid)
                one_by_one += answered_in(server, [ref])
            at_once = [server.slash("ask", {"question": questions[i % len(questions)]}, user=uid)
                       for i, uid in enumerate(ids)]
            together = answered_in(server, at_once)
            gaps = server.heartbeat_gaps(include_open=False)
            now, peak = memory_mb()  # while serving
        print(f"{args.questions} questions, model {settings.embedding.model}; process resident "
              f"{now:.0f} MB, peak {peak:.0f} MB")
        print(summary("one at a time", one_by_one, len(ids)))
        print(summary(f"{len(ids)} at once", together, len(ids)))
        if gaps:
            print(f"longest heartbeat gap {max(gaps):.2f} s (interval 1.00 s)")


if __name__ == "__main__":
    main()
