"""The guarded worker pool: every file scanned in a worker process under a time and a memory
limit, by every shell that scans more than one file (batch, cluster workers, web app).

C2PA validation and pixel work are CPU-bound native code, so throughput scales with processes,
not threads. A file that takes longer than the time limit, or makes its worker grow by more
than the memory limit, costs that worker (pebble kills and replaces it) and gets an `error`
report saying why; the others go on.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, TimeoutError, wait
from dataclasses import dataclass
from typing import Iterator

from labelcheck.core.model import Report
from labelcheck.core.names import display_name
from labelcheck.core.policy import Policy, Regimes
from labelcheck.core.scanner import failed_report
from labelcheck.core.settings import Settings, may_hold_originals
from labelcheck.run.inputs import content_sha256, file_size, scan_target

MEMORY_EXIT_CODE = 86  # a worker's exit status when its memory guard stopped it
WINDOW_PER_WORKER = 4  # tasks in flight per worker: enough to keep it busy, few in memory
TASKS_PER_WORKER = 1000  # a worker is replaced after this many tasks (stray growth is dropped)
GROUP_FILES = 8  # files of a metadata scan sent to a worker together


@dataclass(frozen=True)
class Task:
    """One file for a worker. `path` is what the worker opens (a local path or an fsspec URL);
    `name` is the report's display string (default: the path's display form); `sha256` the
    content hash when it is known already (``--resume``), so the file is hashed once; `policy`
    (one, or several `Regimes`) when it is not the pool's (each web job has its own)."""

    path: str
    name: str | None = None
    sha256: str | None = None
    policy: Policy | Regimes | None = None
    found_on: str | None = None  # a crawled file: the page it was found on

    @property
    def display(self) -> str:
        return self.name or display_name(self.path)


def as_task(item: str | Task) -> Task:
    return item if isinstance(item, Task) else Task(item)


def guarded_pool(policy: Policy, settings: Settings, workers: int):
    """A pebble pool whose workers scan under `policy`/`settings` and watch their memory."""
    from pebble import ProcessPool

    return ProcessPool(max_workers=workers, max_tasks=TASKS_PER_WORKER,
                       initializer=_start_worker, initargs=(policy, settings),
                       context=worker_context(settings.pixels,
                                              may_hold_originals(settings.db_url)))


def pool_reports(numbered: Iterator[tuple[int, str | Task]], policy: Policy,
                 settings: Settings, workers: int) -> Iterator[tuple[int, Report]]:
    """(input index, report) of every (index, path or `Task`), in completion order, from a
    guarded pool of `workers` processes that lives as long as this iteration."""
    pool = guarded_pool(policy, settings, workers)
    try:
        yield from drain(pool, numbered, policy, settings, workers * WINDOW_PER_WORKER)
    except BaseException:  # the consumer stopped early or was interrupted: end the workers
        pool.stop()
        pool.join()
        raise
    pool.close()
    pool.join()


def drain(pool, numbered: Iterator[tuple[int, str | Task]], policy: Policy,
          settings: Settings, window: int) -> Iterator[tuple[int, Report]]:
    """Keep `window` tasks in flight; yield each report as it finishes.

    A metadata scan (no pixels) takes about a millisecond a file, as long as the pool's round
    trip for it, so its files go to the workers in groups of `GROUP_FILES`. A group that
    fails (it ran past the time limit, its worker died or hit the memory limit) is scanned
    again file by file, so that only the file responsible gets the error and the others
    their reports. A pixel scan takes tens of milliseconds or more: its files go one by
    one."""
    size = 1 if settings.pixels else GROUP_FILES
    in_flight: dict = {}
    alone: list[tuple[int, Task]] = []  # the files of a failed group, to scan one by one
    exhausted = False
    while True:
        while len(in_flight) < window and (alone or not exhausted):
            group = [alone.pop(0)] if alone else _next_group(numbered, size)
            if not group:
                exhausted = True
            elif len(group) == 1:
                in_flight[schedule(pool, group[0][1], settings)] = group
            else:
                in_flight[schedule_group(pool, [task for _, task in group], settings)] = group
        if not in_flight:
            return
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            group = in_flight.pop(future)
            if len(group) == 1:
                number, task = group[0]
                yield number, outcome(future, task, policy, settings)
            elif future.exception() is None:
                yield from zip((number for number, _ in group), future.result())
            else:
                alone.extend(group)


def _next_group(numbered: Iterator[tuple[int, str | Task]], size: int) -> list[tuple[int, Task]]:
    """Up to `size` (index, `Task`) pairs from `numbered`; none once it is exhausted."""
    return [(number, as_task(item)) for number, item in itertools.islice(numbered, size)]


