"""Watch jobs for the web app: a live stream watched by a ``labelcheck watch`` process of its
own, its events and evidence kept in a folder, its state in the database.

A web user's URL is fetched by this server, so watching is off until the operator sets an
allow-list (``WATCH_ALLOW``, a `labelcheck.core.network.NetworkRules`, the same kind as the
web page audit's ``CRAWL_ALLOW``): the URL is checked here before anything starts, and the
watch process gets the list too (``watch --allow``), so that every connection it makes
(playlist entries and redirects included) is checked where it is made.

Each watch runs the CLI's own command in a child process (``python -m labelcheck.cli.main
watch``): FFmpeg and the OCR never run in the web process, a crash costs only that watch, and
what the web shows is exactly what the command writes: ``events.jsonl`` (the events, one JSON
line each), the evidence pictures and ``report.json`` in the watch's folder. At most
`max_watches` run at once; each stops by itself after `max_hours`, and is killed if its memory
grows past `memory_mb`. Stopping sends SIGTERM: the command ends its watch and writes the
report. A server that restarts marks the watches it left running as ended (their processes
ended with it); finished watches are deleted `keep_hours` after they ended.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import (JSON, Column, DateTime, String, Table, Text, delete, insert, select,
                        update)

from labelcheck.core.names import display_name
from labelcheck.core.network import NetworkRules, Refused
from labelcheck.live.guard import check_url
from labelcheck.live.options import source_kind
from labelcheck.run import store

log = logging.getLogger(__name__)

RUNNING, ENDED = "running", "ended"
EVENTS = "events.jsonl"
REPORT = "report.json"
PROGRESS_S = 5  # the page's timeline grows this often at least
STOP_WAIT_S = 20  # after SIGTERM, the command has this long to write its report
MEMORY_CHECK_S = 2.0
BASE_MB = 400  # a watch process before its frames: Python, FFmpeg, the OCR models
MAX_READ_EVENTS = 1000  # events one request returns
EXPIRE_EVERY_S = 600
KILLED = "killed.txt"  # why the server killed a watch

watches = Table(
    "web_watches", store.metadata,
    Column("id", String(32), primary_key=True),  # random, unguessable: the watch's URL
    Column("source", Text, nullable=False),  # the URL as the user gave it (a display string)
    Column("policy", String(200), nullable=False),
    Column("options", JSON, nullable=False),  # grace, rate, max_duration_s
    Column("status", String(10), nullable=False, index=True),
    Column("verdict", String(20)),
    Column("reason", Text),  # why it ended
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class WatchRefused(Exception):
    """A watch that cannot be started or reached; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WatchLimits:
    """`allow`: what may be watched (None: watching is off). At most `max_watches` at once,
    each at most `max_hours`, its process at most `memory_mb` over `BASE_MB`; kept
    `keep_hours` after it ended."""

    allow: NetworkRules | None = None
    max_watches: int = 4
    max_hours: float = 12.0
    memory_mb: int | None = 2048
    keep_hours: float = 24.0


