"""A conversation as the core keeps it: the last few answered turns, which a follow-up
("Was anyone hurt?") is read against. Every front end holds its conversations as these
values (the terminal chat one, the Discord bot one per reply chain and thread) and asks
through `Conversation.ask`, so what is remembered, and how much, is decided here once.

A `Conversation` never changes: `ask` returns the answer and the conversation after it.
That is what a reply chain needs (two replies to one answer are two conversations)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from retrieval.answer.followup import History
from retrieval.types import Answer, SearchFilters

MAX_TURNS = 6  # turns a follow-up is read against; older ones are dropped


class Answers(Protocol):
    """What a conversation asks: `NewsApp` (typed by its face, so the app can import this)."""

    def answer(self, question: str, history: History | None = None,
               filters: SearchFilters | None = None, today: date | None = None,
               on_token: Callable[[str], None] | None = None) -> Answer: ...


@dataclass(frozen=True)
class Conversation:
    turns: tuple[tuple[str, str], ...] = ()  # (standalone question, answer text), oldest first
    limit: int = MAX_TURNS

    @classmethod
    def of(cls, history: History, limit: int = MAX_TURNS) -> Conversation:
        """A conversation that carries on from turns kept elsewhere (a Discord message)."""
        return cls(tuple((q, a) for q, a in history)[-limit:] if limit else (), limit)

    @property
    def history(self) -> History:
        return list(self.turns)

    def after(self, answer: Answer) -> Conversation:
        """This conversation with the answer's turn added, past the limit the oldest dropped.
        A declined turn is kept without its text: a follow-up to it ("When did it begin?")
        is still about what was asked, and is better declined too than answered about
        something else."""
        if not self.limit:
            return self
        turns = (*self.turns, (answer.standalone_question, "" if answer.declined else answer.text))
        return replace(self, turns=turns[-self.limit:])

    def ask(self, app: Answers, question: str, *, filters: SearchFilters | None = None,
            today: date | None = None, on_token: Callable[[str], None] | None = None
            ) -> tuple[Answer, Conversation]:
        """The answer to the question asked in this conversation, and the conversation
        after it. A follow-up that names nothing takes its subject from the turns."""
        answer = app.answer(question, history=self.history, filters=filters, today=today,
                            on_token=on_token)
        return answer, self.after(answer)
