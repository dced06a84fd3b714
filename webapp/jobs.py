"""Scan jobs for the web app: uploads queued in the database, scanned by worker processes.

A job is one submission (one or many files, or the files of a campaign zip); each of its files
is an item. Jobs and items are rows in the store's database (`web_jobs`, `web_job_items`, in
`labelcheck.run.store.metadata`, so SQLite and PostgreSQL both work), which is what lets a job
survive a page reload and a server restart: when a `JobService` starts, items that a dead
server left queued or running are queued again.

Scans run in a process pool started from a fork server (`labelcheck.run.batch`), never in the web
process: C2PA validation, OCR and video decoding are CPU-bound native code, and a plain fork of
a process that used c2pa-rs deadlocks. Each worker writes its item's report to the database
itself, so a result is stored even when the web process dies mid-scan.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from functools import cache
from typing import Any, Callable

from sqlalchemy import (JSON, Column, DateTime, ForeignKey, Integer, String, Table, Text,
                        insert, select, update)

from labelcheck.run import store
from labelcheck.run.pool import worker_context
from labelcheck.formats.media import Media
from labelcheck.core.model import MediaError, Report, report_from_dict
from labelcheck.core.settings import Settings

QUEUED, RUNNING, DONE, ERROR = "queued", "running", "done", "error"
MAX_ATTEMPTS = 3  # a file that kills its worker (or the server) this often is given up on
PREVIEW_SIDE = 1600  # longer side of the PNG preview the report page shows

jobs = Table(
    "web_jobs", store.metadata,
    Column("id", String(32), primary_key=True),  # random, unguessable: the job's URL
    Column("kind", String(10), nullable=False),  # "files" or "campaign"
    Column("title", Text, nullable=False),  # the uploaded file or zip name, for people
    Column("policy", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

items = Table(
    "web_job_items", store.metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(32), ForeignKey("web_jobs.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),  # the name the uploader gave (untrusted text)
    Column("stored", String(64), nullable=False),  # random file name in the upload folder
    Column("status", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("verdict", String(20)),
    Column("report", Text),  # README "Report format"
    Column("extras", JSON),  # for display only: picture size, preview file, C2PA tree
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class JobService:
    """Submit jobs, read their state, and keep the worker pool fed."""

    def __init__(self, db_url: str, upload_dir: str, workers: int, settings: Settings):
        from labelcheck.registry import connect  # creates the schema, retrying races

        self.db_url = db_url
        self.upload_dir = upload_dir
        self.workers = max(1, workers)
        self.settings = settings
        self.engine = connect(db_url)
        self.pool = self._new_pool()
        self.interactive = self._new_pool(1)
        self._lock = threading.Lock()
        self._closed = False

    def _new_pool(self, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers or self.workers, mp_context=worker_context(),
                                   initializer=_start_worker)

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, kind: str, title: str, policy: str, files: list[tuple[str, str]]) -> str:
        """Record a job of `files` ((name given by the uploader, stored file name)) and queue
        every file; returns the job id."""
        job_id = secrets.token_urlsafe(16)
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(insert(jobs).values(id=job_id, kind=kind, title=title,
                                                   policy=policy, created_at=now))
            connection.execute(insert(items), [
                {"job_id": job_id, "position": position, "name": name, "stored": stored,
                 "status": QUEUED, "attempts": 0, "updated_at": now}
                for position, (name, stored) in enumerate(files, start=1)])
        self._dispatch(self._rows(items.c.job_id == job_id))
        return job_id

    def recover(self) -> int:
        """Queue again what a previous server left queued or running; returns how many.
        Without any, one trivial task starts the pool, so that the first upload does not
        wait for the fork server to start (about 0.7 s)."""
        rows = self._rows(items.c.status.in_((QUEUED, RUNNING)))
        self._dispatch(rows)
        if not rows:
            self.pool.submit(os.getpid)
        return len(rows)

    def _rows(self, condition) -> list[dict]:
        with self.engine.connect() as connection:
            query = (select(items.c.id, items.c.name, items.c.stored, items.c.attempts,
                            jobs.c.policy).join(jobs, jobs.c.id == items.c.job_id)
                     .where(condition).order_by(items.c.id))
            return [dict(row) for row in connection.execute(query).mappings()]

    def _dispatch(self, rows: list[dict]) -> None:
        """Hand items to the pool (counting the attempt, in one transaction for all); one
        that already failed MAX_ATTEMPTS times becomes an error instead of killing the pool
        once more."""
        given_up = [row for row in rows if row["attempts"] >= MAX_ATTEMPTS]
        for row in given_up:
            self._fail(row["id"], f"the scanner stopped {MAX_ATTEMPTS} times on this file "
                                  "(a crash or a server restart each time); not scanned")
        rows = [row for row in rows if row["attempts"] < MAX_ATTEMPTS]
        if not rows:
            return
        with self.engine.begin() as connection:
            connection.execute(update(items).where(items.c.id.in_([row["id"] for row in rows]))
                               .values(status=QUEUED, attempts=items.c.attempts + 1,
                                       updated_at=_now()))
        pool = self.pool
        for row in rows:
            future = pool.submit(scan_item, self.db_url, self.upload_dir, row["id"],
                                 row["stored"], row["name"], row["policy"], self.settings)
            future.add_done_callback(lambda done, row=row: self._finished(row, pool, done))

    def _finished(self, row: dict, pool: ProcessPoolExecutor, future: Future) -> None:
        """A worker that died (BrokenProcessPool) takes the pool and its queue with it: the
        first item to notice starts a new pool, and each item is queued again; any other
        exception is that item's error."""
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            return
        if isinstance(exc, BrokenProcessPool):
            with self._lock:
                if self._closed:
                    return
                if self.pool is pool:
                    self.pool = self._new_pool()
            self._dispatch(self._rows(items.c.id == row["id"]))
            return
        self._fail(row["id"], f"the scanner failed on this file: {exc}")

    def _set(self, item_id: int, **values) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(items).where(items.c.id == item_id)
                               .values(updated_at=_now(), **values))

    def _fail(self, item_id: int, message: str) -> None:
        self._set(item_id, status=ERROR, verdict="error", error=message)

    def call(self, function: Callable, *args, timeout: float = 300) -> Any:
        """Run `function(*args)` in a worker process and wait for it (registering an
        original, decoding a video frame): native decoding stays out of the web process, and
        a process of its own keeps these requests from waiting behind queued scans."""
        pool = self.interactive
        try:
            return pool.submit(function, *args).result(timeout=timeout)
        except BrokenProcessPool:
            with self._lock:
                if self.interactive is pool:
                    self.interactive = self._new_pool(1)
            raise RuntimeError("the worker process stopped on this file") from None

    def shutdown(self, cancel: bool = False) -> None:
        """Stop the pool once the scans under way finish; `cancel` drops queued work (it stays
        queued in the database and the next server picks it up)."""
        with self._lock:
            self._closed = True
        self.interactive.shutdown(wait=True, cancel_futures=cancel)
        self.pool.shutdown(wait=True, cancel_futures=cancel)

    # -- reading -------------------------------------------------------------------------------

    def job(self, job_id: str) -> dict | None:
        """The job with its items (reports decoded) and a status over them, or None."""
        with self.engine.connect() as connection:
            job = connection.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            if job is None:
                return None
            rows = connection.execute(select(items).where(items.c.job_id == job_id)
                                      .order_by(items.c.position)).mappings().all()
        job = dict(job)
        job["items"] = [_item_view(row) for row in rows]
        job.update(job_status(job["items"]))
        return job

    def item(self, job_id: str, position: int) -> dict | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(items).where(
                items.c.job_id == job_id, items.c.position == position)).mappings().first()
        return None if row is None else _item_view(row)

    def file_path(self, item: dict, suffix: str = "") -> str:
        """Where an item's upload (or its preview, with a suffix) lies; never a user path."""
        return os.path.join(self.upload_dir, item["stored"] + suffix)

    def reports(self, job_id: str) -> list[Report]:
        """The finished reports of a job, in upload order, for the report writers."""
        job = self.job(job_id) or {"items": []}
        return [report_from_dict(item["report"]) for item in job["items"] if item["report"]]


