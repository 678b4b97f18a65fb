"""An error says what happened; what to do about it is said by each front end in its own
words: a command at the shell, an admin's job on Discord (whose members have no shell).
Real errors from real indexes, rendered by the CLI's and the Discord bot's formatters."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_article

from bot.cli import cli
from bot.context import FIX_AT_SHELL, error_text
from bot.discord.format import FIX_ON_DISCORD
from bot.discord.format import error_text as discord_text
from retrieval.app import NewsApp
from retrieval.errors import Fix, IndexDamaged, IndexEmpty, IndexMissing, IndexModelMismatch
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import get_settings


def test_every_fix_has_words_at_the_shell_and_on_discord() -> None:
    assert set(FIX_AT_SHELL) == set(Fix) == set(FIX_ON_DISCORD)
    assert all("`newsbot " in words for words in FIX_AT_SHELL.values())
    assert not [words for words in FIX_ON_DISCORD.values() if "newsbot" in words]


def build(folder: Path, embedder: HashEmbedder) -> None:
    write_article(folder / "news", "dam.md", "River dam opens",
                  "The Lakeside dam opened on Monday after ten years of building.")
    settings = get_settings(index_dir=folder / "index", corpus_dir=folder / "news")
    with NewsApp.open(settings, embedder=embedder, create=True) as app:
        app.index()


def refusal(folder: Path, embedder: HashEmbedder, **open_as: bool) -> Exception:
    settings = get_settings(index_dir=folder / "index")
    with pytest.raises(Exception) as refused, \
            NewsApp.open(settings, embedder=embedder, **open_as) as app:
        app.search("dam")
    return refused.value


def test_a_missing_index_is_indexed_by_a_command_or_by_an_admin(tmp_path: Path) -> None:
    exc = refusal(tmp_path, HashEmbedder())
    assert isinstance(exc, IndexMissing) and "newsbot" not in str(exc)
    assert error_text(exc).endswith("; run `newsbot index` first")
    assert discord_text(exc).endswith("; an admin must index the articles first (`/reindex`)")


def test_an_empty_index_says_the_same(tmp_path: Path) -> None:
    exc = refusal(tmp_path, HashEmbedder(), create=True)
    assert isinstance(exc, IndexEmpty) and str(exc).endswith("is empty")
    assert "run `newsbot index` first" in error_text(exc)
    assert "/reindex" in discord_text(exc) and "newsbot index" not in discord_text(exc)


def test_another_model_means_a_rebuild(tmp_path: Path) -> None:
    build(tmp_path, HashEmbedder(64))
    exc = refusal(tmp_path, HashEmbedder(128))
    assert isinstance(exc, IndexModelMismatch) and "newsbot index" not in str(exc)
    assert "; run `newsbot index --rebuild`" in error_text(exc)
    assert discord_text(exc).endswith("; an admin must rebuild the index")


def test_a_damaged_index_means_a_rebuild_on_each_front_end(tmp_path: Path) -> None:
    build(tmp_path, HashEmbedder())
    manifest = tmp_path / "index" / "manifest.sqlite"
    manifest.write_bytes(os.urandom(manifest.stat().st_size))
    exc = refusal(tmp_path, HashEmbedder())
    assert isinstance(exc, IndexDamaged) and exc.fix is Fix.REBUILD
    assert error_text(exc).endswith("; run `newsbot index --rebuild`")
    assert discord_text(exc).endswith("; an admin must rebuild the index")
    assert "newsbot" not in discord_text(exc)


def test_the_cli_prints_the_command_in_its_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--index-dir", str(tmp_path / "none"), "stats"])
    assert result.exit_code == 1
    assert result.output.strip().endswith("; run `newsbot index` first")


def test_feed_errors_leave_the_fix_to_each_front_end(tmp_path: Path) -> None:
    from corpus.feeds import FeedError

    settings = get_settings(index_dir=tmp_path / "index")
    with NewsApp.open(settings, embedder=HashEmbedder(), create=True) as app, \
            pytest.raises(FeedError) as refused, app.feeds() as feeds:
        feeds.remove("World news")
    exc = refused.value
    assert str(exc) == "there are no feeds yet" and exc.fix == Fix.ADD_FEED
    assert error_text(exc).endswith("; `newsbot feeds add URL` adds one")
    assert "newsbot" not in discord_text(exc) and "admin" in discord_text(exc)
