"""Hard filters: the user's (outlet, since, until) narrowed by strict time words in the
question, and the same filters in Chroma's `where` language for the dense side."""

from __future__ import annotations

import difflib
from typing import Any

from retrieval.search.timewords import TimeWindow
from retrieval.types import SearchFilters

MAX_OUTLETS_SHOWN = 12  # in "no outlet named ..."


def narrow(filters: SearchFilters, window: TimeWindow | None) -> SearchFilters:
    """`filters` limited to a strict time window too ("in March 2023", "yesterday")."""
    if not window or not window.strict:
        return filters
    return SearchFilters(
        filters.sources,
        max(filter(None, [filters.since, window.since]), default=None),
        min(filter(None, [filters.until, window.until]), default=None),
    )


def dense_where(filters: SearchFilters, spellings: set[str]) -> dict[str, Any] | None:
    """Chroma's `where` for the filters; `spellings` are the outlet names as stored (the
    dense side matches them exactly, so every spelling of a wanted outlet is listed)."""
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": sorted(set(filters.sources) | spellings)}})
    if filters.since:
        clauses.append({"published_ts": {"$gte": filters.since_ts}})
    if filters.until:
        clauses.append({"published_ts": {"$lte": filters.until_ts}})
    return clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else None)



def no_such_outlet(name: str, outlets: list[str]) -> str:
    """What to say of an outlet filter that matches no indexed outlet (`outlets`, most
    articles first), with the closest name: a misspelling would otherwise find nothing,
    silently."""
    by_lower = {o.lower(): o for o in outlets}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    hint = f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
    shown = ", ".join(outlets[:MAX_OUTLETS_SHOWN]) or "none yet"
    more = len(outlets) - MAX_OUTLETS_SHOWN
    return (f"no outlet named {name!r}{hint}; outlets: {shown}"
            + (f" and {more} more" if more > 0 else ""))
