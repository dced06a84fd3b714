"""Visible AI labels: labelcheck's full scan against plain tesseract on the generated ad set.

Both engines read the same images (``test_media/generated/labels``, written by
``test_media/generate_labels.py``) in the same run on the same machine, and both are judged by
the same words: labelcheck's own lexicon (`labelcheck.vision.lexicon.match_label`).

1. Accuracy. ``labelcheck.scan`` (metadata + OCR, default policy) of every image, run through
   `scan_many` on all cores. A positive is detected when its report has a finding with channel
   ``visible`` (an intact or a cut label); a negative with such a finding is a false positive.
   Recall per language, style, position, text size and cut; false-positive rate; the text height
   and position that labelcheck measured against the generator's ground truth.
2. Baseline. ``tesseract IMAGE stdout -l eng`` (default page segmentation) per image; a hit is a
   lexicon match on one output line or on all lines joined by spaces.
3. Speed on a fixed subset (half positives, half negatives, one picture size): labelcheck with
   one worker and with all cores, tesseract sequential and in parallel processes, and where
   labelcheck's time goes (decode, text detection, text recognition, the rest).

Writes Markdown tables (printed and ``bench/out/visible_labels.md``) and the raw numbers
(``bench/out/visible_labels.json``); accuracy is written before the timing starts. The run
records the git commit and a hash of labelcheck/, and warns when labelcheck/ or the image set
changed while it ran. Usage:
``python bench/visible_labels.py [--folder DIR] [--subset N] [--workers N] [--repeat N]
[--skip-tesseract] [--skip-speed]``; ``--render JSON`` reprints the tables of a saved run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT / "test_media" / "generated" / "labels"
OUT = ROOT / "bench" / "out"
SIZE_BUCKETS = [(0.02, 0.04, "2-4%"), (0.04, 0.07, "4-7%"), (0.07, 0.10, "7-10%")]
SPEED_SIZE = (1080, 1350)
DIMENSIONS = ("language", "style", "position", "size", "cut", "lines", "rescaled", "font")
PROFILE_SAMPLE = 20
WARM_UP = 3


# -- the image set ---------------------------------------------------------------------------


def load_manifest(folder: Path) -> list[dict]:
    """The generator's manifest, each entry with an absolute ``path`` and ``size`` added."""
    from PIL import Image

    entries = json.loads((folder / "manifest.json").read_text())
    if isinstance(entries, dict):  # tolerate {"images": [...]} as well as a bare list
        entries = next(v for v in entries.values() if isinstance(v, list))
    for entry in entries:
        entry["path"] = str(folder / entry["file"])
        size = entry.get("size") or entry.get("image_size")
        if not size and "width" in entry and "height" in entry:
            size = (entry["width"], entry["height"])
        if not size:
            with Image.open(entry["path"]) as image:  # reads the header only
                size = image.size
        entry["size"] = tuple(size)
    return entries


def manifest_fingerprint(folder: Path) -> tuple:
    """Modification time and size of the manifest: a regenerated set changes it."""
    stat = (folder / "manifest.json").stat()
    return (stat.st_mtime_ns, stat.st_size)


def size_bucket(ratio: float | None) -> str:
    """The text-height bucket of a label (share of the picture's shorter side)."""
    if ratio is None:
        return "n/a"
    for low, high, name in SIZE_BUCKETS:
        if low <= ratio < high:
            return name
    return "<2%" if ratio < SIZE_BUCKETS[0][0] else ">=10%"


def speed_subset(entries: list[dict], count: int) -> list[dict]:
    """A fixed subset for timing: the first `count`/2 positives and negatives of the most
    common ad size (1080x1350 when present), else the first `count` images."""
    sized = [e for e in entries if e["size"] == SPEED_SIZE]
    if len(sized) < count:
        sizes = defaultdict(list)
        for entry in entries:
            sizes[entry["size"]].append(entry)
        sized = max(sizes.values(), key=len)
    positives = [e for e in sized if e["positive"]][:count // 2]
    negatives = [e for e in sized if not e["positive"]][:count - len(positives)]
    subset = positives + negatives
    return subset if len(subset) == count else entries[:count]


def machine() -> dict:
    """CPU model, core count and the versions that matter for these numbers."""
    info = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": os.getloadavg()}
    try:
        from importlib.metadata import version

        info["rapidocr"] = version("rapidocr")
        info["onnxruntime"] = version("onnxruntime")
    except Exception:  # noqa: BLE001 - versions are informative only
        pass
    if shutil.which("tesseract"):
        out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
        info["tesseract"] = (out.stdout or out.stderr).splitlines()[0].strip()
    return info


def code_version() -> dict:
    """The labelcheck code measured: git commit, uncommitted files under labelcheck/, and a
    hash of labelcheck/'s sources and data (the code changes often; numbers need a version)."""
    import hashlib

    def git(*args):
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.rstrip()

    digest = hashlib.sha256()
    for path in sorted((ROOT / "labelcheck").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".toml", ".json", ".yaml"):
            digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted": git("status", "--short", "--", "labelcheck").splitlines(),
            "labelcheck_sha256": digest.hexdigest()[:16]}


