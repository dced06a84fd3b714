"""Scan many files on several cores or on a cluster, each file under a time and memory limit.

Reports stream back one by one as they finish: nothing waits for the whole batch, and only a
small window of files is in flight, so memory stays flat however long the batch is. Every file
is scanned in the guarded pool (`labelcheck.run.pool`); the same pool runs inside each dask
worker when the batch runs on a cluster (``engine="dask"``), so both engines give the same
reports.

`scan_batch` adds the results store: each report is saved as it arrives, and ``resume`` emits
the stored report of every file already scanned under the same policy, setup and version
instead of scanning it again.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator

from labelcheck.core.model import Report
from labelcheck.core.names import display_name
from labelcheck.core.policy import Policy
from labelcheck.core.settings import Settings
from labelcheck.run.inputs import content_sha256, scan_target
from labelcheck.run.pool import Task, as_task, pool_reports

ENGINES = ("local", "dask")


def scan_many(paths: Iterable[str | Task], policy: Policy, settings: Settings,
              workers: int | None = None, *, guarded: bool = True, ordered: bool = True,
              engine: str = "local", scheduler: str | None = None) -> Iterator[Report]:
    """`scan` every path (a file path or an fsspec URL, or a `Task`) on `workers` processes
    (default: all cores) under `settings.limits`; reports in input order, or as they finish
    with ``ordered=False``.

    One worker with ``guarded=False`` scans in this process, without limits. Workers start
    from a fork server, which imports the calling script's main module again: scripts that
    call this must keep their top level under ``if __name__ == "__main__":``, as with any
    multiprocessing code. ``engine="dask"`` runs the scans on the dask.distributed cluster at
    `scheduler` (a local cluster of `workers` processes when None).
    """
    workers = workers or os.cpu_count() or 1
    if engine == "local" and workers == 1 and not guarded:
        for task in map(as_task, paths):
            yield scan_target(task.path, policy, settings, name=task.name, sha256=task.sha256,
                              found_on=task.found_on)
        return
    if engine == "dask":
        from labelcheck.run.cluster import cluster_reports

        numbered = cluster_reports(paths, policy, settings, scheduler, workers)
    elif engine == "local":
        numbered = pool_reports(enumerate(paths), policy, settings, workers)
    else:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    yield from (_in_input_order(numbered) if ordered else (report for _, report in numbered))


def scan_batch(paths: Iterable[str], policy: Policy, settings: Settings, *,
               results=None, resume: bool = False, **scan_options) -> Iterator[Report]:
    """`scan_many` in completion order, with the results store: every report is saved to
    `results` (a `store.ResultStore`) as it arrives; with `resume`, files whose content was
    already scanned under the same policy, setup and version get their stored report (under
    their current path) and are not scanned again. Stored reports come first."""
    if resume and results is not None:
        paths = yield from _stored_first(paths, results)
    try:
        for report in scan_many(paths, policy, settings, ordered=False, **scan_options):
            if results is not None:
                results.add(report)
            yield report
    finally:
        if results is not None:
            results.flush()


def _stored_first(paths: Iterable[str], results, chunk: int = 500):
    """Yield the stored report of every path whose content is in the store; return the
    files still to scan, as `Task`s that carry the hash (each file is hashed once)."""
    from labelcheck.run.store import StoredReport

    to_scan: list[Task] = []
    batch: list[tuple[str, str | None]] = []

    def settle():
        stored = results.lookup(digest for _, digest in batch if digest)
        for path, digest in batch:
            if digest in stored:
                yield StoredReport(stored[digest], display_name(path))
            else:
                to_scan.append(Task(path, sha256=digest))
        batch.clear()

    for path in paths:
        batch.append((path, content_sha256(path)))
        if len(batch) >= chunk:
            yield from settle()
    yield from settle()
    return to_scan


def _in_input_order(numbered: Iterator[tuple[int, Report]]) -> Iterator[Report]:
    """Reorder (index, report) pairs; holds at most the in-flight window."""
    waiting: dict[int, Report] = {}
    following = 0
    for number, report in numbered:
        waiting[number] = report
        while following in waiting:
            yield waiting.pop(following)
            following += 1
