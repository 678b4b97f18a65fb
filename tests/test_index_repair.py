"""One `newsbot index --rebuild` repairs a garbled file in any of the index's three stores
(the manifest, the keyword index inside it, the Chroma vector store) from what the index
was built from: the user's own folder and their feeds, never the bundled sample instead.
Real files, a real feed server on 127.0.0.1, the CLI in-process through click."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import story, write_article
from feed_server import Canned, FeedServer, page, rss
from feed_server import story as paragraphs

import corpus.feeds.download as download
from bot.cli import cli


@pytest.fixture(autouse=True)
def _feeds_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "2")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.01, 0.02))


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def one_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def titles() -> list[str]:
    result = run("latest", "-n", "200", "--json")
    assert result.exit_code == 0, result.output
    return sorted(a["title"] for a in json.loads(result.output))


def garble_manifest(index_dir: Path) -> None:
    manifest = index_dir / "manifest.sqlite"
    manifest.write_bytes(os.urandom(manifest.stat().st_size))


def garble_keywords(index_dir: Path) -> None:
    """The FTS5 index's own pages garbled: the file's structure still holds."""
    db = sqlite3.connect(index_dir / "manifest.sqlite")
    db.execute("UPDATE chunks_fts_data SET block = randomblob(length(block)) WHERE id > 10")
    db.commit()
    db.close()


def garble_vectors(index_dir: Path) -> None:
    store = index_dir / "chroma" / "chroma.sqlite3"
    store.write_bytes(os.urandom(store.stat().st_size))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "manifest": garble_manifest, "keywords": garble_keywords, "vectors": garble_vectors}


def own_corpus_and_feed(tmp_path: Path, server: FeedServer) -> Path:
    """A user's folder of three articles and one feed fetched into the index's feeds
    folder."""
    mine = tmp_path / "mine"
    for n, topic in enumerate(("harbour bridge", "valley dam", "ferry strike"), start=1):
        write_article(mine, f"a{n}.md", f"Report on the {topic}", story(topic),
                      source="Local Post", published_at=f"2024-01-0{n}")
    assert run("index", str(mine)).exit_code == 0
    server.routes["/rss.xml"] = Canned(rss([{
        "title": "Lighthouse relit", "link": server.url("/a/1"), "guid": "g1",
        "pubDate": "Tue, 02 Jan 2024 10:00:00 GMT", "description": "The lighthouse."}]),
        content_type="application/rss+xml")
    server.routes["/a/1"] = Canned(page("Lighthouse relit", *paragraphs("lighthouse")))
    assert run("feeds", "add", server.url("/rss.xml"), "--name", "Gazette").exit_code == 0
    fetched = run("fetch")
    assert fetched.exit_code == 0, fetched.output
    return mine


@pytest.mark.parametrize("store", sorted(DAMAGE))
def test_one_rebuild_repairs_a_garbled_store_from_the_users_own_sources(
        store: str, tmp_path: Path, server: FeedServer) -> None:
    own_corpus_and_feed(tmp_path, server)
    before = titles()
    assert len(before) == 4 and "Lighthouse relit" in before
    DAMAGE[store](tmp_path / "index")
    line = one_line(run("search", "ferry strike"))
    assert "newsbot index --rebuild" in line, line
    rebuilt = run("index", "--rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "added 4," in rebuilt.output
    assert titles() == before  # the user's folder and feed, and no sample article
    assert "Gazette" in run("feeds", "list").output
    found = run("search", "ferry strike", "-k", "1", "--json")
    assert json.loads(found.output)[0]["title"] == "Report on the ferry strike"
    again = run("index")  # the repaired index is whole: nothing left to embed
    assert again.exit_code == 0 and "added 0, updated 0, removed 0, unchanged 4" in again.output


def test_the_index_remembers_every_folder_and_a_plain_run_reads_them(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_article(first, "a.md", "Bridge report", story("bridge"))
    write_article(second, "b.md", "Dam report", story("dam"))
    assert run("index", str(first)).exit_code == 0
    assert run("index", str(second)).exit_code == 0
    write_article(second, "c.md", "Canal report", story("canal"))
    plain = run("index")  # no path: what the index was built from, not the sample
    assert plain.exit_code == 0 and "added 1, updated 0, removed 0, unchanged 2" in plain.output
    assert titles() == ["Bridge report", "Canal report", "Dam report"]
    assert run("index", "--rebuild").exit_code == 0
    assert titles() == ["Bridge report", "Canal report", "Dam report"]
    narrowed = run("index", "--rebuild", str(second))  # a rebuild with paths: only those
    assert narrowed.exit_code == 0
    assert run("index", "--rebuild").exit_code == 0
    assert titles() == ["Canal report", "Dam report"]


def test_a_gone_folder_is_skipped_and_a_missing_setting_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept, gone = tmp_path / "kept", tmp_path / "gone"
    write_article(kept, "a.md", "Bridge report", story("bridge"))
    write_article(gone, "b.md", "Dam report", story("dam"))
    assert run("index", str(kept)).exit_code == 0
    assert run("index", str(gone)).exit_code == 0
    (gone / "b.md").unlink()
    gone.rmdir()
    plain = run("index")
    assert plain.exit_code == 0, plain.output
    assert f"skipped {gone}: this index was built from it, but it is gone" in plain.output
    monkeypatch.setenv("NEWSBOT_CORPUS_DIR", str(tmp_path / "no-such"))
    line = one_line(run("index"))
    assert line.startswith(f"error: NEWSBOT_CORPUS_DIR={tmp_path / 'no-such'}: no such "), line
    assert "newsbot index FOLDER" in line


def test_a_folder_added_to_the_samples_index_says_so_in_one_line(tmp_path: Path) -> None:
    assert run("index").exit_code == 0  # the bundled sample, as a first try would
    mine = tmp_path / "mine"
    write_article(mine, "a.md", "Bridge report", story("bridge"))
    joined = run("index", str(mine))
    assert joined.exit_code == 0
    notes = [line for line in joined.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "bundled sample" in notes[0]
    assert "newsbot index --rebuild FOLDER" in notes[0]
    assert "note:" not in run("index", str(mine)).output  # said once, when it happens
    assert run("index", "--rebuild", str(mine)).exit_code == 0
    assert titles() == ["Bridge report"]