# -- labelcheck ------------------------------------------------------------------------------


def visible_findings(report) -> list[dict]:
    """The report's findings on the visible channel (intact labels, icons and cut labels)."""
    return [f.to_dict() for f in report.findings if f.channel == "visible"]


def scan_all(paths: list[str], workers: int) -> dict[str, dict]:
    """Full labelcheck scan (default policy) of every path on `workers` processes."""
    from labelcheck.run.batch import scan_many
    from labelcheck.core.policy import Policy
    from labelcheck.core.settings import Settings

    results = {}
    for path, report in zip(paths, scan_many(paths, Policy.load("default"), Settings(),
                                             workers)):
        results[path] = {"visible": visible_findings(report), "verdict": report.verdict.value,
                         "elapsed_ms": report.elapsed_ms, "error": report.error}
    return results


def ocr_lines(path: str) -> list[dict]:
    """What labelcheck's OCR reads in the picture (for misses and false positives)."""
    from labelcheck.vision import lexicon, ocr
    from labelcheck.formats.media import Media

    lines = []
    for line in ocr.read_lines(Media.open(path).rgb):
        match = lexicon.match_label(line.text)
        lines.append({"text": line.text, "score": round(line.score, 3), "box": list(line.box),
                      "match": match.phrase if match else None})
    return lines


# -- tesseract -------------------------------------------------------------------------------


def tesseract_text(path: str, omp_limit: int | None = None) -> str:
    """``tesseract PATH stdout -l eng`` (default page segmentation); `omp_limit` sets
    OMP_THREAD_LIMIT for the process (its OpenMP threads)."""
    env = dict(os.environ)
    if omp_limit:
        env["OMP_THREAD_LIMIT"] = str(omp_limit)
    out = subprocess.run(["tesseract", path, "stdout", "-l", "eng"], capture_output=True,
                         text=True, env=env)
    return out.stdout


def tesseract_all(paths: list[str], parallel: int, omp_limit: int | None = None
                  ) -> dict[str, str]:
    """tesseract over every path, `parallel` processes at a time."""
    if parallel <= 1:
        return {path: tesseract_text(path, omp_limit) for path in paths}
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return dict(zip(paths, pool.map(lambda p: tesseract_text(p, omp_limit), paths)))


def judge_text(text: str) -> list[dict]:
    """Lexicon hits in tesseract's output: each line, then all lines joined by spaces."""
    from labelcheck.vision import lexicon

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    hits = []
    for candidate in lines + ([" ".join(lines)] if len(lines) > 1 else []):
        match = lexicon.match_label(candidate)
        if match:
            hits.append({"text": candidate, "lang": match.lang, "phrase": match.phrase})
    return hits


# -- scoring ---------------------------------------------------------------------------------


def groups_of(entry: dict) -> dict[str, str]:
    """The table rows an image counts in."""
    return {"language": str(entry.get("language")), "style": str(entry.get("style")),
            "position": str(entry.get("position")),
            "size": size_bucket(entry.get("text_height_ratio")),
            "cut": "cut by the border" if entry.get("cut") else "whole",
            "lines": str(entry.get("lines", "?")),
            "rescaled": "rescaled after drawing" if entry.get("scale", 1) < 1 else "not rescaled",
            "font": str(entry.get("font"))}


def score(entries: list[dict], detected: dict[str, bool]) -> dict:
    """Recall (positives) per group and overall, false-positive rate (negatives)."""
    tally = defaultdict(lambda: [0, 0])  # (dimension, value) -> [hits, total]
    for entry in entries:
        hit = detected[entry["path"]]
        if entry["positive"]:
            keys = [("all", "all")] + list(groups_of(entry).items())
        else:
            keys = [("negatives", "all")]
        for key in keys:
            tally[key][0] += hit
            tally[key][1] += 1
    return {f"{dim}={value}": {"hits": hits, "total": total, "rate": hits / total}
            for (dim, value), (hits, total) in sorted(tally.items())}


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    w = min(ax0 + aw, bx0 + bw) - max(ax0, bx0)
    h = min(ay0 + ah, by0 + bh) - max(ay0, by0)
    inter = max(0, w) * max(0, h)
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


