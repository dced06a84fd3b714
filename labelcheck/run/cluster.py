"""The dask engine: the same batch on a dask.distributed cluster.

The client sends file names (paths the workers can read, or fsspec URLs), never file contents:
each dask worker reads its files itself. Inside every dask worker the scans run in the same
guarded pebble pool as the local engine (one scanning process per worker thread), so the
per-file time and memory limits hold on the cluster too and the reports are the same.

Dask workers are daemon processes by default, and a daemon process may not start children:
start the workers with ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (the local cluster made here
does). A worker that still is a daemon scans in its own threads, without the per-file limits.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Iterable, Iterator

from labelcheck.core.model import Report
from labelcheck.core.policy import Policy
from labelcheck.core.scanner import failed_report
from labelcheck.core.settings import Settings
from labelcheck.run.inputs import content_sha256, scan_target
from labelcheck.run.pool import (WINDOW_PER_WORKER, Task, as_task, guarded_pool, outcome,
                                 schedule)

_pools: dict[str, object] = {}
_pools_lock = threading.Lock()


def cluster_reports(paths: Iterable[str | Task], policy: Policy, settings: Settings,
                    scheduler: str | None, workers: int) -> Iterator[tuple[int, Report]]:
    """(input index, report) of every path or `Task` in completion order, scanned on the
    cluster at `scheduler` (a local cluster of `workers` processes when None)."""
    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                   dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        window = max(1, sum(client.nthreads().values())) * WINDOW_PER_WORKER
        numbered = enumerate(as_task(item) for item in paths)
        in_flight: dict[str, tuple[int, Task]] = {}
        finished = as_completed()

        def submit_next() -> None:
            item = next(numbered, None)
            if item is not None:
                future = client.submit(scan_on_worker, item[1], policy, settings,
                                       pure=False)
                in_flight[future.key] = item
                finished.add(future)

        for _ in range(window):
            submit_next()
        for future in finished:
            number, task = in_flight.pop(future.key)
            yield number, _report_of(future, task, policy)
            future.release()
            submit_next()
    finally:
        try:
            client.run(close_pools)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _report_of(future, task: Task, policy: Policy) -> Report:
    """The task's report; a task the cluster could not finish (its worker kept dying) is an
    `error` report."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, lost connection, ...
        return failed_report(task.display, policy,
                             f"the cluster could not scan this file: {exc}",
                             sha256=task.sha256 or content_sha256(task.path))


def scan_on_worker(task: Task, policy: Policy, settings: Settings) -> Report:
    """Runs on a dask worker: scan `task` in this worker's guarded pool."""
    if multiprocessing.current_process().daemon:
        return scan_target(task.path, policy, settings, name=task.name, sha256=task.sha256)
    future = schedule(_pool(policy, settings), task, settings)
    return outcome(future, task, policy, settings)


def _pool(policy: Policy, settings: Settings):
    """This worker's pool for this batch setup, one scanning process per worker thread."""
    key = repr((policy, settings))
    with _pools_lock:
        if key not in _pools:
            _pools[key] = guarded_pool(policy, settings, _worker_threads())
        return _pools[key]


def close_pools() -> None:
    """Runs on every dask worker at the end of a batch: end its scanning processes (they are
    not daemons, so a worker that kept them could not exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.stop()
        pool.join()


def _worker_threads() -> int:
    from distributed import get_worker

    try:
        return get_worker().state.nthreads
    except ValueError:  # not inside a dask worker
        return 1
