"""OPML 2.0 (http://opml.org/spec2.opml), the list of feeds every feed reader imports and
exports.

Read with ElementTree, with the care defusedxml takes: a document type declaration is
refused before any entity in it is declared (so no entity expansion bomb and no external
entity), and files past a size cap are not read at all."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from corpus.errors import safe_name
from corpus.feeds.errors import FeedError
from corpus.feeds.text import one_line

MAX_OPML_BYTES = 5_000_000  # tens of thousands of feeds; anything larger is not a list


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    name: str  # "" when the outline has neither text nor title


class _Refused(Exception):
    pass


class _NoDoctype(ET.TreeBuilder):
    """OPML needs no DTD; a document that declares one is refused while it is parsed."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Refused("a document type declaration (DOCTYPE) is not accepted")


def _attribute(element: ET.Element, name: str) -> str:
    """An attribute by name, whatever its case (`xmlUrl`, `xmlurl` are both seen)."""
    wanted = name.lower()
    return next((v for k, v in element.attrib.items() if k.lower() == wanted), "")


def parse_opml(data: bytes, where: str = "the OPML file") -> list[OpmlFeed]:
    """Every outline with an `xmlUrl`, in document order, at any depth (folders of
    feeds are flattened)."""
    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except _Refused as exc:
        raise FeedError(f"{where}: {exc}") from None
    except ET.ParseError as exc:
        raise FeedError(f"{where}: not valid XML ({exc})") from None
    if root.tag != "opml":
        raise FeedError(f"{where}: not OPML (the document is <{one_line(root.tag, 40)}>)")
    found = []
    for outline in root.iter("outline"):
        url = _attribute(outline, "xmlUrl").strip()
        if url:
            name = _attribute(outline, "text") or _attribute(outline, "title")
            found.append(OpmlFeed(url, one_line(name, 100)))
    return found


def read_opml(path: Path) -> list[OpmlFeed]:
    where = safe_name(path)
    try:
        size = path.stat().st_size
        if size > MAX_OPML_BYTES:
            raise FeedError(f"{where}: too large for a list of feeds ({size / 1e6:.1f} MB; "
                            f"the limit is {MAX_OPML_BYTES / 1e6:g} MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read {where}: {exc.strerror or exc}") from None
    return parse_opml(data, where)


def opml_text(feeds: list[tuple[str, str]], title: str = "newsbot feeds") -> str:
    """An OPML 2.0 document for (name, url) pairs."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    for name, url in feeds:
        ET.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=url)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