def manifest_box(entry: dict):
    """The label's box from the manifest as (x, y, w, h) (accepts x0, y0, x1, y1 too)."""
    box = entry.get("box")
    if not box or len(box) != 4:
        return None
    if isinstance(box, dict):
        box = [box[k] for k in ("x", "y", "w", "h")]
    if entry.get("box_format") == "xyxy":
        return (box[0], box[1], box[2] - box[0], box[3] - box[1])
    return tuple(box)


def position_class(position: str) -> str | None:
    """The generator's position name as labelcheck's class (corner / edge / centre)."""
    name = str(position).lower().replace("_", "-")
    vertical = any(w in name for w in ("top", "bottom"))
    horizontal = any(w in name for w in ("left", "right"))
    if name in ("corner", "edge", "centre"):
        return name
    if vertical and horizontal:
        return "corner"
    if vertical or horizontal:
        return "edge"
    if any(w in name for w in ("center", "centre", "middle")):
        return "centre"
    return None


def measurement_accuracy(entries: list[dict], results: dict[str, dict]) -> dict:
    """For detected positives: the label finding that overlaps the true box best, its text
    height against the manifest's, its position class against the generator's position."""
    errors, signed, relative, ious, agree, agree_box, rows = [], [], [], [], [], [], []
    from labelcheck.sources.visible_label import _position

    for entry in entries:
        findings = results[entry["path"]]["visible"]
        if not entry["positive"] or not findings:
            continue
        truth = manifest_box(entry)
        best = max(findings, key=lambda f: iou(f["measurements"]["box"], truth) if truth else 0)
        measured = best["measurements"]
        overlap = iou(measured["box"], truth) if truth else None
        expected = entry.get("text_height_ratio")
        if expected and measured.get("height_ratio") is not None:
            errors.append(abs(measured["height_ratio"] - expected))
            signed.append(measured["height_ratio"] - expected)
            relative.append(abs(measured["height_ratio"] - expected) / expected)
        if overlap is not None:
            ious.append(overlap)
        wanted = position_class(entry.get("position"))
        if wanted:
            agree.append(measured["position"] == wanted)
        if truth:
            width, height = entry["size"]
            agree_box.append(measured["position"] == _position(truth, width, height))
        rows.append({"file": entry["file"], "height_ratio": measured.get("height_ratio"),
                     "truth_height_ratio": expected, "position": measured["position"],
                     "truth_position": entry.get("position"), "iou": overlap})

    def median(values):
        return statistics.median(values) if values else None

    def p90(values):
        return sorted(values)[int(0.9 * (len(values) - 1))] if values else None

    return {"count": len(rows), "height_abs_err_median": median(errors),
            "height_abs_err_p90": p90(errors), "height_rel_err_median": median(relative),
            "height_signed_err_median": median(signed),
            "box_iou_median": median(ious),
            "box_iou_below_0_5": sum(v < 0.5 for v in ious),
            "position_agree": (sum(agree) / len(agree)) if agree else None,
            "position_agree_n": len(agree),
            "position_agree_truth_box": (sum(agree_box) / len(agree_box)) if agree_box else None,
            "rows": rows}


# -- speed -----------------------------------------------------------------------------------


