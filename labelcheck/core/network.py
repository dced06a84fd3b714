"""Where this process may connect: one allow-list, one address check, one resolve step.

A web page audit, the scan of a URL and a watch started from the web fetch addresses that came
from outside (a page's links, a URL a visitor typed, a playlist's segments): server-side
request forgery by design. Every connection they make goes through `NetworkRules.resolve`:
the host name is checked against the list, resolved once, every address it resolves to is
checked, and the caller connects to those checked addresses (`connect`), so a name that
resolves elsewhere a moment later (DNS rebinding) reaches nothing new. `labelcheck.run.fetch`
(the crawl, the scan of a URL) and the watch's proxy (`labelcheck.live.guard`) both use it.

An address is reached when a listed network holds it, or when it is public (globally
routable unicast: an IPv4-mapped IPv6 address is judged as its IPv4 one) and came from an
allowed host name, or is a literal and ``*`` is listed. Loopback, private, link-local,
multicast, reserved and unspecified addresses are reached only when a network names them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the socket module is loaded by the first fetch, not by every scan
    import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NOT_IN_A_NAME = "/:@?#[] \\"  # characters that make an entry a URL or a path, not a host name
SCHEMES = ("http", "https")  # the URL schemes `labelcheck.run.fetch` speaks


class Refused(Exception):
    """A host or address the rules do not allow; the message says why, for a person."""


@dataclass(frozen=True)
class NetworkRules:
    """Where fetches may go: `hosts`, names a host may have (``example.com``,
    ``*.example.com`` for its subdomains, ``*`` for any name), each of whose addresses must be
    public, and `networks` (``10.0.0.0/8``, ``127.0.0.1``; strings or networks), whose
    addresses may be reached whatever they are. The default reaches everything: the command
    line fetches what its user asks. The web app passes its operator's `allow_list`, and
    fetches nothing without one."""

    hosts: tuple[str, ...] = ("*",)
    networks: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/0"),
                                     ipaddress.ip_network("::/0"))

    def __post_init__(self):
        object.__setattr__(self, "hosts", tuple(_host_pattern(host) for host in self.hosts))
        object.__setattr__(self, "networks", tuple(
            ipaddress.ip_network(network, strict=False) for network in self.networks))

    @classmethod
    def allow_list(cls, entries: str | Iterable[str]) -> "NetworkRules":
        """Rules from an operator's list (a string of comma- or space-separated entries, or
        a list of them): IP addresses and networks (``10.0.0.0/8``, ``127.0.0.1``,
        ``[::1]``), host names and patterns (``live.example.com``, ``*.example.com``,
        ``*``). Raises `ValueError` for an entry that is neither, or an empty list."""
        items = [entries] if isinstance(entries, str) else list(entries)
        hosts, networks = [], []
        for entry in " ".join(str(item) for item in items).replace(",", " ").split():
            network = _network(entry)
            if network is not None:
                networks.append(network)
            else:
                hosts.append(entry)
        if not hosts and not networks:
            raise ValueError("the allow-list is empty")
        return cls(tuple(hosts), tuple(networks))

    def describe(self) -> str:
        """The list as `allow_list` reads it back."""
        return ", ".join([*self.hosts, *(str(network) for network in self.networks)])

    def allows_host(self, host: str) -> bool:
        """Whether a host name is listed (``*.example.com`` holds its subdomains, not
        ``example.com`` itself)."""
        host = host.lower().rstrip(".")
        return any(pattern == "*" or host == pattern
                   or (pattern.startswith("*.") and host.endswith(pattern[1:]))
                   for pattern in self.hosts)

    def allows_address(self, address: Address, named: bool) -> bool:
        """The one address check: a listed network allows any address in it; otherwise an
        address is reached only when it is public and came from an allowed name (`named`),
        or ``*`` is listed (a literal address in a URL)."""
        address = _unmapped(address)
        if any(address in network for network in self.networks
               if network.version == address.version):
            return True
        return public(address) and (named or "*" in self.hosts)

    def resolve(self, host: str, port: int) -> list[tuple[int, tuple]]:
        """The (family, socket address) pairs to connect to for `host`:`port`, every one
        allowed; raises `Refused` when the host, or any address it resolves to, is not (a
        name that mixes public and private addresses is refused whole)."""
        import socket

        literal = address_of(host)
        if literal is None and not self.allows_host(host):
            raise Refused(f"{host} is not in the allow-list")
        try:
            found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise Refused(f"{host} could not be resolved "
                          f"({getattr(exc, 'strerror', None) or exc})") from None
        for *_, sockaddr in found:
            address = address_of(sockaddr[0])
            if address is None or not self.allows_address(address, named=literal is None):
                raise Refused(_refusal(host, address or sockaddr[0], literal is None))
        return [(family, sockaddr) for family, _, _, _, sockaddr in found]


def connect(rules: NetworkRules, host: str, port: int, timeout: float | None) -> socket.socket:
    """A socket connected to the first address of `host` that answers, among those `rules`
    allowed (`NetworkRules.resolve`); raises `Refused`, or the last `OSError`."""
    import socket

    error: OSError | None = None
    for family, sockaddr in rules.resolve(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"could not connect to {host}")


def address_of(text: str) -> Address | None:
    """The IP address `text` spells (``[::1]``, ``fe80::1%eth0`` too), or None for a name."""
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def public(address: Address) -> bool:
    """Globally routable unicast (an IPv4-mapped IPv6 address is judged as its IPv4 one)."""
    address = _unmapped(address)
    return (address.is_global and not address.is_multicast and not address.is_reserved
            and not address.is_unspecified)


def kind_of(address: Address) -> str:
    """What kind of address a refused one is, for the message: ``a loopback``..."""
    address = _unmapped(address)
    for attribute, words in (("is_loopback", "a loopback"), ("is_unspecified", "an unspecified"),
                             ("is_link_local", "a link-local"), ("is_multicast", "a multicast"),
                             ("is_reserved", "a reserved"), ("is_private", "a private")):
        if getattr(address, attribute):
            return words
    return "a reserved"


def _unmapped(address: Address) -> Address:
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _refusal(host: str, address: Address | str, named: bool) -> str:
    """Why `host` (which resolved to `address`) is refused, in words a person checks."""
    if isinstance(address, str):
        return f"{host} resolves to {address}, which is not an IP address"
    if public(address):  # a public literal, without ``*`` in the list
        return f"{host} is not in the allow-list"
    where = f" ({address})" if named else ""
    return f"{host} is at {kind_of(address)} address{where}, which the allow-list does not name"


def _network(entry: str) -> Network | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _host_pattern(entry: str) -> str:
    """A host entry in the form it is matched in: ``name``, ``*.domain`` or ``*``."""
    name = entry.strip().lower()
    if name == "*":
        return name
    label = (name[2:] if name.startswith("*.") else name).rstrip(".")
    if not label or label.startswith(".") or "*" in label \
            or any(ch in label for ch in NOT_IN_A_NAME):
        raise ValueError(f"{entry!r} is neither a host name nor an IP network")
    return name.rstrip(".")
