"""The allow-list of a watch whose URL came from someone else, and the proxy that enforces it.

A web user who starts a watch makes this server fetch a URL: server-side request forgery by
design. Checking the URL once is not enough: an HLS or DASH playlist names further URLs (its
segments, keys, variant playlists), a server may redirect, and a host name may resolve to
another address by the time FFmpeg connects. So FFmpeg's HTTP goes through `GuardProxy`, a
forward proxy on 127.0.0.1 that this process runs for the watch (FFmpeg's ``http_proxy``;
HTTPS through it with ``CONNECT``): every request and every redirect is checked there, the host
name is resolved once, and the proxy connects to the address it checked. Only HTTP(S) sources
(HLS, DASH, HTTP-FLV, HTTP-TS) can be guarded this way: RTMP, RTSP and SRT connections are
made by FFmpeg itself (RTSP follows redirects on its own), so a guarded watch refuses them.

What may be reached is a `labelcheck.core.network.NetworkRules` allow-list, the same rules and
the same resolve step as a web page audit's: host names (``live.example.com``,
``*.example.com``, or ``*`` for any name), each of whose addresses must be public, and IP
networks (``203.0.113.0/24``, ``10.1.2.3``), which are allowed whatever they are: loopback,
private and link-local addresses are reached only when a network entry names them.
"""

from __future__ import annotations

import collections
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from labelcheck.core.network import NetworkRules, Refused, connect

GUARDED_SCHEMES = ("http", "https")
HEAD_LIMIT = 16 * 1024  # bytes of a request's line and headers
IDLE_S = 60.0  # a relayed connection quiet this long is closed
CONNECT_S = 10.0
MAX_CONNECTIONS = 16  # connections the proxy relays at once
CHUNK = 64 * 1024
HOP_HEADERS = ("connection", "proxy-connection", "proxy-authorization", "keep-alive")


def check_url(allow: NetworkRules, url: str) -> None:
    """Refuse a URL whose scheme cannot be guarded or whose host is not allowed (its
    addresses are checked again, by the proxy, at each connection)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in GUARDED_SCHEMES:
        raise Refused(f"only http and https URLs can be watched here (HLS, DASH, HTTP-FLV), "
                      f"not {parts.scheme or 'a file path'}")
    if not parts.hostname:
        raise Refused("the URL names no host")
    allow.resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


class GuardProxy:
    """A forward proxy on 127.0.0.1 that relays only what `allow` allows (see the module
    docstring). `refusals` keeps the last reasons it refused, for the watch's messages;
    `refused` counts them."""

    def __init__(self, allow: NetworkRules):
        self.allow = allow
        self.refusals: collections.deque[str] = collections.deque(maxlen=8)
        self.refused = 0
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                proxy.serve(self.request)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True,
                         name="labelcheck-guard").start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def refusal_since(self, count: int) -> str | None:
        """The last refusal, when there were any after the `count`-th."""
        return self.refusals[-1] if self.refused > count and self.refusals else None

    # -- one client connection ---------------------------------------------------------------

    def serve(self, client: socket.socket) -> None:
        if not self.slots.acquire(blocking=False):
            _reply(client, 503, "too many connections")
            return
        try:
            client.settimeout(IDLE_S)
            head, rest = _read_head(client)
            method, target, headers = _parse_head(head)
            if method == "CONNECT":
                self._tunnel(client, target)
            elif method in ("GET", "HEAD"):
                self._forward(client, method, target, headers, rest)
            else:
                _reply(client, 405, f"{method} is not relayed")
        except Refused as exc:
            self.refusals.append(str(exc))
            self.refused += 1
            _reply(client, 403, str(exc))
        except (OSError, ValueError) as exc:
            _reply(client, 502, str(exc) or type(exc).__name__)
        finally:
            self.slots.release()

    def _connect(self, host: str, port: int) -> socket.socket:
        """A connection to an allowed address of `host` (resolved once, here)."""
        upstream = connect(self.allow, host, port, CONNECT_S)
        upstream.settimeout(IDLE_S)
        return upstream

    def _tunnel(self, client: socket.socket, target: str) -> None:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"bad CONNECT target {target!r}")
        upstream = self._connect(host.strip("[]"), int(port))
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(client, upstream)

    def _forward(self, client: socket.socket, method: str, target: str, headers: list,
                 rest: bytes) -> None:
        parts = urlsplit(target)
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise ValueError(f"a proxied request names an absolute http URL, not {target!r}")
        upstream = self._connect(parts.hostname, parts.port or 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        lines = [f"{method} {path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers
                  if name.lower() not in HOP_HEADERS]
        lines.append("Connection: close")
        with upstream:
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + rest)
            _relay(client, upstream)


def _read_head(client: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk:
            raise ValueError("the request ended early")
        data += chunk
        if len(data) > HEAD_LIMIT:
            raise ValueError("the request's headers are too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    request = lines[0].split()
    if len(request) != 3:
        raise ValueError("a malformed request line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return request[0].upper(), request[1], headers


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes or both stay quiet for `IDLE_S`."""
    peers = {one: other, other: one}
    while True:
        readable, _, _ = select.select(list(peers), [], [], IDLE_S)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(CHUNK)
            if not data:
                return
            peers[sock].sendall(data)


def _reply(client: socket.socket, status: int, message: str) -> None:
    reasons = {403: "Forbidden", 405: "Method Not Allowed", 502: "Bad Gateway",
               503: "Service Unavailable"}
    body = f"labelcheck watch: {message}\n".encode("utf-8", "replace")
    try:
        client.sendall(f"HTTP/1.1 {status} {reasons[status]}\r\nContent-Type: text/plain; "
                       f"charset=utf-8\r\nContent-Length: {len(body)}\r\nConnection: close"
                       "\r\n\r\n".encode("ascii") + body)
    except OSError:
        pass