def in_fresh_process(function, *args):
    """Run `function(*args)` in a freshly spawned interpreter (so model threads and caches
    start clean) and return its result. The child may start its own worker pool."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, function, args))
    process.start()
    ok, value = queue.get()
    process.join()
    if not ok:
        raise RuntimeError(value)
    return value


def _child(queue, function, args) -> None:
    try:
        queue.put((True, function(*args)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        import traceback

        queue.put((False, f"{exc}\n{traceback.format_exc()}"))


def cpu_seconds(who: int) -> float:
    """User + system CPU seconds of this process (all its threads) or of its reaped
    children (`resource.RUSAGE_SELF` / `RUSAGE_CHILDREN`)."""
    import resource

    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def time_labelcheck(paths: list[str], workers: int, threads: int | None
                    ) -> tuple[float, float | None]:
    """Wall seconds to scan `paths` (full scan, JSON report) and, in one process, the CPU
    seconds it used (a pool's workers are not this process's children: None). The warm-up
    stays outside the clock when `workers` is 1; a pool's start-up is part of a batch and
    stays on it. `threads` sets OCR's threads (None: labelcheck's default)."""
    import resource

    if threads:
        from labelcheck.vision import ocr

        ocr.set_threads(threads)
    from labelcheck.run.batch import scan_many
    from labelcheck.core.policy import Policy
    from labelcheck.core.settings import Settings

    policy, settings = Policy.load("default"), Settings()
    if workers == 1:
        for report in scan_many(paths[:WARM_UP], policy, settings, 1):
            json.dumps(report.to_dict())
    cpu, started = cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
    for report in scan_many(paths, policy, settings, workers):
        json.dumps(report.to_dict())
    wall = time.perf_counter() - started
    return wall, (cpu_seconds(resource.RUSAGE_SELF) - cpu) if workers == 1 else None


def time_tesseract(paths: list[str], parallel: int, omp_limit: int | None
                   ) -> tuple[float, float]:
    """Wall seconds and CPU seconds (of the tesseract processes) over `paths`, `parallel`
    processes at a time."""
    import resource

    cpu, started = cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
    tesseract_all(paths, parallel, omp_limit)
    return time.perf_counter() - started, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


def profile_scan(paths: list[str], threads: int | None) -> dict:
    """Where a full scan's time goes: exclusive seconds per part (picture decode, text
    detection, text recognition, OCR glue, each source's own work, the scanner itself).
    Timers wrap the real functions and subtract the timed calls nested inside them (the
    decode runs inside whichever pixel source asks for the pixels first, the OCR inside the
    visible-label source); nothing else changes."""
    if threads:
        from labelcheck.vision import ocr

        ocr.set_threads(threads)
    from functools import cached_property

    import labelcheck
    from labelcheck.vision import ocr
    from labelcheck.formats.media import Media
    from labelcheck.sources.base import Source

    spent = defaultdict(float)
    nested = [0.0]  # time spent in timed calls under the current one

    def timed_call(key, function, *args, **kwargs):
        nested.append(0.0)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            spent[key] += elapsed - nested.pop()
            nested[-1] += elapsed

    def timed(key, function):
        return lambda *args, **kwargs: timed_call(key, function, *args, **kwargs)

    detector, recogniser = ocr._models()
    models = (timed("detection", detector), timed("recognition", recogniser))
    ocr._models = lambda threads=None: models
    for name in ("image", "rgb"):
        prop = cached_property(timed("decode", getattr(Media, name).func))
        prop.__set_name__(Media, name)
        setattr(Media, name, prop)
    ocr.read_lines = timed("ocr glue", ocr.read_lines)
    base_run = Source.run
    Source.run = lambda self, *args: timed_call(f"source {self.name}", base_run, self, *args)

    for path in paths[:WARM_UP]:
        labelcheck.scan(path)
    spent.clear()
    started = time.perf_counter()
    for path in paths:
        json.dumps(labelcheck.scan(path).to_dict())
    total = time.perf_counter() - started
    return {"total": total, "images": len(paths), "spent": dict(spent)}


def breakdown(profile: dict) -> list[tuple[str, float]]:
    """Milliseconds per image per part, from `profile_scan`'s exclusive timers."""
    n, spent = profile["images"], dict(profile["spent"])
    parts = [("picture decode (Pillow JPEG + RGB array)", spent.pop("decode", 0)),
             ("text detection (PP-OCRv4 det, 640 px)", spent.pop("detection", 0)),
             ("text recognition (PP-OCRv4 rec, batched crops)", spent.pop("recognition", 0)),
             ("OCR glue (resize, boxes, crops)", spent.pop("ocr glue", 0)),
             ("visible-label rest (lexicon, measuring, icon check)",
              spent.pop("source visible_label", 0))]
    for key, value in sorted(spent.items(), key=lambda kv: -kv[1]):
        parts.append((key.replace("source ", "source: "), value))
    parts.append(("scanner rest (file read, SHA-256, policy, report, JSON)",
                  profile["total"] - sum(v for _, v in parts)))
    return [(name, 1000 * value / n) for name, value in parts]


# -- report ----------------------------------------------------------------------------------


def pct(hits: int, total: int) -> str:
    """Format as hits/total (rate%)."""
    return f"{hits}/{total} ({100 * hits / total:.1f}%)" if total else "-"


