"""Metadata helpers shared by the readers: dates, outlets, authors."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse

from corpus.errors import safe_text

# Outlets whose site name is not just their domain.
_OUTLETS = {
    "cnn.com": "CNN",
    "usatoday.com": "USA TODAY",
    "theweek.co.uk": "The Week",
    "theweek.com": "The Week",
    "bbc.co.uk": "BBC",
    "bbc.com": "BBC",
    "nytimes.com": "The New York Times",
    "theguardian.com": "The Guardian",
    "reuters.com": "Reuters",
    "apnews.com": "AP",
    "globalnews.ca": "Global News",
    "cbc.ca": "CBC",
}

_URL_DATE = re.compile(r"/(20\d{2}|19\d{2})[/-](\d{1,2})[/-](\d{1,2})(?:/|$)")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_TEXT_DATE = re.compile(
    r"\b(?:published|updated|posted)\b[^\n]{0,40}?\b([A-Za-z]{3,9})\.? (\d{1,2}), (\d{4})",
    re.IGNORECASE,
)


def _url_parts(url: str) -> tuple[str, str]:
    """(host, path) of a url; ("", "") for one urlparse rejects, like "http://[broken"."""
    try:
        parsed = urlparse(url)
        return parsed.hostname or "", parsed.path
    except ValueError:
        return "", ""


def outlet_from_url(url: str) -> str:
    host, _ = _url_parts(url)
    host = host.removeprefix("www.")
    for domain, name in _OUTLETS.items():
        if host == domain or host.endswith("." + domain):
            return name
    return host


def _aware(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def date_from_url(url: str) -> datetime | None:
    match = _URL_DATE.search(_url_parts(url)[1])
    if not match:
        return None
    try:
        return _aware(date(*(int(g) for g in match.groups())))
    except ValueError:
        return None


def date_from_text(text: str) -> datetime | None:
    """A "Published/Updated <Month> <day>, <year>" stamp near the top of the text."""
    match = _TEXT_DATE.search(text[:600])
    if not match:
        return None
    month = _MONTHS.get(match.group(1).lower())
    if not month:
        return None
    try:
        return _aware(date(int(match.group(3)), month, int(match.group(2))))
    except ValueError:
        return None


# Epoch numbers at least this big are milliseconds: as seconds it is the year 5138, as
# milliseconds 1973, and feeds write both.
_EPOCH_MS_FROM = 1e11
_EPOCH_TEXT = re.compile(r"-?\d{9,13}(?:\.\d+)?")
_MAX_DEPTH = 20  # nesting beyond this in a field is not text anyone wrote


def is_missing(value: object) -> bool:
    """Nothing there: None, "", [] or NaN (how many exporters write an empty cell)."""
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or value == "" or value == []


def _from_epoch(value: float) -> datetime | None:
    try:
        seconds = value / 1000 if abs(value) >= _EPOCH_MS_FROM else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, ValueError, OSError):  # NaN, infinity, beyond year 9999
        return None


def parse_date(value: object) -> datetime | None:
    """Read a date from the usual shapes: ISO 8601, RFC 2822, epoch seconds or
    milliseconds, a date; the first readable one of a list. None when there is none."""
    if is_missing(value) or isinstance(value, bool | dict):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return _aware(value)
    if isinstance(value, int | float):
        return _from_epoch(value)
    if isinstance(value, list | tuple):  # one level only: a list of lists is no date
        flat = (v for v in value[:_MAX_DEPTH] if not isinstance(v, list | tuple))
        return next((d for v in flat if (d := parse_date(v))), None)
    text = str(value).strip()
    if _EPOCH_TEXT.fullmatch(text):
        return _from_epoch(float(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_text(value: Any, depth: int = 0) -> str:
    """Best-effort text from a field of any JSON or YAML type: a list is joined with ", ",
    a dict gives its name; booleans, NaN and nesting past all reason give ""."""
    if depth > _MAX_DEPTH or is_missing(value) or isinstance(value, bool):
        return ""
    if isinstance(value, dict):  # e.g. {"name": "Reuters"} or {"#text": ...}
        names = (value.get(k) for k in ("name", "title", "#text", "@value"))
        return to_text(next((n for n in names if not is_missing(n)), None), depth + 1)
    if isinstance(value, list | tuple):
        parts = (to_text(v, depth + 1) for v in value)
        return ", ".join(p for p in parts if p)
    return safe_text(str(value)).strip()


def join_authors(value: object) -> str:
    """"Ann Lee, Bo Chan" from a name, a list of names, or {"name": ...} objects."""
    return to_text(value)
