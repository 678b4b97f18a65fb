"""Follow-up questions: how many second turns of two-turn conversations are answered
right, through the terminal chat and through the Discord bot.

    python -m bench.followups [--index /tmp/followups-index] [--only terminal|discord]

The conversations are bench/followups.json (the sample corpus and news-dev-small); each
follow-up names nothing of its subject ("Was anyone hurt?"). Those marked `heldout` were
written before the method's changes were chosen on the others; both sets are reported.
The terminal chat's path is its `ChatSession` fed the two lines; the Discord path is the
real bot against the Discord-protocol stand-in (standins/), the follow-up a reply to the
first answer. Both ask through the core's `Conversation`. "Asked alone" is each
follow-up with no history: what the conversation adds. The index (sample + news-dev-small, the
bundled model) is built into --index when it is not there, and reused after.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.common import DATA, REPO, print_table
from bot.settings import BotSettings, bot_settings
from retrieval.app import NewsApp
from retrieval.types import Answer

SET = Path(__file__).with_name("followups.json")
Asker = Callable[[str, str], tuple[Answer, Answer]]  # (first, follow-up) -> both answers


def right(answer: Answer, golds: list[str]) -> bool:
    """Not declined, and holding one of the gold strings (case and spacing aside)."""
    text = " ".join(answer.text.lower().split())
    return not answer.declined and any(" ".join(g.lower().split()) in text for g in golds)


def open_app(index_dir: Path, work: Path) -> tuple[NewsApp, BotSettings]:
    settings = bot_settings(index_dir=index_dir, discord_user_cooldown=0.0,
                            discord_guild_per_minute=10_000,
                            discord_feedback_db=work / "feedback.sqlite")
    app = NewsApp.open(settings, create=True)
    if not app.stats()["articles"]:
        sources = [REPO / "corpus" / "sample", DATA / "news-dev-small" / "articles.jsonl.gz"]
        print(f"indexing {', '.join(str(s) for s in sources)} into {index_dir} ...", flush=True)
        app.index(sources)
    return app, settings


def terminal_asker(app: NewsApp) -> Asker:
    """A fresh terminal chat per conversation, fed its two lines."""
    from rich.console import Console

    from bot.chat import ChatSession

    def ask(first: str, followup: str) -> tuple[Answer, Answer]:
        chat = ChatSession(app, Console(file=io.StringIO(), width=120))
        chat.handle(first)
        one = chat.last
        chat.handle(followup)
        assert one is not None and chat.last is not None and chat.last is not one
        return one, chat.last

    return ask


class DiscordAsker:
    """The real bot against the stand-in: a mention, then a reply to the bot's answer."""

    def __init__(self, app: NewsApp, settings: BotSettings) -> None:
        from bot.discord.client import NewsbotClient
        from standins.discord_server import ClientThread, FakeDiscord

        self.server = FakeDiscord(heartbeat_interval=5.0)
        self.running = contextlib.ExitStack()
        self.running.enter_context(self.server.running())  # discord.py pointed at it
        self.client = NewsbotClient(app, settings, None, guild_ready_timeout=0.1)
        self.thread = ClientThread(self.client, self.server.token).start()
        self.channel = self.server.channel_id("news")

    def turn(self, text: str, reply_to: int | None) -> tuple[Answer, int]:
        server, answers = self.server, self.client.conversations.last_answer
        answers.pop(self.channel, None)
        asked = server.message_create(f"<@{server.bot_id}> {text}", mentions_bot=True,
                                      channel_id=self.channel, reference=reply_to)
        sent = server.wait_for_message(self.channel, lambda m: bool(m.embeds) and (
            m.message_reference or {}).get("message_id") == asked["id"], timeout=300)
        server.wait_until(lambda: self.channel in answers, timeout=30)
        return answers[self.channel], sent.id

    def __call__(self, first: str, followup: str) -> tuple[Answer, Answer]:
        one, sent = self.turn(first, None)
        two, _ = self.turn(followup, sent)
        return one, two

    def close(self) -> None:
        self.thread.stop()
        self.running.close()


def run(name: str, ask: Asker, conversations: list[dict]) -> list[tuple[bool, bool, str]]:
    """(first right, second right, the follow-up's standalone question) per conversation."""
    results = []
    started = time.perf_counter()
    for c in conversations:
        one, two = ask(c["first"], c["followup"])
        results.append((not one.declined, right(two, c["answer"]), two.standalone_question))
    took = time.perf_counter() - started
    print(f"{name}: {sum(r[1] for r in results)}/{len(results)} second turns right "
          f"({took:.0f} s)", flush=True)
    return results


def alone(app: NewsApp, conversations: list[dict]) -> list[bool]:
    return [right(app.answer(c["followup"]), c["answer"]) for c in conversations]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=Path("/tmp/followups-index"))
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--only", choices=("terminal", "discord"))
    parser.add_argument("--match", default="", help="only conversations whose id matches")
    args = parser.parse_args()
    conversations = [c for c in json.loads(args.set.read_text())["conversations"]
                     if re.search(args.match, c["id"])]
    with tempfile.TemporaryDirectory() as work:
        app, settings = open_app(args.index, Path(work))
        try:
            columns = {"alone": [(True, r, "") for r in alone(app, conversations)]}
            print(f"asked alone: {sum(r[1] for r in columns['alone'])}/{len(conversations)}")
            if args.only != "discord":
                columns["terminal"] = run("terminal chat", terminal_asker(app), conversations)
            if args.only != "terminal":
                discord = DiscordAsker(app, settings)
                try:
                    columns["discord"] = run("Discord bot", discord, conversations)
                finally:
                    discord.close()
        finally:
            app.close()
    report(conversations, columns)


def report(conversations: list[dict], columns: dict[str, list[tuple[bool, bool, str]]]
           ) -> None:
    mark = {True: "right", False: "-"}
    last = list(columns)[-1]
    rows = [[c["id"], *(mark[columns[k][i][1]] for k in columns), columns[last][i][2]]
            for i, c in enumerate(conversations)]
    print_table(["conversation", *columns, f"standalone question ({last})"], rows)
    held = [bool(c.get("heldout")) for c in conversations]
    for name, results in columns.items():
        firsts = sum(r[0] for r in results)
        print(f"{name}: {sum(r[1] for r in results)}/{len(results)} second turns right"
              + (f", {firsts}/{len(results)} first turns answered" if name != "alone" else "")
              + by_set(results, held))


def by_set(results: list[tuple[bool, bool, str]], held: list[bool]) -> str:
    """The second turns right in the tuning set and in the held-out set, when both run."""
    if all(held) or not any(held):
        return ""
    counts = {side: [r[1] for r, h in zip(results, held, strict=True) if h is side]
              for side in (False, True)}
    return "".join(f"; {label} {sum(counts[side])}/{len(counts[side])}" for label, side
                   in (("tuning set", False), ("held-out set", True)))

if __name__ == "__main__":
    main()