def recall_table(dimension: str, lc: dict, ts: dict | None) -> list[str]:
    """Markdown rows for one dimension of the recall table."""
    header = f"| {dimension} | labelcheck recall |" + (" tesseract recall |" if ts else "")
    rule = "|---|---:|" + ("---:|" if ts else "")
    rows = [header, rule]
    keys = [k for k in lc if k.startswith(f"{dimension}=")]
    order = [b[2] for b in SIZE_BUCKETS]
    keys.sort(key=lambda k: (order.index(k.split("=", 1)[1]) if dimension == "size"
                             and k.split("=", 1)[1] in order else 99, k))
    for key in keys:
        row = f"| {key.split('=', 1)[1]} | {pct(lc[key]['hits'], lc[key]['total'])} |"
        if ts:
            row += f" {pct(ts[key]['hits'], ts[key]['total'])} |"
        rows.append(row)
    return rows


def markdown(data: dict) -> str:
    """Every table of the run, ready for docs/BENCHMARKS.md."""
    info, lc, ts = data["machine"], data["labelcheck"]["score"], data.get("tesseract", {})
    ts_score = ts.get("score")
    out = [f"Machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
           f"rapidocr {info.get('rapidocr', '?')}, onnxruntime "
           f"{info.get('onnxruntime', '?')}, {info.get('tesseract', 'no tesseract')}; load average "
           f"at start {info['load_average_at_start'][0]:.2f}.",
           "",
           f"Code: commit {info['code']['commit']}"
           + (f" plus {len(info['code']['uncommitted'])} uncommitted file(s) under labelcheck/"
              if info["code"]["uncommitted"] else "")
           + f" (labelcheck/ sources hash {info['code']['labelcheck_sha256']}).",
           "",
           f"Image set: {data['images']} images ({data['positives']} with a visible label, "
           f"{data['negatives']} negatives with confusable words) from {data['folder']}.",
           "", "### Detection", ""]
    for flag, note in (("code_changed_during_run", "labelcheck/ was edited during this run"),
                       ("set_rewritten_during_run", "the image set was regenerated during "
                                                    "this run")):
        if data.get(flag):
            out += [f"**Warning: {note}; run again for clean numbers.**", ""]
    if data["labelcheck"].get("scan_errors"):
        out += [f"**{len(data['labelcheck']['scan_errors'])} scans failed** (counted as "
                "misses): the numbers below are not valid.", ""]
    out += ["| engine | recall (positives) | false positives (negatives) |", "|---|---:|---:|"]
    out.append(f"| labelcheck scan (full, default policy) | "
               f"{pct(lc['all=all']['hits'], lc['all=all']['total'])} | "
               f"{pct(lc['negatives=all']['hits'], lc['negatives=all']['total'])} |")
    if ts_score:
        out.append(f"| tesseract -l eng (default psm) + labelcheck lexicon | "
                   f"{pct(ts_score['all=all']['hits'], ts_score['all=all']['total'])} | "
                   f"{pct(ts_score['negatives=all']['hits'], ts_score['negatives=all']['total'])}"
                   " |")
    for dimension in DIMENSIONS:
        out += ["", *recall_table(dimension, lc, ts_score)]
    m = data["labelcheck"]["measurement"]
    if m["count"]:
        out += ["", "### Measurement (detected positives)", "",
                "| measure | value |", "|---|---:|",
                f"| labels measured | {m['count']} |",
                f"| text height: median abs. error (share of shorter side) | "
                f"{_pp(m['height_abs_err_median'])} |",
                f"| text height: 90th percentile abs. error | {_pp(m['height_abs_err_p90'])} |",
                f"| text height: median relative error | {_pc(m['height_rel_err_median'])} |",
                f"| text height: median signed error (measured - truth) | "
                f"{_pp(m['height_signed_err_median'])} |",
                f"| box IoU with the true label box: median | {_f(m['box_iou_median'])} |",
                f"| boxes with IoU < 0.5 | {m['box_iou_below_0_5']} |",
                f"| position class agrees with the generator's position name | "
                f"{_pc(m['position_agree'])} (n={m['position_agree_n']}) |",
                f"| position class agrees with the class of the true box | "
                f"{_pc(m['position_agree_truth_box'])} |", "",
                "The generator's `text_height_ratio` is the cap height; labelcheck measures the "
                "ink height of the letters (ascenders and descenders included), so a positive "
                "signed error is expected. The true box is the ink box; labelcheck's is the "
                "OCR detection box (padded), so IoU stays below 1 even when both are right."]
    speed = data.get("speed")
    if speed:
        out += ["", f"### Speed ({speed['images']} images, {speed['size']}, "
                f"{speed['positives']} positives + {speed['negatives']} negatives, best of "
                f"{speed['repeat']})", "",
                "| engine | wall s | images/s | x tesseract sequential | CPU s per image | "
                "load before |", "|---|---:|---:|---:|---:|---:|"]
        base = next((r["seconds"] for r in speed["rows"] if r.get("baseline")), None)
        for row in speed["rows"]:
            ratio = f"{base / row['seconds']:.2f}x" if base else "n/a"
            cpu = (f"{row['cpu_seconds'] / speed['images']:.3f}"
                   if row.get("cpu_seconds") is not None else "n/a")
            out.append(f"| {row['name']} | {row['seconds']:.1f} | "
                       f"{speed['images'] / row['seconds']:.2f} | {ratio} | {cpu} | "
                       f"{row['load_before']:.2f} |")
        out += ["", "Wall times are the best of the runs. \"Load before\" is the 1-minute load "
                "average when that run started; it includes the tail of this script's own "
                "previous measurement (up to about the core count), so only values well above "
                "the core count mean that other work shared the cores. CPU seconds per image "
                "(user + system, all threads) hold up better under contention; the pool row has "
                "none because its workers are not children of the timing process."]
        out += matched_comparisons(speed)
        for title, parts in speed.get("breakdown", {}).items():
            total = sum(v for _, v in parts)
            out += ["", f"Where the time goes, {title} ({PROFILE_SAMPLE} images, ms per image):",
                    "", "| part | ms/image | share |", "|---|---:|---:|"]
            for name, value in parts:
                out.append(f"| {name} | {value:.1f} | {100 * value / total:.0f}% |")
            out.append(f"| **total** | **{total:.1f}** | 100% |")
    return "\n".join(out) + "\n"


