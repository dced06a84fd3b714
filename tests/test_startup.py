"""What a command pays before it scans: the modules a metadata scan imports, and the OCR models
a pool of workers loads. Timings are benchmarks (bench/startup.py, docs/BENCHMARKS.md); these
tests check the causes, which do not depend on the machine's load."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import TEST_MEDIA
from labelcheck.core.policy import load_policies
from labelcheck.core.settings import Settings
from labelcheck.run.pool import drain, guarded_pool
from labelcheck.vision import ocr

HEAVY = ("av", "cryptography", "cv2", "flask", "http", "jinja2", "multiprocessing", "numpy",
         "onnxruntime", "rapidocr", "socket", "sqlalchemy", "ssl", "webapp")
# http, ssl, socket: the HTTP client (URLs, crawls); multiprocessing: a pool (many files)

IMPORTED_BY_SCAN = """
import json, sys
from labelcheck.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def modules_imported_by(*args: str) -> tuple[int, set[str], str]:
    """Run ``labelcheck ARGS`` in a fresh interpreter: its exit status, the top-level names
    of every module it imported, and its report."""
    done = subprocess.run([sys.executable, "-c", IMPORTED_BY_SCAN, *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    result = json.loads(done.stderr.strip().splitlines()[-1])
    return result["exit"], {name.split(".")[0] for name in result["modules"]}, done.stdout


@pytest.mark.parametrize("picture", ["plain_photo.jpg", "iptc_ai.jpg", "a1111.png"])
def test_metadata_scan_imports_no_pixel_store_or_web_library(picture):
    exit_code, imported, report = modules_imported_by(
        "scan", str(TEST_MEDIA / picture), "--no-ocr", "--no-store", "--format", "json")
    assert exit_code == 0
    assert json.loads(report)[0]["path"].endswith(picture)  # it did scan
    assert "labelcheck" in imported and not imported & set(HEAVY), imported & set(HEAVY)


def test_scan_with_pixels_still_runs_every_source():
    """The pixel sources are registered when a scan reads pixels: the SD watermark is found
    in a scan with pixels, and left unread (said so) in a metadata scan of the same file."""
    picture = str(TEST_MEDIA / "sd_watermark_sdxl.png")
    _, imported, report = modules_imported_by("scan", picture, "--no-store", "--format", "json")
    assert {"numpy", "onnxruntime"} <= imported
    assert "sd_watermark" in {f["detector"] for f in json.loads(report)[0]["findings"]}
    _, imported, report = modules_imported_by("scan", picture, "--no-store", "--no-ocr",
                                              "--format", "json")
    assert "numpy" not in imported
    assert "sd_watermark" not in {f["detector"] for f in json.loads(report)[0]["findings"]}


def test_other_commands_are_loaded_only_when_asked_for():
    """The web app's ``serve`` (an entry point) is listed by ``--help`` and not imported by
    ``policies``."""
    _, imported, _ = modules_imported_by("policies")
    assert "webapp" not in imported and "flask" not in imported
    done = subprocess.run([sys.executable, "-m", "labelcheck.cli.main", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert "serve" in done.stdout


POOL_PROBE = """
import json, sys
from labelcheck.core.policy import load_policies
from labelcheck.core.settings import Settings
from labelcheck.run.pool import drain, guarded_pool


def imported():
    return sorted({name.split(".")[0] for name in sys.modules})


if __name__ == "__main__":
    policy, settings = load_policies("default"), Settings(pixels=False)
    pool = guarded_pool(policy, settings, 2)
    try:
        reports = [report for _, report in drain(pool, iter(enumerate(sys.argv[1:])), policy,
                                                 settings, 4)]
        answers = [future.result(timeout=60) for future in
                   [pool.schedule(imported) for _ in range(4)]]
    finally:
        pool.stop()
        pool.join()
    print(json.dumps({"errors": [r.error for r in reports], "workers": answers}))
"""


def test_a_metadata_pool_imports_no_ocr(tmp_path):
    """The workers of a pool that reads no pixels (``--no-ocr``) never import the OCR or
    NumPy: each worker would pay it, and a worker is replaced every 1000 files. Run in a fresh
    interpreter: the fork server is started by a process's first pool, with that pool's
    preloads."""
    script = tmp_path / "probe.py"
    script.write_text(POOL_PROBE)
    pictures = [str(TEST_MEDIA / name) for name in ("plain_photo.jpg", "ai_c2pa_signed.jpg")]
    done = subprocess.run([sys.executable, str(script), *pictures], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == [None, None]
    for imported in result["workers"]:
        assert "labelcheck" in imported and "c2pa" in imported  # preloaded by the fork server
        assert not set(imported) & {"cv2", "numpy", "onnxruntime", "rapidocr"}, imported


@pytest.mark.slow
def test_a_pool_loads_the_ocr_models_once_per_worker(tmp_path):
    """16 pictures scanned with OCR by 2 workers: each worker built the OCR engine once (the
    number of `RapidOCR` engines its process made, read from the worker), not once per file."""
    sources = ["plain_photo.jpg", "a1111_usercomment.jpg", "google_ai_credit.jpg", "iptc_ai.jpg"]
    files = []
    for number in range(16):
        copy = tmp_path / f"ad-{number:02d}-{sources[number % 4]}"
        shutil.copyfile(TEST_MEDIA / sources[number % 4], copy)
        files.append(str(copy))
    policy, settings = load_policies("default"), Settings(pixels=True)
    here_before = ocr.engines_built()  # earlier tests may have scanned in this process
    pool = guarded_pool(policy, settings, 2)
    try:
        reports = [report for _, report in drain(pool, iter(enumerate(files)), policy,
                                                 settings, 8)]
        probes = [pool.schedule(ocr.engines_built) for _ in range(8)]
        answers = [future.result(timeout=60) for future in probes]
    finally:
        pool.stop()
        pool.join()
    assert len(reports) == 16 and not [r.error for r in reports if r.error]
    assert answers == [1] * 8  # every worker asked: one engine, built before its first file
    assert ocr.engines_built() == here_before  # and none more in this process


def test_models_loaded_in_the_background_are_built_once():
    """A video scan starts loading the OCR models on a thread of their own
    (`ocr.load_in_background`) while its first frames decode; a scan that asks for them
    meanwhile waits for that build instead of making a second engine."""
    before = ocr.engines_built()
    threads = 3  # a thread count no other test loads models for
    ocr.load_in_background(threads)
    ocr.load_in_background(threads)
    lines = ocr.read_lines(np.full((200, 300, 3), 255, np.uint8), threads=threads)
    assert lines == [] and ocr.engines_built() == before + 1


def test_a_pixel_scan_with_no_registry_imports_no_database_library(tmp_path):
    """Without a registered original the registry check costs a look at the SQLite file: a
    scan that reads pixels imports no SQLAlchemy (nor does its pool's fork server preload it,
    `may_hold_originals`), whether there is no database (a fresh machine) or one that holds
    only stored results; once an original is registered the registry is asked. A non-SQLite
    URL is always tried."""
    from labelcheck.cli.main import main
    from labelcheck.core.settings import may_hold_originals

    missing = f"sqlite:///{tmp_path / 'none.db'}"
    results_only = f"sqlite:///{tmp_path / 'results only.db'}"
    with_original = f"sqlite:///{tmp_path / 'registry.db'}"
    picture = str(TEST_MEDIA / "iptc_ai.jpg")
    assert main(["scan", picture, "--no-ocr", "--quiet", "--db", results_only]) == 0
    assert os.path.exists(tmp_path / "results only.db")
    assert not may_hold_originals(missing) and not may_hold_originals(results_only)
    assert may_hold_originals("postgresql+psycopg://db/labelcheck")
    script = ("import sys; from labelcheck import scan; from labelcheck.core.settings import "
              "Settings; report = scan(sys.argv[1], settings=Settings(db_url=sys.argv[2])); "
              "print('sqlalchemy' in sys.modules, 'cv2' in sys.modules, "
              "any(f.detector == 'registry' for f in report.findings))")

    def scanned_with(url):
        return subprocess.run([sys.executable, "-c", script, picture, url], capture_output=True,
                              text=True, timeout=120, check=True).stdout.split()

    for url in (missing, results_only):  # pixels read, no database library
        assert scanned_with(url) == ["False", "True", "False"]
    assert main(["registry", "add", picture, "--owner", "test", "--db", with_original]) == 0
    assert may_hold_originals(with_original)
    assert scanned_with(with_original) == ["True", "True", "True"]  # the copy is recognised
