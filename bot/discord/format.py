"""Answers as Discord embeds, inside every Discord limit, split cleanly.

Discord refuses a message over its limits, so every piece is measured here: 2,000
characters of message text, 4,096 of embed description, 256 of title or field name,
1,024 of field value, 25 fields, 2,048 of footer, 6,000 for all embeds of one message.
Text is cut at paragraph, sentence or word ends and never inside a link."""

from __future__ import annotations

import re

import discord

from bot.render import answer_notes, outlet, top_sources
from retrieval.errors import Fix, NewsbotError
from retrieval.types import Answer, ArticleSummary, day_of

# What to do about an error, said to a member of a server: they have no shell, and only
# an admin may reindex.
FIX_ON_DISCORD = {
    Fix.INDEX: "an admin must index the articles first (`/reindex`)",
    Fix.INDEX_AGAIN: "an admin must index the articles again (`/reindex`)",
    Fix.REBUILD: "an admin must rebuild the index",
    Fix.AWAIT_REBUILD: "ask again once the index is rebuilt",
    Fix.AWAIT_INDEX: "ask again in a moment, while the articles are being indexed",
    Fix.ADD_FEED: "an admin can subscribe to one",
    Fix.LIST_FEEDS: "an admin can list them",
}

MESSAGE_CHARS = 2000
DESCRIPTION_CHARS = 4096
TITLE_CHARS = 256
FIELD_NAME_CHARS = 256
FIELD_VALUE_CHARS = 1024
FIELDS = 25
FOOTER_CHARS = 2048
EMBED_TOTAL = 6000
SOURCES_SHOWN = 10
THREAD_NAME_CHARS = 100

# Pieces that must never be cut: markdown links and bare URLs.
_ATOMS = re.compile(r"\[[^\]\n]*\]\(<?[^)\s]+>?\)|<?https?://\S+")
_BREAKS = ("\n\n", "\n", ". ", "; ", ", ", " ")


def _safe_cut(text: str, limit: int) -> int:
    """The largest cut position <= limit that is not inside a link or URL."""
    for atom in _ATOMS.finditer(text):
        if atom.start() < limit < atom.end():
            return atom.start()
    return limit


def _cut_point(text: str, limit: int) -> int:
    hard = _safe_cut(text, limit)
    window = text[:hard]
    for mark in _BREAKS:
        at = window.rfind(mark)
        if at > limit // 3:
            return _safe_cut(text, at + len(mark))
    return hard if hard > 0 else limit  # one unbreakable atom longer than the limit


def split_text(text: str, limit: int = MESSAGE_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at the best break before the limit."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        at = _cut_point(rest, limit)
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (with an ellipsis) at a clean break."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return split_text(text, limit - 1)[0] + "…"


def plain(text: str) -> str:
    """Article text shown as written: no markdown effects, no mass mentions."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _source_field(answer: Answer, index: int, quote_chars: int) -> tuple[str, str]:
    source = answer.sources[index]
    name = clip(f"[{source.n}] {source.title or 'Untitled'}", FIELD_NAME_CHARS)
    where = f"{plain(outlet(source.source))} · {day_of(source.published_at)}"
    if source.also_in:
        where += f" · also in {clip(plain(', '.join(source.also_in)), 200)}"
    link = f" · [link](<{source.url}>)" if source.url.startswith(("http://", "https://")) \
        else ""
    head = where + (link if len(where) + len(link) <= FIELD_VALUE_CHARS else "")
    room = min(quote_chars, FIELD_VALUE_CHARS - len(head) - 3)
    quote = clip(plain(source.quote), room) if source.quote and room > 20 else ""
    return name, head + (f"\n> {quote}" if quote else "")


def answer_embeds(answer: Answer, footer: str = "") -> list[discord.Embed]:
    """The answer as embeds: the first with the question, the answer with its [n]
    markers, the ⚠️ notes and the numbered sources; more only when the answer is longer
    than one description. Each list fits one message (at most 6,000 characters)."""
    lead, body = answer.lead_and_body()
    body = f"**{plain(lead)}** — {plain(body)}" if lead else plain(body)
    notes = answer_notes(answer)
    if notes:
        body += "\n\n" + "\n".join(notes)
    parts = split_text(body, DESCRIPTION_CHARS) or ["…"]
    colour = discord.Colour.greyple() if answer.declined else discord.Colour.blurple()
    first = discord.Embed(title=clip(plain(answer.question), TITLE_CHARS),
                          description=parts[0], colour=colour)
    quote_chars = FIELD_VALUE_CHARS
    while True:  # shorter quotes until the whole embed fits
        first.clear_fields()
        for i in range(min(len(answer.sources), SOURCES_SHOWN, FIELDS)):
            name, value = _source_field(answer, i, quote_chars)
            first.add_field(name=name, value=value, inline=False)
        text = clip(footer, FOOTER_CHARS)
        first.set_footer(text=text or None)
        if len(first) <= EMBED_TOTAL or quote_chars < 40:
            break
        quote_chars //= 2
    while len(first) > EMBED_TOTAL and first.fields:
        first.remove_field(-1)
    rest = [discord.Embed(description=part, colour=colour) for part in parts[1:]]
    return [first, *rest]


def group_for_messages(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """Embeds grouped so that no message carries more than 6,000 characters or 10."""
    groups: list[list[discord.Embed]] = []
    for embed in embeds:
        if groups and len(groups[-1]) < 10 and \
                sum(len(e) for e in groups[-1]) + len(embed) <= EMBED_TOTAL:
            groups[-1].append(embed)
        else:
            groups.append([embed])
    return groups


def articles_embed(title: str, articles: list[ArticleSummary]) -> discord.Embed:
    lines = []
    for a in articles:
        name = plain(a.title or "Untitled")
        head = f"[{name}](<{a.url}>)" if a.url.startswith(("http://", "https://")) else name
        lines.append(f"**{day_of(a.published_at)}** · {head} · {plain(outlet(a.source))}")
    text = "\n".join(lines) or "No articles found."
    return discord.Embed(title=clip(title, TITLE_CHARS),
                         description=split_text(text, DESCRIPTION_CHARS)[0])


def stats_embed(data: dict[str, object]) -> discord.Embed:
    sources = data["sources"]
    assert isinstance(sources, dict)
    top = top_sources(sources, plain)
    embed = discord.Embed(title="What newsbot has read")
    embed.add_field(name="Articles", value=str(data["articles"]))
    embed.add_field(name="Passages", value=str(data["chunks"]))
    first = str(data["first_published"] or "?")[:10]
    last = str(data["last_published"] or "?")[:10]
    embed.add_field(name="Published", value=f"{first} .. {last}")
    embed.add_field(name=f"Sources ({len(sources)})", value=clip(top or "none",
                                                                  FIELD_VALUE_CHARS),
                    inline=False)
    embed.add_field(name="Last index run", value=str(data["last_indexed"] or "never"))
    return embed


def error_text(exc: NewsbotError) -> str:
    """A domain error for a Discord member, with what an admin does about it."""
    return f"{exc}; {FIX_ON_DISCORD[exc.fix]}" if exc.fix else str(exc)
