"""The one allow-list of every fetch the server makes (`labelcheck.core.network`): a web page
audit's (`CRAWL_ALLOW`) and a watch's (`WATCH_ALLOW`, the guard proxy) use the same check."""

from __future__ import annotations

import ipaddress
import pickle

import pytest

from labelcheck.core.network import NetworkRules, Refused, kind_of, public

ip = ipaddress.ip_address
PUBLIC_ONLY = NetworkRules(hosts=("*",), networks=())


@pytest.mark.parametrize("address, is_public, kind", [
    ("8.8.8.8", True, None),
    ("2606:4700::1111", True, None),
    ("::ffff:8.8.8.8", True, None),  # IPv4-mapped: judged as 8.8.8.8 (Python calls it reserved)
    ("127.0.0.1", False, "a loopback"),
    ("::1", False, "a loopback"),
    ("::ffff:127.0.0.1", False, "a loopback"),
    ("10.1.2.3", False, "a private"),
    ("::ffff:10.1.2.3", False, "a private"),
    ("fd00::1", False, "a private"),
    ("169.254.169.254", False, "a link-local"),  # the cloud metadata address
    ("fe80::1", False, "a link-local"),
    ("0.0.0.0", False, "an unspecified"),
    ("::", False, "an unspecified"),
    ("224.0.1.1", False, "a multicast"),  # globally scoped, but multicast
    ("ff0e::1", False, "a multicast"),
    ("240.0.0.1", False, "a reserved"),
    ("100.64.0.1", False, "a reserved"),  # carrier-grade NAT: not global, not private
])
def test_public_addresses_and_the_kind_of_the_others(address, is_public, kind):
    assert public(ip(address)) is is_public
    if kind:
        assert kind_of(ip(address)) == kind
        assert not PUBLIC_ONLY.allows_address(ip(address), named=True)
    else:
        assert PUBLIC_ONLY.allows_address(ip(address), named=True)


def test_a_listed_network_allows_what_it_holds_and_nothing_else():
    rules = NetworkRules.allow_list("10.0.0.0/8, [::1]")
    for inside in ("10.1.2.3", "::ffff:10.1.2.3", "::1"):
        assert rules.allows_address(ip(inside), named=False), inside
    for outside in ("127.0.0.1", "::ffff:127.0.0.1", "::2", "192.168.1.1"):
        assert not rules.allows_address(ip(outside), named=True), outside
    for public_literal in ("11.0.0.1", "8.8.8.8"):  # no ``*`` listed
        assert not rules.allows_address(ip(public_literal), named=False), public_literal


def test_a_public_literal_needs_a_star_a_public_name_does_not():
    named_only = NetworkRules.allow_list("live.example.com")
    assert not named_only.allows_address(ip("203.0.113.7"), named=True)  # documentation block
    assert named_only.allows_address(ip("8.8.8.8"), named=True)
    assert not named_only.allows_address(ip("8.8.8.8"), named=False)
    assert PUBLIC_ONLY.allows_address(ip("8.8.8.8"), named=False)


def test_the_default_reaches_everything():
    rules = NetworkRules()
    assert rules.allows_host("anything.example")
    for address in ("127.0.0.1", "::1", "::ffff:10.0.0.1", "169.254.169.254", "8.8.8.8"):
        assert rules.allows_address(ip(address), named=False), address
    assert [family for family, _ in rules.resolve("127.0.0.1", 80)]


@pytest.mark.parametrize("pattern, host, allowed", [
    ("live.example.com", "live.example.com", True),
    ("live.example.com", "LIVE.Example.com.", True),
    ("live.example.com", "a.live.example.com", False),
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "example.com", False),
    ("*.example.com", "badexample.com", False),
    ("*.EXAMPLE.com.", "cdn.example.com", True),
    ("*", "whatever.example", True),
])
def test_host_patterns(pattern, host, allowed):
    assert NetworkRules.allow_list(pattern).allows_host(host) is allowed


@pytest.mark.parametrize("entry", ["", " , ", "http://x.example/", "a/b", "host:80", "a*b.com",
                                   "*.", "*.*.com", "user@host", "*x.example.com", ".example"])
def test_entries_that_are_neither_a_host_nor_a_network(entry):
    with pytest.raises(ValueError, match="neither a host name nor an IP network|is empty"):
        NetworkRules.allow_list(entry)


def test_a_list_reads_back_what_it_describes_and_travels_to_workers():
    rules = NetworkRules.allow_list(["live.example.com", "*.cdn.example.net 203.0.113.0/24",
                                     "10.1.2.3", "[::1]"])
    assert rules.describe() == ("live.example.com, *.cdn.example.net, 203.0.113.0/24, "
                                "10.1.2.3/32, ::1/128")
    assert NetworkRules.allow_list(rules.describe()) == rules
    assert pickle.loads(pickle.dumps(rules)) == rules
    assert NetworkRules(networks=("10.0.0.0/8",)).networks == (ipaddress.ip_network("10.0.0.0/8"),)


def test_resolve_checks_the_name_then_every_address():
    with pytest.raises(Refused, match="^localhost is not in the allow-list$"):
        NetworkRules.allow_list("127.0.0.0/8, ::1").resolve("localhost", 80)  # name unlisted
    with pytest.raises(Refused, match=r"^localhost is at a loopback address \((127\.0\.0\.1|::1)"
                                      r"\), which the allow-list does not name$"):
        NetworkRules.allow_list("localhost").resolve("localhost", 80)
    allowed = NetworkRules.allow_list("localhost 127.0.0.0/8 ::1").resolve("localhost", 8080)
    assert allowed and all(sockaddr[1] == 8080 for _, sockaddr in allowed)
    with pytest.raises(Refused, match="^::ffff:127.0.0.1 is at a loopback address, which the "):
        PUBLIC_ONLY.resolve("::ffff:127.0.0.1", 80)
    with pytest.raises(Refused, match="^8.8.8.8 is not in the allow-list$"):
        NetworkRules.allow_list("live.example.com").resolve("8.8.8.8", 80)
    with pytest.raises(Refused, match="no-such-host.invalid could not be resolved"):
        PUBLIC_ONLY.resolve("no-such-host.invalid", 80)
