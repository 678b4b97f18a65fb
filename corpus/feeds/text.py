"""Text from feeds, made safe to store: HTML fragments as plain text, metadata on one line
without control characters, bodies that the Markdown reader takes back unchanged."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from corpus.errors import safe_text

# Tags after which a fragment's text starts a new line.
_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
           "blockquote", "pre", "tr", "table", "section", "article", "figure", "figcaption",
           "hr", "dd", "dt"}
_SKIPPED = {"script", "style", "template", "noscript", "head"}
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_MAX_TITLE = 500  # a headline longer than this is not one; it would swamp keyword search


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment (a feed item's summary or content), a line per block."""
    if "<" not in fragment and "&" not in fragment:
        return clean_body(fragment)
    parser = _TextOf()
    parser.feed(fragment)
    parser.close()
    return clean_body("".join(parser.parts))


def _no_controls(text: str, keep: str = "") -> str:
    """Control, line-separator and similar characters as spaces (a NUL would even make
    the file look binary to the reader); lone surrogates as U+FFFD."""
    return "".join(
        ch if ch in keep or unicodedata.category(ch) not in ("Cc", "Zl", "Zp") else " "
        for ch in safe_text(text)
    )


def one_line(text: str, limit: int | None = None) -> str:
    """Metadata text (a title, an author) on one line, spaces collapsed, at most `limit`."""
    line = " ".join(_no_controls(text).split())
    if limit and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def title_line(text: str) -> str:
    return one_line(text, _MAX_TITLE)


def clean_body(text: str) -> str:
    """Lines stripped, runs of blank lines made one, no control characters."""
    text = _no_controls(text.replace("\r\n", "\n").replace("\r", "\n"), keep="\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