def job_status(job_items: list[dict]) -> dict:
    """Status of a job from its items: ``done`` when every item finished (``error`` when the
    scanner failed on all of them), ``running`` once one started or finished, else
    ``queued``; with counts for a progress bar."""
    counts = {status: sum(item["status"] == status for item in job_items)
              for status in (QUEUED, RUNNING, DONE, ERROR)}
    total = len(job_items)
    finished = counts[DONE] + counts[ERROR]
    if total and finished == total:
        status = ERROR if counts[ERROR] == total else DONE
    elif counts[RUNNING] or finished:
        status = RUNNING
    else:
        status = QUEUED
    verdicts: dict[str, int] = {}
    for item in job_items:
        if item["verdict"]:
            verdicts[item["verdict"]] = verdicts.get(item["verdict"], 0) + 1
    return {"status": status, "total": total, "finished": finished, "verdicts": verdicts}


def _item_view(row) -> dict:
    item = dict(row)
    item["report"] = json.loads(row["report"]) if row["report"] else None
    item["extras"] = row["extras"] or {}
    return item


# ---------------------------------------------------------------------------------------------
# In the worker processes
# ---------------------------------------------------------------------------------------------

def _start_worker() -> None:
    """Each worker owns one core (single-threaded OCR)."""
    from labelcheck.vision import ocr

    ocr.set_threads(1)


