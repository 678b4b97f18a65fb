"""What the bot remembers of conversations: each answer message's turn (so a reply to it
carries the conversation before it, as reply chains do in llmcord), the history of the
threads it opened, and the last answer in each channel (for /sources)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from retrieval.app import History
from retrieval.types import Answer

MAX_TURNS = 6  # turns of history given with a follow-up
REMEMBERED = 5000  # answer messages, threads and channels kept in memory (older chains are
# read back from Discord; older threads carry on without their history)


@dataclass(frozen=True)
class Turn:
    question: str           # standalone, as searched
    answer: str
    previous: int | None    # the bot message this one followed up on


class Conversations:
    def __init__(self) -> None:
        self._turns: OrderedDict[int, Turn] = OrderedDict()
        self._threads: OrderedDict[int, History] = OrderedDict()
        self.last_answer: OrderedDict[int, Answer] = OrderedDict()  # by channel or thread

    def remember(self, message_id: int, answer: Answer, previous: int | None,
                 channel_id: int) -> None:
        self.last_answer[channel_id] = answer
        self.last_answer.move_to_end(channel_id)
        _trim(self.last_answer)
        if answer.declined:
            return
        self._turns[message_id] = Turn(answer.standalone_question, answer.text, previous)
        _trim(self._turns)

    def knows(self, message_id: int) -> bool:
        return message_id in self._turns

    def chain(self, message_id: int) -> History:
        """The turns that led to this answer message, oldest first."""
        turns: History = []
        current: int | None = message_id
        while current is not None and current in self._turns and len(turns) < MAX_TURNS:
            turn = self._turns[current]
            turns.append((turn.question, turn.answer))
            current = turn.previous
        return list(reversed(turns))

    def open_thread(self, thread_id: int, history: History) -> None:
        self._threads[thread_id] = list(history)[-MAX_TURNS:]
        _trim(self._threads)

    def thread_history(self, thread_id: int) -> History | None:
        return self._threads.get(thread_id)

    def add_to_thread(self, thread_id: int, answer: Answer) -> None:
        if thread_id in self._threads and not answer.declined:
            history = self._threads[thread_id]
            history.append((answer.standalone_question, answer.text))
            del history[:-MAX_TURNS]


def _trim(remembered: OrderedDict) -> None:
    while len(remembered) > REMEMBERED:
        remembered.popitem(last=False)
