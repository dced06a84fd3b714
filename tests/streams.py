"""Live streams on 127.0.0.1 for the watch tests: FFmpeg (the Debian command, which CI installs)
plays a clip in real time (``-re``) into HLS segments that a local HTTP server serves, or into
RTMP with FFmpeg itself listening; the HTTP server can answer 404 for segments."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="the ffmpeg command is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Folder(http.server.SimpleHTTPRequestHandler):
    """Serves the server's folder; segments get 404 while ``missing_segments`` is set."""

    def do_GET(self):
        if self.server.missing_segments and self.path.split("?")[0].endswith(".ts"):
            self.send_error(404)
            return
        target = self.server.redirects.get(self.path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


class HttpFolder:
    """An HTTP server on 127.0.0.1 for `folder`, in a thread, as a context manager."""

    def __init__(self, folder: Path, host: str = "127.0.0.1"):
        self.server = http.server.ThreadingHTTPServer(
            (host, 0), functools.partial(Folder, directory=str(folder)))
        self.server.daemon_threads = True
        self.server.missing_segments = False
        self.server.redirects = {}
        self.folder = folder
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()


def ffmpeg(*args: str) -> subprocess.Popen:
    return subprocess.Popen([FFMPEG, "-nostdin", "-v", "error", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def hls(clip: Path, folder: Path, realtime: bool = True, seconds: float | None = None,
        list_size: int = 0, endlist: bool = True) -> subprocess.Popen:
    """FFmpeg cutting `clip` into 1 s HLS segments in `folder` (``live.m3u8``), in real time
    (``-re``) unless `realtime` is false; only `seconds` of it when given. Without `endlist`
    the playlist never says the stream ended (a live stream that just stops)."""
    flags = "independent_segments" + ("" if endlist else "+omit_endlist")
    limit = ["-t", str(seconds)] if seconds else []
    return ffmpeg(*(["-re"] if realtime else []), "-i", str(clip), *limit, "-c", "copy",
                  "-f", "hls", "-hls_time", "1", "-hls_list_size", str(list_size),
                  "-hls_flags", flags, str(folder / "live.m3u8"))


def rtmp(clip: Path, port: int, seconds: float | None = None) -> subprocess.Popen:
    """FFmpeg as an RTMP server on 127.0.0.1:`port` (``-listen 1``) that plays `clip` in real
    time to the first client."""
    limit = ["-t", str(seconds)] if seconds else []
    return ffmpeg("-re", "-i", str(clip), *limit, "-c", "copy", "-f", "flv", "-listen", "1",
                  f"rtmp://127.0.0.1:{port}/live/room")


def wait_for(path: Path, timeout: float = 30.0) -> None:
    """Wait until `path` exists (FFmpeg wrote the first playlist)."""
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{path.name} never appeared")
        time.sleep(0.05)


def wait_listening(port: int, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`... without connecting to
    it (a connection would be FFmpeg's one client): the port is no longer free."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait(timeout=10)
