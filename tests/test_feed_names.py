"""`newsbot feeds add URL` against a real HTTP server on 127.0.0.1: a feed is named by its
own title (the host only when it has none), and a web page that is not a feed is refused
in one plain line that says so, with the page's own feed when it links one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from feed_server import Canned, FeedServer, atom, rss

from bot.cli import cli

RSS = "application/rss+xml"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_a_feed_is_named_by_its_own_title(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/rss.xml"] = Canned(rss([], title="Harbour Gazette"), content_type=RSS)
    server.routes["/sport.xml"] = Canned(rss([], title="Harbour Gazette"), content_type=RSS)
    server.routes["/atom.xml"] = Canned(atom([], title="Valley  Wire\n"),
                                        content_type="application/atom+xml")
    server.routes["/untitled.xml"] = Canned(rss([], title=""), content_type=RSS)
    added = run("feeds", "add", server.url("/rss.xml"))
    assert added.exit_code == 0 and f"added 'Harbour Gazette': {server.url('/rss.xml')}" \
        in added.output
    assert "added 'Harbour Gazette (2)'" in run("feeds", "add", server.url("/sport.xml")).output
    assert "added 'Valley Wire'" in run("feeds", "add", server.url("/atom.xml")).output
    assert "added '127.0.0.1'" in run("feeds", "add", server.url("/untitled.xml")).output
    named = run("feeds", "add", server.url("/rss.xml") + "?x=1", "--name", "Mine")
    assert "added 'Mine'" in named.output  # a name given is kept
    listed = run("feeds", "list").output
    assert f"Harbour Gazette  {server.url('/rss.xml')}  ·" in listed


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain"])
def test_a_web_page_is_refused_in_one_plain_line(server: FeedServer, content_type: str) -> None:
    server.routes["/page"] = Canned(b"<!DOCTYPE html>\n<html><head><title>Home</title>"
                                    b"</head><body><p>Hello</p></body></html>",
                                    content_type=content_type)
    refused = run("feeds", "add", server.url("/page"))
    assert refused.exit_code == 1
    (line,) = refused.output.strip().splitlines()
    assert line == (f"error: {server.url('/page')} is not a feed newsbot can read: it is a "
                    "web page, not an RSS, Atom or JSON feed; give the address of the site's "
                    "feed (often behind an RSS link on the page)")
    assert "<unknown>" not in line and "syntax error" not in line
    assert "No feeds yet" in run("feeds", "list").output


def test_a_web_page_that_links_its_feed_names_it(server: FeedServer) -> None:
    server.routes["/"] = Canned(b'<html><head><link href="/news/rss.xml" type="application/'
                                b'rss+xml" title="News" rel="alternate"></head>'
                                b"<body>Home</body></html>")
    refused = run("feeds", "add", server.url("/"))
    assert refused.exit_code == 1
    assert refused.output.strip().endswith(
        "it is a web page, not an RSS, Atom or JSON feed; its feed is at "
        f"{server.url('/news/rss.xml')}: add that address instead")


def test_broken_xml_says_where_without_the_parsers_own_words(server: FeedServer) -> None:
    server.routes["/broken.xml"] = Canned(b'<?xml version="1.0"?>\n<notes><a></b></notes>\n',
                                          content_type="application/xml")
    refused = run("feeds", "add", server.url("/broken.xml"))
    assert refused.exit_code == 1
    line = refused.output.strip()
    assert "not an RSS, Atom or JSON feed (XML error at line 2" in line, line
    assert "<unknown>" not in line
