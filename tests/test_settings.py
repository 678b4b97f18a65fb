import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

import retrieval.settings
from bot.settings import BotSettings, DiscordSettings, bot_settings
from retrieval.errors import SettingsError
from retrieval.settings import Settings

REPO = Path(__file__).resolve().parent.parent

# Every variable as it was named before the settings were nested (and as users' .env files
# still name it): where its value now lives, a value unlike the default, and how it reads.
OLD_NAMES: dict[str, tuple[str, str, object]] = {
    "NEWSBOT_CORPUS_DIR": ("index.corpus_dir", "/c", Path("/c")),
    "NEWSBOT_INDEX_DIR": ("index.dir", "/i", Path("/i")),
    "NEWSBOT_CHUNK_MAX_CHARS": ("index.chunk_max_chars", "700", 700),
    "NEWSBOT_MAX_FILE_MB": ("index.max_file_mb", "3.5", 3.5),
    "NEWSBOT_CHROMA_HOST": ("index.chroma_host", "127.0.0.2", "127.0.0.2"),
    "NEWSBOT_CHROMA_PORT": ("index.chroma_port", "8001", 8001),
    "NEWSBOT_CHROMA_TOKEN": ("index.chroma_token", "ct", "ct"),
    "NEWSBOT_CHROMA_SSL": ("index.chroma_ssl", "true", True),
    "NEWSBOT_DATABASE_URL": ("index.database_url", "postgresql://u@h/d", "postgresql://u@h/d"),
    "NEWSBOT_COLLECTION": ("index.collection", "other", "other"),
    "NEWSBOT_EMBEDDING_MODEL": ("embedding.model", "hash", "hash"),
    "NEWSBOT_EMBEDDING_BACKEND": ("embedding.backend", "torch", "torch"),
    "NEWSBOT_EMBEDDING_INT8_QUESTIONS": ("embedding.int8_questions", "false", False),
    "NEWSBOT_EMBEDDING_BATCH_SIZE": ("embedding.batch_size", "7", 7),
    "NEWSBOT_EMBEDDING_DEVICE": ("embedding.device", "CPU", "cpu"),
    "NEWSBOT_EMBEDDING_FAST_INDEXING": ("embedding.fast_indexing", "false", False),
    "NEWSBOT_EMBEDDING_INDEX_BATCH_SIZE": ("embedding.index_batch_size", "9", 9),
    "NEWSBOT_CACHE_DIR": ("embedding.cache_dir", "/k", Path("/k")),
    "NEWSBOT_ANSWER_PASSAGES": ("answers.passages", "4", 4),
    "NEWSBOT_ANSWER_MAX_SENTENCES": ("answers.max_sentences", "2", 2),
    "NEWSBOT_ANSWER_READER": ("answers.reader", "false", False),
    "NEWSBOT_DECLINE_BELOW": ("answers.decline_below", "0.25", 0.25),
    "NEWSBOT_DISCORD_FEEDBACK_DB": ("answers.feedback_db", "/v.sqlite", Path("/v.sqlite")),
    "NEWSBOT_LLM_PROVIDER": ("llm.provider", "ollama", "ollama"),
    "NEWSBOT_LLM_MODEL": ("llm.model", "m", "m"),
    "NEWSBOT_LLM_BASE_URL": ("llm.base_url", "http://127.0.0.1:9", "http://127.0.0.1:9"),
    "NEWSBOT_LLM_API_KEY": ("llm.api_key", "k", "k"),
    "NEWSBOT_LLM_GGUF_PATH": ("llm.gguf_path", "/m.gguf", Path("/m.gguf")),
    "NEWSBOT_LLM_TEMPERATURE": ("llm.temperature", "0.5", 0.5),
    "NEWSBOT_LLM_MAX_TOKENS": ("llm.max_tokens", "50", 50),
    "NEWSBOT_LLM_TIMEOUT": ("llm.timeout", "5", 5.0),
    "NEWSBOT_FEEDS_DB": ("feeds.db", "/f.sqlite", Path("/f.sqlite")),
    "NEWSBOT_FEEDS_DIR": ("feeds.dir", "/f", Path("/f")),
    "NEWSBOT_FETCH_TIMEOUT": ("feeds.fetch_timeout", "3", 3.0),
    "NEWSBOT_FETCH_MAX_PAGE_MB": ("feeds.fetch_max_page_mb", "1.5", 1.5),
    "NEWSBOT_FETCH_PER_HOST": ("feeds.fetch_per_host", "3", 3),
    "NEWSBOT_FETCH_USER_AGENT": ("feeds.fetch_user_agent", "ua", "ua"),
    "NEWSBOT_FETCH_ALLOW_HOSTS": ("feeds.fetch_allow_hosts", "a.test, b.test", ["a.test",
                                                                              "b.test"]),
    "NEWSBOT_WATCH_POLL_MINUTES": ("feeds.watch_poll_minutes", "1", 1.0),
    "NEWSBOT_WATCH_DEBOUNCE_S": ("feeds.watch_debounce_s", "0.5", 0.5),
    "NEWSBOT_CHAT_HISTORY_FILE": ("chat.history_file", "/h.txt", Path("/h.txt")),
    "DISCORD_TOKEN": ("discord.token", "dt", "dt"),
    "NEWSBOT_DISCORD_GUILD": ("discord.guild", "11", 11),
    "NEWSBOT_DISCORD_GUILDS": ("discord.guilds", "11, 12", [11, 12]),
    "NEWSBOT_DISCORD_CHANNELS": ("discord.channels", "[13]", [13]),
    "NEWSBOT_DISCORD_ADMIN_ROLES": ("discord.admin_roles", "14", [14]),
    "NEWSBOT_DISCORD_ADMIN_USERS": ("discord.admin_users", "15,16", [15, 16]),
    "NEWSBOT_DISCORD_USER_COOLDOWN": ("discord.user_cooldown", "1.5", 1.5),
    "NEWSBOT_DISCORD_GUILD_PER_MINUTE": ("discord.guild_per_minute", "7", 7),
    "NEWSBOT_DISCORD_MAX_QUESTION_CHARS": ("discord.max_question_chars", "99", 99),
    "NEWSBOT_DISCORD_THREADS": ("discord.threads", "false", False),
    "NEWSBOT_DISCORD_MESSAGE_CONTENT": ("discord.message_content", "true", True),
    "NEWSBOT_DISCORD_WATCH": ("discord.watch", "true", True),
    "NEWSBOT_DISCORD_NEWS_CHANNEL": ("discord.news_channel", "17", 17),
    "NEWSBOT_DISCORD_API_URL": ("discord.api_url", "http://127.0.0.1:8", "http://127.0.0.1:8"),
    "NEWSBOT_DISCORD_SHARD_ID": ("discord.shard_id", "1", 1),
    "NEWSBOT_DISCORD_SHARD_COUNT": ("discord.shard_count", "3", 3),
}


