"""Full-scan speed on generated ads: labelcheck against plain tesseract, same files, one run.

Usage: python bench/label_speed.py [--count N]  (after python test_media/generate_labels.py)
Takes N/2 labelled and N/2 negative 1080x1350 ads as drawn (not rescaled) and times: tesseract
one after another with its default threads and with OMP_THREAD_LIMIT=1, then labelcheck's full
scan with 1 worker and with 2 workers.
"""

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from labelcheck.run.batch import scan_many
from labelcheck.core.policy import Policy
from labelcheck.core.settings import Settings

FOLDER = Path(__file__).resolve().parents[1] / "test_media" / "generated" / "labels"


def pick(count: int) -> list[str]:
    manifest = json.loads((FOLDER / "manifest.json").read_text())
    usable = [m for m in manifest if tuple(m.get("size", ())) == (1080, 1350)
              and m.get("scale", 1.0) == 1.0]
    positives = [m for m in usable if m["positive"]][:count // 2]
    negatives = [m for m in usable if not m["positive"]][:count // 2]
    return [str(FOLDER / m["file"]) for m in positives + negatives]


def timed(label: str, count: int, run) -> None:
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    print(f"| {label} | {seconds:.1f} | {count / seconds:.2f} | {os.getloadavg()[0]:.2f} |")


def tesseract(paths: list[str], env: dict) -> None:
    for path in paths:
        subprocess.run(["tesseract", path, "stdout", "-l", "eng"], capture_output=True,
                       env=env, check=False)


def labelcheck(paths: list[str], workers: int) -> None:
    for _ in scan_many(paths, Policy.load("default"), Settings(), workers):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    paths = pick(parser.parse_args().count)
    print(f"{len(paths)} ads; load before {os.getloadavg()[0]:.2f}\n")
    print("| engine | wall s | images/s | load after |\n|---|---:|---:|---:|")
    timed("tesseract, default threads", len(paths), lambda: tesseract(paths, dict(os.environ)))
    timed("tesseract, OMP_THREAD_LIMIT=1", len(paths),
          lambda: tesseract(paths, dict(os.environ, OMP_THREAD_LIMIT="1")))
    timed("labelcheck, 1 worker", len(paths), lambda: labelcheck(paths, 1))
    timed("labelcheck, 2 workers (default)", len(paths), lambda: labelcheck(paths, 2))


if __name__ == "__main__":
    main()
