"""Reference registry: matching accuracy, verdicts, PDQ-stage query time, registration speed.

1. Accuracy on the generated transform suite (``test_media/generate_registry.py``): the
   originals are registered, every copy is matched with `Registry.match`, and the share matched
   to the right original is given per transform and strength. False matches are counted over
   the generated look-alikes plus every image in ../shared/real_media.
2. Verdicts: `labelcheck.scan` (default policy, registry source on) of every copy, against the
   verdict the generator expects (``stripped`` when the badge or the metadata was removed,
   ``disclosed`` when the badge or the original bytes survive).
3. PDQ: how far each copy's hashes are from its original's (why crops need local features),
   then the PDQ stage at scale: 1,000,000 random fingerprints plus the registered ones in a
   `BinaryIndex`; each copy's query hashes (the picture and its trimmed content box) are
   searched, timed per image.
4. Registration throughput: `Registry.add` per image, and the share of it that is the core
   scan (OCR and metadata) every registration runs.

Usage: python bench/registry.py [--suite DIR] [--fingerprints N] [--skip-verdicts]
(generate the suite first: python test_media/generate_registry.py). Prints Markdown; the
tables also go to bench/out/registry.md.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import labelcheck  # noqa: E402
import labelcheck.sources.registry  # noqa: E402,F401 - registers the registry source
from labelcheck import registry  # noqa: E402
from labelcheck.core.settings import Settings  # noqa: E402
from labelcheck.formats.media import Media  # noqa: E402
from labelcheck.registry import enrol  # noqa: E402
from labelcheck.registry.enrol import register_file  # noqa: E402

DEFAULT_SUITE = ROOT / "test_media" / "generated" / "registry"
REAL_MEDIA = ROOT.parent / "shared" / "real_media"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".heic", ".avif")


def pixels(path) -> np.ndarray | None:
    try:
        return Media.open(path).rgb
    except Exception:  # noqa: BLE001 - unreadable real-world files are skipped, not fatal
        return None


def register(reg: registry.Registry, suite: Path, originals: list[dict]) -> dict:
    """Register every original; time `add`, and the core scan inside it."""
    scan_s = []
    core_scan = enrol.scan

    def timed_scan(*args, **kwargs):
        started = time.perf_counter()
        report = core_scan(*args, **kwargs)
        scan_s.append(time.perf_counter() - started)
        return report

    enrol.scan = timed_scan
    try:
        started = time.perf_counter()
        ids = {o["id"]: register_file(reg, suite / o["file"], "bench", o["id"])
               for o in originals}
        add_s = time.perf_counter() - started
    finally:
        enrol.scan = core_scan
    return {"ids": ids, "add_s": add_s, "scan_s": sum(scan_s), "count": len(originals)}


def match_copies(reg, suite: Path, copies: list[dict], ids: dict) -> list[dict]:
    rows = []
    for copy in copies:
        rgb = pixels(suite / copy["file"])
        started = time.perf_counter()
        found = reg.match(rgb)
        elapsed = time.perf_counter() - started
        top = found[0] if found else None
        rows.append({**copy, "ok": bool(top) and top.asset.id == ids[copy["original"]],
                     "found_by": top.found_by if top else None, "ms": elapsed * 1000})
    return rows


def false_matches(reg, paths: list[str]) -> tuple[int, int, list[float], list[str]]:
    count, checked, times, names = 0, 0, [], []
    for path in paths:
        rgb = pixels(path)
        if rgb is None:
            continue
        started = time.perf_counter()
        found = reg.match(rgb)
        times.append((time.perf_counter() - started) * 1000)
        checked += 1
        if found:
            count += 1
            names.append(f"{path} -> {found[0].asset.label}")
    return count, checked, times, names


def verdicts(suite: Path, copies: list[dict], url: str) -> list[dict]:
    rows = []
    for copy in copies:
        report = labelcheck.scan(suite / copy["file"], settings=Settings(db_url=url))
        codes = sorted({f.code for f in report.findings if f.detector == "registry"})
        rows.append({**copy, "verdict": report.verdict.value, "codes": codes})
    return rows


def query_hashes(suite: Path, copies: list[dict]) -> tuple[list[np.ndarray], list[float]]:
    """Each copy's PDQ query hashes, and the time it took to compute them."""
    hashes, elapsed = [], []
    for copy in copies:
        rgb = pixels(suite / copy["file"])
        started = time.perf_counter()
        hashes.append(registry.query_hashes(rgb))
        elapsed.append((time.perf_counter() - started) * 1000)
    return hashes, elapsed


def pdq_distances(reg, copies: list[dict], hashes: list[np.ndarray], ids: dict) -> list[int]:
    """For each copy, the PDQ distance from its query hashes to its original's fingerprints
    (the picture and its mirror): how far PDQ alone gets."""
    fp_ids, codes = registered_fingerprints(reg)
    owners = fingerprint_assets(reg, fp_ids)
    bits = np.unpackbits(codes, axis=1)
    found = []
    for copy, query in zip(copies, hashes):
        mine = bits[owners == ids[copy["original"]]]
        found.append(min((int(np.count_nonzero(mine != np.unpackbits(q)[None], axis=1).min())
                          for q in query), default=256))
    return found


