"""Fetching web pages and media by HTTP(S), within the addresses the operator allows.

A crawl (`labelcheck.run.crawl`) and the scan of a crawled URL fetch addresses that came from
outside: a page's links, and in the web app a URL a visitor typed. That is server-side
request forgery by design, so every connection goes through `labelcheck.core.network` (the
same rules as a watch's): the host name is checked and resolved once, every address it
resolves to is checked (a loopback, private, link-local or otherwise reserved address is
refused unless its network is allowed), and the socket is opened to a checked address, so a
name that resolves elsewhere a moment later (DNS rebinding) reaches nothing new. Redirects
open new connections through the same check; only ``http`` and ``https`` are spoken; no proxy
from the environment is used. Bodies are read in chunks up to a size cap and within a time
limit, and a download goes to a file, never into memory whole.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO
from urllib.parse import urlsplit

from labelcheck.core.network import SCHEMES, NetworkRules, Refused, connect
from labelcheck.version import __version__

USER_AGENT = f"labelcheck/{__version__} (AI-label audit; +https://github.com/labelcheck)"
CHUNK = 1 << 16
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A URL that could not be fetched; the message is for a person (no address of ours)."""


@dataclass
class Page:
    """A fetched document: where it ended up after redirects, its type and its bytes."""

    url: str
    content_type: str
    body: bytes
    status: int = 200


def check_url(url: str) -> None:
    """Refuse a URL that is not http(s), has no host or carries credentials (its host's
    addresses are checked when connecting)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise FetchError(f"only http and https addresses are fetched, not {parts.scheme or url!r}")
    if parts.username or parts.password:
        raise FetchError("addresses with a user name or password are not fetched")


def guarded_socket(host: str, port: int, timeout, rules: NetworkRules) -> socket.socket:
    """A socket connected to an allowed address of `host` (`labelcheck.core.network`: every
    address `host` resolves to must be allowed, and the socket goes to one of those)."""
    try:
        return connect(rules, host, port,
                       timeout if isinstance(timeout, (int, float)) else None)
    except Refused as exc:
        raise FetchError(str(exc)) from None
    except OSError as exc:
        raise FetchError(f"{host}: could not connect ({exc.strerror or exc})") from None


class GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, rules: NetworkRules, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = rules

    def connect(self):
        self.sock = guarded_socket(self.host, self.port, self.timeout, self.rules)


class GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, rules: NetworkRules, **kwargs):
        self.tls = kwargs.setdefault("context", ssl.create_default_context())
        super().__init__(*args, **kwargs)
        self.rules = rules

    def connect(self):
        sock = guarded_socket(self.host, self.port, self.timeout, self.rules)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


class GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, rules: NetworkRules):
        super().__init__()
        self.rules = rules

    def http_open(self, req):
        return self.do_open(partial(GuardedHTTPConnection, rules=self.rules), req)


class GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, rules: NetworkRules):
        super().__init__()
        self.rules = rules

    def https_open(self, req):
        return self.do_open(partial(GuardedHTTPSConnection, rules=self.rules), req)


class Redirects(urllib.request.HTTPRedirectHandler):
    """Follows at most `MAX_REDIRECTS` redirects, to http(s) only."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme not in SCHEMES:
            raise FetchError(f"redirected to a {urlsplit(newurl).scheme}: address, which is "
                             "not fetched")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def opener(rules: NetworkRules) -> urllib.request.OpenerDirector:
    """An opener that speaks only guarded http(s): no proxy, no file:, ftp: or data:."""
    director = urllib.request.OpenerDirector()
    for handler in (GuardedHTTPHandler(rules), GuardedHTTPSHandler(rules), Redirects(),
                    urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor(), urllib.request.UnknownHandler()):
        director.add_handler(handler)
    return director


def _open(url: str, rules: NetworkRules, timeout: float):
    check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept": "*/*"})
    try:
        return opener(rules).open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, FetchError):
            raise reason from None
        raise FetchError(f"could not be fetched ({getattr(reason, 'strerror', None) or reason})") \
            from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchError(f"could not be fetched ({getattr(exc, 'strerror', None) or exc})") \
            from None


def _read(response, sink, max_bytes: int, deadline: float) -> int:
    """Copy a response body to `sink` (a file or a list of chunks); the byte count."""
    total = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("the download took too long")
        try:
            chunk = response.read(CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"the download broke off ({getattr(exc, 'strerror', None) or exc})") \
                from None
        if not chunk:
            return total
        total += len(chunk)
        if total > max_bytes:
            raise FetchError(f"over the {max_bytes / 2**20:g} MiB download limit")
        if isinstance(sink, list):
            sink.append(chunk)
        else:
            sink.write(chunk)


def fetch(url: str, rules: NetworkRules, max_bytes: int, timeout: float = 30.0) -> Page:
    """A document (a page, robots.txt, a sitemap) held in memory: up to `max_bytes`."""
    deadline = time.monotonic() + timeout
    with _open(url, rules, timeout) as response:
        chunks: list[bytes] = []
        _read(response, chunks, max_bytes, deadline)
        return Page(response.geturl(), response.headers.get_content_type(), b"".join(chunks),
                    response.status)


def download(url: str, out: BinaryIO, rules: NetworkRules, max_bytes: int,
             timeout: float) -> str:
    """Stream `url` into the file `out` (never held whole); the URL it ended up at."""
    deadline = time.monotonic() + timeout
    with _open(url, rules, timeout) as response:
        _read(response, out, max_bytes, deadline)
        return response.geturl()
