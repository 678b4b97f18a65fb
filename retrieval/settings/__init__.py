"""The settings, nested by concern: `settings.index`, `.embedding`, `.answers`, `.llm` and
`.feeds` here; bot adds `.discord` and `.chat` (`bot/settings.py`). Every field has its
default and description in its group (nowhere else); values come from the same `NEWSBOT_*`
environment variables (or `.env` file) as before the grouping. Library code takes
explicit arguments and falls back to these."""

from __future__ import annotations

import os
import re
from typing import Any, Self, TypeVar

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import SettingsError as SourceError

from retrieval.env_names import RETIRED, one_line_error, warn_unknown_names
from retrieval.errors import SettingsError
from retrieval.settings.answers import AnswerSettings, LlmSettings
from retrieval.settings.feeds import FeedSettings
from retrieval.settings.group import SettingsGroup, data_home
from retrieval.settings.index import BUNDLED_MODEL, EmbeddingSettings, IndexSettings

__all__ = ["BUNDLED_MODEL", "AnswerSettings", "EmbeddingSettings", "FeedSettings",
           "IndexSettings", "LlmSettings", "Settings", "SettingsGroup", "data_home",
           "get_settings", "load_settings"]


class Settings(BaseModel):
    """The core's settings: one group per concern, each reading its own variables."""

    index: IndexSettings = Field(default_factory=IndexSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)

    @classmethod
    def groups(cls) -> dict[str, type[SettingsGroup]]:
        """Each group's attribute name and class."""
        return {name: info.annotation for name, info in cls.model_fields.items()
                if isinstance(info.annotation, type) and issubclass(info.annotation,
                                                                    SettingsGroup)}

    @classmethod
    def env_names(cls) -> set[str]:
        """Every variable these settings read: complete once the class is defined, so
        what counts as a misspelling never depends on which modules were imported."""
        return {group.env_name(field) for group in cls.groups().values()
                for field in group.model_fields}

    @classmethod
    def by_group(cls, flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Values by their names before the grouping (`index_dir`, `llm_provider`), sorted
        into their groups (`{"index": {"dir": ...}, "llm": {"provider": ...}}`)."""
        where = {group.flat_name(field): (name, field)
                 for name, group in cls.groups().items() for field in group.model_fields}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            if key not in where:
                raise TypeError(f"{cls.__name__} has no setting {key!r}")
            name, field = where[key]
            nested.setdefault(name, {})[field] = value
        return nested

    def replace(self, **flat: Any) -> Self:
        """A copy with some values changed, named as `get_settings` takes them."""
        return self.model_copy(update={
            name: getattr(self, name).model_copy(update=fields)
            for name, fields in self.by_group(flat).items()})


S = TypeVar("S", bound=Settings)


def load_settings(cls: type[S], overrides: dict[str, object]) -> S:
    """Settings of class `cls` from the environment, with explicit values (named as before
    the grouping) winning. A malformed value is a `SettingsError` naming the variable and
    what it accepts; an unknown `NEWSBOT_*` name close to one that `cls` reads is warned
    about (the front ends load their own class, which holds the core's groups too)."""
    warn_unknown_names(cls.env_names() | set(RETIRED))
    for old, new in RETIRED.items():
        if os.environ.get(old) is not None:
            raise SettingsError(f"{old} is no longer read: {new}")
    nested = cls.by_group({k: v for k, v in overrides.items() if v is not None})
    groups, problems = {}, []
    for name, group in cls.groups().items():
        try:
            groups[name] = group(**nested.get(name, {}))
        except ValidationError as exc:
            problems.append(one_line_error(exc, group.env_name))
        except SourceError as exc:  # a value the environment source could not even parse
            field = re.search(r'field "(\w+)"', str(exc))
            where = group.env_name(field[1]) if field else f"a setting of {name}"
            problems.append(f"{where} is not accepted: its value could not be parsed")
    if problems:
        raise SettingsError("; ".join(problems))
    return cls(**groups)


def get_settings(**overrides: object) -> Settings:
    """The core's settings (see `load_settings`); bot's `get_settings` adds its groups."""
    return load_settings(Settings, overrides)
