"""Removing web boilerplate from article text without touching story sentences.

Rules are line based: a line is dropped only when the whole line is boilerplate
(newsletter prompts, share buttons, cookie and consent notices, ad markers,
copyright lines, navigation menus). Sentences that merely mention a newsletter or
a cookie stay, because every rule is anchored or limited to short lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_I = re.IGNORECASE

# Whole lines that are always boilerplate, whatever their length.
_ALWAYS = [
    re.compile(p, _I)
    for p in (
        r"^advertisement\.?$",
        r"^(ad|sponsored( content)?|story continues below|continue reading)\.?$",
        r"^(read more|related|more news|see also|also read|up next|watch|listen)\s*[:>]*$",
        r"^(©|\(c\)|copyright\s*(©|\(c\))?\s*\d{4}\b).{0,120}$",
        r"^all rights reserved\.?$",
        r"delivered to your inbox",
        r"\bsign up (here|now|for|to (get|receive))\b",
        r"\bsubscribe (here|now|today|to (our|the) [\w’' ]{0,40}newsletter)\b",
        r"^(would you like to receive|get our free)\b.*newsletter",
        r"\bnewsletter (provides you|sign-?up)\b",
        r"(we use cookies|cookie (policy|settings|preferences)|accept (all )?cookies)",
        r"(details you have shared|use of your data in this way|please tick here)",
        r"\bincludes the week and other future publishing\b",
        r"how relevant is this ad to you",
        r"video player was slow to load",
        r"^(share|share this( article| story)?|share on \w+|click to share.*|print|email)$",
        r"^follow (us|[\w .'-]{2,40}) on (twitter|x|facebook|instagram|threads)\b.{0,80}$",
        r"purchases you make through our links",
        r"prices were accurate at the time",
        r"^check your local forecast",
        r"^this (story|article) has been updated with additional \w+\.?$",
        r"^.{0,40}\bcnn( business)? —$",
        # Datelines ("Published 5:03 PM EST Jan 5, 2023"); the date is read before cleaning.
        r"^(published|updated|posted)\b.{0,60}\b\d{4}\b.{0,30}$",
    )
]

_COPYRIGHT_LINE = re.compile(r"^(©|\(c\)|copyright\s*(©|\(c\))?\s*\d{4}\b)", _I)
# "© 2024 Outlet", "Copyright © 2024 Outlet", "© Copyright 2023, Outlet Co."
_COPYRIGHT = re.compile(
    r"^(?:(?:copyright|©|\(c\))\s*)*(?:\d{4}(?:[-–]\d{4})?\s*,?\s*)?(?P<outlet>.+?)\.?$", _I
)
_TERMINAL = re.compile(r"[.!?:\"”’)]$")
_SHORT_HEADING_WORDS = 6
_MENU_MIN_RUN = 8


@dataclass(frozen=True)
class CleanedText:
    text: str
    outlet: str  # from a copyright line, "" when none was found
    removed_lines: int


def _is_boilerplate(line: str) -> bool:
    return any(p.search(line) for p in _ALWAYS)


def _is_menu_item(line: str) -> bool:
    return 0 < len(line.split()) <= 3 and not _TERMINAL.search(line)


def _drop_menus(lines: list[str], keep: list[bool]) -> None:
    """Long runs of one-to-three word lines are navigation menus (state pickers, etc.)."""
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and _is_menu_item(lines[end]):
            end += 1
        if end - start >= _MENU_MIN_RUN:
            for i in range(start, end):
                keep[i] = False
        start = max(end, start + 1)


def clean_text(raw: str) -> CleanedText:
    """Return `raw` without boilerplate lines, and the outlet named by a copyright line."""
    lines = [line.strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    keep = [True] * len(lines)
    outlet = ""
    for i, line in enumerate(lines):
        if not line or not _is_boilerplate(line):
            continue
        keep[i] = False
        match = _COPYRIGHT.match(line) if _COPYRIGHT_LINE.match(line) else None
        if match and not outlet:
            outlet = match.group("outlet").strip(" .")
            outlet = re.sub(r"(?i)\s*all rights reserved$", "", outlet).strip(" .,")
        # A short title line right above a newsletter prompt belongs to it.
        prev = i - 1
        while prev >= 0 and not lines[prev]:
            prev -= 1
        if (
            prev >= 0
            and keep[prev]
            and len(lines[prev].split()) <= _SHORT_HEADING_WORDS
            and not _TERMINAL.search(lines[prev])
            and re.search(r"newsletter|inbox|sign up|subscribe", line, _I)
        ):
            keep[prev] = False
    _drop_menus(lines, keep)
    kept = [line for line, k in zip(lines, keep, strict=True) if k]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    removed = sum(1 for line, k in zip(lines, keep, strict=True) if line and not k)
    return CleanedText(text=text, outlet=outlet, removed_lines=removed)
