"""Many rooms at once: how many live streams one machine watches at 1 sample per second while
keeping up with real time (issue 16; target: at least 4 at 720p on 2 cores).

For each size (720p, 1080p) a 60 s clip is made once into ``bench/out/`` like a live-commerce
room: a panned scene with a bouncing disc at 30 fps, an "AI生成" badge in the top-right corner
that is gone from 20 s to 28 s, libx264 ``veryfast`` at the bitrate of a live stream with a
keyframe every 2 s. For each count N, N FFmpeg processes (Debian's ``ffmpeg``) serve it looped
in real time over RTMP (``-re -stream_loop -1 ... -listen 1``, stream copy: they cost little),
and N ``labelcheck watch`` processes watch one each for ``--seconds`` (wall clock). Measured per
run: the CPU the watchers used (share of all cores), each watcher's peak memory, the samples
each took, those it dropped (the analysis more than 5 s behind the stream), and how far behind
the stream it was at the end of the run (``lag_s`` of its last progress events; 0 means it
analyses each sample as it arrives). A count keeps up when no watcher dropped a sample and none
ended more than 2 s behind.

Usage: ``python bench/live.py [--seconds 60] [--sizes 720p,1080p] [--counts 1,2,4,6,8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "test_media"))
sys.path.insert(0, str(ROOT / "tests"))

from streams import free_port, wait_listening  # noqa: E402 - the watch tests' stream helpers

SIZES = {"720p": (1280, 720, "2500k"), "1080p": (1920, 1080, "4500k")}
CLIP_S, FPS = 60, 30
GAP = (20.0, 28.0)
KEEP_UP_LAG_S = 2.0


def make_clip(size: str) -> Path:
    """The room's 60 s clip at `size` (kept in bench/out once made)."""
    import generate_videos as videos

    width, height, bitrate = SIZES[size]
    path = OUT / f"live_room_{size}.mp4"
    if path.is_file():
        return path
    badge = videos.Badge("AI生成", "NotoSansCJK-Bold[SC]", round(height * 0.045), "tr")
    patch = videos.badge_patch(badge)
    origin = videos.badge_origin(width, height, patch, badge.corner)
    videos.write_clip(path, width=width, height=height, fps=FPS, seconds=CLIP_S, patch=patch,
                      label_at=lambda t: None if GAP[0] <= t < GAP[1] else origin,
                      encoder_options={"preset": "veryfast", "b": bitrate, "g": str(2 * FPS),
                                       "threads": "2"}, threads=2)
    return path


def serve(clip: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-re", "-stream_loop", "-1",
                             "-i", str(clip), "-c", "copy", "-f", "flv", "-listen", "1",
                             f"rtmp://127.0.0.1:{port}/live/room"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def watch(port: int, folder: Path, number: int, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "labelcheck.cli.main", "watch",
         f"rtmp://127.0.0.1:{port}/live/room", "--format", "jsonl",
         "--out", str(folder / f"events-{number}.jsonl"), "--no-evidence", "--progress", "5",
         "--max-duration", str(seconds), "--give-up", "5",
         "--report", str(folder / f"report-{number}.json")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(size: str, count: int, seconds: float) -> dict:
    """N rooms of `size` watched for `seconds`; what each watcher did."""
    clip = make_clip(size)
    ports = [free_port() for _ in range(count)]
    servers = [serve(clip, port) for port in ports]
    for port in ports:
        wait_listening(port)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        watchers = [watch(port, folder, n, seconds) for n, port in enumerate(ports)]
        peak = {w.pid: 0.0 for w in watchers}
        cpu = {w.pid: 0.0 for w in watchers}
        handles = {w.pid: psutil.Process(w.pid) for w in watchers}
        while any(w.poll() is None for w in watchers):
            for pid, handle in handles.items():
                try:
                    peak[pid] = max(peak[pid], handle.memory_info().rss / 2**20)
                    times = handle.cpu_times()
                    cpu[pid] = times.user + times.system
                except psutil.Error:
                    pass
            time.sleep(0.5)
        wall = time.monotonic() - started
        load_after = os.getloadavg()[0]
        rooms = [room(folder, n) for n in range(count)]
    for server in servers:
        server.kill()
        server.wait()
    return {"size": size, "count": count, "seconds": seconds, "wall_s": round(wall, 1),
            "cpu_share": round(sum(cpu.values()) / wall / (os.cpu_count() or 1), 3),
            "peak_mb": round(max(peak.values()), 1), "load": (load_before, load_after),
            "rooms": rooms,
            "keeps_up": all(r["dropped"] == 0 and r["lag_end_s"] <= KEEP_UP_LAG_S
                            for r in rooms)}


def room(folder: Path, number: int) -> dict:
    """One watcher's samples, drops and lag (from its report and its progress events)."""
    report = json.loads((folder / f"report-{number}.json").read_text())[0]
    watched = next(f for f in report["findings"] if f["code"] == "live.watched")["details"]
    progress = [json.loads(line) for line in
                (folder / f"events-{number}.jsonl").read_text().splitlines()
                if '"event": "progress"' in line]
    lags = [event["lag_s"] for event in progress]
    return {"samples": watched["samples"], "dropped": watched["dropped"],
            "lag_end_s": max(lags[-2:]) if lags else None,
            "max_lag_s": watched["max_lag_s"], "verdict": report["verdict"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sizes", default="720p,1080p")
    parser.add_argument("--counts", default="1,2,4,6,8")
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.python_version()}")
    for size in args.sizes.split(","):
        for count in (int(n) for n in args.counts.split(",")):
            result = run(size, count, args.seconds)
            rooms = result["rooms"]
            print(f"{size} x{count}: keeps up {result['keeps_up']}; watchers' CPU "
                  f"{result['cpu_share']:.0%} of the machine, peak {result['peak_mb']:.0f} MB "
                  f"each; samples {[r['samples'] for r in rooms]}, dropped "
                  f"{[r['dropped'] for r in rooms]}, lag at the end "
                  f"{[r['lag_end_s'] for r in rooms]} s, max lag "
                  f"{[r['max_lag_s'] for r in rooms]} s; load {result['load'][0]:.1f} -> "
                  f"{result['load'][1]:.1f}", flush=True)
            if not result["keeps_up"] and count > 1:
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
