"""The feed reader against a real HTTP server on 127.0.0.1 (tests/feed_server.py): RSS,
Atom and JSON Feed polled with conditional requests, each new item's page fetched once,
written as Markdown that the corpus reads back, and indexed; broken feeds, bad servers,
hostile items and robots.txt cost only what they must."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from feed_server import (
    Canned,
    FeedServer,
    atom,
    failing,
    huge_page,
    page,
    redirect_to,
    rss,
    sleeping,
    slow_page,
    story,
)

import corpus.feeds.download as download
from bot.cli import cli
from corpus import Article, load_articles
from corpus.feeds import FeedFormatError, FeedStore, FetchOptions, PollReport, add_feed, poll_feeds
from corpus.feeds.page import ItemDraft
from corpus.feeds.parse import parse_feed
from corpus.feeds.write import render, slug, write_article, write_atomic

RSS = "application/rss+xml"


@pytest.fixture(autouse=True)
def _feeds_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FEEDS_DB", str(tmp_path / "feeds.sqlite"))
    monkeypatch.setenv("NEWSBOT_FEEDS_DIR", str(tmp_path / "feeds"))
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "2")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.01, 0.02))  # three quick tries


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedStore]:
    with FeedStore(tmp_path / "feeds.sqlite") as opened:
        yield opened


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def poll(store: FeedStore, tmp_path: Path, **options: object) -> PollReport:
    settings = {"user_agent": "newsbot-test/1.0", "timeout": 1.0, "max_page_mb": 1.0,
                **options}
    return poll_feeds(store, tmp_path / "feeds", FetchOptions(**settings))


def item(server: FeedServer, n: int, **extra: str) -> dict[str, str]:
    fields = {"title": f"Story number {n}", "link": server.url(f"/a/{n}"), "guid": f"g{n}",
              "pubDate": "Tue, 02 Jan 2024 10:00:00 GMT",
              "description": f"Summary {n} from the feed itself."}
    return {**fields, **extra}


def articles_in(tmp_path: Path) -> dict[str, Article]:
    loaded = load_articles([tmp_path / "feeds"])
    assert not loaded.errors
    return {a.title: a for a in loaded.articles}


def serve_pages(server: FeedServer, *numbers: int) -> None:
    for n in numbers:
        server.routes[f"/a/{n}"] = Canned(page(f"Story number {n}", *story(f"bridge {n}")))


# --- the command line -------------------------------------------------------------------

def test_fetch_writes_reads_back_and_indexes_rss_atom_and_json_feed(
        server: FeedServer, tmp_path: Path) -> None:
    server.routes["/rss.xml"] = Canned(rss([item(server, 1)]), content_type=RSS,
                                       etag='"r1"')
    server.routes["/atom.xml"] = Canned(atom([{
        "id": "urn:x:2", "title": "Valley dam opens", "link": server.url("/a/2"),
        "updated": "2024-02-01T09:00:00Z", "author": "Bo Chan"}]),
        content_type="application/atom+xml", last_modified="Thu, 01 Feb 2024 09:00:00 GMT")
    server.routes["/feed.json"] = Canned(json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "Plain Times",
        "items": [{"id": "j3", "url": "/a/3", "title": "Ferry strike ends",
                   "date_published": "2024-02-03T12:30:00+01:00",
                   "authors": [{"name": "Cy Dee"}], "content_html": "<p>Short.</p>"}]
    }).encode(), content_type="application/feed+json", etag='"j1"')
    server.routes["/a/1"] = Canned(page("Story number 1", *story("harbour bridge"),
                                        author="Ann Lee", site="Harbour Gazette"))
    server.routes["/a/2"] = Canned(page("Valley dam opens", *story("valley dam")))
    server.routes["/a/3"] = Canned(page("Ferry strike ends", *story("ferry strike")))
    for name, path in (("Gazette", "/rss.xml"), ("Wire", "/atom.xml"), ("Times", "/feed.json")):
        assert run("feeds", "add", server.url(path), "--name", name).exit_code == 0

    first = run("fetch")
    assert first.exit_code == 0, first.output
    assert "feeds polled 3, not modified 0, new articles 3, failed 0" in first.output
    found = articles_in(tmp_path)
    bridge, dam, ferry = found["Story number 1"], found["Valley dam opens"], found[
        "Ferry strike ends"]
    assert "harbour bridge was the talk of the town" in bridge.body  # the page, not the item
    assert (bridge.author, bridge.source, bridge.url) == ("Ann Lee", "Harbour Gazette",
                                                          server.url("/a/1"))
    assert bridge.published_at == datetime(2024, 1, 2, 10, tzinfo=UTC)  # the page has none
    assert (dam.author, dam.source) == ("Bo Chan", "Valley Wire")
    assert ferry.url == server.url("/a/3") and ferry.author == "Cy Dee"
    assert ferry.published_at == datetime(2024, 2, 3, 11, 30, tzinfo=UTC)
    assert all(r.headers["user-agent"].startswith("newsbot/") for r in server.state.log)
    assert len(server.hits("/robots.txt")) == 1  # a 404: everything allowed
    searched = run("search", "ferry strike", "-k", "1", "--json")
    assert json.loads(searched.output)[0]["title"] == "Ferry strike ends"

    second = run("fetch")  # conditional requests: every feed answers 304
    assert "feeds polled 3, not modified 3, new articles 0, failed 0" in second.output
    assert server.hits("/rss.xml")[-1].headers["if-none-match"] == '"r1"'
    assert server.hits("/atom.xml")[-1].headers["if-modified-since"].startswith("Thu, 01 Feb")
    assert all(len(server.hits(f"/a/{n}")) == 1 for n in (1, 2, 3))


def test_a_failing_feed_is_named_stored_and_sets_the_exit_status(
        server: FeedServer, tmp_path: Path) -> None:
    server.routes["/good.xml"] = Canned(rss([item(server, 1)]), content_type=RSS)
    serve_pages(server, 1)
    server.routes["/bad.xml"] = Canned(rss([]), content_type=RSS)  # a feed when added
    run("feeds", "add", server.url("/good.xml"), "--name", "Good")
    run("feeds", "add", server.url("/bad.xml"), "--name", "Bad")
    server.routes["/bad.xml"] = failing(500)
    result = run("fetch")
    assert result.exit_code == 1
    assert f"failed Bad ({server.url('/bad.xml')}): HTTP 500 Internal Server Error (after 3 " \
        "tries)" in result.output
    assert "new articles 1, failed 1" in result.output and "indexed: added 1" in result.output
    assert len(server.hits("/bad.xml")) == 1 + 3  # read once when added, then 3 tries
    listed = run("feeds", "list").output
    assert "last error: HTTP 500" in listed and "·  1 article  ·" in listed
    server.routes["/bad.xml"] = Canned(rss([]), content_type=RSS)  # fixed: retried, cleared
    assert run("fetch").exit_code == 0 and "last error" not in run("feeds", "list").output


def test_articles_written_while_the_index_is_busy_are_indexed_next_time(
        server: FeedServer, tmp_path: Path) -> None:
    from retrieval.index.lock import index_lock

    server.routes["/rss.xml"] = Canned(rss([item(server, 1)]), etag='"v"')
    serve_pages(server, 1)
    run("feeds", "add", server.url("/rss.xml"))
    (tmp_path / "index").mkdir()
    with index_lock(tmp_path / "index"):  # as if `newsbot index` were running
        busy = run("fetch")
    assert busy.exit_code == 1 and "new articles 1, failed 0 (not indexed yet" in busy.output
    assert "error: another index run (newsbot index, watch or /reindex) is updating" \
        in busy.output
    caught_up = run("fetch")
    assert "not modified 1, new articles 0, failed 0 (indexed: added 1," in caught_up.output


def test_feeds_add_list_remove(server: FeedServer, tmp_path: Path) -> None:
    assert "No feeds yet" in run("feeds", "list").output
    assert not (tmp_path / "feeds.sqlite").exists()  # reading creates nothing
    nothing = run("fetch")
    assert nothing.exit_code == 1 and "no feeds to fetch" in nothing.output
    for path in ("/rss", "/news/rss"):  # untitled feeds: named by their host
        server.routes[path] = Canned(rss([], title=""), content_type=RSS)
    first, second = server.url("/rss"), server.url("/news/rss")
    added = run("feeds", "add", first)
    assert f"added '127.0.0.1': {first}" in added.output
    again = run("feeds", "add", first, "--name", "Other")
    assert again.exit_code == 1 and "already a feed with that url: '127.0.0.1'" in again.output
    for bad in ("ftp://example.com/rss", "file:///etc/passwd", "not a url", ""):
        refused = run("feeds", "add", bad)
        assert refused.exit_code == 1 and "is not an http(s) URL" in refused.output
    assert run("feeds", "add", second).exit_code == 0
    listed = run("feeds", "list").output
    assert f"127.0.0.1/news/rss  {second}  ·  0 articles" in listed
    assert run("feeds", "remove", second).exit_code == 0
    removed = run("feeds", "remove", "127.0.0.1").output
    assert "removed '127.0.0.1'; no article was fetched from it" in removed
    missing = run("feeds", "remove", "127.0.0.1")
    assert missing.exit_code == 1 and "no feed named '127.0.0.1'" in missing.output
    assert "(or with that URL); `newsbot feeds list` shows them" in missing.output
    assert "No feeds yet" in run("feeds", "list").output


def test_opml_export_and_import_round_trip(server: FeedServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    news, other = server.url("/rss.xml"), server.url("/feed.json")
    for path in ("/rss.xml", "/feed.json"):
        server.routes[path] = Canned(rss([]), content_type=RSS)
    run("feeds", "add", news, "--name", "Tom & Jerry <News>")
    run("feeds", "add", other, "--name", "Ünïcode Times")
    exported = tmp_path / "out.opml"
    assert "wrote 2 feeds" in run("feeds", "export", str(exported)).output
    def undated(text: str) -> str:
        return re.sub(r"<dateCreated>.*</dateCreated>", "", text)

    assert undated(run("feeds", "export").output) == undated(exported.read_text("utf-8"))
    monkeypatch.setenv("NEWSBOT_FEEDS_DB", str(tmp_path / "second.sqlite"))
    assert "imported 2, already there 0" in run("feeds", "import", str(exported)).output
    assert "imported 0, already there 2" in run("feeds", "import", str(exported)).output
    listed = run("feeds", "list").output
    assert f"Tom & Jerry <News>  {news}" in listed
    assert f"Ünïcode Times  {other}" in listed

    nested = tmp_path / "nested.opml"
    nested.write_text('<opml version="2.0"><head/><body><outline text="Folder">'
                      '<outline text="Deep" xmlUrl="https://deep.example/rss"/>'
                      '<outline text="Mail" xmlUrl="mailto:x@example.com"/></outline>'
                      "</body></opml>", encoding="utf-8")
    result = run("feeds", "import", str(nested))
    assert "imported 1, already there 0, skipped 1" in result.output
    bomb = tmp_path / "bomb.opml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                    '<opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body>'
                    "</opml>", encoding="utf-8")
    refused = run("feeds", "import", str(bomb))
    assert refused.exit_code == 1 and "DOCTYPE) is not accepted" in refused.output
    assert "x.example" not in run("feeds", "list").output


# --- polling --------------------------------------------------------------------------------

def test_items_are_fetched_once_and_stay_after_scrolling_off(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    serve_pages(server, 1, 2, 3)
    server.routes["/rss.xml"] = Canned(rss([item(server, 1), item(server, 2)]))
    add_feed(store, server.url("/rss.xml"), "Gazette")
    assert poll(store, tmp_path).new_articles == 2
    first_files = sorted((tmp_path / "feeds").rglob("*.md"))
    # The feed changes: item 1 scrolls off, 2 stays, 3 is new, and 4 is item 2's page
    # again under a new guid (a re-published item).
    server.routes["/rss.xml"] = Canned(rss([
        item(server, 2, title="Story number 2, updated"), item(server, 3),
        item(server, 4, link=server.url("/a/2"))]))
    second = poll(store, tmp_path)
    assert second.new_articles == 1 and second.written[0].name.endswith(".md")
    assert [len(server.hits(f"/a/{n}")) for n in (1, 2, 3)] == [1, 1, 1]
    assert all(path.exists() for path in first_files)  # nothing pruned
    assert len(list((tmp_path / "feeds").rglob("*.md"))) == 3
    assert poll(store, tmp_path).new_articles == 0  # no validators here: parsed, all known


@pytest.mark.parametrize(("body", "reason"), [
    (b"this is <<< not a feed at all", "not an RSS, Atom or JSON feed"),
    (b"<html><body><p>A web page, not a feed.</p></body></html>",
     "not an RSS, Atom or JSON feed"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1",',
     "malformed JSON Feed"),
    (b'{"title": "no version"}', "not a JSON Feed"),
])
def test_documents_that_are_not_feeds_fail(server: FeedServer, store: FeedStore,
                                           tmp_path: Path, body: bytes, reason: str) -> None:
    server.routes["/feed"] = Canned(body, content_type="text/plain")
    add_feed(store, server.url("/feed"), "Odd")
    failure = poll(store, tmp_path).failures[0]
    assert reason in failure.error and store.feeds()[0].last_error == failure.error


def test_a_truncated_feed_fails_and_is_read_in_full_next_time(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    serve_pages(server, 1, 2)
    whole = rss([item(server, 1), item(server, 2)])
    server.routes["/rss.xml"] = Canned(whole[: whole.index(b"<guid>g2")], etag='"e"')
    add_feed(store, server.url("/rss.xml"), "Cut")
    report = poll(store, tmp_path)
    assert "truncated feed" in report.failures[0].error and report.new_articles == 0
    server.routes["/rss.xml"] = Canned(whole, etag='"e"')  # same ETag: none was stored
    assert poll(store, tmp_path).new_articles == 2
    assert "if-none-match" not in server.hits("/rss.xml")[-1].headers


def test_a_lenient_feed_with_an_undeclared_entity_is_read(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    server.routes["/rss.xml"] = Canned(rss([item(server, 1)]).replace(
        b"Story number 1", b"Story&nbsp;number&nbsp;1"))
    serve_pages(server, 1)
    add_feed(store, server.url("/rss.xml"), "Loose")
    report = poll(store, tmp_path)
    assert not report.failures and report.new_articles == 1


def test_404_500_timeouts_and_redirect_loops_fail_their_feed_only(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    server.routes.update({
        "/missing.xml": failing(404), "/broken.xml": failing(503), "/slow.xml": sleeping(3),
        "/loop-a": redirect_to("/loop-b"), "/loop-b": redirect_to("/loop-a"),
        "/away": redirect_to("file:///etc/passwd"), "/moved": redirect_to("/hop"),
        "/hop": redirect_to("/rss.xml"), "/rss.xml": Canned(rss([item(server, 1)])),
    })
    serve_pages(server, 1)
    for path in ("/missing.xml", "/broken.xml", "/slow.xml", "/loop-a", "/away", "/moved"):
        add_feed(store, server.url(path), path.strip("/"))
    started = time.monotonic()
    report = poll(store, tmp_path, timeout=0.3)
    errors = {r.feed.name: r.error for r in report.failures}
    assert errors == {
        "missing.xml": "HTTP 404 Not Found",  # not retried
        "broken.xml": "HTTP 503 Service Unavailable (after 3 tries)",
        "slow.xml": "timed out after 0.3 s (after 3 tries)",
        "loop-a": "more than 5 redirects",
        "away": "not an http(s) URL: file:///etc/passwd",
    }
    assert report.new_articles == 1  # the feed behind two redirects
    assert time.monotonic() - started < 5
    assert len(server.hits("/broken.xml")) == 3 and len(server.hits("/missing.xml")) == 1
    assert len(server.hits("/loop-a")) + len(server.hits("/loop-b")) == 6


# --- pages ---------------------------------------------------------------------------------

def test_pages_that_cannot_be_had_fall_back_to_the_item(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    links = {1: server.url("/huge"), 2: server.url("/report.pdf"), 3: "file:///etc/passwd",
             4: "ftp://files.example/a.html", 5: "javascript:alert(1)", 6: server.url("/gone"),
             7: server.url("/sized")}
    server.routes.update({
        "/huge": huge_page(20_000_000), "/sized": huge_page(20_000_000, "sized", True),
        "/report.pdf": Canned(b"%PDF-1.4 ...", content_type="application/pdf"),
        "/gone": failing(500)})
    server.routes["/rss.xml"] = Canned(rss([item(server, n, link=url)
                                            for n, url in links.items()]))
    add_feed(store, server.url("/rss.xml"), "Gazette")
    notes = poll(store, tmp_path).results[0].notes
    found = articles_in(tmp_path)
    assert all(found[f"Story number {n}"].body == f"Summary {n} from the feed itself."
               for n in links)
    assert any("larger than 1 MB" in note for note in notes)
    assert any("not an HTML page (application/pdf)" in note for note in notes)
    assert sum("its link is not http(s)" in note for note in notes) == 3
    assert any("HTTP 500 Internal Server Error (after 3 tries)" in note for note in notes)
    assert found["Story number 3"].url == ""  # a file:// link is never shown as the url
    for key in ("huge", "sized"):  # the client hung up long before 20 MB
        deadline = time.monotonic() + 5
        while not server.state.notes[key]["dropped"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.state.notes[key]["dropped"]
        assert server.state.notes[key]["sent"] < 20_000_000
    requested = {r.path for r in server.state.log}
    assert requested <= {"/rss.xml", "/robots.txt", "/huge", "/sized", "/report.pdf", "/gone"}


def test_robots_txt_keeps_pages_unfetched(server: FeedServer, store: FeedStore,
                                          tmp_path: Path) -> None:
    server.routes["/robots.txt"] = Canned(b"User-agent: *\nDisallow: /private/\n",
                                          content_type="text/plain")
    server.routes["/private/1"] = Canned(page("Secret", *story("secret plan")))
    serve_pages(server, 2)
    server.routes["/rss.xml"] = Canned(rss([item(server, 1, link=server.url("/private/1")),
                                            item(server, 2)]))
    add_feed(store, server.url("/rss.xml"), "Gazette")
    notes = poll(store, tmp_path).results[0].notes
    found = articles_in(tmp_path)
    assert found["Story number 1"].body == "Summary 1 from the feed itself."
    assert "bridge 2 was the talk" in found["Story number 2"].body
    assert not server.hits("/private/1") and len(server.hits("/robots.txt")) == 1
    assert notes == [f"{server.url('/private/1')}: robots.txt disallows it; used the feed's "
                     "own text"]


def test_the_page_date_wins_over_the_item_date(server: FeedServer, store: FeedStore,
                                               tmp_path: Path) -> None:
    server.routes["/a/1"] = Canned(page("Story number 1", *story("tunnel"),
                                        date="2024-03-05T08:00:00Z"))
    server.routes["/rss.xml"] = Canned(rss([item(server, 1)]))  # item: 2 January
    add_feed(store, server.url("/rss.xml"), "Gazette")
    written = poll(store, tmp_path).written
    assert written[0].name.startswith("2024-03-05-story-number-1-")
    assert articles_in(tmp_path)["Story number 1"].published_at.date().isoformat() == \
        "2024-03-05"


def test_links_with_non_ascii_characters_and_spaces_are_fetched(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    server.routes["/st%C3%A4dte/neue%20br%C3%BCcke"] = Canned(
        page("Story number 1", *story("new bridge")))
    server.routes["/rss.xml"] = Canned(rss([item(server, 1,
                                                 link=server.url("/städte/neue brücke"))]))
    add_feed(store, server.url("/rss.xml"), "Stadt")
    report = poll(store, tmp_path)
    assert report.new_articles == 1 and not report.results[0].notes
    assert "new bridge was the talk" in articles_in(tmp_path)["Story number 1"].body


def test_requests_to_one_host_are_limited(server: FeedServer, store: FeedStore,
                                          tmp_path: Path) -> None:
    for n in range(1, 7):
        server.routes[f"/a/{n}"] = slow_page(0.2, page(f"Story number {n}", *story("quay")))
    server.routes["/rss.xml"] = Canned(rss([item(server, n) for n in range(1, 7)]))
    add_feed(store, server.url("/rss.xml"), "Gazette")
    assert poll(store, tmp_path, per_host=2).new_articles == 6
    assert server.state.most_in_flight == 2  # at once, but never more than two


# --- hostile items and the files written ---------------------------------------------------

def test_hostile_titles_write_only_inside_the_feeds_folder(
        server: FeedServer, store: FeedStore, tmp_path: Path) -> None:
    titles = ["../../etc/passwd", "A" * 5000, "Red\x1b[31m alert\x00\x07 bell\r\nnext",
              "....", "", "/absolute/path", "..\\..\\windows", "ß∂ƒ 漢字 🙂"]
    server.routes["/feed.json"] = Canned(json.dumps({  # JSON can carry control characters
        "version": "https://jsonfeed.org/version/1.1", "items": [
            {"id": f"h{n}", "title": t, "content_text": f"Body of hostile item {n}."}
            for n, t in enumerate(titles)] + [{"id": "void"}]}).encode(),
        content_type="application/feed+json")
    add_feed(store, server.url("/feed.json"), "../../Hostile")
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    first = poll(store, tmp_path)
    assert first.new_articles == len(titles)
    assert first.results[0].notes == ["'': nothing to write (no page, text or title)"]
    assert not poll(store, tmp_path).results[0].notes  # recorded: not tried again
    feeds_dir = (tmp_path / "feeds").resolve()
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert len(new) == len(titles) and not any(p.name.startswith(".") for p in new)
    for path in new:
        assert path.resolve().parent.parent == feeds_dir and path.parent.name == "hostile"
        assert re.fullmatch(r"undated-[a-z0-9-]{1,60}-[0-9a-f]{10}\.md", path.name)
    loaded = load_articles([feeds_dir])
    assert not loaded.errors and len(loaded.articles) == len(titles)
    shown = {a.title for a in loaded.articles}
    assert "Red [31m alert bell next" in shown and "../../etc/passwd" in shown
    assert max(len(t) for t in shown) == 500


def test_front_matter_reads_back_exactly(tmp_path: Path) -> None:
    when = datetime(2024, 3, 5, 8, 15, 30, tzinfo=UTC)
    draft = ItemDraft(guid="tag:x,2024:1", url="https://news.example/a?b=1&c=2",
                      title="'Quoted': a title with # marks, colons: and 'ünï' [x]",
                      body="First line.\n\nSecond paragraph with ünïcode.",
                      source="Ledger: Daily", author="Ann Lee, Bo Chan", published_at=when,
                      fallback="")
    path = write_article(tmp_path / "feeds", "Ledger", draft)
    article = load_articles([path]).articles[0]
    assert (article.title, article.url, article.source, article.author, article.published_at
            ) == (draft.title, draft.url, draft.source, draft.author, when)
    assert article.body == draft.body and render(draft, "Ledger").startswith("---\ntitle:")


def test_files_are_written_whole_or_not_at_all(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "feeds" / "x" / "a.md"
    write_atomic(target, "first version\n")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt  # as if the run were stopped between write and rename

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "second version, never seen half-written\n")
    assert target.read_text() == "first version\n"
    assert [p.name for p in target.parent.iterdir()] == ["a.md"]  # no temporary file left


RSS_10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="https://e.example/"><title>Old
 School</title></channel><item rdf:about="https://e.example/1"><title>RDF item</title>
<link>https://e.example/1</link><dc:date>2024-04-01T10:00:00Z</dc:date>
<description>&lt;p&gt;Text &amp;amp; more&lt;/p&gt;</description></item></rdf:RDF>
"""