@cache
def _engine(db_url: str):
    return store.connect(db_url)


def scan_item(db_url: str, upload_dir: str, item_id: int, stored: str, name: str,
              policy: str, settings: Settings) -> None:
    """Scan one uploaded file and store its report (also in the results store), with the
    facts the report page shows: the picture's size, a PNG preview, the C2PA manifest tree."""
    from labelcheck.core.scanner import scan

    engine = _engine(db_url)
    _update(engine, item_id, status=RUNNING)
    path = os.path.join(upload_dir, stored)
    try:
        media = _open_upload(path, name, settings)
        report = scan(media or path, policy, settings=settings, name=name)
        extras = display_extras(report, media, path, settings)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the job
        _update(engine, item_id, status=ERROR, verdict="error",
                error=f"the scanner failed on this file: {exc}")
        return
    _update(engine, item_id, status=DONE, verdict=report.verdict.value, extras=extras,
            report=json.dumps(report.to_dict(), ensure_ascii=False))
    store.save_report(engine, report)


def _update(engine, item_id: int, **values) -> None:
    with engine.begin() as connection:
        connection.execute(update(items).where(items.c.id == item_id)
                           .values(updated_at=_now(), **values))


def _open_upload(path: str, name: str, settings: Settings) -> Media | None:
    """The upload opened once for the scan and the preview (its pixels are decoded once;
    a video stays on disk); None when it cannot be read, which `scan` then explains."""
    try:
        return Media.open(path, settings.max_pixels, name=name)
    except MediaError:
        return None


def display_extras(report: Report, media: Media | None, path: str,
                   settings: Settings) -> dict:
    """What the report page needs besides the report: for pictures, the size and a PNG
    preview (written next to the upload, so the page never decodes an upload itself); for
    files with Content Credentials, the manifest tree."""
    from labelcheck.sources.c2pa import manifest_tree

    extras: dict[str, Any] = {}
    if media is not None and report.media_kind == "image" and report.verdict.value != "error":
        try:
            image = media.image
        except MediaError:
            image = None
        if image is not None:
            extras["size"] = list(image.size)
            preview = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            preview.save(path + ".png", "PNG")
            extras["preview"] = True
    if any(finding.code == "c2pa.present" for finding in report.findings):
        with open(path, "rb") as stream:
            extras["c2pa"] = manifest_tree(stream, report.media_type, settings.trust_anchors)
    return extras


def register_file(db_url: str, path: str, owner: str, note: str | None) -> int:
    """Register in a worker: the original is scanned and fingerprinted there."""
    from labelcheck.registry import Registry
    from labelcheck.registry.enrol import register_file

    return register_file(Registry.open(db_url), path, owner, note)


def frame_png(path: str, time_s: float) -> bytes:
    """One video frame as PNG (at most PREVIEW_SIDE wide), from `labelcheck.vision.video`."""
    import io

    from labelcheck.vision.video import frame_at

    image = frame_at(path, time_s)
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
