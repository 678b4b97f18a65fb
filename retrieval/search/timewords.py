"""Time words in a question become a date window relative to the question's "today".

Explicit expressions ("in 2023", "since March", "yesterday", "in May 2022") give a
strict window: articles outside it are filtered out. Vague ones ("this week", "last
month", "recently") give a loose window that the ranking prefers but does not enforce,
so older background stories are not buried.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"  # noqa: E501
_UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "few": 3, "several": 4}


@dataclass(frozen=True)
class TimeWindow:
    since: date | None
    until: date | None
    strict: bool
    phrase: str


def _month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _last_occurrence(today: date, month: int) -> int:
    """The year of the most recent `month` not after today."""
    return today.year if month <= today.month else today.year - 1


def parse_time_words(question: str, today: date) -> TimeWindow | None:
    """The date window a question's time words describe, or None. A window wholly after
    today is none: "plan to merge in 2024", asked in 2023, says when something will
    happen, not when it was reported (no article is published in it yet)."""
    window = _window(question.lower(), today)
    if window is not None and window.since is not None and window.since > today:
        return None
    return window


def _window(q: str, today: date) -> TimeWindow | None:
    match = re.search(r"\b(?:in|during|of)\s+" + _MONTH + r"\.?,?\s+((?:19|20)\d{2})\b", q)
    if match:
        since, until = _month_bounds(int(match.group(2)), _MONTHS[match.group(1)[:3]])
        return TimeWindow(since, until, True, match.group(0))
    match = re.search(r"\b(?:in|during)\s+((?:19|20)\d{2})\b", q)
    if match:
        year = int(match.group(1))
        return TimeWindow(date(year, 1, 1), date(year, 12, 31), True, match.group(0))
    match = re.search(r"\bsince\s+" + _MONTH + r"\b(?:\s+((?:19|20)\d{2}))?", q)
    if match:
        month = _MONTHS[match.group(1)[:3]]
        year = int(match.group(2)) if match.group(2) else _last_occurrence(today, month)
        return TimeWindow(date(year, month, 1), today, True, match.group(0))
    match = re.search(r"\bsince\s+((?:19|20)\d{2})\b", q)
    if match:
        return TimeWindow(date(int(match.group(1)), 1, 1), today, True, match.group(0))
    match = re.search(r"\b(?:in|during)\s+" + _MONTH + r"\b", q)
    if match and not re.search(r"\bmay\b", match.group(0)):  # "in may" is usually a verb
        month = _MONTHS[match.group(1)[:3]]
        since, until = _month_bounds(_last_occurrence(today, month), month)
        return TimeWindow(since, until, True, match.group(0))
    if re.search(r"\byesterday\b", q):
        day = today - timedelta(days=1)
        return TimeWindow(day, day, True, "yesterday")
    if re.search(r"\btoday\b|\bthis morning\b|\btonight\b", q):
        return TimeWindow(today, today, True, "today")
    match = re.search(
        r"\b(?:(?:in|over|during) the )?(?:past|last)\s+(\d+|a|one|two|three|four|five|six|"
        r"seven|eight|nine|ten|few|several)\s+(day|week|month|year)s?\b", q)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else _NUMBERS[match.group(1)]
        return TimeWindow(today - timedelta(days=count * _UNITS[match.group(2)]), today, True,
                          match.group(0))
    match = re.search(r"\b(\d+|a|one|two|three|few|several)\s+(day|week|month|year)s?\s+ago\b", q)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else _NUMBERS[match.group(1)]
        center = today - timedelta(days=count * _UNITS[match.group(2)])
        slack = timedelta(days=max(1, _UNITS[match.group(2)] // 2))
        return TimeWindow(center - slack, center + slack, True, match.group(0))
    for phrase, days in (
        (r"\bthis week\b", 7), (r"\blast week\b", 14), (r"\bthis month\b", 31),
        (r"\blast month\b", 62), (r"\bthis year\b", 366), (r"\blast year\b", 731),
        (r"\b(recently|latest|lately|this weekend|last weekend)\b", 14),
    ):
        match = re.search(phrase, q)
        if match:
            if phrase == r"\bthis year\b":
                return TimeWindow(date(today.year, 1, 1), today, False, match.group(0))
            if phrase == r"\blast year\b":
                year = today.year - 1
                return TimeWindow(date(year, 1, 1), date(year, 12, 31), True, match.group(0))
            return TimeWindow(today - timedelta(days=days), today, False, match.group(0))
    return None
