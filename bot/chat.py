"""The terminal chat: prompt_toolkit for line editing and history across sessions, rich
for rendering answers and sources."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory
from rich.console import Console

from bot.render import print_answer, print_sources
from corpus.errors import NewsbotError
from retrieval.answer import Answer
from retrieval.chain import Answerer
from retrieval.followup import History
from retrieval.settings import Settings

HELP = """Ask a question about the indexed news; follow-ups may refer to the last answer.
  /sources  the passages behind the last answer
  /reset    forget the conversation
  /help     this text
  /quit     leave (or Ctrl-D). Ctrl-C cancels an answer."""


def history_path(settings: Settings) -> Path:
    path = Path(settings.index_dir).expanduser().parent / "chat_history.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


class ChatSession:
    """One conversation: what was asked (as standalone questions) and the last answer."""

    def __init__(self, answerer: Answerer, console: Console) -> None:
        self.answerer = answerer
        self.console = console
        self.history: History = []
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
            self.history, self.last = [], None
            self.console.print("[dim]Conversation forgotten.[/]")
        elif command == "/sources":
            print_sources(self.console, self.last)
        elif command.startswith("/"):
            self.console.print(f"[yellow]Unknown command {command}; try /help[/]")
        else:
            self.ask(line.strip())
        return True

    def ask(self, question: str) -> None:
        streaming = self.answerer.chat_model is not None
        on_token = (lambda t: self.console.print(t, end="", markup=False)) if streaming else None
        try:
            with self.console.status("searching…") if not streaming else nullcontext():
                answer = self.answerer.answer(question, history=self.history, on_token=on_token)
        except KeyboardInterrupt:
            self.console.print("\n[yellow]Cancelled.[/]")
            return
        except NewsbotError as exc:
            self.console.print(f"[red]⚠️ {exc}[/]")
            return
        if streaming:
            self.console.print()
        print_answer(self.console, answer, streamed=streaming)
        self.last = answer
        if not answer.declined:
            self.history.append((answer.standalone_question, answer.text))


def run_chat(answerer: Answerer, settings: Settings) -> None:
    console = Console(highlight=False)
    stats = answerer.searcher.index.manifest.stats()
    console.print(f"[bold]newsbot[/] · {stats['articles']} articles · /help for commands")
    session = PromptSession(history=FileHistory(str(history_path(settings))))
    chat = ChatSession(answerer, console)
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
