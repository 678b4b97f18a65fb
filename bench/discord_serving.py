"""The bot served through the local Discord-protocol server (`standins/discord_server.py`),
for the load benchmarks (`discord_load.py` and its long test, `members_load.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.discord.client import NewsbotClient
from bot.settings import BotSettings
from retrieval.app import NewsApp
from retrieval.feedback import FeedbackStore
from standins.discord_payloads import member, snowflake, user
from standins.discord_server import ClientThread, FakeDiscord


@contextmanager
def serving(settings: BotSettings, build: bool, members: int
            ) -> Iterator[tuple[FakeDiscord, list[int]]]:
    """The bot connected to a local Discord-protocol server whose one guild has `members`
    members (their ids yielded), over the app on `settings`' index (the sample corpus
    indexed first when `build`), with the model warmed up; all closed after."""
    app = NewsApp.open(settings, chat_model=None, create=True)
    if build:
        app.index()
    feedback = FeedbackStore(settings.answers.feedback_db)
    server = FakeDiscord(heartbeat_interval=1.0, interaction_deadline=30.0)
    readers = [user(snowflake(), f"reader{i}") for i in range(members)]
    server.world.members.extend(member(u, []) for u in readers)
    try:
        with server.running():
            bot = ClientThread(NewsbotClient(app, settings, feedback, guild_ready_timeout=0.1),
                               server.token).start()
            try:
                app.search("warm up the model")
                yield server, [int(u["id"]) for u in readers]
            finally:
                bot.stop()
    finally:
        feedback.close()
        app.close()
