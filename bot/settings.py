"""The front ends' settings: the Discord bot's and the terminal chat's, as groups beside the
core's (`settings.discord`, `settings.chat`). They live here because only bot reads them;
the core never imports bot. Defining the groups registers their variables, so a misspelled
NEWSBOT_DISCORD_* name is warned about like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from retrieval.settings import Settings, SettingsGroup, data_home, load_settings

IdList = Annotated[list[int], NoDecode]  # Discord ids, read by `DiscordSettings._id_list`


class ChatSettings(SettingsGroup):
    """`settings.chat`: the terminal chat (`newsbot chat`)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_CHAT_")

    history_file: Path = Field(
        default_factory=lambda: data_home() / "chat_history.txt",
        description="Where `newsbot chat` keeps the questions typed (for the up arrow).")


class DiscordSettings(SettingsGroup):
    """`settings.discord`: the Discord bot (`newsbot discord`)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_DISCORD_")
    # A shard id without a count (or the reverse) is no sharding at all.
    pairs: ClassVar = (("sharding", "shard_id", "shard_count"),)

    @field_validator("guilds", "channels", "admin_roles", "admin_users", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        """"1, 2" as well as "[1, 2]": ids are easier to paste without brackets."""
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    token: SecretStr | None = Field(
        default=None, validation_alias="DISCORD_TOKEN",
        description="Discord bot token (for the Discord bot). Never printed.")
    guild: int | None = Field(
        default=None, description="Sync the slash commands to this one server at start (they "
        "show up at once there; global commands can take up to an hour).")
    guilds: IdList = Field(
        default_factory=list, description="Server ids the bot answers in (comma-separated); "
        "it leaves every other server, at start and when invited. Empty: every server.")
    channels: IdList = Field(
        default_factory=list, description="Channel ids the bot answers in (JSON list or "
        "comma-separated); empty: every channel it can see. Threads follow their channel.")
    admin_roles: IdList = Field(
        default_factory=list, description="Role ids allowed to run /reindex, besides members "
        "with Manage Server.")
    admin_users: IdList = Field(
        default_factory=list, description="User ids allowed to run /reindex.")
    user_cooldown: float = Field(
        default=10.0, ge=0, description="Seconds a member waits between two questions.")
    guild_per_minute: int = Field(
        default=30, ge=1, description="Questions a server may ask per minute, all members "
        "together.")
    max_question_chars: int = Field(
        default=500, ge=10, le=2000, description="Longest question the bot takes.")
    threads: bool = Field(
        default=True, description="Open a thread on answers to mentions and /ask, where "
        "follow-ups are answered with the conversation as history.")
    message_content: bool = Field(
        default=False, description="Ask for the privileged message-content intent (only "
        "needed to read follow-ups in threads that neither mention nor reply to the bot).")
    watch: bool = Field(
        default=False, description="Run the watch loop (`newsbot watch`) inside the bot: it "
        "answers while it indexes new files and feed articles.")
    news_channel: int | None = Field(
        default=None, description="Channel id where the bot posts the headlines it has just "
        "indexed (batched, no pings); unset: it posts none.")
    api_url: str | None = Field(
        default=None, description="Base URL of the Discord REST API, e.g. "
        "http://127.0.0.1:8765/api/v10; unset: Discord's own. Only for a Discord-compatible "
        "server (the tests run one on 127.0.0.1).")
    shard_id: int | None = Field(
        default=None, ge=0, description="This process's shard, 0 to count - 1 (set with "
        "NEWSBOT_DISCORD_SHARD_COUNT); shard 0 alone syncs commands and runs the watch loop.")
    shard_count: int | None = Field(
        default=None, ge=1, description="Processes the bot runs as (Discord sharding), all "
        "against one index; unset: one process, unsharded.")

    @model_validator(mode="after")
    def _shards(self) -> DiscordSettings:
        self.check_pairs()
        shard, count = self.shard_id, self.shard_count
        if count is not None and shard is not None and shard >= count:
            raise ValueError(f"NEWSBOT_DISCORD_SHARD_ID='{shard}' is not accepted: it should be "
                             f"less than NEWSBOT_DISCORD_SHARD_COUNT={count} (ids run from 0)")
        return self


class BotSettings(Settings):
    """The core's settings and the front ends' groups: what `newsbot` commands read."""

    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)


def bot_settings(**overrides: object) -> BotSettings:
    """Every setting, the front ends' too, named as `retrieval.settings.get_settings`
    takes them (`index_dir`, `discord_guilds`)."""
    return load_settings(BotSettings, overrides)
