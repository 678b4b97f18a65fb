"""Metadata helpers shared by the readers: dates, outlets, authors."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlparse

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


def outlet_from_url(url: str) -> str:
    host = urlparse(url).hostname or ""
    host = host.removeprefix("www.")
    for domain, name in _OUTLETS.items():
        if host == domain or host.endswith("." + domain):
            return name
    return host


def _aware(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def date_from_url(url: str) -> datetime | None:
    match = _URL_DATE.search(urlparse(url).path)
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


def parse_date(value: object) -> datetime | None:
    """Read a date from the usual shapes: ISO 8601, RFC 2822, epoch seconds, a date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return _aware(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def join_authors(value: object) -> str:
    if isinstance(value, list):
        names = [a.get("name", "") if isinstance(a, dict) else str(a) for a in value]
        return ", ".join(n for n in names if n)
    if isinstance(value, dict):
        return str(value.get("name", ""))
    return str(value or "").strip()
