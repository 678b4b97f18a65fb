"""The terminal chat: prompt_toolkit for line editing and history across sessions, rich
for rendering answers and sources."""

from __future__ import annotations

import logging
import sys
from contextlib import nullcontext
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory
from rich.console import Console
from rich.markup import escape

from bot.context import error_text
from bot.render import print_answer, print_sources
from retrieval.app import Conversation, NewsApp
from retrieval.errors import NewsbotError
from retrieval.types import Answer

log = logging.getLogger(__name__)

HELP = """Ask a question about the indexed news; follow-ups may refer to the last answer.
  /sources  the passages behind the last answer
  /reset    forget the conversation
  /help     this text
  /quit     leave (or Ctrl-D). Ctrl-C cancels an answer."""


class ChatSession:
    """One conversation (the core's, bounded) and the last answer, for /sources."""

    def __init__(self, app: NewsApp, console: Console) -> None:
        self.app = app
        self.console = console
        self.conversation = Conversation()
        self.last: Answer | None = None

    def handle(self, line: str) -> bool:
        """Act on one input line; False means leave."""
        command = line.strip().lower()
        if not command:
            return True
        if command in ("/quit", "/exit", "/q"):
            return False
        if command == "/help":
            self.console.print(HELP, markup=False)
        elif command == "/reset":
            self.conversation, self.last = Conversation(), None
            self.console.print("[dim]Conversation forgotten.[/]")
        elif command == "/sources":
            print_sources(self.console, self.last)
        elif command.startswith("/"):
            self.console.print(f"[yellow]Unknown command {command}; try /help[/]")
        else:
            self.ask(line.strip())
        return True

    def ask(self, question: str) -> None:
        streaming = self.app.streams
        on_token = (lambda t: self.console.print(t, end="", markup=False)) if streaming else None
        try:
            with self.console.status("searching…") if not streaming else nullcontext():
                answer, after = self.conversation.ask(self.app, question, on_token=on_token)
        except KeyboardInterrupt:
            self.console.print("\n[yellow]Cancelled.[/]")
            return
        except NewsbotError as exc:
            self.console.print(f"[red]⚠️ {escape(error_text(exc))}[/]")
            return
        except Exception as exc:  # a library failure must not end the chat
            log.exception("answering %r failed", question)
            self.console.print(f"[red]⚠️ something went wrong: {type(exc).__name__}: {exc}[/]")
            return
        if streaming:
            self.console.print()
        print_answer(self.console, answer, streamed=streaming and answer.answerer == "llm")
        self.last, self.conversation = answer, after


def run_chat(app: NewsApp, history_file: Path) -> None:
    """The chat at a terminal; the questions typed are kept in `history_file`."""
    console = Console(highlight=False)
    stats = app.stats()
    console.print(f"[bold]newsbot[/] · {stats['articles']} articles · /help for commands")
    chat = ChatSession(app, console)
    if not sys.stdin.isatty():  # piped questions: plain lines, no line editor to echo them
        for line in sys.stdin:
            if line.strip():  # echoed, so the output reads back against its input
                console.print(f"> {line.strip()}", markup=False, highlight=False)
            if not chat.handle(line.rstrip("\r\n")):
                break
        console.print("[dim]Bye.[/]")
        return
    path = Path(history_file).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    session: PromptSession[str] = PromptSession(history=FileHistory(str(path)))
    while True:
        try:
            line = session.prompt("you> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        if not chat.handle(line):
            break
    console.print("[dim]Bye.[/]")
