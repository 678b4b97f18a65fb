"""The fetch policy (corpus/feeds/policy.py) against real HTTP servers on separate loopback
hosts (127.0.0.2, 127.0.0.3 ... are other hosts on Linux, and private to the policy): a
feed may lead to its own host, the hosts NEWSBOT_FETCH_ALLOW_HOSTS names and public
addresses; links and redirects to any other private host, and names that resolve to one,
are refused before a connection is made. Also: a gzip bomb stops at the size cap."""

from __future__ import annotations

import gzip
import ipaddress
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from feed_server import Canned, FeedServer, Handler, page, redirect_to, rss, story

import corpus.feeds.download as download
from bot.cli import cli
from corpus import load_articles
from corpus.feeds import FeedStore, FetchOptions, PollReport, add_feed, poll_feeds
from corpus.feeds.download import Downloader
from corpus.feeds.errors import FetchError
from corpus.feeds.policy import AddressRefused, FetchPolicy, address_kind, host_entry
from retrieval.errors import SettingsError
from retrieval.settings import get_settings

RSS = "application/rss+xml"


@pytest.fixture(autouse=True)
def _feeds_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FEEDS_DB", str(tmp_path / "feeds.sqlite"))
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(download, "RETRY_DELAYS", (0.01, 0.02))


@pytest.fixture
def feed_host() -> Iterator[FeedServer]:
    """The feed's own site, on 127.0.0.2."""
    with FeedServer("127.0.0.2") as running:
        yield running


@pytest.fixture
def other_host() -> Iterator[FeedServer]:
    """Another private host, 127.0.0.3, that no feed on 127.0.0.2 may reach by default."""
    with FeedServer("127.0.0.3") as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedStore]:
    with FeedStore(tmp_path / "feeds.sqlite") as opened:
        yield opened


def poll(store: FeedStore, tmp_path: Path, **options: object) -> PollReport:
    settings = {"user_agent": "newsbot-test/1.0", "timeout": 1.0, "max_page_mb": 1.0,
                **options}
    return poll_feeds(store, tmp_path / "feeds", FetchOptions(**settings))


def serve_story(server: FeedServer, path: str, title: str) -> None:
    server.routes[path] = Canned(page(title, *story(title.lower())))


def feed_of(server: FeedServer, links: dict[str, str]) -> None:
    """An RSS feed at /rss.xml on `server`, one item per title, linking where it says."""
    server.routes["/rss.xml"] = Canned(rss([
        {"title": title, "link": link, "guid": title, "description": f"{title}, in short."}
        for title, link in links.items()]), content_type=RSS)


def bodies(tmp_path: Path) -> dict[str, str]:
    return {a.title: a.body for a in load_articles([tmp_path / "feeds"]).articles}


def fake_resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Names resolved by the given answers, in turn (the last one stays); others as usual.
    Returns the names looked up, in order."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def resolve(host: str, port: object, *args: object, **kwargs: object) -> list[tuple]:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(str(port))))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return asked


# --- the address classification ---------------------------------------------------------

