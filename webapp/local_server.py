"""A real labelcheck server (waitress, `labelcheck serve`) on a free loopback port, in a
subprocess: what the browser test, the load test and the screenshot script talk to."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(folder: Path, workers: int = 1, threads: int = 8,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``labelcheck serve`` with its database and uploads in `folder`; yields its base
    URL once it answers, and stops it afterwards."""
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT),
                   "LABELCHECK_UPLOAD_DIR": str(folder / "uploads"), **(env or {})}
    command = [sys.executable, "-m", "labelcheck.cli.main", "serve", "--port", str(port),
               "--db", f"sqlite:///{folder / 'web.db'}", "--workers", str(workers),
               "--threads", str(threads)]
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/v1/policies", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout} s")
