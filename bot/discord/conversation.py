"""Which conversation is which in Discord: the conversation after each answer message (so
a reply to it carries on from there, as reply chains do in llmcord), the conversation of
each thread the bot opened, and the last answer in each channel (for /sources). What a
conversation remembers, and how much, is the core's `Conversation`."""

from __future__ import annotations

from collections import OrderedDict

from retrieval.app import Conversation, History
from retrieval.types import Answer

REMEMBERED = 5000  # answer messages, threads and channels kept in memory (older chains are
# read back from Discord; older threads carry on without their history)


class Conversations:
    def __init__(self) -> None:
        self._after: OrderedDict[int, Conversation] = OrderedDict()  # by answer message
        self._threads: OrderedDict[int, Conversation] = OrderedDict()
        self.last_answer: OrderedDict[int, Answer] = OrderedDict()  # by channel or thread

    def remember(self, message_id: int, answer: Answer, after: Conversation,
                 channel_id: int) -> None:
        """The answer message `message_id` sent in the channel, and the conversation after it."""
        self.last_answer[channel_id] = answer
        self.last_answer.move_to_end(channel_id)
        _trim(self.last_answer)
        self._after[message_id] = after
        _trim(self._after)

    def knows(self, message_id: int) -> bool:
        return message_id in self._after

    def replying_to(self, message_id: int) -> Conversation:
        """The conversation a reply to this answer message carries on."""
        return self._after.get(message_id, Conversation())

    def chain(self, message_id: int) -> History:
        """The turns that led to this answer message, oldest first."""
        return self.replying_to(message_id).history

    def open_thread(self, thread_id: int, history: History) -> None:
        self._threads[thread_id] = Conversation.of(history)
        _trim(self._threads)

    def in_thread(self, thread_id: int) -> Conversation | None:
        return self._threads.get(thread_id)

    def thread_history(self, thread_id: int) -> History | None:
        conversation = self._threads.get(thread_id)
        return None if conversation is None else conversation.history

    def carry_on_thread(self, thread_id: int, message_id: int) -> None:
        """The thread's conversation is now the one after the answer message sent in it."""
        if thread_id in self._threads and message_id in self._after:
            self._threads[thread_id] = self._after[message_id]


def _trim(remembered: OrderedDict) -> None:
    while len(remembered) > REMEMBERED:
        remembered.popitem(last=False)
