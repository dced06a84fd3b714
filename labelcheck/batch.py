"""Scan many files on several cores or on a cluster, each file under a time and memory limit.

C2PA validation and pixel work are CPU-bound native code, so throughput scales with processes,
not threads. Reports stream back one by one as they finish: nothing waits for the whole batch,
and only a small window of files is in flight, so memory stays flat however long the batch is.

Every file is scanned in a worker process of a pebble `ProcessPool`. A file that takes longer
than the time limit, or makes its worker grow by more than the memory limit, costs that worker
(pebble kills and replaces it) and gets an `error` report saying why; the batch goes on. The
same guarded pool runs inside each dask worker when the batch runs on a cluster
(``engine="dask"``), so both engines give the same reports.

`scan_batch` adds the results store: each report is saved as it arrives, and ``resume`` emits
the stored report of every file already scanned under the same policy, setup and version
instead of scanning it again.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, TimeoutError, wait
from dataclasses import dataclass
from typing import Iterable, Iterator

from labelcheck.model import Report
from labelcheck.policy import Policy
from labelcheck.scanner import failed_report, scan
from labelcheck.sources.base import ScanOptions

MEMORY_EXIT_CODE = 86  # a worker's exit status when its memory guard stopped it
WINDOW_PER_WORKER = 4  # files in flight per worker: enough to keep it busy, few in memory
TASKS_PER_WORKER = 1000  # a worker is replaced after this many files (stray growth is dropped)
ENGINES = ("local", "dask")


@dataclass(frozen=True)
class Limits:
    """Per-file limits: wall seconds of one scan, and how many MB one scan may add to its
    worker's resident memory. None switches a limit off."""

    timeout_s: float | None = 120.0
    memory_mb: int | None = 2048


def scan_many(paths: Iterable[str], policy: Policy, options: ScanOptions,
              workers: int | None = None, *, limits: Limits | None = None,
              ordered: bool = True, engine: str = "local",
              scheduler: str | None = None) -> Iterator[Report]:
    """`scan` every path (a file path or an fsspec URL) on `workers` processes (default: all
    cores); reports in input order, or as they finish with ``ordered=False``.

    One worker without `limits` scans in this process. Workers start from a fork server, which
    imports the calling script's main module again: scripts that call this must keep their top
    level under ``if __name__ == "__main__":``, as with any multiprocessing code.
    ``engine="dask"`` runs the scans on the dask.distributed cluster at `scheduler` (a local
    cluster of `workers` processes when None).
    """
    workers = workers or os.cpu_count() or 1
    if engine == "local" and workers == 1 and limits is None:
        for path in paths:
            yield scan_target(path, policy, options)
        return
    limits = limits or Limits()
    if engine == "dask":
        from labelcheck.cluster import cluster_reports

        numbered = cluster_reports(paths, policy, options, limits, scheduler, workers)
    elif engine == "local":
        numbered = _pool_reports(paths, policy, options, limits, workers)
    else:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    yield from (_in_input_order(numbered) if ordered else (report for _, report in numbered))


def scan_batch(paths: Iterable[str], policy: Policy, options: ScanOptions, *,
               results=None, resume: bool = False, **scan_options) -> Iterator[Report]:
    """`scan_many` in completion order, with the results store: every report is saved to
    `results` (a `store.ResultStore`) as it arrives; with `resume`, files whose content was
    already scanned under the same policy, setup and version get their stored report (under
    their current path) and are not scanned again. Stored reports come first."""
    if resume and results is not None:
        paths = yield from _stored_first(paths, results)
    try:
        for report in scan_many(paths, policy, options, ordered=False, **scan_options):
            if results is not None:
                results.add(report)
            yield report
    finally:
        if results is not None:
            results.flush()


def _stored_first(paths: Iterable[str], results, chunk: int = 500):
    """Yield the stored report of every path whose content is in the store; return the
    paths still to scan."""
    from labelcheck.store import StoredReport

    to_scan: list[str] = []
    batch: list[tuple[str, str | None]] = []

    def settle():
        stored = results.lookup(digest for _, digest in batch if digest)
        for path, digest in batch:
            if digest in stored:
                yield StoredReport(stored[digest], path)
            else:
                to_scan.append(path)
        batch.clear()

    for path in paths:
        batch.append((path, content_sha256(path)))
        if len(batch) >= chunk:
            yield from settle()
    yield from settle()
    return to_scan