class WatchService:
    """Start, stop and read watches (see the module docstring)."""

    def __init__(self, engine, folder: str, limits: WatchLimits):
        self.engine = engine
        self.root = Path(folder)
        self.limits = limits
        self.processes: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._keep_in_bounds, daemon=True,
                         name="labelcheck-watches").start()

    @property
    def enabled(self) -> bool:
        return self.limits.allow is not None

    # -- starting and stopping -----------------------------------------------------------------

    def start(self, url: str, policy: str, grace_s: float) -> str:
        """Check `url` against the allow-list, start its watch; returns the watch id."""
        allow = self.limits.allow
        if allow is None:
            raise WatchRefused("watching streams is switched off on this server: its operator "
                               "has not set an allow-list (LABELCHECK_WATCH_ALLOW)", 403)
        url = (url or "").strip()
        if not url:
            raise WatchRefused("give the URL of the stream to watch (HLS .m3u8, DASH .mpd)")
        if not 0 <= grace_s <= 600:
            raise WatchRefused("the grace period is between 0 and 600 seconds")
        try:
            source_kind(url)
            check_url(allow, url)
        except (Refused, ValueError) as exc:
            raise WatchRefused(f"this URL cannot be watched here: {exc}", 403) from None
        with self._lock:
            if len(self.processes) >= self.limits.max_watches:
                raise WatchRefused(f"{len(self.processes)} watches are running, the most this "
                                   "server runs at once; stop one or try later", 429)
            watch_id = secrets.token_urlsafe(16)
            folder = self.folder(watch_id)
            folder.mkdir(mode=0o700, parents=True)
            options = {"grace_s": grace_s, "max_duration_s": self.limits.max_hours * 3600}
            with self.engine.begin() as connection:
                connection.execute(insert(watches).values(
                    id=watch_id, source=display_name(url), policy=policy, options=options,
                    status=RUNNING, created_at=_now()))
            self.processes[watch_id] = self._spawn(url, policy, options, folder, allow)
        threading.Thread(target=self._wait, args=(watch_id,), daemon=True,
                         name=f"labelcheck-watch-{watch_id[:6]}").start()
        return watch_id

    def _spawn(self, url: str, policy: str, options: dict, folder: Path,
               allow: NetworkRules) -> subprocess.Popen:
        """The ``labelcheck watch`` process; the URL after ``--``, never taken for an option."""
        command = [sys.executable, "-m", "labelcheck.cli.main", "watch", "--format", "jsonl",
                   "--out", str(folder / EVENTS), "--evidence", str(folder),
                   "--policy", policy, "--grace", f"{options['grace_s']:g}",
                   "--max-duration", f"{options['max_duration_s']:g}",
                   "--progress", str(PROGRESS_S), "--allow", allow.describe(), "--", url]
        with open(folder / "log.txt", "wb") as errors:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=errors,
                                    start_new_session=True)

    def stop(self, watch_id: str) -> bool:
        """Ask a running watch to end (it writes its report); False when it is not running."""
        with self._lock:
            process = self.processes.get(watch_id)
        if process is None:
            return False
        _signal(process, signal.SIGTERM)
        return True

    def _wait(self, watch_id: str) -> None:
        process = self.processes[watch_id]
        process.wait()
        with self._lock:
            self.processes.pop(watch_id, None)
        try:
            self._record_end(watch_id, process.returncode)
        except Exception:  # noqa: BLE001 - the row stays "running" until the next start
            log.exception("could not record the end of watch %s", watch_id)

    def _record_end(self, watch_id: str, returncode: int, reason: str | None = None) -> None:
        folder = self.folder(watch_id)
        report = _read_json(folder / REPORT)
        ended = last_event(folder / EVENTS, "ended")
        killed = folder / KILLED
        if reason is None and killed.exists():
            reason = killed.read_text(encoding="utf-8")
        if reason is None:
            reason = ended.get("reason") if ended else None
        if reason is None:
            reason = (f"the watch process stopped (exit status {returncode})" if returncode >= 0
                      else f"the watch process was killed (signal {-returncode})")
        with self.engine.begin() as connection:
            connection.execute(update(watches).where(watches.c.id == watch_id).values(
                status=ENDED, reason=reason, ended_at=_now(),
                verdict=report.get("verdict") if report else None))

    def shutdown(self) -> None:
        """Stop every watch (each writes its report) and wait for them."""
        self._closed.set()
        with self._lock:
            running = list(self.processes.items())
        for _, process in running:
            _signal(process, signal.SIGTERM)
        for watch_id, process in running:
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)

    def recover(self) -> int:
        """Mark the watches a previous server left running as ended (their processes went
        with it); returns how many."""
        with self.engine.connect() as connection:
            left = list(connection.execute(select(watches.c.id).where(
                watches.c.status == RUNNING)).scalars())
        for watch_id in left:
            if watch_id not in self.processes:
                self._record_end(watch_id, -signal.SIGKILL,
                                 reason=_reason_or(self.folder(watch_id),
                                                   "the server stopped during the watch"))
        return len(left)

    # -- limits and retention --------------------------------------------------------------------

    def _keep_in_bounds(self) -> None:
        """Kill watches whose process grew past the memory limit; delete old watches."""
        import psutil

        last_expiry = 0.0
        while not self._closed.wait(MEMORY_CHECK_S):
            limit = self.limits.memory_mb
            with self._lock:
                running = list(self.processes.items())
            for watch_id, process in running:
                try:
                    rss = psutil.Process(process.pid).memory_info().rss / 2**20
                except psutil.Error:
                    continue
                if limit and rss > BASE_MB + limit:
                    log.warning("watch %s used %.0f MB: stopped", watch_id, rss)
                    _signal(process, signal.SIGKILL)
                    self._note_memory(watch_id, BASE_MB + limit)
            if time.monotonic() - last_expiry > EXPIRE_EVERY_S:
                last_expiry = time.monotonic()
                try:
                    self.expire()
                except Exception:  # noqa: BLE001 - the next round tries again
                    log.exception("could not delete expired watches")

    def _note_memory(self, watch_id: str, mb: int) -> None:
        with open(self.folder(watch_id) / KILLED, "w", encoding="utf-8") as note:
            note.write(f"the watch used more than {mb} MB of memory and was stopped")

    def expire(self, now: datetime | None = None) -> int:
        """Delete the watches that ended more than `keep_hours` ago, with their folders."""
        cutoff = (now or _now()) - timedelta(hours=self.limits.keep_hours)
        with self.engine.begin() as connection:
            old = list(connection.execute(select(watches.c.id).where(
                watches.c.status == ENDED, watches.c.ended_at < cutoff)).scalars())
            if old:
                connection.execute(delete(watches).where(watches.c.id.in_(old)))
        for watch_id in old:
            shutil.rmtree(self.folder(watch_id), ignore_errors=True)
        return len(old)

    # -- reading -------------------------------------------------------------------------------

    def folder(self, watch_id: str) -> Path:
        return self.root / f"watch-{watch_id}"

    def watch(self, watch_id: str) -> dict | None:
        """The watch's row, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(select(watches).where(
                watches.c.id == watch_id)).mappings().first()
        return dict(row) if row else None

    def events(self, watch_id: str, after: int = 0,
               limit: int = MAX_READ_EVENTS) -> list[dict]:
        """The events with a sequence number above `after`, at most `limit`."""
        return read_events(self.folder(watch_id) / EVENTS, after, limit)

    def report(self, watch_id: str) -> dict | None:
        return _read_json(self.folder(watch_id) / REPORT)

    def picture(self, watch_id: str, name: str) -> Path | None:
        """An evidence picture of the watch by its name in an event (nothing else)."""
        if not name.endswith(".jpg") or os.path.basename(name) != name or name.startswith("."):
            return None
        path = self.folder(watch_id) / name
        return path if path.is_file() else None

    def pictures(self, watch_id: str) -> list[Path]:
        return sorted(self.folder(watch_id).glob("*.jpg"))


def read_events(path: Path, after: int = 0, limit: int = MAX_READ_EVENTS) -> list[dict]:
    """Events of an events file with ``seq`` above `after` (a line being written is left for
    the next read)."""
    found: list[dict] = []
    try:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if not line.endswith("\n"):
                    break
                event = json.loads(line)
                if event.get("seq", 0) > after:
                    found.append(event)
                    if len(found) >= limit:
                        break
    except FileNotFoundError:
        pass
    return found


def last_event(path: Path, kind: str) -> dict | None:
    found = None
    for event in read_events(path, 0, sys.maxsize):
        if event.get("event") == kind:
            found = event
    return found


def _reason_or(folder: Path, default: str) -> str:
    ended = last_event(folder / EVENTS, "ended")
    return ended["reason"] if ended else default


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _signal(process: subprocess.Popen, number: int) -> None:
    try:
        process.send_signal(number)
    except ProcessLookupError:
        pass