def matched_comparisons(speed: dict) -> list[str]:
    """labelcheck against tesseract on the same cores: one process each as shipped, one core
    each, and all cores each (tesseract with OMP_THREAD_LIMIT=1, its fastest setting)."""
    rows = {row["name"]: row for row in speed["rows"]}

    def find(*words):
        return next((row for name, row in rows.items() if all(w in name for w in words)), None)

    pairs = [("one process each, default threading",
              find("labelcheck", "1 process", "default"), find("tesseract", "sequential",
                                                                "OpenMP default")),
             ("one core each", find("labelcheck", "one core"),
              find("tesseract", "sequential", "OMP_THREAD_LIMIT=1")),
             ("all cores each", find("labelcheck", "--workers"),
              find("tesseract", "parallel", "OMP_THREAD_LIMIT=1"))]
    out = ["", "| same resources | labelcheck images/s | tesseract images/s | labelcheck / "
               "tesseract |", "|---|---:|---:|---:|"]
    for title, lc, ts in pairs:
        if lc and ts:
            out.append(f"| {title} | {speed['images'] / lc['seconds']:.2f} | "
                       f"{speed['images'] / ts['seconds']:.2f} | "
                       f"{ts['seconds'] / lc['seconds']:.2f}x |")
    return out if len(out) > 3 else []


def _pp(value):
    return "-" if value is None else f"{100 * value:.2f} pp"


