"""Rate limits for a busy server: one question per member every few seconds, and a cap
on the questions one server asks per minute (the machine answering is shared)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Cooldowns:
    def __init__(self, user_seconds: float, guild_per_minute: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.user_seconds = user_seconds
        self.guild_per_minute = guild_per_minute
        self.clock = clock
        self._last_by_user: dict[int, float] = {}
        self._recent_by_guild: dict[int, deque[float]] = {}

    def wait_for(self, user_id: int, guild_id: int | None) -> float:
        """Seconds to wait before this member may ask again (0: ask now, and it counts)."""
        now = self.clock()
        last = self._last_by_user.get(user_id)
        if last is not None and now - last < self.user_seconds:
            return self.user_seconds - (now - last)
        if guild_id is not None:
            recent = self._recent_by_guild.setdefault(guild_id, deque())
            while recent and now - recent[0] >= 60.0:
                recent.popleft()
            if len(recent) >= self.guild_per_minute:
                return 60.0 - (now - recent[0])
            recent.append(now)
        self._last_by_user[user_id] = now
        if len(self._last_by_user) > 10_000:  # forget members whose cooldown is long over
            self._last_by_user = {u: t for u, t in self._last_by_user.items()
                                  if now - t < self.user_seconds}
        return 0.0


def wait_message(seconds: float) -> str:
    return f"⏳ One moment: you can ask again in {max(1, round(seconds))} s."
