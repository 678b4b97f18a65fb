import re
from pathlib import Path

from retrieval.settings import Settings, get_settings

REPO = Path(__file__).resolve().parent.parent


def test_every_setting_is_described_and_in_env_example() -> None:
    example = (REPO / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    for name, field in Settings.model_fields.items():
        assert field.description, name
        env = field.validation_alias or f"NEWSBOT_{name.upper()}"
        assert env in names, f"{env} missing from .env.example"


def test_environment_and_explicit_values(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSBOT_CHUNK_MAX_CHARS", "700")
    monkeypatch.setenv("DISCORD_TOKEN", "abc")
    assert get_settings().chunk_max_chars == 700
    token = get_settings().discord_token
    assert token is not None and token.get_secret_value() == "abc"
    assert "abc" not in repr(get_settings()) and "abc" not in str(token)
    assert get_settings(chunk_max_chars=500).chunk_max_chars == 500
    (tmp_path / ".env").write_text("NEWSBOT_COLLECTION=from_dotenv\n")
    assert get_settings().collection == "from_dotenv"  # tests run in tmp_path