def _pc(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def _f(value):
    return "-" if value is None else f"{value:.2f}"


def error_lists(entries: list[dict], lc: dict, ts: dict | None) -> dict:
    """Missed positives and false positives of both engines, with what the OCR read."""
    missed, false = [], []
    for entry in entries:
        findings = lc[entry["path"]]["visible"]
        base = {"file": entry["file"], "language": entry.get("language"),
                "text": entry.get("text"), "style": entry.get("style"),
                "position": entry.get("position"), "cut": entry.get("cut"),
                "text_height_ratio": entry.get("text_height_ratio"), "font": entry.get("font"),
                "lines": entry.get("lines"), "scale": entry.get("scale"),
                "variant": entry.get("style_variant"), "quality": entry.get("jpeg_quality"),
                "confusables": entry.get("confusables")}
        if entry["positive"] and not findings:
            missed.append({**base, "ocr_lines": ocr_lines(entry["path"])})
        elif not entry["positive"] and findings:
            false.append({**base, "findings": [
                {"code": f["code"], "text": f["measurements"].get("text"),
                 "phrase": f["measurements"].get("phrase"), "lang": f["measurements"].get("lang")}
                for f in findings], "ocr_lines": ocr_lines(entry["path"])})
    out = {"labelcheck_missed": missed, "labelcheck_false_positives": false,
           "labelcheck_scan_errors": sum(1 for r in lc.values() if r["error"])}
    if ts:
        out["tesseract_false_positives"] = [
            {"file": e["file"], "hits": ts["hits"][e["path"]]} for e in entries
            if not e["positive"] and ts["hits"][e["path"]]]
        out["tesseract_missed_count"] = sum(
            1 for e in entries if e["positive"] and not ts["hits"][e["path"]])
    return out


def error_markdown(errors: dict) -> str:
    """The missed positives and false positives as Markdown lists."""
    out = [f"### labelcheck missed positives ({len(errors['labelcheck_missed'])})", ""]
    for e in errors["labelcheck_missed"]:
        lines = "; ".join(f"{l['text']!r} ({l['score']:.2f})" for l in e["ocr_lines"]) or "nothing"
        out.append(f"- `{e['file']}` [{e['language']}, {e['style']}/{e['variant']}, "
                   f"{e['position']}, h={e['text_height_ratio']}, {e['font']}, "
                   f"{e['lines']} line(s), scale {e['scale']}, q{e['quality']}"
                   f"{', cut' if e['cut'] else ''}] label {e['text']!r}: OCR read {lines}")
    out += ["", f"### labelcheck false positives ({len(errors['labelcheck_false_positives'])})",
            ""]
    for e in errors["labelcheck_false_positives"]:
        hits = "; ".join(f"{f['code']} {f['text']!r} -> {f['phrase']!r} ({f['lang']})"
                         for f in e["findings"])
        lines = "; ".join(repr(l["text"]) for l in e["ocr_lines"])
        out.append(f"- `{e['file']}` (confusables {e['confusables']}): {hits}. OCR lines: "
                   f"{lines}")
    if "tesseract_false_positives" in errors:
        out += ["", f"### tesseract false positives ({len(errors['tesseract_false_positives'])})",
                ""]
        for e in errors["tesseract_false_positives"]:
            hits = "; ".join(f"{h['text']!r} -> {h['phrase']!r}" for h in e["hits"])
            out.append(f"- `{e['file']}`: {hits}")
    return "\n".join(out) + "\n"


# -- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER,
                        help="folder with the generated images and manifest.json")
    parser.add_argument("--subset", type=int, default=120,
                        help="images in the speed subset (half positives, half negatives)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for labelcheck batches and parallel tesseract "
                             "(default: all cores)")
    parser.add_argument("--skip-tesseract", action="store_true", help="no tesseract baseline")
    parser.add_argument("--skip-speed", action="store_true", help="accuracy only")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each speed measurement this many times, keep the best")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only print the tables of a saved run (bench/out/visible_labels.json)")
    args = parser.parse_args()
    if args.render:
        data = json.loads(args.render.read_text())
        print(markdown(data) + "\n" + error_markdown(data["errors"]))
        return 0
    if not (args.folder / "manifest.json").is_file():
        print(f"no manifest.json in {args.folder}", file=sys.stderr)
        return 2
    use_tesseract = not args.skip_tesseract and shutil.which("tesseract") is not None
    fingerprint = manifest_fingerprint(args.folder)
    entries = load_manifest(args.folder)
    paths = [e["path"] for e in entries]
    info = machine()
    info["code"] = code_version()
    print(f"# {info['cpu']}, {info['cores']} cores; {len(entries)} images", file=sys.stderr)

    data = {"machine": info, "folder": str(args.folder.relative_to(ROOT)
                                           if args.folder.is_relative_to(ROOT) else args.folder),
            "images": len(entries), "positives": sum(e["positive"] for e in entries),
            "negatives": sum(not e["positive"] for e in entries), "workers": args.workers}

    started = time.perf_counter()
    lc = scan_all(paths, args.workers)
    data["labelcheck"] = {
        "seconds": time.perf_counter() - started,
        "score": score(entries, {p: bool(r["visible"]) for p, r in lc.items()}),
        "measurement": measurement_accuracy(entries, lc),
        "per_image": {Path(p).name: r for p, r in lc.items()}}
    failed = {Path(p).name: r["error"] for p, r in lc.items() if r["error"]}
    data["labelcheck"]["scan_errors"] = failed
    if failed:
        print(f"# WARNING: {len(failed)} scans failed, e.g. {next(iter(failed.items()))}",
              file=sys.stderr)
    print(f"# labelcheck accuracy pass: {data['labelcheck']['seconds']:.1f} s", file=sys.stderr)

    ts = None
    if use_tesseract:
        started = time.perf_counter()
        texts = tesseract_all(paths, args.workers, omp_limit=1)
        hits = {p: judge_text(t) for p, t in texts.items()}
        ts = {"hits": hits}
        data["tesseract"] = {"seconds": time.perf_counter() - started,
                             "score": score(entries, {p: bool(h) for p, h in hits.items()}),
                             "per_image": {Path(p).name: {"text": texts[p], "hits": hits[p]}
                                           for p in paths}}
        print(f"# tesseract accuracy pass: {data['tesseract']['seconds']:.1f} s",
              file=sys.stderr)

    check_unchanged(data, args.folder, fingerprint)
    data["errors"] = error_lists(entries, lc, ts)
    write_outputs(data, echo=args.skip_speed)  # accuracy is safe on disk before the timing
    if not args.skip_speed:
        data["speed"] = run_speed(entries, args, use_tesseract)
        check_unchanged(data, args.folder, fingerprint)
        write_outputs(data, echo=True)
    return 0


