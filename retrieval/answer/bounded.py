"""A call of the chat model that never outlasts its deadline. The call runs in a worker
thread of its own; the question waits for it at most until the deadline, then goes on
without it (the worker ends at the HTTP client's own timeout, and any token it still
receives is dropped). Whatever the model wrote before it stopped is handed back, with
why it stopped, so the answerer can keep what it can verify or fall back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.errors import LLMError

OnToken = Callable[[str], None]
# The model call: given where to send each token (None: not streamed), the whole reply.
ModelCall = Callable[[OnToken | None], str]


@dataclass
class LLMReply:
    text: str          # the whole reply, or what arrived before it stopped
    failure: str = ""  # why it stopped short, in one line ("" when it did not)

    @property
    def complete(self) -> bool:
        return not self.failure


def call_before(deadline: float, call: ModelCall, on_token: OnToken | None,
                timed_out: Callable[[], str]) -> LLMReply:
    """`call`'s reply if it comes before `deadline` (a `time.monotonic()` value); else
    what it streamed so far, with `timed_out()` as the failure. A failure of the call
    (`LLMError`) comes back the same way, never raised."""
    parts: list[str] = []
    given_up = threading.Event()
    outcome: dict[str, str] = {}

    def relay(token: str) -> None:  # on the worker thread
        if given_up.is_set():
            return
        parts.append(token)
        if on_token is not None:
            on_token(token)

    def work() -> None:
        try:
            outcome["text"] = call(relay if on_token is not None else None)
        except LLMError as exc:
            outcome["failure"] = str(exc)

    worker = threading.Thread(target=work, name="newsbot-llm", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        given_up.set()
        return LLMReply("".join(parts), timed_out())
    if "failure" in outcome:
        return LLMReply("".join(parts), outcome["failure"])
    return LLMReply(outcome.get("text", ""))
