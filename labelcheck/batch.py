"""Scan many files on several cores, yielding reports in input order as they finish.

C2PA validation and pixel work are CPU-bound native code, so throughput scales with processes,
not threads. Reports stream back one by one: nothing waits for the whole batch.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Iterable, Iterator

from labelcheck.model import Report
from labelcheck.policy import Policy
from labelcheck.scanner import scan
from labelcheck.sources.base import ScanOptions

_job: tuple[Policy, ScanOptions] | None = None


def scan_many(paths: Iterable[str], policy: Policy, options: ScanOptions,
              workers: int | None = None) -> Iterator[Report]:
    """`scan` every path; `workers` processes (default: all cores), 1 means in-process.

    Workers start from a fork server, which imports the calling script's main module again:
    scripts that call this must keep their top level under ``if __name__ == "__main__":``,
    as with any multiprocessing code.
    """
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for path in paths:
            yield scan(path, policy, options=options)
        return
    context = _worker_context()
    with context.Pool(workers, initializer=_start_worker, initargs=(policy, options)) as pool:
        yield from pool.imap(_scan_one, paths, chunksize=4)


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


def _start_worker(policy: Policy, options: ScanOptions) -> None:
    """Each worker owns one core: its OCR runs single-threaded."""
    global _job
    _job = (policy, options)
    os.environ["LABELCHECK_OCR_THREADS"] = "1"


def _scan_one(path: str) -> Report:
    policy, options = _job
    return scan(path, policy, options=options)