def every_field() -> dict[str, str]:
    """Each field of every group, by its variable: "index.dir" for NEWSBOT_INDEX_DIR."""
    return {group.env_name(field): f"{name}.{field}"
            for name, group in BotSettings.groups().items() for field in group.model_fields}


def read(settings: BotSettings, path: str) -> object:
    group, field = path.split(".")
    value = getattr(getattr(settings, group), field)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_setting_is_described_and_in_env_example() -> None:
    example = (REPO / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    groups = BotSettings.groups()
    assert len(groups) == 7  # the core's five and bot's two
    for group in groups.values():
        for field, info in group.model_fields.items():
            assert info.description, f"{group.__name__}.{field}"
            assert group.env_name(field) in names, f"{group.env_name(field)} not in .env.example"


def test_every_old_variable_name_still_sets_its_setting(monkeypatch) -> None:
    assert every_field() == {env: path for env, (path, _, _) in OLD_NAMES.items()}
    for env, (_, raw, _) in OLD_NAMES.items():
        monkeypatch.setenv(env, raw)
    settings = bot_settings()
    for env, (path, _, wanted) in OLD_NAMES.items():
        assert read(settings, path) == wanted, env
    # The names before the grouping are also the names `bot_settings` and `replace` take.
    assert bot_settings(index_dir="/x").index.dir == Path("/x")
    assert settings.replace(discord_guild=5, llm_model="n").discord.guild == 5
    assert settings.replace(llm_model="n").llm.model == "n" and settings.llm.model == "m"
    with pytest.raises(TypeError, match="no setting 'discord_guild'"):
        retrieval.settings.get_settings(discord_guild=5)  # the core has no Discord group


def test_no_discord_or_chat_setting_is_defined_in_the_core() -> None:
    core = list(Settings.groups().values())
    assert all(group.__module__.startswith("retrieval.") for group in core)
    assert len(core) == 5 and set(Settings.groups()) == {
        "index", "embedding", "answers", "llm", "feeds"}
    in_core = Settings.env_names()
    discord = {DiscordSettings.env_name(f) for f in DiscordSettings.model_fields}
    assert discord and not in_core & discord
    # The one NEWSBOT_DISCORD_* name the core reads is the votes' store, kept for old .env
    # files: the core records answers and votes (`NewsApp.vote`), whichever front end asks.
    assert {n for n in in_core if "DISCORD" in n} == {"NEWSBOT_DISCORD_FEEDBACK_DB"}
    source = "\n".join(p.read_text() for p in (REPO / "retrieval").rglob("*.py"))
    assert "DISCORD_TOKEN" not in source and "class DiscordSettings" not in source


def test_errors_name_the_variable_in_every_group(monkeypatch) -> None:
    monkeypatch.setenv("NEWSBOT_LLM_TIMEOUT", "soon")
    monkeypatch.setenv("NEWSBOT_DISCORD_SHARD_ID", "2")
    with pytest.raises(SettingsError) as error:
        bot_settings()
    assert str(error.value).startswith("NEWSBOT_LLM_TIMEOUT='soon' is not accepted")
    assert "sharding needs both NEWSBOT_DISCORD_SHARD_ID and NEWSBOT_DISCORD_SHARD_COUNT" \
        in str(error.value)


def test_environment_and_explicit_values(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSBOT_CHUNK_MAX_CHARS", "700")
    monkeypatch.setenv("DISCORD_TOKEN", "abc")
    assert bot_settings().index.chunk_max_chars == 700
    token = bot_settings().discord.token
    assert token is not None and token.get_secret_value() == "abc"
    assert "abc" not in repr(bot_settings()) and "abc" not in str(token)
    assert bot_settings(chunk_max_chars=500).index.chunk_max_chars == 500
    (tmp_path / ".env").write_text("NEWSBOT_COLLECTION=from_dotenv\n")
    assert bot_settings().index.collection == "from_dotenv"  # tests run in tmp_path


def warnings_of(code: str, tmp_path: Path, **env: str) -> list[str]:
    """The settings warnings a fresh Python process gives running `code`."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("NEWSBOT_")}
    proc = subprocess.run([sys.executable, "-c", "import logging; logging.basicConfig(); "
                           + code], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={**clean, **env, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stderr.splitlines() if "newsbot.settings" in line]


def test_a_misspelt_variable_is_warned_about_whatever_was_imported_first(tmp_path) -> None:
    core = "from retrieval.settings import get_settings as core; core(); "
    front = "from bot.settings import bot_settings as front; front(); "
    wrong = {"NEWSBOT_LLM_PROVIDR": "ollama", "NEWSBOT_DISCORD_GUILDZ": "1"}
    # A process that imports only the core's settings knows every variable the core reads.
    assert warnings_of(core, tmp_path, **wrong) == [
        "WARNING:newsbot.settings:NEWSBOT_LLM_PROVIDR is not a newsbot setting; did you "
        "mean NEWSBOT_LLM_PROVIDER?"]
    # The front ends' settings know theirs too, and say so even when the core's settings
    # were read first in the same process (they once fell silent then).
    for code in (front, core + front):
        said = warnings_of(code, tmp_path, **wrong)
        assert len(said) == 2 and "did you mean NEWSBOT_DISCORD_GUILD?" in said[1], code
    # Every front-end variable, set correctly, is never taken for a misspelt core one.
    right = {name: "1" for name in BotSettings.env_names() - Settings.env_names()
             if name.startswith("NEWSBOT_")}
    right.update(NEWSBOT_DISCORD_SHARD_ID="0", NEWSBOT_DISCORD_MAX_QUESTION_CHARS="500")
    assert len(right) > 10 and warnings_of(core + front, tmp_path, **right) == []


def readme_table_variables() -> set[str]:
    """The variables the README's tables give a row of their own (the first cell)."""
    rows = set()
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            rows |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return rows


def test_every_setting_has_a_row_in_the_readme() -> None:
    """A setting added to the code is added to the README's tables too, named in full,
    and a row names nothing the code no longer reads."""
    rows, read = readme_table_variables(), BotSettings.env_names()
    assert "NEWSBOT_INDEX_DIR" in rows and Settings.env_names() < read  # the walk reads both
    assert sorted(read - rows) == [] and sorted(rows - read) == []