def test_rss_1_0_is_read_and_a_cut_atom_feed_refused() -> None:
    parsed = parse_feed(RSS_10, "https://e.example/rss")
    (only,) = parsed.items
    assert (parsed.title, only.title, only.url, only.text) == (
        "Old School", "RDF item", "https://e.example/1", "Text & more")
    assert only.published == datetime(2024, 4, 1, 10, tzinfo=UTC) and only.guid == only.url
    document = atom([{"id": "1", "title": "T", "link": "https://e.example/1",
                      "updated": "2024-01-01T00:00:00Z"}])
    assert parse_feed(document + b"<!-- cached -->\n", "https://e.example/a").items
    with pytest.raises(FeedFormatError, match="truncated feed"):
        parse_feed(document[:-10], "https://e.example/a")


def test_slugs_and_json_feed_details() -> None:
    assert slug("../../etc/passwd", "x") == "etc-passwd" and slug("....", "x") == "x"
    assert slug("Élan vital: 2024!", "x") == "elan-vital-2024" and len(slug("a b " * 99, "x")
                                                                      ) <= 60
    parsed = parse_feed(json.dumps({
        "version": "https://jsonfeed.org/version/1", "author": {"name": "Desk"},
        "items": [{"id": 7, "content_text": "Plain\r\n\r\n\r\ntext", "title": " T  1 "},
                  "not an item", {"id": "8", "external_url": "https://e.example/x",
                                  "summary": "S", "date_modified": "2024-05-01T00:00:00Z"}],
    }).encode(), "https://feed.example/feed.json")
    first, second = parsed.items
    assert (first.guid, first.title, first.text, first.author) == ("7", "T 1",
                                                                    "Plain\n\ntext", "Desk")
    assert second.url == "https://e.example/x" and second.published.year == 2024
