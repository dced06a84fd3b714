"""Acceptance on ../shared/real_world (skipped when absent): 336 files from ExifTool's,
Pillow's, InvokeAI's and ControlNet's repositories (cameras, editors, raw formats, damaged and
fuzzed images, AI images with generator metadata; CATALOG.md, expected.json).

Both scans run through the command, as users run it, in worker processes (2 workers): once in
full, once with --no-ocr. Checked: every file has a record and nothing crashed, printed a
traceback or ran out of time; ai_generated is as expected on every AI file with a trace and
every non-AI file; no format that Pillow (with its HEIF and JPEG XL plugins) reads is refused;
every message is free of memory addresses, absolute paths and raw bytes; and the two scans give
the same verdict wherever the full one found no pixel evidence.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, load_expected

REAL_WORLD = ROOT.parent / "shared" / "real_world"
ROWS = load_expected(REAL_WORLD / "expected.json")
PIXEL_DETECTORS = {"visible_label", "sd_watermark", "stealth_pnginfo", "registry"}
ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}|object at ")
ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"(=:])/(?:[\w.+@-]+/)+[\w.+@-]*")
RAW_BYTES = re.compile(r"\bb['\"]|\\x[0-9a-fA-F]{2}|[\x00-\x08\x0b-\x1f\x7f]")
UNSUPPORTED = "not a supported image or video format"


def _scan(extra: list[str], tmp_path: Path, tag: str) -> tuple[dict, str]:
    out = tmp_path / f"{tag}.jsonl"
    command = [sys.executable, "-m", "labelcheck.cli.main", "scan",
               *[row["file"] for row in ROWS], "--format", "jsonl", "--out", str(out),
               "--no-store", "--workers", "2", "--quiet", *extra]
    result = subprocess.run(command, cwd=REAL_WORLD, capture_output=True, text=True,
                            timeout=1800, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {report["path"]: report for report in reports}, result.stderr


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    if not ROWS:
        pytest.skip("../shared/real_world is not available")
    folder = tmp_path_factory.mktemp("real_world")
    return _scan([], folder, "full"), _scan(["--no-ocr"], folder, "metadata")


def test_every_file_has_a_record_and_nothing_crashed(scans):
    for reports, stderr in scans:
        assert set(reports) == {row["file"] for row in ROWS}
        assert "Traceback" not in stderr
        timed_out = [path for path, report in reports.items()
                     if "longer than" in (report["error"] or "")]
        assert timed_out == []


def test_ai_generated_as_expected(scans):
    (reports, _), _ = scans
    wrong = [(row["file"], reports[row["file"]]["summary"]) for row in ROWS
             if reports[row["file"]]["ai_generated"] is not row["expect_ai_generated"]]
    assert wrong == []


def test_no_readable_format_is_refused(scans):
    from PIL import Image, UnidentifiedImageError

    import pillow_heif
    import pillow_jxl  # noqa: F401 - registers the JPEG XL plugin

    pillow_heif.register_heif_opener()
    (reports, _), _ = scans
    readable = []
    for path, report in reports.items():
        if UNSUPPORTED not in (report["error"] or ""):
            continue
        try:
            with Image.open(REAL_WORLD / path) as image:
                image.load()
            readable.append(path)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            pass  # Pillow cannot read it either (an EPS without Ghostscript, fuzzed data)
    assert readable == []


def test_messages_have_no_addresses_paths_or_bytes(scans):
    leaks = []
    for reports, _ in scans:
        for path, report in reports.items():
            texts = [report["error"] or "", report["summary"]]
            texts += [finding["message"] for finding in report["findings"]]
            for text in texts:
                for pattern in (ADDRESS, ABSOLUTE_PATH, RAW_BYTES):
                    if pattern.search(text):
                        leaks.append((path, pattern.pattern, text[:160]))
    assert leaks == []


def test_metadata_only_scan_agrees_but_for_pixel_evidence(scans):
    (full, _), (metadata, _) = scans
    disagree = []
    for path, report in full.items():
        pixel_evidence = any(f["detector"] in PIXEL_DETECTORS and
                             f["kind"] in ("ai_declaration", "ai_trace", "removal")
                             for f in report["findings"])
        if not pixel_evidence and report["verdict"] != metadata[path]["verdict"]:
            disagree.append((path, report["verdict"], metadata[path]["verdict"]))
    assert disagree == []


def test_formats_once_refused_are_read(scans):
    (reports, _), _ = scans
    read = {"exiftool+exiftool/t/images/BMP.bmp": "image/bmp",
            "exiftool+exiftool/t/images/Jpeg2000.jp2": "image/jp2",
            "exiftool+exiftool/t/images/BigTIFF.btf": "image/tiff",
            "exiftool+exiftool/t/images/Photoshop.psd": "image/vnd.adobe.photoshop",
            "exiftool+exiftool/t/images/JXL2.jxl": "image/jxl",
            "exiftool+exiftool/t/images/XMP.svg": "image/svg+xml",
            "exiftool+exiftool/t/images/CanonRaw.cr3": "image/x-canon-cr3",
            "python-pillow+Pillow/Tests/images/balloon.jpf": "image/jpx",
            "python-pillow+Pillow/Tests/images/junk_jpeg_header.jpg": "image/jpeg"}
    for path, media_type in read.items():
        report = reports[path]
        assert report["error"] is None and report["media_type"] == media_type, path
    cr3 = reports["exiftool+exiftool/t/images/CanonRaw.cr3"]
    assert cr3["kind"] == "image"
    assert {"exif.camera", "media.pixels_not_decoded"} <= {f["code"] for f in cr3["findings"]}
