"""What every settings group shares: where its values come from (`NEWSBOT_*` environment
variables or a `.env` file) and the variable that sets each field, which the one-line
errors and the misspelled-name warning name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from pydantic_settings import BaseSettings, SettingsConfigDict


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "newsbot"


class SettingsGroup(BaseSettings):
    """Settings of one concern. A group's `env_prefix` makes its field names short
    (`llm.provider` is NEWSBOT_LLM_PROVIDER); a field whose variable does not follow the
    prefix names it with `validation_alias`, so no variable changed name when the settings
    were grouped."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )
    # The pairs of fields that only mean something together, with what the pair is for.
    pairs: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets a field."""
        info = cls.model_fields.get(field)
        alias = info.validation_alias if info else None
        if isinstance(alias, str):
            return alias
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    @classmethod
    def flat_name(cls, field: str) -> str:
        """The field's name before settings were grouped: its variable without NEWSBOT_,
        in lower case (`index_dir`, `discord_token`); `get_settings` takes these."""
        return cls.env_name(field).lower().removeprefix("newsbot_")

    def check_pairs(self) -> None:
        """Both or neither of each pair; called by a group's `model_validator`."""
        for what, a, b in self.pairs:
            have = [f for f in (a, b) if getattr(self, f) not in (None, "")]
            if len(have) == 1:
                other = b if have[0] == a else a
                raise ValueError(f"{what} needs both {self.env_name(a)} and "
                                 f"{self.env_name(b)}: {self.env_name(have[0])} is set but "
                                 f"{self.env_name(other)} is not")

