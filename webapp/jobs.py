"""Scan jobs for the web app: uploads queued in the database, scanned in the guarded pool.

A job is one submission (one or many files, or the files of a campaign zip); each of its files
is an item. Jobs and items are rows in the store's database (`web_jobs`, `web_job_items`, in
`labelcheck.run.store.metadata`, so SQLite and PostgreSQL both work), which is what lets a job
survive a page reload and a server restart: when a `JobService` starts, items that a dead
server left queued or running are queued again.

Scans run in the same guarded pool as ``labelcheck scan --workers``
(`labelcheck.run.pool`), never in the web process: each file under the time and memory limits
(`Settings.limits`), in a worker started from a fork server. The pool has one process more
than `workers`, and large files (videos, PDFs, files over `SMALL_BYTES`) may use at most
`workers` of them, so a small picture never waits behind large uploads; waiting items are
taken from the jobs in turn, so one campaign does not hold back everyone else's upload.

The worker hands back the report with its display evidence (`labelcheck.core.model.Evidence`:
the picture, a video's frames, the C2PA tree), made from the scanned bytes. This process writes
those pictures next to the upload, stores the report (in the item and in the results store,
as the CLI does), and deletes the uploaded bytes (unless `keep_uploads`). Jobs, their reports
and pictures are deleted `keep_hours` after they were made (`expire`).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import (JSON, Column, DateTime, ForeignKey, Integer, String, Table, Text,
                        delete, insert, select, update)

from labelcheck.core.model import Evidence, Picture, Report, report_from_dict
from labelcheck.core.policy import Policy, load_policies
from labelcheck.core.settings import Settings
from labelcheck.formats import SNIFF_BYTES, identify
from labelcheck.run import store
from labelcheck.core.names import display_name
from labelcheck.core.scanner import failed_report
from labelcheck.run.crawl import CrawlLog, CrawlOptions, crawl
from labelcheck.run.pool import Task, guarded_pool, outcome, schedule, worker_context

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, ERROR = "queued", "running", "done", "error"
CRAWL = "crawl"  # the kind of a job that audits a web page (the others: files, campaign)
CRAWL_TIMEOUT_S = 600  # reading a site's pages, robots.txt and sitemaps
MAX_ATTEMPTS = 3  # a file that stopped the server this often is given up on
SMALL_BYTES = 16 * 2**20  # larger files, and every video and PDF, are "large"
EXPIRE_EVERY_S = 600  # how often old jobs and files are looked for

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
    Column("name", Text, nullable=False),  # the name the uploader gave (a display string)
    Column("stored", String(64), nullable=False),  # random file name in the upload folder
    Column("status", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("verdict", String(20)),
    Column("report", Text),  # README "Report format"
    Column("extras", JSON),  # for display only: the pictures' facts, the C2PA tree
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Retention:
    """How long the server keeps what people sent: the uploaded bytes are deleted once the
    report is made unless `keep_uploads`; a job's reports and pictures (and its uploads, when
    kept) are deleted `keep_hours` after it was made."""

    keep_uploads: bool = False
    keep_hours: float = 24.0


class FairQueue:
    """Items waiting for a worker, one queue per job, served in turn (the job served goes to
    the back), so that a large campaign does not hold back a single upload; `take` passes over
    large files while the slots they may use are all taken."""

    def __init__(self):
        self.jobs: dict[str, deque] = {}

    def add(self, row: dict) -> None:
        self.jobs.setdefault(row["job_id"], deque()).append(row)

    def take(self, large_allowed: bool) -> dict | None:
        for job_id, waiting in list(self.jobs.items()):
            row = next((row for row in waiting if large_allowed or not row["large"]), None)
            if row is None:
                continue
            waiting.remove(row)
            del self.jobs[job_id]
            if waiting:
                self.jobs[job_id] = waiting
            return row
        return None


class JobService:
    """Submit jobs, read their state, and keep the guarded pool fed."""

    def __init__(self, db_url: str, upload_dir: str, workers: int, settings: Settings,
                 retention: Retention = Retention()):
        from labelcheck.registry import connect  # creates the schema, retrying races

        self.db_url = db_url
        self.upload_dir = upload_dir
        self.workers = max(1, workers)
        self.settings = settings
        self.retention = retention
        self.engine = connect(db_url)
        default = Policy.load("default")
        self.pool = guarded_pool(default, settings, self.workers + 1)
        self.interactive = guarded_pool(default, settings, 1)  # registry additions
        self.waiting = FairQueue()
        self.crawler = None  # the process that reads pages (`submit_crawl`), once needed
        self.running: dict[Any, dict] = {}
        self.results: dict[str, store.ResultStore] = {}
        self._lock = threading.RLock()
        self._closed = threading.Event()  # no more items are started
        self._dropping = False  # scans stopped by `shutdown(cancel=True)`: nothing to record
        threading.Thread(target=self._expire_regularly, daemon=True,
                         name="labelcheck-expire").start()

    # -- submitting ----------------------------------------------------------------------------

    def submit(self, kind: str, title: str, policy: str, files: list[tuple[str, str]]) -> str:
        """Record a job of `files` ((display name given by the uploader, stored file name))
        and queue every file; returns the job id."""
        job_id = secrets.token_urlsafe(16)
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(insert(jobs).values(id=job_id, kind=kind, title=title,
                                                   policy=policy, created_at=now))
            connection.execute(insert(items), [
                {"job_id": job_id, "position": position, "name": name, "stored": stored,
                 "status": QUEUED, "attempts": 0, "updated_at": now}
                for position, (name, stored) in enumerate(files, start=1)])
        self._queue(self._rows(items.c.job_id == job_id))
        return job_id

    def submit_crawl(self, url: str, policy: str, options: CrawlOptions) -> str:
        """Record a job that audits the web page at `url` and start reading it (in a process
        of its own, `crawl_media`); its items are the pictures and videos found, each
        downloaded by its scan in the guarded pool. Returns the job id."""
        job_id = secrets.token_urlsafe(16)
        with self.engine.begin() as connection:
            connection.execute(insert(jobs).values(id=job_id, kind=CRAWL,
                                                   title=display_name(url), policy=policy,
                                                   created_at=_now()))
        future = self._crawler().schedule(crawl_media, (url, options),
                                          timeout=CRAWL_TIMEOUT_S)
        future.add_done_callback(lambda done: self._crawled(job_id, url, policy, done))
        return job_id

    def _crawler(self):
        """The process that reads pages: one, started on the first crawl; pages from outside
        are parsed there, never in the web process."""
        with self._lock:
            if self.crawler is None:
                from pebble import ProcessPool

                self.crawler = ProcessPool(max_workers=1, context=worker_context())
            return self.crawler

    def _crawled(self, job_id: str, url: str, policy: str, future) -> None:
        """A crawl is over: queue what it found, or record why there is nothing to scan."""
        if self._closed.is_set():
            return
        try:
            found, pages, skipped = future.result()
        except Exception as exc:  # noqa: BLE001 - a timeout, a dead process: say so
            reason = "it took too long" if isinstance(exc, TimeoutError) else "it failed"
            found, pages, skipped = [], 0, [(url, f"the page could not be read: {reason}")]
        if not found:
            why = skipped[0][1] if skipped else "the page shows no picture or video"
            self.give_up(job_id, url, policy, f"nothing to scan: {why} ({pages} page(s) read)")
            return
        now = _now()
        with self.engine.begin() as connection:
            connection.execute(insert(items), [
                {"job_id": job_id, "position": position, "name": display_name(media),
                 "stored": secrets.token_hex(16), "status": QUEUED, "attempts": 0,
                 "updated_at": now, "extras": {"fetch": media, "found_on": page}}
                for position, (media, page) in enumerate(found, start=1)])
        self._queue(self._rows(items.c.job_id == job_id))

    def give_up(self, job_id: str, name: str, policy: str, reason: str,
                name_shown: bool = False) -> None:
        """Record a job that has nothing to scan as one `error` item saying why; `name` is
        its URL, or its display string already with `name_shown`."""
        name = name if name_shown else display_name(name)
        report = failed_report(name, load_policies(policy), reason)
        with self.engine.begin() as connection:
            connection.execute(insert(items).values(
                job_id=job_id, position=1, name=name, stored=secrets.token_hex(16),
                status=DONE, attempts=0, verdict=report.verdict.value, updated_at=_now(),
                report=json.dumps(report.to_dict(), ensure_ascii=False), extras={}))

    def recover(self) -> int:
        """Queue again what a previous server left queued or running; returns how many. One
        trivial task starts the pool's workers, so that the first upload does not wait for
        them to start and load the OCR models. A page that was being read when the server
        stopped is not read again: its job says so."""
        with self.engine.connect() as connection:
            stopped = connection.execute(select(jobs.c.id, jobs.c.title, jobs.c.policy).where(
                jobs.c.kind == CRAWL, ~jobs.c.id.in_(select(items.c.job_id)))).all()
        for job_id, title, policy in stopped:
            self.give_up(job_id, title, policy, "the server stopped while it read this page; "
                                                "submit it again", name_shown=True)
        rows = self._rows(items.c.status.in_((QUEUED, RUNNING)))
        self._queue(rows)
        self.pool.schedule(os.getpid)
        return len(rows)

    def _rows(self, condition) -> list[dict]:
        with self.engine.connect() as connection:
            query = (select(items.c.id, items.c.job_id, items.c.name, items.c.stored,
                            items.c.attempts, items.c.extras, jobs.c.policy)
                     .join(jobs, jobs.c.id == items.c.job_id)
                     .where(condition).order_by(items.c.id))
            return [dict(row) for row in connection.execute(query).mappings()]

    def _queue(self, rows: list[dict]) -> None:
        """Queue items for the pool; one that already stopped the server MAX_ATTEMPTS times
        (it was running each time the server died) becomes an error instead."""
        for row in rows:
            if row["attempts"] >= MAX_ATTEMPTS:
                self._set(row["id"], status=ERROR, verdict="error",
                          error=f"the scanner stopped {MAX_ATTEMPTS} times on this file (a "
                                "crash or a server restart each time); not scanned")
                continue
            row["large"] = bool((row["extras"] or {}).get("fetch")) or \
                self._is_large(row["stored"])
            with self._lock:
                self.waiting.add(row)
        self._pump()

    def _is_large(self, stored: str) -> bool:
        """Videos, PDFs and files over SMALL_BYTES take long to scan: they get at most
        `workers` of the pool's processes, never the one kept for small files."""
        try:
            with open(self.file_path(stored), "rb") as upload:
                head = upload.read(SNIFF_BYTES)
                size = os.fstat(upload.fileno()).st_size
            return size > SMALL_BYTES or identify(head, "").media_kind != "image"
        except Exception:  # noqa: BLE001 - gone or unreadable: the scan will say so, quickly
            return False

    def _pump(self) -> None:
        """Hand waiting items to free workers."""
        with self._lock:
            while not self._closed.is_set() and len(self.running) <= self.workers:
                large = sum(row["large"] for row in self.running.values())
                row = self.waiting.take(large_allowed=large < self.workers)
                if row is None:
                    return
                self._start(row)

    def _start(self, row: dict) -> None:
        self._set(row["id"], status=RUNNING, attempts=row["attempts"] + 1)
        extras = row["extras"] or {}
        task = Task(extras.get("fetch") or self.file_path(row["stored"]), name=row["name"],
                    policy=load_policies(row["policy"]), found_on=extras.get("found_on"))
        row["task"] = task
        future = schedule(self.pool, task, self.settings)
        self.running[future] = row
        future.add_done_callback(self._finished)

    def _finished(self, future) -> None:
        """A scan is over: keep its report (an `error` report when it ran out of time or
        memory), then give its worker the next item. Scans that `shutdown` stopped are left
        for the next server."""
        with self._lock:
            row = self.running.pop(future, None)
        if row is None or future.cancelled() or self._dropping:
            return
        try:
            self._record(row, outcome(future, row["task"], row["task"].policy, self.settings))
        except Exception:  # noqa: BLE001 - the item stays "running"; a restart scans it again
            log.exception("could not record the report of web job item %s", row["id"])
        finally:
            self._pump()

    def _record(self, row: dict, report: Report) -> None:
        """Store the report, its pictures and its C2PA tree; delete the uploaded bytes."""
        extras = self._keep_evidence(row["stored"], report.evidence)
        data = json.loads(self._scrubbed(json.dumps(report.to_dict(), ensure_ascii=False),
                                         row))
        self._set(row["id"], status=DONE, verdict=report.verdict.value, extras=extras,
                  report=json.dumps(data, ensure_ascii=False))
        self._store(store.StoredReport(data, data["path"]), report.policy)
        if not self.retention.keep_uploads:
            _remove(self.file_path(row["stored"]))

    def _scrubbed(self, text: str, row: dict) -> str:
        """`text` without the upload folder: a library's error message may quote the path it
        was given, which is the server's, not the uploader's."""
        def quoted(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)[1:-1]

        return (text.replace(quoted(self.file_path(row["stored"])), quoted(row["name"]))
                .replace(quoted(self.upload_dir), "uploads"))

    def _keep_evidence(self, stored: str, evidence: Evidence | None) -> dict:
        """Write the pictures the worker made next to the upload; their facts (size, frame
        time, label box) and the C2PA tree go into the item."""
        extras: dict[str, Any] = {}
        if evidence is None:
            return extras
        if evidence.c2pa_tree:
            extras["c2pa"] = evidence.c2pa_tree
        for role, picture in (("preview", evidence.picture), ("thumbnail", evidence.thumbnail)):
            if picture is not None:
                self._write_picture(stored, role, picture)
                extras[role] = _picture_facts(picture)
        extras["frames"] = []
        for number, frame in enumerate(evidence.frames):
            self._write_picture(stored, f"frame-{number}", frame)
            extras["frames"].append(_picture_facts(frame))
        if evidence.c2pa_store:
            with open(self.store_path(stored), "w", encoding="utf-8") as out:
                out.write(evidence.c2pa_store)
            extras["c2pa_store"] = True
        return extras

    def _write_picture(self, stored: str, role: str, picture: Picture) -> None:
        with open(self.picture_path(stored, role), "wb") as out:
            out.write(picture.jpeg)

    def _store(self, report: Report, policy_name: str) -> None:
        """The report into the results store, under the same key and setup digest as the
        CLI's (`store.ResultStore`): a web scan and a ``scan --resume`` share results."""
        with self._lock:
            if policy_name not in self.results:
                self.results[policy_name] = store.ResultStore(
                    self.engine, load_policies(policy_name), self.settings)
            results = self.results[policy_name]
            results.add(report)
            results.flush()

    def _set(self, item_id: int, **values) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(items).where(items.c.id == item_id)
                               .values(updated_at=_now(), **values))

    def call(self, function: Callable, *args, timeout: float = 300) -> Any:
        """Run `function(*args)` in a worker process of its own and wait for it (registering
        an original): native decoding stays out of the web process, and these requests do
        not wait behind queued scans."""
        from pebble import ProcessExpired

        try:
            return self.interactive.schedule(function, args, timeout=timeout).result()
        except ProcessExpired:
            raise RuntimeError("the worker process stopped on this file") from None
        except TimeoutError:
            raise RuntimeError(f"took longer than {timeout:g} s") from None

    def shutdown(self, cancel: bool = False) -> None:
        """Stop taking items; the scans under way finish, or with `cancel` are stopped (they
        stay queued in the database and the next server scans them). Once is enough."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._dropping = cancel
        for pool in (self.interactive, self.pool, self.crawler):
            if pool is None:
                continue
            if cancel:
                pool.stop()
            else:
                pool.close()
            pool.join()

    # -- retention -----------------------------------------------------------------------------

    def _expire_regularly(self) -> None:
        every = min(EXPIRE_EVERY_S, max(1.0, self.retention.keep_hours * 3600 / 4))
        while not self._closed.is_set():
            try:
                self.expire()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("could not delete expired web jobs")
            self._closed.wait(every)

    def expire(self, now: datetime | None = None) -> int:
        """Delete the jobs made more than `keep_hours` ago (none of whose files is still
        waiting or being scanned), with their reports and pictures, and every file in the
        upload folder older than that which no waiting item needs; returns the jobs deleted."""
        cutoff = (now or _now()) - timedelta(hours=self.retention.keep_hours)
        with self.engine.begin() as connection:
            busy = set(connection.execute(select(items.c.job_id).where(
                items.c.status.in_((QUEUED, RUNNING)))).scalars())
            old = [job_id for job_id in connection.execute(
                select(jobs.c.id).where(jobs.c.created_at < cutoff)).scalars()
                if job_id not in busy]
            for start in range(0, len(old), 500):
                chunk = old[start:start + 500]
                connection.execute(delete(items).where(items.c.job_id.in_(chunk)))
                connection.execute(delete(jobs).where(jobs.c.id.in_(chunk)))
            needed = set(connection.execute(select(items.c.stored).where(
                items.c.status.in_((QUEUED, RUNNING)))).scalars())
        self._remove_files_before(cutoff.timestamp(), needed)
        return len(old)

    def _remove_files_before(self, cutoff: float, needed: set[str]) -> None:
        with os.scandir(self.upload_dir) as entries:
            for entry in entries:
                if entry.name.split(".")[0] in needed or not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    _remove(entry.path)

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

    def file_path(self, stored: str) -> str:
        """Where an upload lies: a random name in the upload folder, never a user's path."""
        return os.path.join(self.upload_dir, stored)

    def picture_path(self, stored: str, role: str) -> str:
        """Where a picture the worker made of an upload lies (``preview``, ``thumbnail``,
        ``frame-N``)."""
        return os.path.join(self.upload_dir, f"{stored}.{role}.jpg")

    def reports(self, job_id: str, full: bool = False) -> list[Report]:
        """The finished reports of a job, in upload order, for the report writers, each with
        the thumbnail its worker made; `full` adds the large picture, the video frames and
        the manifest store as read (an evidence pack)."""
        job = self.job(job_id) or {"items": []}
        return [self.with_evidence(item, full) for item in job["items"] if item["report"]]

    def with_evidence(self, item: dict, full: bool = False) -> Report:
        """An item's report with the display evidence its worker made (`Report.evidence`):
        the thumbnail, and with `full` the preview as the picture, the frames and the C2PA
        manifest store; what was not made is left out."""
        report = report_from_dict(item["report"])
        extras = item["extras"]
        evidence = Evidence(c2pa_tree=extras.get("c2pa"))
        evidence.thumbnail = self._picture(item["stored"], "thumbnail", extras.get("thumbnail"))
        if full:
            evidence.picture = self._picture(item["stored"], "preview", extras.get("preview"))
            evidence.frames = [frame for frame in (
                self._picture(item["stored"], f"frame-{number}", facts)
                for number, facts in enumerate(extras.get("frames") or [])) if frame]
            evidence.c2pa_store = self._read_text(self.store_path(item["stored"])) \
                if extras.get("c2pa_store") else None
        report.evidence = evidence
        return report

    def _picture(self, stored: str, role: str, facts) -> Picture | None:
        if not isinstance(facts, dict):
            return None
        try:
            with open(self.picture_path(stored, role), "rb") as stream:
                jpeg = stream.read()
        except OSError:
            return None
        return Picture(jpeg, tuple(facts["size"]), facts.get("time_s"),
                       bool(facts.get("label_seen")), facts.get("box"))

    @staticmethod
    def _read_text(path: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as stream:
                return stream.read()
        except OSError:
            return None

    def store_path(self, stored: str) -> str:
        """Where the C2PA manifest store of an upload, as the worker read it, lies."""
        return os.path.join(self.upload_dir, f"{stored}.c2pa.json")


def _picture_facts(picture: Picture) -> dict:
    return {"size": list(picture.size), "time_s": picture.time_s,
            "label_seen": picture.label_seen, "box": picture.box}


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


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


def crawl_media(url: str, options: CrawlOptions) -> tuple[list, int, list]:
    """In the crawler process: ((media URL, page) found, pages read, (URL, reason) left out)
    of the page at `url`."""
    log = CrawlLog()
    found = [(item.url, item.page) for item in crawl([url], options, log)]
    return found, len(log.pages), log.skipped


def register_file(db_url: str, path: str, owner: str, note: str | None,
                  declared_ai: bool = False) -> int:
    """Register in a worker: the original is scanned and fingerprinted there."""
    from labelcheck.registry import Registry
    from labelcheck.registry.enrol import register_file

    return register_file(Registry.open(db_url), path, owner, note, declared_ai=declared_ai)
