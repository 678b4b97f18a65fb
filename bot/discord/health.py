"""The bot's watch on the services it leans on: one round of checks a minute, in a worker
thread; a line when any is unhealthy (so at most one a minute) and one when it recovers."""

from __future__ import annotations

import asyncio
import logging

from retrieval.app import HealthLog, service_checks
from retrieval.settings import Settings

log = logging.getLogger("newsbot.discord")
CHECK_EVERY_S = 60.0


def watches_anything(settings: Settings) -> bool:
    return bool(settings.index.database_url or settings.index.chroma_host
                or settings.llm.provider != "none")


async def watch_health(settings: Settings, every_s: float = CHECK_EVERY_S) -> None:
    said = HealthLog()
    while True:
        checks = await asyncio.to_thread(service_checks, settings)
        for line in said.observe(checks):
            (log.warning if line.startswith("unhealthy") else log.info)(line)
        await asyncio.sleep(every_s)