def schedule(pool, task: Task, settings: Settings):
    """Scan `task` in `pool` under the time limit; a pebble future."""
    return pool.schedule(scan_in_worker, (task,), timeout=settings.limits.timeout_s)


def schedule_group(pool, tasks: list[Task], settings: Settings):
    """Scan `tasks` one after the other in one worker; a pebble future of their reports. The
    group gets one file's time limit: one that needs more is scanned again file by file."""
    return pool.schedule(scan_group_in_worker, (tasks,), timeout=settings.limits.timeout_s)


def outcome(future, task: Task, policy: Policy, settings: Settings) -> Report:
    """The report of a finished pool task; a task that ran out of time or memory, or whose
    worker died, becomes an `error` report that says so in plain words (hashed here only
    when the hash was not known already)."""
    from pebble import ProcessExpired

    limits = settings.limits
    try:
        return future.result()
    except TimeoutError:
        reason = f"scan took longer than {limits.timeout_s:g} s (the per-file time limit)"
    except ProcessExpired as exc:
        reason = (f"scan used more than {limits.memory_mb} MB (the per-file memory limit)"
                  if exc.exitcode == MEMORY_EXIT_CODE else
                  f"the scanning process died ({_exit_status(exc.exitcode)}) on this file")
    except Exception as exc:  # noqa: BLE001 - e.g. a report that cannot be sent back
        reason = f"the scan failed: {exc}"
    report = failed_report(task.display, task.policy or policy, reason,
                           sha256=task.sha256 or content_sha256(task.path),
                           size=file_size(task.path))
    report.found_on = task.found_on
    return report


def _exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"


def worker_context(pixels: bool = True, registry: bool = True):
    """Workers come from a fork server, never from a fork of this process: the C2PA library
    keeps native threads and locks that a plain fork of a process that already used it would
    copy mid-flight (and deadlock on). The server preloads labelcheck and c2pa-python (only
    imported there, never used: loading it starts no thread), with the pixel sources, NumPy and
    OpenCV when the scans read pixels, and the registry's SQLAlchemy when there may also be a
    registry to match; it is started once per process, by the first pool. So starting a
    worker costs a fork, not an import (a worker is replaced every `TASKS_PER_WORKER` tasks),
    and a worker's first file is not charged the imports against its time limit."""
    import multiprocessing  # only where a pool starts: a one-file scan runs in its process

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["labelcheck.core.scanner", "labelcheck.sources", "c2pa"]
        + (["labelcheck.sources.pixels", "cv2"] if pixels else [])
        + (["labelcheck.registry"] if pixels and registry else []))
    return context


# -- inside a worker --------------------------------------------------------------------------

_job: tuple[Policy, Settings] | None = None
_guard: "MemoryGuard | None" = None


def _start_worker(policy: Policy, settings: Settings) -> None:
    """Each worker owns one core (its OCR runs single-threaded) and, in a pool whose scans
    read pixels, loads the OCR models before its first file, so the time limit measures
    scans, not start-up. A metadata pool's workers never run OCR and do not import it (nor
    NumPy under it): each worker would pay that import, and one is replaced every
    `TASKS_PER_WORKER` tasks."""
    global _job, _guard
    _job = (policy, settings)
    if settings.debug is not None:  # a fork server's child has no logging set up
        from labelcheck.run import logs

        logs.configure(settings.debug)

    if settings.pixels:
        from labelcheck.vision import ocr

        ocr.set_threads(1)
        ocr.load_models()
    if settings.limits.memory_mb:
        _guard = MemoryGuard(settings.limits.memory_mb)


def scan_group_in_worker(tasks: list[Task]) -> list[Report]:
    return [scan_in_worker(task) for task in tasks]


def scan_in_worker(task: Task) -> Report:
    policy, settings = _job
    with _guard or contextlib.nullcontext():
        return scan_target(task.path, task.policy or policy, settings, name=task.name,
                           sha256=task.sha256, found_on=task.found_on)


class MemoryGuard:
    """Ends its process when the scan in progress has grown resident memory by more than
    `limit_mb`. A thread samples RSS every `interval` s; the exit status tells the pool why
    the worker went (`MEMORY_EXIT_CODE`), and pebble starts a fresh worker."""

    def __init__(self, limit_mb: int, interval: float = 0.05):
        import psutil

        self.limit = limit_mb * 2**20
        self.interval = interval
        self.process = psutil.Process()
        self.baseline: int | None = None
        threading.Thread(target=self._watch, daemon=True, name="memory-guard").start()

    def __enter__(self):
        self.baseline = self.process.memory_info().rss

    def __exit__(self, *_exc):
        self.baseline = None

    def _watch(self) -> None:
        while True:
            time.sleep(self.interval)
            baseline = self.baseline
            if baseline is not None and self.process.memory_info().rss - baseline > self.limit:
                os._exit(MEMORY_EXIT_CODE)
