"""Metadata-tier throughput: labelcheck --no-ocr against exiftool and a bare c2pa-python read.

All three read the same files in the same run on the same machine:

* ``exiftool -j`` over all files in ONE process (its best case: no per-file start-up);
* a bare c2pa-python ``Reader(...).json()`` of every file, nothing else (the floor of reading
  the bytes once and validating C2PA);
* ``labelcheck.scan(path, pixels=False)``: every metadata source, policy and report.

Each is run ``--repeat`` times and the best wall time is kept. Prints a Markdown table for
docs/BENCHMARKS.md. Usage: python bench/metadata_throughput.py [FOLDER] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "real_media"
MEDIA = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".heif", ".heic", ".dng", ".tif", ".tiff",
         ".mp4", ".mov", ".m4s", ".pdf"}


def media_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in MEDIA and p.is_file())


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def run_exiftool(files: list[Path]) -> None:
    subprocess.run(["exiftool", "-j", "-q", "-q", *map(str, files)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_bare_c2pa(files: list[Path]) -> None:
    import c2pa

    for path in files:
        data = path.read_bytes()
        try:
            c2pa.Reader(_mime(path), io.BytesIO(data)).json()
        except Exception:  # noqa: BLE001 - no manifest / unsupported: still a read
            pass


def _mime(path: Path) -> str:
    return {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
            ".webp": "image/webp", ".avif": "image/avif", ".heif": "image/heif",
            ".heic": "image/heic", ".dng": "image/dng", ".tif": "image/tiff",
            ".tiff": "image/tiff", ".mp4": "video/mp4", ".m4s": "video/mp4",
            ".mov": "video/quicktime", ".pdf": "application/pdf"}[path.suffix.lower()]


def run_labelcheck(files: list[Path], workers: int = 1) -> None:
    from labelcheck.run.batch import scan_many
    from labelcheck.core.policy import Policy
    from labelcheck.core.settings import Settings

    for report in scan_many(map(str, files), Policy.load("default"), Settings(pixels=False),
                            workers):
        json.dumps(report.to_dict())


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--copies", type=int, default=5,
                        help="scan the file list this many times per run, so that start-up "
                             "(exiftool's Perl, the worker pool) is amortised as in a real batch")
    args = parser.parse_args()
    files = media_files(args.folder) * args.copies
    if not files:
        print(f"no media files under {args.folder}", file=sys.stderr)
        return 2
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    run_labelcheck(files[:3])  # import and first-use costs are not per-file costs
    run_bare_c2pa(files[:3])
    results = {}
    if shutil.which("exiftool"):
        version = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True).stdout
        results[f"exiftool -j {version.strip()} (one process)"] = best_of(
            args.repeat, lambda: run_exiftool(files))
    results["bare c2pa-python Reader.json() (floor)"] = best_of(
        args.repeat, lambda: run_bare_c2pa(files))
    results["labelcheck scan --no-ocr, 1 process"] = best_of(
        args.repeat, lambda: run_labelcheck(files))
    cores = os.cpu_count() or 1
    if cores > 1:
        results[f"labelcheck scan --no-ocr --workers {cores} (default)"] = best_of(
            args.repeat, lambda: run_labelcheck(files, cores))
    print(f"{len(files)} files ({len(files) // args.copies} distinct x {args.copies}), "
          f"{megabytes:.1f} MB, best of {args.repeat}; {machine()}\n")
    print("| tool | wall s | files/s | x exiftool |")
    print("|---|---:|---:|---:|")
    baseline = next((s for n, s in results.items() if n.startswith("exiftool")), None)
    for name, seconds in results.items():
        ratio = f"{baseline / seconds:.2f}x" if baseline else "n/a"
        print(f"| {name} | {seconds:.3f} | {len(files) / seconds:.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