def pdq_stage(reg, hashes: list[np.ndarray], total: int) -> dict:
    """Time the PDQ search of each copy's query hashes against `total` fingerprints."""
    rng = np.random.default_rng(7)
    index = registry.BinaryIndex()
    index.add(np.arange(total, dtype=np.int64) + 10**9,
              rng.integers(0, 256, (total, 32), dtype=np.uint8))
    index.add(*registered_fingerprints(reg))
    index.search(hashes[0], registry.PDQ_TOP_K, registry.PDQ_RADIUS)  # warm up
    search_ms, candidates = [], []
    for codes in hashes:
        started = time.perf_counter()
        hits = index.search(codes, registry.PDQ_TOP_K, registry.PDQ_RADIUS)
        search_ms.append((time.perf_counter() - started) * 1000)
        candidates.append(sum(len(h) for h in hits))
    return {"rows": len(index), "hashes": [len(h) for h in hashes], "search_ms": search_ms,
            "candidates": candidates}


def registered_fingerprints(reg) -> tuple[np.ndarray, np.ndarray]:
    """Ids and PDQ codes of every registered fingerprint."""
    from sqlalchemy import select

    with reg.engine.connect() as connection:
        rows = connection.execute(select(registry.fingerprints.c.id,
                                         registry.fingerprints.c.pdq)).all()
    codes = np.frombuffer(b"".join(bytes(row[1]) for row in rows), np.uint8).reshape(-1, 32)
    return np.array([row[0] for row in rows], np.int64), codes


def fingerprint_assets(reg, fp_ids: np.ndarray) -> np.ndarray:
    """The asset id of each fingerprint id."""
    from sqlalchemy import select

    with reg.engine.connect() as connection:
        owner = dict(connection.execute(select(registry.fingerprints.c.id,
                                               registry.fingerprints.c.asset_id)).all())
    return np.array([owner[int(i)] for i in fp_ids], np.int64)


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)" if whole else "0/0"


def accuracy_tables(rows: list[dict]) -> list[str]:
    by = collections.defaultdict(list)
    for row in rows:
        by[(row["transform"], str(row["strength"]))].append(row)
    lines = ["| transform | strength | matched to the right original | found by PDQ | "
             "found by local features | median match ms |", "|---|---|---:|---:|---:|---:|"]
    for (name, strength), group in sorted(by.items()):
        ok = sum(r["ok"] for r in group)
        pdq = sum(r["ok"] and r["found_by"] == "pdq" for r in group)
        lines.append(f"| {name} | {strength} | {pct(ok, len(group))} | {pdq} | {ok - pdq} | "
                     f"{np.median([r['ms'] for r in group]):.0f} |")
    ok = sum(r["ok"] for r in rows)
    lines.append(f"| **all** | | **{pct(ok, len(rows))}** | | | "
                 f"{np.median([r['ms'] for r in rows]):.0f} |")
    return lines


def distance_table(copies: list[dict], distances: list[int], unrelated: list[int]) -> list[str]:
    by = collections.defaultdict(list)
    for copy, distance in zip(copies, distances):
        by[copy["transform"]].append(distance)
    lines = ["| transform | median | max | within radius "
             f"{registry.PDQ_RADIUS} |", "|---|---:|---:|---:|"]
    for name, values in sorted(by.items()) + [("unrelated (nearest original)", unrelated)]:
        inside = sum(v <= registry.PDQ_RADIUS for v in values)
        lines.append(f"| {name} | {np.median(values):.0f} | {max(values)} | "
                     f"{pct(inside, len(values))} |")
    return lines


def verdict_tables(rows: list[dict]) -> list[str]:
    by = collections.defaultdict(list)
    for row in rows:
        by[(row["transform"], row["expected_verdict"])].append(row)
    lines = ["| transform | expected | as expected | got | registry findings |",
             "|---|---|---:|---|---|"]
    for (name, expected), group in sorted(by.items()):
        got = collections.Counter(r["verdict"] for r in group)
        codes = collections.Counter(c for r in group for c in r["codes"] if c != "registry.match")
        lines.append(f"| {name} | {expected} | {pct(got[expected], len(group))} | "
                     f"{', '.join(f'{v} {n}' for v, n in got.most_common())} | "
                     f"{', '.join(f'{c} {n}' for c, n in codes.most_common()) or '-'} |")
    good = sum(r["verdict"] == r["expected_verdict"] for r in rows)
    lines.append(f"| **all** | | **{pct(good, len(rows))}** | | |")
    return lines


