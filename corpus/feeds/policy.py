"""Where a feed may lead newsbot: public addresses; the feed's own host (an intranet feed
links to its own pages); the hosts the operator allows; nothing else.

The rule is applied where the connection is made: the host name is resolved once, every
address it resolves to is checked, and the socket is connected to a checked address. A
DNS answer that changes between a check and the connection (rebinding) or a redirect to
another host therefore cannot reach an address the rule refuses: each redirect hop is a
new connection, checked like the first."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from corpus.feeds.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Addresses no feed from outside may lead to, with what they are. Checked in this order;
# `_kind` also refuses anything else Python does not call global.
_NOT_PUBLIC: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this host"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private network"),
    ("172.16.0.0/12", "private network"),
    ("192.168.0.0/16", "private network"),
    ("169.254.0.0/16", "link-local, cloud metadata"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("192.0.0.0/24", "protocol assignments"),
    ("198.18.0.0/15", "benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "this host"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped"),
    ("::/96", "IPv4-compatible"),
    ("fc00::/7", "unique-local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_NETWORKS = tuple((ipaddress.ip_network(net), kind) for net, kind in _NOT_PUBLIC)
# IPv6 prefixes that carry an IPv4 address (NAT64, 6to4): judged by the address inside.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_kind(address: IPAddress) -> str:
    """What kind of non-public address this is ("loopback", "private network", ...);
    "" for a public address."""
    plain = ipaddress.ip_address(str(address).split("%")[0])  # without an IPv6 zone
    for network, kind in _NETWORKS:
        if plain.version == network.version and plain in network:
            return kind
    if isinstance(plain, ipaddress.IPv6Address):
        inner = _embedded_ipv4(plain)
        if inner is not None and address_kind(inner):
            return f"{address_kind(inner)}, inside IPv6"
    return "" if plain.is_global else "not public"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def host_entry(text: str) -> str:
    """One entry of the allow list, normalised: a host name or an address, without
    scheme, port or path. Raises `ValueError` saying what is wrong."""
    host = text.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    if not host or any(not label or not label.replace("-", "").replace("_", "").isalnum()
                       for label in labels):
        raise ValueError(f"a host name or address without scheme, port or path, not {text!r}")
    return host.encode("idna").decode("ascii") if not host.isascii() else host


def host_list(value: object) -> object:
    """The allow list from its setting: "intranet.example, 10.0.0.5" (or a list), each
    entry normalised; a `ValueError` names an entry that is not a host."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple):
        return value  # not a list: the setting's own type check says so
    return [host_entry(str(part)) for part in parts if str(part).strip()]


def host_of(url: str) -> str:
    """The host a URL names, as connections see it (lower case, no trailing dot)."""
    try:
        return _normal(urlsplit(url).hostname or "")
    except ValueError:  # "http://[broken"
        return ""


def _normal(host: str) -> str:
    """`host` as the allow list writes it; as it is when it is no valid name (then it
    matches no entry)."""
    try:
        return host_entry(host)
    except (ValueError, UnicodeError):
        return host


REFUSED = "refused: "  # how every refusal's reason begins


class AddressRefused(FetchError):
    """A connection the fetch policy does not allow; never worth another try."""


@dataclass(frozen=True)
class FetchPolicy:
    """`allow_hosts`: host names or addresses that may be reached whatever their address
    (NEWSBOT_FETCH_ALLOW_HOSTS), e.g. an intranet site that a public feed links to."""

    allow_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> FetchPolicy:
        return cls(frozenset(host_entry(host) for host in hosts))

    def refusal(self, host: str, address: IPAddress, feed_host: str) -> str:
        """Why connecting to `address` for a URL on `host`, fetched for the feed on
        `feed_host` ("" when for no feed), is refused; "" when it is allowed."""
        kind = address_kind(address)
        if not kind or host in self.allow_hosts or host == feed_host \
                or str(address).split("%")[0] in self.allow_hosts:
            return ""
        return f"{REFUSED}private address {address} ({kind})"

    def connector(self, feed_host: str) -> Connector:
        return Connector(self, feed_host)


@dataclass(frozen=True)
class Connector:
    """`socket.create_connection` for http.client, with the policy on each address."""

    policy: FetchPolicy
    feed_host: str

    def __call__(self, address: tuple[str, int], timeout: float | None = None,
                 source_address: tuple[str, int] | None = None) -> socket.socket:
        host, port = address
        refusals: list[str] = []
        failure: OSError | None = None
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM):
            refusal = self.policy.refusal(_normal(host), ipaddress.ip_address(sockaddr[0]),
                                          self.feed_host)
            if refusal:
                refusals.append(refusal)
                continue
            sock = socket.socket(family, kind, proto)
            try:
                if isinstance(timeout, int | float):  # else http.client's "no timeout given"
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)  # the very address that was checked
                return sock
            except OSError as exc:
                sock.close()
                failure = exc
        if failure is not None:
            raise failure
        if not refusals:
            raise OSError(f"no address for {host}")
        raise AddressRefused(refusals[0])
