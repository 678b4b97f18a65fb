"""Rendering answers for a terminal with rich: text, ⚠️ notes, numbered sources."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from retrieval.answer import Answer


def answer_notes(answer: Answer) -> list[str]:
    notes = []
    if answer.unsupported:
        notes.append(f"⚠️ {len(answer.unsupported)} sentence(s) could not be matched to "
                     "the passage they cite.")
    if answer.citations_total and answer.citations_verified < answer.citations_total:
        notes.append(f"⚠️ citations verified: {answer.citations_verified}/"
                     f"{answer.citations_total}")
    return notes


def print_answer(console: Console, answer: Answer, streamed: bool = False) -> None:
    if not streamed:
        console.print(Text(answer.text, style="bold" if not answer.declined else "yellow"))
    for note in answer_notes(answer):
        console.print(Text(note, style="yellow"))
    if answer.sources:
        console.print()
    for source in answer.sources:
        day = (source.published_at or "undated")[:10]
        link = f"[link={escape(source.url)}]{escape(source.url)}[/link]" if source.url else ""
        console.print(f"[bold cyan][{source.n}][/] {escape(source.title)} "
                      f"[dim]· {escape(source.source)} · {day}[/] {link}")


def print_sources(console: Console, answer: Answer | None) -> None:
    """The passages behind the last answer, with the quoted sentence highlighted."""
    if answer is None or not answer.sources:
        console.print("[dim]No sources yet: ask a question first.[/]")
        return
    for source in answer.sources:
        day = (source.published_at or "undated")[:10]
        console.print(f"[bold cyan][{source.n}][/] [bold]{escape(source.title)}[/] "
                      f"[dim]{escape(source.source)} · {day} · {escape(source.url)}[/]")
        text = Text(source.passage or source.quote)
        if source.quote:
            text.highlight_words([source.quote], style="reverse")
        console.print(text)
        console.print()
