"""Batch mode: scaling from one worker to two, memory over 10,000 files, the report screenshot.

1. Scaling: 500 mixed files (300 small pictures of five kinds from
   ``test_media/generate_batch.py``: plain, A1111, AIGC, IPTC, camera EXIF; 200 ad-like
   pictures from ``test_media/generate_labels.py``, half with a visible AI label), full scan
   (metadata and OCR), `scan_many` with 2 and then 1 worker, alternated `--repeat` times. Files/s
   count everything a user waits for (pool start included). The workers' CPU seconds (sampled
   with psutil) give CPU-seconds per file, which does not depend on what else the machine runs;
   the load average is printed next to every run.
2. Memory: ``labelcheck scan DIR --no-ocr --workers 2`` as a subprocess over 10,000 small files
   (metadata only, to keep the run short), JSONL and then HTML output, results stored in a
   SQLite file; the resident memory of the command and of its workers is sampled as it goes.
3. ``--screenshot PNG``: a report of a few labelled ads and mixed files, shown by Debian's
   chromium (playwright), for docs/batch-report.png.

Usage: python bench/batch.py [--files 500] [--repeat 2] [--workers 2,1] [--memory-files 10000]
[--skip-scaling] [--skip-memory] [--screenshot docs/batch-report.png]. Prints Markdown. The files
are generated once under test_media/generated/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test_media"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

GENERATED = ROOT / "test_media" / "generated"


def mixed_files(count: int) -> list[str]:
    """`count` mixed files: 60% small pictures of five kinds, 40% ads (half labelled)."""
    import generate_batch

    folder = GENERATED / f"batch_mixed_{count}"
    if not (folder / "manifest.json").exists():
        ads = count * 2 // 5
        generate_batch.generate(folder, count - ads, (480, 360), ads)
    manifest = json.loads((folder / "manifest.json").read_text())
    return [str(folder / item["file"]) for item in manifest]


def small_files(count: int) -> Path:
    import generate_batch

    folder = GENERATED / f"batch_small_{count}"
    if not (folder / "manifest.json").exists():
        generate_batch.generate(folder, count, (96, 72))
    return folder


class Sampler:
    """Samples a process and its descendants every `every` s: peak and per-moment RSS, and
    the latest CPU times of each descendant (workers come and go)."""

    def __init__(self, pid: int, every: float = 0.25):
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.cpu: dict[int, float] = {}
        self.samples: list[tuple[float, int, int]] = []  # (time, root RSS, largest child RSS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                children = self.root.children(recursive=True)
                root_rss = self.root.memory_info().rss
            except psutil.Error:
                break
            largest = 0
            for child in children:
                try:
                    times = child.cpu_times()
                    self.cpu[child.pid] = times.user + times.system
                    largest = max(largest, child.memory_info().rss)
                except psutil.Error:
                    continue
            self.samples.append((time.monotonic(), root_rss, largest))
            self._stop.wait(self.every)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def time_scan(paths: list[str], workers: int) -> dict:
    from labelcheck.run.batch import scan_many
    from labelcheck.core.policy import Policy
    from labelcheck.core.settings import Settings

    sampler = Sampler(os.getpid())
    load = os.getloadavg()[0]
    started = time.perf_counter()
    verdicts: dict[str, int] = {}
    for report in scan_many(paths, Policy.load("default"), Settings(), workers,
                            ordered=False):
        verdicts[report.verdict.value] = verdicts.get(report.verdict.value, 0) + 1
    wall = time.perf_counter() - started
    sampler.stop()
    return {"workers": workers, "wall": wall, "rate": len(paths) / wall,
            "cpu_per_file": sum(sampler.cpu.values()) / len(paths), "load_before": load,
            "load_after": os.getloadavg()[0], "verdicts": verdicts}


def scaling(count: int, repeat: int, configurations: list[int]) -> list[str]:
    paths = mixed_files(count)
    runs = []
    for _ in range(repeat):
        for workers in configurations:
            runs.append(time_scan(paths, workers))
            print(f"  {workers} worker(s): {runs[-1]['rate']:.2f} files/s, load "
                  f"{runs[-1]['load_before']:.2f}", file=sys.stderr)
    best = {w: max((r for r in runs if r["workers"] == w), key=lambda r: r["rate"])
            for w in configurations}
    lines = [f"{len(paths)} files; verdicts {runs[0]['verdicts']}", "",
             "| run | workers | wall s | files/s | worker CPU s per file "
             "| load avg before / after |",
             "|---|---:|---:|---:|---:|---|"]
    for number, run in enumerate(runs, 1):
        lines.append(f"| {number} | {run['workers']} | {run['wall']:.1f} | {run['rate']:.2f} | "
                     f"{run['cpu_per_file']:.3f} | {run['load_before']:.2f} / "
                     f"{run['load_after']:.2f} |")
    if {1, 2} <= best.keys():
        lines += ["", f"Best of {repeat}: 2 workers / 1 worker = "
                  f"**{best[2]['rate'] / best[1]['rate']:.2f}x** files/s."]
    return lines


def memory(count: int, out_format: str, work: Path) -> list[str]:
    """Run the CLI over `count` files; RSS of the command and of its largest worker at each
    tenth of the way."""
    folder = small_files(count)
    output = work / f"out.{out_format}"
    command = [sys.executable, "-m", "labelcheck.cli.main", "scan", str(folder), "--no-ocr",
               "--workers", "2", "--format", out_format, "--out", str(output), "--quiet",
               "--db", f"sqlite:///{work / f'store-{out_format}.db'}"]
    load = os.getloadavg()[0]
    started = time.monotonic()
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT)})
    sampler = Sampler(process.pid, every=0.5)
    marks: list[tuple[int, int, int]] = []
    while process.poll() is None:
        time.sleep(0.5)
        if out_format == "jsonl" and output.exists() and sampler.samples:
            done = output.read_text().count("\n") if output.stat().st_size < 2**27 else count
            _, root, child = sampler.samples[-1]
            marks.append((done, root, child))
    sampler.stop()
    wall = time.monotonic() - started
    peak_root = max(s[1] for s in sampler.samples) / 2**20
    peak_child = max(s[2] for s in sampler.samples) / 2**20
    lines = [f"`--format {out_format}`: {count} files in {wall:.0f} s ({count / wall:.0f} "
             f"files/s), load average {load:.2f}; peak RSS: command {peak_root:.0f} MB, "
             f"largest worker {peak_child:.0f} MB; output {output.stat().st_size / 2**20:.1f} MB."]
    if marks:
        lines += ["", "| files done | command RSS MB | largest worker RSS MB |",
                  "|---:|---:|---:|"]
        for tenth in range(1, 11):
            target = count * tenth // 10
            mark = next((m for m in marks if m[0] >= target), marks[-1])
            lines.append(f"| {mark[0]} | {mark[1] / 2**20:.0f} | {mark[2] / 2**20:.0f} |")
    return lines


def screenshot(target: Path) -> None:
    """A small report (labelled ads with their boxes, mixed files) as Chromium shows it."""
    from playwright.sync_api import sync_playwright

    from labelcheck.run.batch import scan_many
    from labelcheck.writers.html import HtmlWriter
    from labelcheck.core.policy import Policy
    from labelcheck.core.settings import Settings

    paths = [os.path.relpath(path, ROOT) for path in mixed_files(500)]
    os.chdir(ROOT)
    ads = [p for p in paths if "/ads/pos_" in p][:4]
    others = [p for p in paths if "/ads/" not in p][:5] + [p for p in paths if "/ads/neg_" in p][:1]
    with tempfile.TemporaryDirectory() as work:
        page_file = Path(work) / "report.html"
        with open(page_file, "w", encoding="utf-8") as stream:
            writer = HtmlWriter(stream)
            for report in scan_many(ads + others, Policy.load("eu-ai-act"), Settings(), 2):
                writer.write(report)
            writer.close()
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(page_file.as_uri())
            page.locator("#files tr.file details summary").first.click()
            page.screenshot(path=str(target), full_page=False)
            browser.close()


def main() -> int:
    from machine import cpu_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", default="2,1",
                        help="worker counts to time, in this order (the run that needs both "
                             "cores first, while a quiet spell lasts)")
    parser.add_argument("--memory-files", type=int, default=10_000)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start\n")
    if not args.skip_scaling:
        configurations = [int(n) for n in args.workers.split(",")]
        print("\n".join(scaling(args.files, args.repeat, configurations)) + "\n")
    if not args.skip_memory:
        with tempfile.TemporaryDirectory() as work:
            for out_format in ("jsonl", "html"):
                print("\n".join(memory(args.memory_files, out_format, Path(work))) + "\n")
    if args.screenshot:
        screenshot(args.screenshot)
        print(f"screenshot: {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