def content_sha256(path: str) -> str | None:
    """SHA-256 of a file's bytes (path or fsspec URL), read in blocks; None when unreadable
    (the scan then says why)."""
    digest = hashlib.sha256()
    try:
        with open_target(path) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, ValueError, ImportError):
        return None
    return digest.hexdigest()


def is_url(path: str) -> bool:
    return "://" in path


def open_target(path: str):
    """A binary file object for a path or an fsspec URL (s3://, gs://, http://, memory://...)."""
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open(path, "rb")


def scan_target(path: str, policy: Policy, options: ScanOptions) -> Report:
    """`scan` a local path, or the bytes behind an fsspec URL (reported under the URL)."""
    if not is_url(path):
        return scan(path, policy, options=options)
    try:
        with open_target(path) as handle:
            data = handle.read()
    except (OSError, ValueError, ImportError) as exc:
        return failed_report(path, policy, f"could not read {path}: {exc}")
    return scan(data, policy, options=options, name=path)


# -- the guarded worker pool ----------------------------------------------------------------

def _pool_reports(paths: Iterable[str], policy: Policy, options: ScanOptions, limits: Limits,
                  workers: int) -> Iterator[tuple[int, Report]]:
    """(input index, report) of every path, in completion order, from a guarded pool."""
    pool = guarded_pool(policy, options, limits, workers)
    try:
        yield from _drain(pool, enumerate(paths), policy, limits, workers * WINDOW_PER_WORKER)
    except BaseException:  # the consumer stopped early or was interrupted: end the workers
        pool.stop()
        pool.join()
        raise
    pool.close()
    pool.join()


def guarded_pool(policy: Policy, options: ScanOptions, limits: Limits, workers: int):
    """A pebble pool whose workers scan under `policy`/`options` and watch their memory."""
    from pebble import ProcessPool

    return ProcessPool(max_workers=workers, max_tasks=TASKS_PER_WORKER,
                       initializer=_start_worker, initargs=(policy, options, limits.memory_mb),
                       context=_worker_context())


def _drain(pool, numbered: Iterator[tuple[int, str]], policy: Policy, limits: Limits,
           window: int) -> Iterator[tuple[int, Report]]:
    """Keep `window` files in flight; yield each result as it finishes."""
    in_flight: dict = {}
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < window:
            item = next(numbered, None)
            if item is None:
                exhausted = True
            else:
                future = pool.schedule(scan_in_worker, (item[1],), timeout=limits.timeout_s)
                in_flight[future] = item
        if not in_flight:
            return
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            number, path = in_flight.pop(future)
            yield number, outcome(future, path, policy, limits)


def outcome(future, path: str, policy: Policy, limits: Limits) -> Report:
    """The report of a finished pool task; a task that ran out of time or memory, or whose
    worker died, becomes an `error` report that says so in plain words."""
    from pebble import ProcessExpired

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
    return failed_report(path, policy, reason, sha256=content_sha256(path), size=_size(path))


def _exit_status(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by signal {-code}"
    return f"exit status {code}"


def _size(path: str) -> int | None:
    try:
        return None if is_url(path) else os.path.getsize(path)
    except OSError:
        return None


def _in_input_order(numbered: Iterator[tuple[int, Report]]) -> Iterator[Report]:
    """Reorder (index, report) pairs; holds at most the in-flight window."""
    waiting: dict[int, Report] = {}
    following = 0
    for number, report in numbered:
        waiting[number] = report
        while following in waiting:
            yield waiting.pop(following)
            following += 1


def _worker_context():
    """Workers come from a fork server, never from a fork of this process: the C2PA library
    keeps native threads and locks that a plain fork of a process that already used it would
    copy mid-flight (and deadlock on). The server preloads labelcheck, so starting a worker
    costs a fork, not an import."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["labelcheck.scanner", "labelcheck.sources"])
    return context


# -- inside a worker --------------------------------------------------------------------------

_job: tuple[Policy, ScanOptions] | None = None
_guard: "MemoryGuard | None" = None


def _start_worker(policy: Policy, options: ScanOptions, memory_mb: int | None) -> None:
    """Each worker owns one core (its OCR runs single-threaded) and loads the OCR models
    before its first file, so the time limit measures scans, not start-up."""
    global _job, _guard
    _job = (policy, options)
    os.environ["LABELCHECK_OCR_THREADS"] = "1"
    if options.pixels:
        from labelcheck import ocr

        ocr.load_models()
    if memory_mb:
        _guard = MemoryGuard(memory_mb)


def scan_in_worker(path: str) -> Report:
    policy, options = _job
    if _guard is None:
        return scan_target(path, policy, options)
    with _guard:
        return scan_target(path, policy, options)


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
