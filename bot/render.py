"""Rendering for a terminal with rich: answers with ⚠️ notes and numbered sources,
passages, index statistics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from retrieval.types import Answer, Passage, day_of

SOURCES_SHOWN = 8


def outlet(name: str) -> str:
    return name or "unknown outlet"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def answer_notes(answer: Answer) -> list[str]:
    notes = list(answer.notes)
    if answer.unsupported:
        notes.append(f"⚠️ {plural(len(answer.unsupported), 'sentence')} could not be matched "
                     "to the passage they cite.")
    if answer.citations_total and answer.citations_verified < answer.citations_total:
        notes.append(f"⚠️ citations verified: {answer.citations_verified}/"
                     f"{answer.citations_total}")
    return notes


def print_answer(console: Console, answer: Answer, streamed: bool = False) -> None:
    if not streamed:
        lead, body = answer.lead_and_body()
        text = Text(body, style="bold" if not answer.declined else "yellow")
        if lead:
            text = Text.assemble((lead, "bold green"), " — ", text)
        console.print(text)
    for note in answer_notes(answer):
        console.print(Text(note, style="yellow"))
    if answer.sources:
        console.print()
    for source in answer.sources:
        link = f"[link={escape(source.url)}]{escape(source.url)}[/link]" if source.url else ""
        also = f" · also in {escape(', '.join(source.also_in))}" if source.also_in else ""
        console.print(f"[bold cyan][{source.n}][/] {escape(source.title)} "
                      f"[dim]· {escape(outlet(source.source))} · {day_of(source.published_at)}"
                      f"{also}[/] {link}")


def print_sources(console: Console, answer: Answer | None) -> None:
    """The passages behind the last answer, with the quoted sentence highlighted."""
    if answer is None or not answer.sources:
        console.print("[dim]No sources yet: ask a question first.[/]")
        return
    for source in answer.sources:
        console.print(f"[bold cyan][{source.n}][/] [bold]{escape(source.title)}[/] "
                      f"[dim]· {escape(outlet(source.source))} · {day_of(source.published_at)} · "
                      f"{escape(source.url)}[/]")
        text = Text(source.passage or source.quote)
        if source.quote:
            text.highlight_words([source.quote], style="reverse")
        console.print(text)
        console.print()


def print_passages(console: Console, passages: list[Passage]) -> None:
    if not passages:
        console.print("No passages found.")
    for n, p in enumerate(passages, start=1):
        console.print(Text(f"[{n}] {p.title}", style="bold"))
        console.print(Text(f"    {outlet(p.source)} · {day_of(p.published_at)} · "
                           f"score {p.score:.3f} · {p.url}", style="dim"))
        if p.also_in:
            console.print(Text(f"    also in: {', '.join(p.also_in)}", style="dim"))
        flat = " ".join(p.text.split())
        text = flat if len(flat) <= 300 else flat[:300].rsplit(" ", 1)[0] + " …"
        console.print(Text(f"    {text}\n"))


def top_sources(sources: dict[str, int], show: Callable[[str], str] = str) -> str:
    """'A (3), B (2) and 4 more': the outlets with most articles first."""
    shown = ", ".join(f"{show(s)} ({n})" for s, n in list(sources.items())[:SOURCES_SHOWN])
    if len(sources) > SOURCES_SHOWN:
        shown += f" and {len(sources) - SOURCES_SHOWN} more"
    return shown


def stats_lines(data: dict[str, Any]) -> list[str]:
    sources: dict[str, int] = data["sources"]
    shown = top_sources(sources)
    first, last = data["first_published"], data["last_published"]
    # An empty index (or one without dates) has no span to show.
    published = f"{(first or '?')[:10]} .. {(last or '?')[:10]}" if first or last \
        else "no dates"
    return [
        f"articles   {data['articles']} ({plural(data['duplicates'], 'exact duplicate')})",
        f"chunks     {data['chunks']}",
        f"sources    {len(sources)}: {shown}" if sources else "sources    none",
        f"published  {published}",
        f"model      {data['model'] or 'none yet'}",
        f"indexed    {data['last_indexed'] or 'never'}",
        f"size       {data['size_bytes'] / 1e6:.1f} MB in {data['index_dir']}",
    ]
