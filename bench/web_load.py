"""Load test of the web app: 50 concurrent image uploads through the JSON API.

A real server (`labelcheck serve`, waitress) runs on a loopback port with its own SQLite
database. 50 client threads each upload one bundled test picture at once, then poll their job
until it is done. The test fails on any HTTP error, any job that does not finish, or any result
missing from the database. It reports the latency of the upload request (the answer is 202 as
soon as the file is stored and queued) and of the whole round trip (upload to verdict), p50 and
p95, with the machine and its load average.

    python bench/web_load.py [--clients 50] [--workers N] [--no-ocr]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from machine import cpu_model  # noqa: E402
from webapp.jobs import items  # noqa: E402
from webapp.local_server import running_server  # noqa: E402

PICTURES = ["ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg", "iptc_ai.jpg", "plain_photo.jpg",
            "aigc_xmp.jpg", "a1111.png", "google_ai_credit.jpg", "ai_stripped.png"]


def client(url: str, name: str, start: threading.Barrier, results: list, index: int) -> None:
    try:
        results[index] = upload_and_wait(url, name, start)
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the test
        results[index] = {"error": repr(exc)}


def upload_and_wait(url: str, name: str, start: threading.Barrier) -> dict:
    data = (ROOT / "test_media" / name).read_bytes()
    session = requests.Session()  # one kept-alive connection per client, as a platform would
    start.wait()
    began = time.perf_counter()
    response = session.post(url + "/api/v1/scans", files={"files": (name, data)},
                             data={"policy": "default"}, timeout=300)
    uploaded = time.perf_counter()
    if response.status_code != 202:
        return {"error": f"{response.status_code} {response.text[:200]}"}
    job_url = url + response.json()["links"]["self"]
    while True:
        time.sleep(0.5)
        poll = session.get(job_url, timeout=60)
        if poll.status_code != 200:
            return {"error": f"poll: {poll.status_code} {poll.text[:200]}"}
        job = poll.json()
        if job["status"] in ("done", "error"):
            break
    return {"upload_s": uploaded - began, "total_s": time.perf_counter() - began,
                      "status": job["status"], "verdict": job["items"][0]["verdict"],
            "job": job["id"]}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="labelcheck-load-"))
    env = {"LABELCHECK_SUBMIT_RATE_LIMIT": "10000 per minute",  # one address sends it all
           "LABELCHECK_RATELIMIT_DEFAULT": "100000 per minute",
           "LABELCHECK_PIXELS": "false" if args.no_ocr else "true"}
    results: list = [None] * args.clients
    with running_server(folder, workers=args.workers, threads=16, env=env) as url:
        start = threading.Barrier(args.clients)
        threads = [threading.Thread(target=client, args=(url, PICTURES[i % len(PICTURES)],
                                                         start, results, i))
                   for i in range(args.clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    load = os.getloadavg()
    errors = [r["error"] for r in results if "error" in r]
    finished = [r for r in results if "error" not in r]
    engine = create_engine(f"sqlite:///{folder / 'web.db'}")
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(items).where(
            items.c.status == "done", items.c.report.is_not(None))).scalar()
    uploads = [r["upload_s"] * 1000 for r in finished]
    totals = [r["total_s"] * 1000 for r in finished]
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.clients} concurrent uploads, {args.workers} scan workers, "
          f"{'metadata only' if args.no_ocr else 'full scan (OCR on)'}; wall {wall:.1f} s")
    print(f"errors: {len(errors)} {errors[:3]}")
    print(f"jobs done: {sum(r['status'] == 'done' for r in finished)}/{args.clients}; "
          f"results stored in the database: {stored}/{args.clients}")
    if uploads:
        print(f"upload request ms: p50 {statistics.median(uploads):.0f}, "
              f"p95 {percentile(uploads, 0.95):.0f}, max {max(uploads):.0f}")
        print(f"upload to verdict ms: p50 {statistics.median(totals):.0f}, "
              f"p95 {percentile(totals, 0.95):.0f}, max {max(totals):.0f}")
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    ok = not errors and stored == args.clients and all(r["status"] == "done" for r in finished)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
