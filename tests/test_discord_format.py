"""The Discord embeds and message splitting against every Discord limit, with hostile
input: 10 k characters, @everyone, code fences, very long URLs. Real discord.py Embeds."""

from datetime import UTC, datetime

import discord
import pytest

from bot.discord.cooldowns import Cooldowns
from bot.discord.format import (
    DESCRIPTION_CHARS,
    EMBED_TOTAL,
    FIELD_NAME_CHARS,
    FIELD_VALUE_CHARS,
    MESSAGE_CHARS,
    TITLE_CHARS,
    answer_embeds,
    group_for_messages,
    split_text,
)
from retrieval.types import Answer, Source

LONG_URL = "https://news.example/" + "a/" * 1500 + "end"
HOSTILE = ("@everyone @here <@123> <@&456> ```python\nprint('x')\n``` **bold** "
           f"[a link]({LONG_URL}) ") * 40


def hostile_answer(text: str = HOSTILE * 3, sources: int = 30) -> Answer:
    return Answer(
        question="@everyone " + "why? " * 200, text=text, declined=False,
        sources=[Source(n=i + 1, title="Title " + "x" * 400, source="@here Outlet",
                        published_at=datetime(2024, 5, 1, tzinfo=UTC),
                        url=LONG_URL if i % 2 else f"https://news.example/{i}",
                        quote="Quote ```" + "y" * 3000) for i in range(sources)],
        citations_verified=1, citations_total=2, unsupported=["claim"])


def assert_within_limits(embed: discord.Embed) -> None:
    assert len(embed.title or "") <= TITLE_CHARS
    assert len(embed.description or "") <= DESCRIPTION_CHARS
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert len(field.name) <= FIELD_NAME_CHARS and len(field.value) <= FIELD_VALUE_CHARS
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= EMBED_TOTAL


def test_every_embed_of_a_hostile_answer_fits() -> None:
    embeds = answer_embeds(hostile_answer(), footer="llm · 1.2 s · " + "z" * 3000)
    assert len(embeds) >= 3  # a 40 k character answer spans several descriptions
    for embed in embeds:
        assert_within_limits(embed)
    for group in group_for_messages(embeds):
        assert len(group) <= 10 and sum(len(e) for e in group) <= EMBED_TOTAL
    text = "".join(e.description or "" for e in embeds)
    # No mass mention survives, and markdown from articles shows as written.
    assert "@everyone" not in text.replace("@\u200beveryone", "")
    assert "```" not in text
    first = embeds[0]
    assert first.fields and first.fields[0].name.startswith("[1] Title")
    assert "⚠️" in text  # the unverified citation is noted, as in the terminal


def test_links_are_never_cut() -> None:
    url = "https://news.example/" + "b/" * 300  # long, but shorter than a message
    pieces = split_text("word " * 300 + f"see [the report]({url}) now. " * 9, 2000)
    assert len(pieces) >= 3
    for piece in pieces:
        assert len(piece) <= MESSAGE_CHARS
        assert piece.count("[the report](") == piece.count(url + ")")
    fields = answer_embeds(hostile_answer(sources=2))[0].fields
    assert "link](" not in fields[1].value or LONG_URL + ">)" in fields[1].value


def test_a_short_answer_is_one_embed_with_numbered_sources() -> None:
    answer = Answer(question="Who won?", text="Argentina won on penalties [1].",
                    declined=False, sources=[Source(
                        n=1, title="Argentina beat France", source="", published_at=None,
                        url="https://sample.example/final", quote="Argentina won.")])
    (embed,) = answer_embeds(answer, footer="extractive · 0.2 s")
    assert embed.title == "Who won?" and embed.description == "Argentina won on penalties [1]."
    assert embed.fields[0].value.startswith("unknown outlet · undated · [link](<https://")
    assert embed.footer.text == "extractive · 0.2 s"


@pytest.mark.parametrize("length", [1, 1999, 2000, 2001, 10_000])
def test_split_text_keeps_every_word(length: int) -> None:
    text = ("abcdefghi " * (length // 10 + 1))[:length].strip()
    pieces = split_text(text, MESSAGE_CHARS)
    assert all(len(p) <= MESSAGE_CHARS for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_cooldowns_per_member_and_per_server() -> None:
    now = [0.0]
    limits = Cooldowns(user_seconds=10, guild_per_minute=3, clock=lambda: now[0])
    assert limits.wait_for(1, 100) == 0
    assert limits.wait_for(1, 100) == pytest.approx(10)
    now[0] = 5
    assert limits.wait_for(1, 100) == pytest.approx(5)
    assert limits.wait_for(2, 100) == 0 and limits.wait_for(3, 100) == 0
    assert limits.wait_for(4, 100) == pytest.approx(55)  # the server's 3 a minute are used
    assert limits.wait_for(5, None) == 0  # a DM counts against no server
    now[0] = 61
    assert limits.wait_for(4, 100) == 0


def test_the_lead_answer_is_bold_and_the_article_text_stays_plain() -> None:
    answer = Answer(question="Which country?", declined=False, short_answer="Mexico",
                    text="**Mexico** — Voters in *Mexico* elected her [1].", sources=[])
    (embed,) = answer_embeds(answer)
    assert embed.description.startswith("**Mexico** — Voters in \\*Mexico\\* elected")
    plain_answer = Answer(question="Which country?", declined=False, sources=[],
                          text="**Mexico** — written by the article itself [1].")
    (embed,) = answer_embeds(plain_answer)
    assert embed.description.startswith("\\*\\*Mexico\\*\\*")
