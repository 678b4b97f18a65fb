"""The feeds' settings: where their state and articles live, how pages are fetched, and
how often `newsbot watch` looks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pydantic
from pydantic import Field
from pydantic_settings import NoDecode

from corpus.feeds.policy import host_list
from retrieval.settings.group import SettingsGroup

HostList = Annotated[list[str], NoDecode, pydantic.BeforeValidator(host_list)]  # comma-separated


class FeedSettings(SettingsGroup):
    """`settings.feeds`: the feeds an index polls, fetching, and watching."""

    db: Path | None = Field(
        default=None, validation_alias="NEWSBOT_FEEDS_DB",
        description="The feeds an index polls and what was fetched for it; "
        "unset: `feeds.sqlite` in the index folder. Set, one file serves every index that "
        "uses it, each still fetching the articles its own feeds folder lacks.")
    dir: Path | None = Field(
        default=None, validation_alias="NEWSBOT_FEEDS_DIR",
        description="Folder new feed articles are written to (then indexed); "
        "unset: a `feeds` folder in the index folder.")
    fetch_timeout: float = Field(default=20.0, gt=0,
                                 description="Seconds to wait for a feed or a page.")
    fetch_max_page_mb: float = Field(default=5.0, gt=0,
                                     description="Larger pages are not downloaded.")
    fetch_per_host: int = Field(default=2, ge=1, le=16,
                                description="Requests at once to one host.")
    fetch_user_agent: str = Field(
        default="newsbot/0.1 (+https://github.com/newsbot; a news question-answering bot)",
        description="The User-Agent of every request.")
    fetch_allow_hosts: HostList = Field(
        default_factory=list, description="Host names or addresses (comma-separated) feeds "
        "may lead to although private (loopback, private networks, link-local...).")
    watch_poll_minutes: float = Field(
        default=15.0, gt=0, description="`newsbot watch` polls the feeds this often.")
    watch_debounce_s: float = Field(
        default=2.0, ge=0, description="`newsbot watch` waits this long after the last change "
        "to a file before reading it (so a file being written is not read half-way).")
