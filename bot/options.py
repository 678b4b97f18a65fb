"""Options and output helpers shared by several commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from retrieval.types import SearchFilters


def parse_day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2023-03-31", param_hint=name) \
            from None


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--source, --since, --until and --today, shared by search and ask."""
    for option in reversed([
        click.option("--source", "sources", multiple=True,
                     help="Only this outlet (repeatable)."),
        click.option("--since", help="Only articles published on or after this date "
                     "(YYYY-MM-DD)."),
        click.option("--until", help="Only articles published on or before this date "
                     "(YYYY-MM-DD)."),
        click.option("--today", help="The date time words such as 'last week' count from."),
    ]):
        command = option(command)
    return command


def filters_of(sources: tuple[str, ...], since: str | None, until: str | None
               ) -> SearchFilters:
    from retrieval.types import SearchFilters

    return SearchFilters(tuple(sources), parse_day(since, "--since"), parse_day(until, "--until"))


def echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
