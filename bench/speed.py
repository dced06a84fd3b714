"""Issue 17's table, one command per row: labelcheck against the tool a user would otherwise run,
both timed in the same run on the same files, interleaved (the order alternates each round)
and the best of ``--repeat`` kept; the load average (``uptime``) is printed before and after.

    python bench/speed.py startup   # `labelcheck scan one.jpg --no-ocr --no-store` vs exiftool
    python bench/speed.py metadata  # 5 copies of ../shared/real_media, one command each:
                                    # `labelcheck scan DIR --no-ocr` vs `exiftool -j -r DIR`
    python bench/speed.py metadata --c2pa-share 0.1 --files 2000  # an upload-like mix
    python bench/speed.py ocr       # 16 ads at 1080x1350, `labelcheck scan` with 2 workers vs
                                    # tesseract (OMP_THREAD_LIMIT=1), 2 processes
    python bench/speed.py video     # full scans of the issue's clips vs `ffmpeg -i clip -f null -`

Every labelcheck run is the installed command in a fresh process, as a user runs it (cold
start, the results store left out with ``--no-store``). The ads come from
``python test_media/generate_labels.py``; the clips are made by bench/video.py into bench/out/.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
REAL_MEDIA = ROOT.parent / "shared" / "real_media"
ADS = ROOT / "test_media" / "generated" / "labels"
LABELCHECK = [str(Path(sys.executable).with_name("labelcheck"))]
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def load() -> str:
    """The load averages as ``uptime`` prints them."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.split(
        "load average:")[-1].strip()


def run(command: list[str], env: dict | None = None) -> None:
    subprocess.run(command, check=True, env={**os.environ, **(env or {})}, **QUIET)


def interleaved(runs: dict[str, callable], repeat: int) -> dict[str, float]:
    """Best wall seconds of each run over `repeat` rounds; each round runs them all, in an
    order that alternates, so that a change of load falls on both sides."""
    best = {name: float("inf") for name in runs}
    names = list(runs)
    for round_number in range(repeat):
        for name in names if round_number % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            runs[name]()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def report(title: str, best: dict[str, float], ratio: str, started_load: str,
           repeat: int) -> None:
    print(f"\n{title}; best of {repeat}, interleaved; {cpu_model()}, {os.cpu_count()} cores; "
          f"load average before {started_load}, after {load()}\n")
    print("| run | wall s |\n|---|---:|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.3f} |")
    print(f"\n{ratio}")


def startup(repeat: int) -> None:
    """Row 3: one JPEG, metadata only, nothing stored; target <= 0.25 s."""
    picture = str(ROOT / "test_media" / "plain_photo.jpg")
    env = {"PYTHONDONTWRITEBYTECODE": ""}  # an installed package has its bytecode cached
    run(LABELCHECK + ["scan", picture, "--no-ocr", "--no-store"], env)
    before = load()
    best = interleaved({
        "labelcheck scan one.jpg --no-ocr --no-store": lambda: run(
            LABELCHECK + ["scan", picture, "--no-ocr", "--no-store"], env),
        "exiftool one.jpg": lambda: run(["exiftool", picture])}, repeat)
    ours, theirs = best.values()
    report("Start-up, one JPEG", best, f"labelcheck {ours:.3f} s (target <= 0.25 s), "
           f"{ours / theirs:.1f}x exiftool's wall time", before, repeat)


def metadata(repeat: int, copies: int, c2pa_share: float | None, total: int) -> None:
    """Row 4: `copies` copies of ../shared/real_media's media files in one folder, one command
    each; target >= 2x exiftool's speed. With `c2pa_share`, an upload-like mix instead: `total`
    files drawn from the same folder, that share of them carrying a C2PA manifest (target >= 4x
    in steady state: use a few thousand files)."""
    from labelcheck.formats import EXTENSIONS

    files = [p for p in sorted(REAL_MEDIA.rglob("*"))
             if p.is_file() and p.suffix.lower().lstrip(".") in EXTENSIONS]
    if c2pa_share is None:
        picked = files * copies
        title = f"Metadata tier, {len(picked)} files ({len(files)} x {copies})"
    else:
        signed = [p for p in files if b"c2pa" in p.read_bytes()]
        unsigned = [p for p in files if p not in signed]
        with_manifest = round(total * c2pa_share)
        picked = ([signed[n % len(signed)] for n in range(with_manifest)]
                  + [unsigned[n % len(unsigned)] for n in range(total - with_manifest)])
        title = (f"Metadata tier, upload-like mix: {total} files, {with_manifest} with a C2PA "
                 f"manifest (from {len(signed)} distinct), the rest from {len(unsigned)}")
    with tempfile.TemporaryDirectory(dir=OUT) as folder:
        for number, path in enumerate(picked):
            target = Path(folder) / f"part{number // 100:03d}" / f"{number:05d}-{path.name}"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(path, target)
        before = load()
        best = interleaved({
            "labelcheck scan DIR --no-ocr --no-store --format jsonl": lambda: run(
                LABELCHECK + ["scan", folder, "--no-ocr", "--no-store", "--quiet", "--format",
                              "jsonl", "--out", os.devnull]),
            "exiftool -j -r DIR": lambda: subprocess.run(
                ["exiftool", "-j", "-r", folder], **QUIET)}, repeat)
    ours, theirs = best.values()
    count = len(picked)
    report(title, best, f"labelcheck {count / ours:.0f} files/s, exiftool {count / theirs:.0f} "
           f"files/s: {theirs / ours:.2f}x exiftool's speed (target >= 2x on the folder, >= 4x "
           "on an upload-like mix)", before, repeat)