def nearest_distances(reg, paths: list[str]) -> list[int]:
    """PDQ distance from each unrelated picture to the nearest registered fingerprint."""
    _, codes = registered_fingerprints(reg)
    bits = np.unpackbits(codes, axis=1)
    found = []
    for path in paths:
        rgb = pixels(path)
        query = registry.query_hashes(rgb) if rgb is not None else []
        found += [min(int(np.count_nonzero(bits != np.unpackbits(q)[None], axis=1).min())
                      for q in query)] if len(query) else []
    return found


def matching_section(reg, suite: Path, manifest: dict, ids: dict) -> list[str]:
    copies = match_copies(reg, suite, manifest["copies"], ids)
    unrelated = [str(suite / d["file"]) for d in manifest["distractors"]]
    unrelated += sorted(p for p in glob.glob(str(REAL_MEDIA / "**" / "*"), recursive=True)
                        if p.lower().endswith(IMAGE_EXTENSIONS))
    wrong, checked, unrelated_ms, names = false_matches(reg, unrelated)
    with_badge = sum(bool(a.disclosures["visible"]) for a in reg.list())
    planned = sum(bool(o["badge"]) for o in manifest["originals"])
    lines = [f"### Matching ({len(manifest['originals'])} originals, {len(copies)} copies)", "",
             f"Badges found by the core scan at registration: {with_badge} of {planned} drawn.",
             ""]
    lines += accuracy_tables(copies)
    lines += ["", f"False matches: **{wrong} of {checked}** unrelated images "
                  f"({len(manifest['distractors'])} generated look-alikes + "
                  f"{checked - len(manifest['distractors'])} from ../shared/real_media); "
                  f"match time on them: median {np.median(unrelated_ms):.0f} ms, "
                  f"p95 {np.percentile(unrelated_ms, 95):.0f} ms.", ""]
    return lines + [f"- {name}" for name in names]


def pdq_section(reg, suite: Path, manifest: dict, ids: dict, total: int) -> list[str]:
    copies = manifest["copies"]
    hashes, hash_ms = query_hashes(suite, copies)
    unrelated = nearest_distances(reg, [str(suite / d["file"]) for d in manifest["distractors"]])
    lines = ["### How far PDQ alone gets: distance from a copy to its original", ""]
    lines += distance_table(copies, pdq_distances(reg, copies, hashes, ids), unrelated)
    stage = pdq_stage(reg, hashes, total)
    per_image = np.array(stage["search_ms"])
    return lines + [
        "", f"### PDQ stage: {stage['rows']:,} fingerprints, {len(per_image)} query images",
        "", "| measure | median | p95 | max |", "|---|---:|---:|---:|",
        f"| search per image ({np.mean(stage['hashes']):.1f} hashes/image), ms | "
        f"{np.median(per_image):.1f} | {np.percentile(per_image, 95):.1f} | "
        f"{per_image.max():.1f} |",
        f"| computing the query hashes, ms | {np.median(hash_ms):.1f} | "
        f"{np.percentile(hash_ms, 95):.1f} | {max(hash_ms):.1f} |",
        f"| candidates within radius {registry.PDQ_RADIUS} | "
        f"{np.median(stage['candidates']):.0f} | "
        f"{np.percentile(stage['candidates'], 95):.0f} | {max(stage['candidates'])} |"]


def registration_section(stats: dict) -> list[str]:
    count, add_s, scan_s = stats["count"], stats["add_s"], stats["scan_s"]
    return ["### Registration", "", "| measure | value |", "|---|---:|",
            f"| `registry add` throughput | {count / add_s:.2f} images/s "
            f"({1000 * add_s / count:.0f} ms/image) |",
            f"| of which the core scan (OCR, metadata, registry lookup) | "
            f"{1000 * scan_s / count:.0f} ms/image |",
            f"| registry work (PDQ x2, ORB, thumbnail, insert) | "
            f"{1000 * (add_s - scan_s) / count:.0f} ms/image |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--fingerprints", type=int, default=1_000_000)
    parser.add_argument("--skip-verdicts", action="store_true")
    args = parser.parse_args(argv)
    manifest = json.loads((args.suite / "manifest.json").read_text())
    url = f"sqlite:///{tempfile.mkdtemp(prefix='labelcheck-registry-bench-')}/registry.db"
    reg = registry.Registry.open(url)
    out = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
           f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at "
           "start.", ""]
    stats = register(reg, args.suite, manifest["originals"])
    reg.refresh()
    out += matching_section(reg, args.suite, manifest, stats["ids"])
    if not args.skip_verdicts:
        out += ["", "### Verdicts of `labelcheck scan` on the copies (default policy)", ""]
        out += verdict_tables(verdicts(args.suite, manifest["copies"], url))
    out += [""] + pdq_section(reg, args.suite, manifest, stats["ids"], args.fingerprints)
    out += [""] + registration_section(stats)
    out.append(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}.")
    text = "\n".join(out)
    print(text)
    target = ROOT / "bench" / "out" / "registry.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
