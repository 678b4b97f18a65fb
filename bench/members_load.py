"""The long Discord test (run through `python -m bench.discord_load --members 200`): many
members of one server through the local Discord-protocol server (standins/discord_server.py),
the bot, the app and the index in one process, with the real model on the sample corpus.

1. N members each ask once, spread evenly over 60 s; every tenth asks again a second
   later, inside the per-member cooldown (the default, 10 s), and must be told to wait.
   Every interaction must be answered or told to wait: none dropped. The time to the
   first reply (the deferral, or the wait message) is measured: p50 and p95.
2. Then questions in waves of 50 members (never one inside its cooldown) up to the total;
   the process's resident memory after 100, 1,000 and 3,000 questions. Between waves the
   server forgets what it recorded (it lives in this process too), so what grows is the
   bot's.
"""

from __future__ import annotations

import gc
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
             "Which bank collapsed in March 2023?", "Where did the wildfire hit Maui?",
             "What happened to the Titan submersible?", "Where did Chandrayaan-3 land?"]
WAVE = 50
MARKS = (100, 1000, 3000, 6000, 10000)


def outcome(server: FakeDiscord, ref: object) -> tuple[str, float] | None:
    """("answered" or "told to wait", seconds to the first reply), or None for now."""
    first = server.requests("POST", f"/interactions/{ref.id}/")
    if not first:
        return None
    reply = first[0].at - ref.created
    body = first[0].json or {}
    if body.get("type") == 4 and "again in" in (body.get("data") or {}).get("content", ""):
        return "told to wait", reply
    for rec in server.requests("PATCH", ref.token):
        if (rec.json or {}).get("embeds") and rec.status == 200:
            return "answered", reply
    for rec in server.requests("POST", f"/webhooks/{server.app_id}/{ref.token}"):
        if "again in" in (rec.json or {}).get("content", ""):
            return "told to wait", reply
    return None


def settle(server: FakeDiscord, refs: list, timeout: float = 300.0
           ) -> dict[int, tuple[str, float]]:
    done: dict[int, tuple[str, float]] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(refs) and time.monotonic() < deadline:
        for ref in refs:
            if ref.id not in done and (found := outcome(server, ref)):
                done[ref.id] = found
        time.sleep(0.05)
    return done


def forget(server: FakeDiscord) -> None:
    """Drop the server's records of finished interactions (they are this process's RSS)."""
    with server._cond:  # the bench owns this server
        server.recorded.clear()
        server.gateway_received.clear()
        server.messages.clear()
        server.interactions.clear()
        for session in server._gateway.sessions.values():  # events kept for a RESUME
            session.buffer.clear()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def members_phase(server: FakeDiscord, ids: list[int], within_s: float = 60.0
                  ) -> dict[int, float]:
    """Returns the resident memory after the 100th question (asked in this minute)."""
    refs, again, rss = [], set(), {}
    start = time.monotonic()
    for i, uid in enumerate(ids):
        time.sleep(max(0.0, start + i * within_s / len(ids) - time.monotonic()))
        refs.append(server.slash("ask", {"question": QUESTIONS[i % len(QUESTIONS)]}, user=uid))
        if i % 10 == 0:
            time.sleep(1.0)
            refs.append(server.slash("ask", {"question": "And who else?"}, user=uid))
            again.add(refs[-1].id)
        if len(refs) >= 100 and not rss:
            settle(server, refs, timeout=5.0)
            gc.collect()
            rss[100] = memory_mb()[0]
            print(f"after 100 questions: resident {rss[100]:.0f} MB", flush=True)
    done = settle(server, refs)
    firsts = [t for _, t in done.values()]
    answered = sum(kind == "answered" for kind, _ in done.values())
    waited = sum(kind == "told to wait" for kind, _ in done.values())
    wrongly = sum(done.get(i, ("", 0))[0] != "told to wait" for i in again)
    print(f"{len(ids)} members in {within_s:.0f} s: {len(refs)} asked, {answered} answered, "
          f"{waited} told to wait ({wrongly} of the {len(again)} repeats not told), "
          f"{len(refs) - len(done)} dropped")
    print(f"first reply: p50 {statistics.median(firsts):.3f} s, p95 "
          f"{percentile(firsts, 0.95):.3f} s, max {max(firsts):.3f} s")
    return rss


def memory_phase(server: FakeDiscord, ids: list[int], asked: int, total: int,
                 rss: dict[int, float]) -> None:
    firsts: list[float] = []
    marks = [m for m in MARKS if asked < m <= total]
    turn = 0
    while asked < total:
        wave = [ids[(turn * WAVE + j) % len(ids)] for j in range(min(WAVE, total - asked))]
        turn += 1
        refs = [server.slash("ask", {"question": f"{QUESTIONS[(asked + j) % len(QUESTIONS)]}"},
                             user=uid) for j, uid in enumerate(wave)]
        started = time.monotonic()
        done = settle(server, refs)
        missing = len(refs) - sum(kind == "answered" for kind, _ in done.values())
        if missing:
            print(f"wave {turn}: {missing} of {len(refs)} not answered")
        firsts += [t for _, t in done.values()]
        asked += len(refs)
        forget(server)
        while marks and asked >= marks[0]:
            gc.collect()
            rss[marks.pop(0)] = memory_mb()[0]
            print(f"after {asked} questions: resident {memory_mb()[0]:.0f} MB", flush=True)
        # The next use of these members is WAVE * (len(ids) // WAVE) questions away.
        time.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
    print(f"waves: first reply p50 {statistics.median(firsts):.3f} s, p95 "
          f"{percentile(firsts, 0.95):.3f} s")
    if 100 in rss and max(rss) > 100:
        print(f"resident growth from question 100 to {max(rss)}: "
              f"{rss[max(rss)] - rss[100]:+.0f} MB")


def run_members(members: int, total: int, index_dir: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="newsbot-members-") as folder:
        work = Path(folder)
        settings = bot_settings(index_dir=index_dir or work / "index", discord_threads=False,
                                discord_guild_per_minute=100_000,
                                discord_feedback_db=work / "feedback.sqlite")
        # Enough members that a wave never asks one still inside its cooldown.
        with serving(settings, not index_dir, max(members, 16 * WAVE)) as (server, ids):
            print(f"model {settings.embedding.model}, member cooldown "
                  f"{settings.discord.user_cooldown:g} s; resident {memory_mb()[0]:.0f} MB")
            rss = members_phase(server, ids[:members])
            forget(server)
            time.sleep(settings.discord.user_cooldown)
            memory_phase(server, ids, members + members // 10 + (members % 10 > 0), total, rss)
            gaps = server.heartbeat_gaps(include_open=False)
        if gaps:
            print(f"longest heartbeat gap {max(gaps):.2f} s (interval 1.00 s)")