@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.0.0.3", "loopback"), ("::1", "loopback"),
    ("10.0.0.5", "private network"), ("172.16.0.1", "private network"),
    ("172.31.255.254", "private network"), ("192.168.1.1", "private network"),
    ("169.254.169.254", "link-local, cloud metadata"), ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"), ("100.127.255.254", "carrier-grade NAT"),
    ("fc00::1", "unique-local"), ("fd12:3456::1", "unique-local"),
    ("::ffff:10.0.0.5", "IPv4-mapped"), ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "this host"), ("::", "this host"), ("255.255.255.255", "reserved"),
    ("64:ff9b::a00:5", "private network, inside IPv6"),  # NAT64 of 10.0.0.5
    ("2002:a9fe:a9fe::1", "link-local, cloud metadata, inside IPv6"),  # 6to4 169.254.169.254
    ("192.0.2.10", "not public"), ("2001:db8::1", "not public"),  # documentation ranges
])
def test_private_addresses_are_named(address: str, kind: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1",
                                     "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_pass(address: str) -> None:
    assert address_kind(ipaddress.ip_address(address)) == ""


def test_the_policy_lets_through_the_feeds_own_host_and_the_allowed_ones() -> None:
    policy = FetchPolicy.allowing(["Intranet.Example.", "10.0.0.7"])
    private = ipaddress.ip_address("10.0.0.5")
    assert policy.refusal("wiki.example", private, "news.example") == \
        "refused: private address 10.0.0.5 (private network)"
    assert policy.refusal("news.example", private, "news.example") == ""  # its own host
    assert policy.refusal("intranet.example", private, "") == ""  # allowed by name
    assert policy.refusal("db.example", ipaddress.ip_address("10.0.0.7"), "") == ""
    assert policy.refusal("anywhere.example", ipaddress.ip_address("8.8.8.8"), "") == ""


def test_the_allow_list_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_HOSTS", " Intranet.Example , 10.0.0.5,[::1]")
    assert get_settings().feeds.fetch_allow_hosts == ["intranet.example", "10.0.0.5", "::1"]
    monkeypatch.setenv("NEWSBOT_FETCH_ALLOW_HOSTS", "intranet.example,http://10.0.0.5:8080")
    with pytest.raises(SettingsError) as caught:
        get_settings()
    assert "NEWSBOT_FETCH_ALLOW_HOSTS" in str(caught.value)
    assert "without scheme, port or path" in str(caught.value)
    with pytest.raises(ValueError, match="not 'wiki example'"):
        host_entry("wiki example")


# --- feeds, links and redirects ----------------------------------------------------------

def test_links_and_redirects_to_another_private_host_are_refused(
        feed_host: FeedServer, other_host: FeedServer, store: FeedStore,
        tmp_path: Path) -> None:
    secret = other_host.url("/admin")
    serve_story(other_host, "/admin", "Internal salaries")
    serve_story(feed_host, "/a/1", "Harbour bridge opens")
    feed_host.routes["/go"] = redirect_to(secret)  # a 302 from the feed's own site
    feed_of(feed_host, {"Harbour bridge opens": feed_host.url("/a/1"),
                        "Direct link": secret, "Redirected link": feed_host.url("/go")})
    add_feed(store, feed_host.url("/rss.xml"), "Intranet")

    result = poll(store, tmp_path).results[0]
    assert result.error == ""
    assert other_host.state.connections == 0 and other_host.state.log == []
    found = bodies(tmp_path)
    assert "harbour bridge opens was the talk of the town" in found["Harbour bridge opens"]
    assert found["Direct link"] == "Direct link, in short."  # the feed's own text
    assert found["Redirected link"] == "Redirected link, in short."
    assert len(feed_host.hits("/go")) == 1  # its own host: followed up to the redirect
    refusal = "refused: private address 127.0.0.3 (loopback)"
    assert sum(refusal in note for note in result.notes) == 2
    assert len(result.refused) == 2

    listed = CliRunner().invoke(cli, ["feeds", "list"]).output
    assert f"last error: {secret}: {refusal} (and 1 more link)" in listed


def test_a_feed_redirected_to_another_private_host_fails(
        feed_host: FeedServer, other_host: FeedServer, store: FeedStore,
        tmp_path: Path) -> None:
    feed_of(other_host, {"Secret": other_host.url("/a/1")})
    feed_host.routes["/rss.xml"] = redirect_to(other_host.url("/rss.xml"))
    add_feed(store, feed_host.url("/rss.xml"), "Moved")
    result = poll(store, tmp_path).results[0]
    assert result.error == "refused: private address 127.0.0.3 (loopback)"
    assert len(feed_host.hits("/rss.xml")) == 1  # refused once, not retried
    assert other_host.state.connections == 0
    assert "last error: refused: private address 127.0.0.3" in \
        CliRunner().invoke(cli, ["feeds", "list"]).output


def test_names_that_resolve_to_a_private_address_are_refused_unconnected(
        feed_host: FeedServer, other_host: FeedServer, store: FeedStore, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_resolver(monkeypatch, {"news.example": ["127.0.0.3"]})
    with FeedServer("127.0.0.1") as local:
        serve_story(local, "/a/1", "Local page")
        serve_story(other_host, "/a/2", "Made up name")
        feed_of(feed_host, {"Local page": f"http://localhost:{local.port}/a/1",
                            "Made up name": f"http://news.example:{other_host.port}/a/2"})
        add_feed(store, feed_host.url("/rss.xml"), "Names")
        result = poll(store, tmp_path).results[0]
        assert local.state.connections == 0
    assert other_host.state.connections == 0
    assert "news.example" in asked  # resolved at connection time, then refused
    refused = " ".join(result.refused)
    assert "refused: private address 127.0.0.3 (loopback)" in refused
    assert "localhost" in refused and len(result.refused) == 2


def test_the_connection_goes_to_the_address_that_was_checked(
        other_host: FeedServer, feed_host: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name is resolved once per connection and the socket connected to
    that very address, so a second answer (here a refused one) is never used."""
    asked = fake_resolver(monkeypatch, {"rebind.example": ["127.0.0.3", "127.0.0.2"]})
    serve_story(other_host, "/a/1", "Checked address")
    serve_story(feed_host, "/a/1", "Rebound address")
    downloader = Downloader("newsbot-test/1.0", 1.0, 1_000_000, 2, (),
                            policy=FetchPolicy.allowing(["127.0.0.3"]))
    response = downloader.get(f"http://rebind.example:{other_host.port}/a/1")
    assert b"Checked address" in response.body and asked == ["rebind.example"]
    with pytest.raises(AddressRefused, match="private address 127.0.0.2"):
        downloader.get(f"http://rebind.example:{feed_host.port}/a/1")  # the second answer
    assert feed_host.state.connections == 0


def test_the_allow_list_lets_a_named_host_through(
        feed_host: FeedServer, other_host: FeedServer, store: FeedStore,
        tmp_path: Path) -> None:
    with FeedServer("127.0.0.1") as local:
        serve_story(local, "/a/1", "Wiki page")
        serve_story(other_host, "/a/2", "Staff news")
        feed_of(feed_host, {"Wiki page": f"http://localhost:{local.port}/a/1",
                            "Staff news": other_host.url("/a/2")})
        add_feed(store, feed_host.url("/rss.xml"), "Intranet")
        result = poll(store, tmp_path, allow_hosts=("LOCALHOST", "127.0.0.3")).results[0]
        assert len(local.hits("/a/1")) == 1
    assert result.refused == [] and len(other_host.hits("/a/2")) == 1
    found = bodies(tmp_path)
    assert "wiki page was the talk of the town" in found["Wiki page"]
    assert "staff news was the talk of the town" in found["Staff news"]


def test_proxy_variables_cannot_route_around_the_policy(
        feed_host: FeedServer, other_host: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a proxy, the policy would only see the proxy's address: none is used."""
    with FeedServer("127.0.0.1") as proxy:
        monkeypatch.setenv("http_proxy", proxy.base)
        serve_story(feed_host, "/a/1", "Direct")
        downloader = Downloader("newsbot-test/1.0", 1.0, 1_000_000, 2, ())
        assert b"Direct" in downloader.get(feed_host.url("/a/1"),
                                           for_feed=feed_host.url("/rss.xml")).body
        with pytest.raises(AddressRefused):
            downloader.get(other_host.url("/a/1"), for_feed=feed_host.url("/rss.xml"))
        assert proxy.state.connections == 0 and other_host.state.connections == 0


# --- compressed bodies -------------------------------------------------------------------

def gzip_bomb(decompressed: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip
    block = b"\0" * 1_000_000
    return b"".join(packer.compress(block) for _ in range(decompressed // len(block))) \
        + packer.flush()


def test_a_gzip_bomb_stops_at_the_size_cap(feed_host: FeedServer) -> None:
    bomb = gzip_bomb(50_000_000)
    assert len(bomb) < 100_000  # well under the 1 MB cap as sent
    feed_host.routes["/bomb"] = Canned(bomb, headers={"Content-Encoding": "gzip"})
    feed_host.routes["/small"] = Canned(gzip.compress(page("Small", *story("small"))),
                                        headers={"Content-Encoding": "gzip"})
    downloader = Downloader("newsbot-test/1.0", 2.0, 1_000_000, 2, ())
    own = {"for_feed": feed_host.url("/rss.xml")}
    with pytest.raises(FetchError, match="larger than 1 MB"):
        downloader.get(feed_host.url("/bomb"), **own)
    assert b"The small was the talk" in downloader.get(feed_host.url("/small"), **own).body
    assert feed_host.hits("/small")[0].headers["accept-encoding"] == "gzip"


def test_damaged_and_unknown_encodings_fail_the_page_only(feed_host: FeedServer) -> None:
    def brotli(handler: Handler) -> None:
        handler.reply(200, b"\x1b\x00", "text/html", {"Content-Encoding": "br"})

    feed_host.routes["/br"] = brotli
    feed_host.routes["/cut"] = Canned(gzip.compress(b"<p>text</p>" * 500)[:60],
                                      headers={"Content-Encoding": "gzip"})
    feed_host.routes["/junk"] = Canned(b"not gzip at all", headers={"Content-Encoding": "gzip"})
    downloader = Downloader("newsbot-test/1.0", 2.0, 1_000_000, 2, ())
    own = {"for_feed": feed_host.url("/rss.xml")}
    with pytest.raises(FetchError, match="unsupported content encoding br"):
        downloader.get(feed_host.url("/br"), **own)
    with pytest.raises(FetchError, match="damaged compressed body"):
        downloader.get(feed_host.url("/junk"), **own)
    # A body cut short is what arrived of it (as with an uncompressed one).
    assert (b"<p>text</p>" * 500).startswith(downloader.get(feed_host.url("/cut"), **own).body)
