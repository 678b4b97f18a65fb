"""`newsbot follow` through the command line: add, list, check and remove on a real small
index (real Chroma and SQLite, the hash embedder), each user mistake one clear line, and
the notices of an index run or a feed fetch printed once, never again on the next run,
with copies from other outlets adding none. Feeds come from the loopback feed server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import FERRY, write_article
from feed_server import Canned, FeedServer, page, rss

import corpus.feeds.download as download
from bot.cli import cli

ORCHARD = ("Apple growers in the southern valley began the harvest two weeks early after a "
           "warm spring, and the orchards hired twice as many pickers as last year. The "
           "growers' cooperative said the fruit was smaller but sweeter, and that prices at "
           "the market would fall once the cold stores fill. Volunteers from the school ran "
           "a stall selling cider pressed from the first crates, and the valley's tourist "
           "office reported more visitors than in any autumn since it opened its doors.")
RSS = "application/rss+xml"


def run(index: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--index-dir", str(index), *args])


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def notices(output: str) -> list[str]:
    """The headlines of the notices a command printed."""
    return [line.removeprefix("🔔 ") for line in output.splitlines() if line.startswith("🔔")]


@pytest.fixture
def index(tmp_path: Path) -> Path:
    news = tmp_path / "news"
    write_article(news, "ferry.md", "Ferry strike strands river commuters", FERRY,
                  source="Ledger Daily", url="https://ledger.example/ferry",
                  published_at="2024-05-02")
    write_article(news, "orchard.md", "Early apple harvest in the valley", ORCHARD,
                  source="Valley Wire", url="https://valley.example/orchard",
                  published_at="2024-05-01")
    folder = tmp_path / "index"
    assert run(folder, "index", str(news)).exit_code == 0
    return folder


def test_add_list_check_and_remove(index: Path) -> None:
    assert "no follows yet" in run(index, "follow", "list").output
    checked = run(index, "follow", "check", "river ferry strike", "--days", "30")
    assert checked.exit_code == 0, checked.output
    lines = checked.output.splitlines()
    assert lines[0] == "river ferry strike: 1 stories in the last 30 days"
    assert "Ledger Daily: Ferry strike strands river commuters" in lines[1]
    assert len(lines) == 2  # the harvest is not about it
    added = run(index, "follow", "add", "river ferry strike")
    assert added.exit_code == 0 and "following 'river ferry strike'" in added.output
    run(index, "follow", "add", "apple harvest", "--outlet", "Valley Wire")
    listed = run(index, "follow", "list").output.splitlines()
    assert [line.split("  since")[0].split(maxsplit=1)[1] for line in listed] == [
        "river ferry strike", "apple harvest  [only Valley Wire]"]
    as_json = json.loads(run(index, "follow", "list", "--json").output)
    assert [(f["topic"], f["outlets"], f["owner"]) for f in as_json] == [
        ("river ferry strike", [], "local"), ("apple harvest", ["Valley Wire"], "local")]
    # With no TOPIC, check runs every follow.
    both = run(index, "follow", "check", "--days", "30").output
    assert "river ferry strike: 1 stories" in both and "apple harvest: 1 stories" in both
    removed = run(index, "follow", "remove", "River Ferry  Strike")  # as typed, loosely
    assert removed.exit_code == 0 and "no longer following 'river ferry strike'" in removed.output
    removed = run(index, "follow", "remove", str(as_json[1]["id"]))  # or by its id
    assert "no longer following 'apple harvest'" in removed.output
    assert "no follows yet" in run(index, "follow", "list").output


def test_mistakes_are_one_clear_line(index: Path) -> None:
    assert "the topic is empty" in one_line_error(run(index, "follow", "add", "   "))
    assert "is not followed here" in one_line_error(run(index, "follow", "remove", "tides"))
    unknown = one_line_error(run(index, "follow", "add", "ferries", "--outlet", "Nobody Post"))
    assert "no indexed article comes from 'Nobody Post'" in unknown
    run(index, "follow", "add", "ferries")
    assert "already followed here" in one_line_error(run(index, "follow", "add", "Ferries"))
    assert "the topic is empty" in one_line_error(run(index, "follow", "check", " "))
    run(index, "follow", "remove", "ferries")
    nothing = run(index, "follow", "check")  # no TOPIC and no follows to check
    assert nothing.exit_code == 2 and "name a TOPIC" in nothing.output
    assert len(nothing.output.strip().splitlines()) == 1


def test_an_index_run_prints_its_notices_once(index: Path, tmp_path: Path) -> None:
    run(index, "follow", "add", "river ferry strike")
    later = tmp_path / "later"
    write_article(later, "ferry-2.md", "River ferry strike enters a second week",
                  "Talks broke down late on Monday. " + FERRY, source="Harbour Post",
                  url="https://harbour.example/ferry-2", published_at="2024-05-09")
    write_article(later, "orchard-2.md", "Cider fair draws crowds", ORCHARD,
                  source="Ledger Daily", url="https://ledger.example/cider",
                  published_at="2024-05-09")
    first = run(index, "index", str(later))
    # The ferry copy is a new article, but its story was indexed before the follow was
    # added: it is noticed now, once, with nothing for the harvest.
    assert notices(first.output) == [
        "[river ferry strike] River ferry strike enters a second week"]
    assert "Harbour Post" in first.output
    again = run(index, "index", str(later), str(tmp_path / "news"))
    assert notices(again.output) == []
    assert notices(run(index, "index", "--json", str(later)).output) == []


@pytest.fixture
def feeds(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    monkeypatch.setenv("NEWSBOT_FETCH_TIMEOUT", "2")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.01,))
    with FeedServer() as server:
        yield server


def publish(server: FeedServer, feed: str, items: list[tuple[str, str, str, str]]) -> None:
    """The feed at /FEED.xml lists these (slug, title, text, outlet) items, each with its
    page; a new version each time (a fresh ETag)."""
    entries = []
    for slug, title, text, outlet in items:
        server.routes[f"/{slug}"] = Canned(page(title, *text.split(". "), site=outlet,
                                                date="2024-05-09T08:00:00Z"))
        entries.append({"title": title, "link": server.url(f"/{slug}"), "guid": slug,
                        "pubDate": "Thu, 09 May 2024 08:00:00 GMT"})
    server.routes[f"/{feed}.xml"] = Canned(rss(entries), content_type=RSS,
                                           etag=f'"{len(items)}"')


def test_fetch_prints_a_story_once_and_its_copies_never(feeds: FeedServer,
                                                         tmp_path: Path) -> None:
    index = tmp_path / "fetched"
    publish(feeds, "gazette", [("ferry", "Ferry strike strands river commuters", FERRY,
                                "Harbour Gazette")])
    publish(feeds, "wire", [])
    for name in ("gazette", "wire"):
        assert run(index, "feeds", "add", feeds.url(f"/{name}.xml"), "--name",
                   name.title()).exit_code == 0
    assert run(index, "follow", "add", "river ferry strike").exit_code == 0
    first = run(index, "fetch")
    assert first.exit_code == 0, first.output
    assert notices(first.output) == ["[river ferry strike] Ferry strike strands river commuters"]
    assert "Harbour Gazette" in first.output and feeds.url("/ferry") in first.output
    # Another outlet runs the same story, and an unrelated one: nothing to show.
    publish(feeds, "wire", [("ferry-copy", "River ferries stop as crews strike",
                             "Commuters were stranded. " + FERRY, "Valley Wire"),
                            ("orchard", "Early apple harvest", ORCHARD, "Valley Wire")])
    second = run(index, "fetch")
    assert "new articles 2" in second.output and notices(second.output) == []
    assert notices(run(index, "fetch").output) == []
    stories = json.loads(run(index, "follow", "check", "river ferry strike", "--json").output)
    assert [n["also_in"] for n in stories["river ferry strike"]] == [["Valley Wire"]]