def ocr(repeat: int, count: int) -> None:
    """Row 5: `count` ads (half labelled) at 1080x1350, full scan with 2 workers against
    tesseract on one thread in 2 processes; target >= 1x tesseract's speed at >= 97% recall."""
    sys.path.insert(0, str(ROOT / "bench"))
    from visible_labels import judge_text

    manifest = json.loads((ADS / "manifest.json").read_text())
    usable = [m for m in manifest if tuple(m.get("size", ())) == (1080, 1350)
              and m.get("scale", 1.0) == 1.0]
    picked = ([m for m in usable if m["positive"]][:count // 2]
              + [m for m in usable if not m["positive"]][:count // 2])
    paths = [str(ADS / m["file"]) for m in picked]
    texts: dict[str, str] = {}

    def tesseract(path: str) -> None:
        texts[path] = subprocess.run(["tesseract", path, "stdout", "-l", "eng"],
                                     capture_output=True, text=True, check=False,
                                     env={**os.environ, "OMP_THREAD_LIMIT": "1"}).stdout

    def tesseract_all() -> None:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(tesseract, paths))

    out = OUT / "speed_ocr.jsonl"
    before = load()
    best = interleaved({
        f"labelcheck scan {count} ads --workers 2 --no-store": lambda: run(
            LABELCHECK + ["scan", *paths, "--workers", "2", "--no-store", "--quiet",
                          "--format", "jsonl", "--out", str(out)]),
        "tesseract -l eng, OMP_THREAD_LIMIT=1, 2 processes": tesseract_all}, repeat)
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    read = {Path(r["path"]).name for r in reports  # as bench/visible_labels.py counts them
            if any(f.get("channel") == "visible" for f in r["findings"])}
    positives = [str(ADS / m["file"]) for m in picked if m["positive"]]
    ours, theirs = best.values()
    ours_found = sum(Path(p).name in read for p in positives)
    theirs_found = sum(bool(judge_text(texts[p])) for p in positives)
    report(f"OCR, {len(paths)} ads at 1080x1350", best,
           f"labelcheck {len(paths) / ours:.2f} img/s, tesseract {len(paths) / theirs:.2f} "
           f"img/s: {theirs / ours:.2f}x tesseract's speed (target >= 1x); labels read: "
           f"labelcheck {ours_found}/{len(positives)}, tesseract {theirs_found}/"
           f"{len(positives)}", before, repeat)


def video(repeat: int) -> None:
    """Rows 1-2: a full scan of each clip, in each ``--video-sampling``, against FFmpeg's
    decode of every frame; target <= 0.5x the decode's time by default (``standard``), <=
    0.25x in ``fast``, and >= 8x real time up to 1080p."""
    sys.path.insert(0, str(ROOT / "bench"))
    import video as clips

    from labelcheck import scan
    from labelcheck.core.settings import Settings

    made = [(clips.make_clip(OUT / "video_60s_1080p30.mp4"), 60),
            (clips.make_camera_clip(OUT / "video_60s_1080p30_camera.mp4"), 60),
            (clips.make_clip(OUT / "video_60s_1080x1920.mp4", clips.VERTICAL_SIZE), 60),
            (clips.make_phone_clip(OUT / "phone_85s_640x480_label.mov", True), 85)]
    scan(made[-1][0])  # the OCR models loaded for the in-process rows
    for clip, seconds in made:
        before = load()
        runs = {f"labelcheck scan clip --no-store --video-sampling {mode}":
                lambda clip=clip, mode=mode: run(
                    LABELCHECK + ["scan", str(clip), "--no-store", "--video-sampling", mode,
                                  "--format", "json", "--out", os.devnull])
                for mode in ("standard", "fast", "thorough")}
        runs.update({f"in-process scan (models loaded, as a batch worker), {mode}":
                     lambda clip=clip, mode=mode: scan(clip, settings=Settings(
                         video_sampling=mode, db_url="sqlite://"))
                     for mode in ("standard", "fast")})
        runs["ffmpeg -i clip -f null -"] = lambda clip=clip: run(
            ["ffmpeg", "-nostdin", "-i", str(clip), "-f", "null", "-"])
        best = interleaved(runs, repeat)
        theirs = best["ffmpeg -i clip -f null -"]
        report(f"Video {clip.name} ({seconds} s)", best, "\n".join(
            f"- {name}: {wall / theirs:.2f}x FFmpeg's decode time, {seconds / wall:.1f}x real "
            "time" for name, wall in best.items() if not name.startswith("ffmpeg"))
            + "\n(targets: standard <= 0.5x, fast <= 0.25x, >= 8x real time)", before, repeat)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", choices=("startup", "metadata", "ocr", "video"))
    parser.add_argument("--repeat", type=int, default=0,
                        help="rounds (default: startup 15, metadata 3, ocr 3, video 2)")
    parser.add_argument("--copies", type=int, default=5, help="metadata: copies of the folder")
    parser.add_argument("--c2pa-share", type=float, metavar="SHARE",
                        help="metadata: an upload-like mix with this share of C2PA files")
    parser.add_argument("--files", type=int, default=2000, help="metadata: files in the mix")
    parser.add_argument("--count", type=int, default=16, help="ocr: ads (half labelled)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    repeat = args.repeat or {"startup": 15, "metadata": 3, "ocr": 3, "video": 2}[args.row]
    if args.row == "startup":
        startup(repeat)
    elif args.row == "metadata":
        metadata(repeat, args.copies, args.c2pa_share, args.files)
    elif args.row == "ocr":
        ocr(repeat, args.count)
    else:
        video(repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
