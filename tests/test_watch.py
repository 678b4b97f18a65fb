"""Watch mode: a file dropped into the corpus folder, an edit and a deletion are indexed
within seconds; a failure does not end the loop; SIGTERM stops `newsbot watch` cleanly,
even in the middle of an index run."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO, story, write_article

from bot.cli import cli
from retrieval.app import NewsApp
from retrieval.index.embedding import HashEmbedder
from retrieval.settings import get_settings
from retrieval.watch import Watcher


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def titles(app: NewsApp) -> set[str]:
    return {a.title for a in app.latest(100)}


def test_drops_edits_and_deletions_are_followed(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "first.md", "First story", story("bridges"))
    app = NewsApp.open(get_settings(), embedder=HashEmbedder(), chat_model=None, create=True)
    noticed = []
    watcher = Watcher(app, [folder], quiet_s=0.3, on_indexed=noticed.append)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        wait_until(lambda: titles(app) == {"First story"})
        write_article(folder, "second.md", "Second story", story("tunnels"))
        (folder / "notes.tmp").write_text("not an article")  # ignored, no failure
        wait_until(lambda: "Second story" in titles(app))
        assert noticed and noticed[-1].added_ids
        write_article(folder, "second.md", "Second story, updated", story("tunnels", 4))
        wait_until(lambda: "Second story, updated" in titles(app))
        (folder / "first.md").unlink()
        wait_until(lambda: titles(app) == {"Second story, updated"})
        (folder / "broken.md").write_bytes(b"\xff\xfe\x00garbage")  # a failure is logged
        write_article(folder, "third.md", "Third story", story("canals"))
        wait_until(lambda: "Third story" in titles(app))
    finally:
        watcher.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    app.close()


def test_sigterm_stops_newsbot_watch_cleanly_mid_run(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    write_article(folder, "seed.md", "Seed story", story("ports"))
    env = {**os.environ, "NEWSBOT_INDEX_DIR": str(tmp_path / "index"),
           "NEWSBOT_EMBEDDING_MODEL": "hash", "NEWSBOT_WATCH_DEBOUNCE_S": "0.2"}
    watcher = subprocess.Popen([sys.executable, "-m", "bot", "watch", str(folder),
                                "--no-feeds"], cwd=REPO, env=env, stderr=subprocess.PIPE,
                               text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(watcher.stderr), daemon=True).start()
    try:
        wait_until(lambda: any("catch-up: added 1" in line for line in lines), timeout=60)
        # A large drop; SIGTERM comes as soon as its run has started.
        with open(folder / "many.jsonl", "w") as handle:
            for i in range(3000):
                handle.write(json.dumps({"id": f"m{i}", "title": f"Item {i}",
                                         "body": story(f"item {i}", 6)}) + "\n")
        wait_until(lambda: any("changed file(s): indexing" in line for line in lines),
                   timeout=60)
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    time.sleep(0.2)
    err = "".join(lines)
    assert watcher.returncode == 0, err
    assert "picks up the rest" in err, err  # the SIGTERM came mid-run
    assert "stopped after" in err and "Traceback" not in err
    # Whatever the stopped run committed is whole: a plain run completes the rest.
    result = CliRunner().invoke(cli, ["index", str(folder), "--json"], env=env)
    assert result.exit_code == 0, result.output
    stats = json.loads(CliRunner().invoke(cli, ["stats", "--json"], env=env).output)
    assert stats["articles"] == 3001


def test_the_watch_loop_polls_the_feeds(tmp_path: Path) -> None:
    from feed_server import Canned, FeedServer, page, rss
    from feed_server import story as paragraphs

    from corpus.feeds import FeedStore, add_feed

    folder = tmp_path / "news"
    write_article(folder, "local.md", "Local story", story("parks"))
    settings = get_settings()
    app = NewsApp.open(settings, embedder=HashEmbedder(), chat_model=None, create=True)
    with FeedServer() as server:
        server.routes["/rss.xml"] = Canned(rss([{
            "title": "Glacier lake drains overnight", "link": server.url("/a/1"),
            "guid": "g1", "pubDate": "Tue, 02 Jan 2024 10:00:00 GMT",
            "description": "A glacier lake drained."}]), content_type="application/rss+xml")
        server.routes["/a/1"] = Canned(page("Glacier lake drains overnight",
                                            *paragraphs("glacier lake")))
        poll = app.feed_poller()  # before any feed exists: one is added later
        assert poll() is None
        with FeedStore(settings.feeds.db) as store:
            add_feed(store, server.url("/rss.xml"), "Mountain Post")
        watcher = Watcher(app, [folder], quiet_s=0.3, poll_every_s=3600, poll_feeds=poll)
        thread = threading.Thread(target=watcher.run)
        thread.start()
        try:
            wait_until(lambda: {"Local story", "Glacier lake drains overnight"} <= titles(app))
        finally:
            watcher.stop.set()
            thread.join(timeout=20)
    assert len(server.hits("/a/1")) == 1
    app.close()


def test_a_busy_index_and_a_moved_in_folder_are_taken_up(tmp_path: Path) -> None:
    import fcntl

    folder = tmp_path / "news"
    write_article(folder, "first.md", "First story", story("bridges"))
    app = NewsApp.open(get_settings(), embedder=HashEmbedder(), chat_model=None, create=True)
    watcher = Watcher(app, [folder], quiet_s=0.3)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        wait_until(lambda: titles(app) == {"First story"})
        with open(tmp_path / "index" / "index.lock", "w") as lock:  # `newsbot index` elsewhere
            fcntl.flock(lock, fcntl.LOCK_EX)
            write_article(folder, "second.md", "Second story", story("tunnels"))
            time.sleep(2.0)  # the watch tried, and was told the index is busy
            assert "Second story" not in titles(app)
        wait_until(lambda: "Second story" in titles(app))  # taken up again
        outside = tmp_path / "outside"
        write_article(outside, "third.md", "Third story", story("canals"))
        outside.rename(folder / "moved")  # a whole folder moved in
        wait_until(lambda: "Third story" in titles(app))
    finally:
        watcher.stop.set()
        thread.join(timeout=20)
    app.close()


def test_a_failed_run_logs_what_to_do(tmp_path: Path, caplog) -> None:
    from bot.context import error_text
    from retrieval.errors import Fix, NewsbotError

    app = NewsApp.open(get_settings(), embedder=HashEmbedder(), chat_model=None, create=True)
    watcher = app.watcher([tmp_path], with_feeds=False, describe=error_text)

    def fails() -> None:
        raise NewsbotError("the index was made by another model", fix=Fix.REBUILD)

    with caplog.at_level("ERROR", logger="retrieval.watch"):
        assert watcher._run("catch-up", fails) is False
    assert "another model; run `newsbot index --rebuild`" in caplog.text
    app.close()