def check_unchanged(data: dict, folder: Path, fingerprint: tuple) -> None:
    """Flag a run during which the image set was regenerated or labelcheck/ was edited."""
    if code_version() != data["machine"]["code"]:
        print("# WARNING: labelcheck/ changed during the run", file=sys.stderr)
        data["code_changed_during_run"] = True
    if manifest_fingerprint(folder) != fingerprint:
        print("# WARNING: the image set was rewritten during the run; run again",
              file=sys.stderr)
        data["set_rewritten_during_run"] = True


def write_outputs(data: dict, echo: bool) -> None:
    """Write the Markdown and the JSON to bench/out (and print the Markdown when `echo`)."""
    text = markdown(data) + "\n" + error_markdown(data["errors"])
    if echo:
        print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "visible_labels.md").write_text(text)
    (OUT / "visible_labels.json").write_text(json.dumps(data, indent=1, default=str))


def run_speed(entries: list[dict], args, use_tesseract: bool) -> dict:
    """Every speed measurement on the fixed subset, each labelcheck run in a fresh process."""
    subset = speed_subset(entries, args.subset)
    paths = [e["path"] for e in subset]
    width, height = subset[0]["size"]
    cores = os.cpu_count() or 1
    rows = []

    def add(name, measure, baseline=False):
        runs = []
        for _ in range(args.repeat):
            load = os.getloadavg()[0]
            wall, cpu = measure()
            runs.append({"seconds": wall, "cpu_seconds": cpu, "load_before": load})
            print(f"# {name}: {wall:.1f} s wall, CPU {cpu and round(cpu, 1)} s (1-min load "
                  f"before: {load:.2f})", file=sys.stderr)
        best = min(runs, key=lambda run: run["seconds"])
        rows.append({"name": name, **best, "runs": runs, "baseline": baseline})

    add(f"labelcheck scan, 1 process, OCR on {cores} threads (default for one scan)",
        lambda: in_fresh_process(time_labelcheck, paths, 1, None))
    add("labelcheck scan, 1 process, OCR on 1 thread (one core)",
        lambda: in_fresh_process(time_labelcheck, paths, 1, 1))
    add(f"labelcheck scan --workers {args.workers} (pool start included)",
        lambda: in_fresh_process(time_labelcheck, paths, args.workers, None))
    if use_tesseract:
        add("tesseract, sequential, OpenMP default",
            lambda: time_tesseract(paths, 1, None), baseline=True)
        add("tesseract, sequential, OMP_THREAD_LIMIT=1", lambda: time_tesseract(paths, 1, 1))
        add(f"tesseract, {args.workers} parallel processes, OMP_THREAD_LIMIT=1",
            lambda: time_tesseract(paths, args.workers, 1))
        add(f"tesseract, {args.workers} parallel processes, OpenMP default",
            lambda: time_tesseract(paths, args.workers, None))
    sample = paths[:PROFILE_SAMPLE // 2] + paths[-(PROFILE_SAMPLE - PROFILE_SAMPLE // 2):]
    profiles = {"one core (OCR on 1 thread, as in a batch worker)":
                in_fresh_process(profile_scan, sample, 1),
                f"one process, OCR on {cores} threads": in_fresh_process(profile_scan, sample,
                                                                          None)}
    return {"images": len(paths), "size": f"{width}x{height}", "repeat": args.repeat,
            "positives": sum(e["positive"] for e in subset),
            "negatives": sum(not e["positive"] for e in subset),
            "files": [e["file"] for e in subset], "rows": rows,
            "profiles": profiles,
            "breakdown": {title: breakdown(p) for title, p in profiles.items()}}


if __name__ == "__main__":
    sys.exit(main())
