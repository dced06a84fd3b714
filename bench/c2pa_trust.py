"""What validating C2PA against the official trust list costs, per file.

Over the files of ``../shared/real_media`` that carry a C2PA manifest, in one run, each
configuration timed file by file, the configurations taking turns on each file (median of
``--repeat`` reads per file, then the mean and the median over files):

* a bare c2pa-python ``Reader(...).json()`` with no settings: what a user of the SDK (or
  c2patool) gets, no trust list (the comparison);
* the same bare read under labelcheck's settings for the official lists (the anchors and
  allowed EKUs): what c2pa-rs itself spends judging the chains, before labelcheck does anything;
* labelcheck's reader with ``--trust none`` (allowed EKUs, trust not judged): the Reader's JSON
  and the manifests walked from the store (crJSON only when the walk disagrees);
* labelcheck's reader with the bundled official C2PA Trust List and TSA list (the default);
* the whole c2pa source under the default (validation, signer state, declarations, Asset
  Rubrics signals, assertions);
* ``labelcheck.scan(path, pixels=False)`` under ``--trust none`` and under the default.

Prints a Markdown table with the machine and its load average. Usage:
python bench/c2pa_trust.py [FOLDER] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import c2pa

import labelcheck
from labelcheck.core.settings import Settings
from labelcheck.formats.media import Media
from labelcheck.sources.c2pa import C2paSource
from labelcheck.sources.c2pa.reading import read_media_store, reader_settings
from labelcheck.sources.c2pa.trust import trust_setup
from machine import cpu_model

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "real_media"


def c2pa_files(folder: Path) -> list[Path]:
    """The files whose bytes hold a C2PA store and that the reader reads."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            media = Media.open(path)
            if media.file_format.c2pa and b"c2pa" in media.data:
                read_media_store(media, "none", None)
                found.append(path)
        except Exception:  # noqa: BLE001 - not media, no readable store: not benchmarked
            continue
    return found


def per_file(files, repeat: int, runs: list) -> list[list[float]]:
    """For each of `runs`, the median ms of `repeat` runs per file. The configurations take
    turns on each file (interleaved), so that a change of the machine's load while the bench
    runs falls on all of them alike."""
    times: list[list[float]] = [[] for _ in runs]
    for path in files:
        samples: list[list[float]] = [[] for _ in runs]
        for _ in range(repeat):
            for index, run in enumerate(runs):
                started = time.perf_counter()
                run(path)
                samples[index].append((time.perf_counter() - started) * 1000)
        for index, taken in enumerate(samples):
            times[index].append(statistics.median(taken))
    return times


def bare(path: Path) -> None:
    with c2pa.Reader(str(path)) as reader:
        reader.json()


def bare_with(mode: str):
    """A bare read with the c2pa-rs settings labelcheck gives for a trust mode."""
    context = c2pa.Context.from_dict(reader_settings(trust_setup(mode)))

    def run(path: Path) -> None:
        with c2pa.Reader(str(path), context=context) as reader:
            reader.json()
    return run


def reader(mode: str):
    def run(path: Path) -> None:
        read_media_store(Media.open(path), mode, None)
    return run


def source(path: Path) -> None:
    C2paSource().run(Media.open(path), Settings(pixels=False))


def scan(mode: str):
    settings = Settings(pixels=False, trust=mode)
    return lambda path: labelcheck.scan(path, settings=settings)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = c2pa_files(args.folder)
    bare_trusted = bare_with("official")
    for warm in (bare, bare_trusted, reader("none"), reader("official"),
                 source):  # contexts, lists, imports
        warm(files[0])
    rows = [("bare c2pa-python Reader.json(), no settings (no trust list)", bare),
            ("bare c2pa-python Reader.json(), official lists (labelcheck's settings)",
             bare_trusted),
            ("labelcheck reader, --trust none (EKUs; JSON + the store walked)", reader("none")),
            ("labelcheck reader, official lists (default; JSON + the store walked)",
             reader("official")),
            ("whole c2pa source, official lists (state, signals, assertions)", source),
            ("labelcheck.scan --no-ocr, --trust none", scan("none")),
            ("labelcheck.scan --no-ocr, official lists (default)", scan("official"))]
    load = os.getloadavg()
    print(f"{len(files)} files with a C2PA manifest, median of {args.repeat} reads per file; "
          f"{cpu_model()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print("| configuration | mean ms/file | median ms/file | max ms |")
    print("|---|---:|---:|---:|")
    for (name, _), times in zip(rows, per_file(files, args.repeat, [run for _, run in rows])):
        print(f"| {name} | {statistics.mean(times):.1f} | {statistics.median(times):.1f} | "
              f"{max(times):.1f} |")
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
