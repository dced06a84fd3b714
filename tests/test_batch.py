"""Batch mode: the guarded pool (time and memory limits), kill and resume, the dask engine,
progress, and the HTML report as Chromium shows it.

The batches are small files made by test_media/generate_batch.py (distinct contents, known
verdicts); bench/batch.py runs the large ones (throughput, memory over 10,000 files).
"""

import fcntl
import io
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest
from sqlalchemy import create_engine, text

from conftest import CHROMIUM, TEST_MEDIA, empty_database, jpeg_with_xmp, xmp_packet
from labelcheck.core.settings import Limits
from labelcheck.run.batch import scan_many
from labelcheck.cli.main import main
from labelcheck.writers.html import HtmlWriter
from labelcheck.core.model import Verdict
from labelcheck.core.policy import Policy
from labelcheck.run.progress import LineProgress, progress_for
from labelcheck.core.scanner import scan
from labelcheck.core.settings import Settings

sys.path.insert(0, str(TEST_MEDIA))
import generate_batch  # noqa: E402

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

GENERATED = TEST_MEDIA / "generated" / "batch"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Twelve small files of five kinds, with the verdict each should get."""
    folder = tmp_path_factory.mktemp("mixed")
    manifest = generate_batch.generate(folder, 12)
    return folder, {str(folder / item["file"]): item["verdict"] for item in manifest}


@pytest.fixture(scope="module")
def huge_png():
    """A 10,000 x 10,000 PNG (under the 100 MP decompression-bomb limit, a few hundred KB on
    disk): decoding it takes seconds and hundreds of MB, which is what the limits are for."""
    path = GENERATED / "huge_10000x10000.png"
    if not path.exists():
        from PIL import Image

        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (10_000, 10_000), (200, 180, 160)).save(path)
    return str(path)


def comparable(report_dict):
    return {key: value for key, value in report_dict.items() if key != "elapsed_ms"}


def scan_folder_cli(args, capsys):
    code = main(["scan", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


# -- the guarded pool ---------------------------------------------------------------------------

def test_pool_gives_the_reports_of_in_process_scans(mixed):
    folder, expected = mixed
    paths = sorted(expected)
    policy, settings = Policy.load("default"), Settings()
    pooled = list(scan_many(paths, policy, settings, 2))
    assert [r.path for r in pooled] == paths  # input order by default
    direct = [scan(path, policy, settings=settings) for path in paths]
    assert [comparable(r.to_dict()) for r in pooled] == [comparable(r.to_dict()) for r in direct]
    assert {r.path: r.verdict.value for r in pooled} == expected


def test_slow_and_huge_files_become_errors_and_the_batch_goes_on(mixed, huge_png):
    folder, expected = mixed
    paths = sorted(expected)[:6]
    batch = paths[:3] + [huge_png] + paths[3:]
    policy = Policy.load("default")

    timed = {r.path: r for r in scan_many(
        batch, policy, Settings(limits=Limits(timeout_s=1.5, memory_mb=None)), 2,
        ordered=False)}
    assert set(timed) == set(batch)
    assert timed[huge_png].verdict is Verdict.ERROR
    assert timed[huge_png].error == "scan took longer than 1.5 s (the per-file time limit)"
    assert timed[huge_png].sha256 and timed[huge_png].size == os.path.getsize(huge_png)
    assert {p: timed[p].verdict.value for p in paths} == {p: expected[p] for p in paths}

    guarded = {r.path: r for r in scan_many(
        batch, policy, Settings(limits=Limits(timeout_s=None, memory_mb=150)), 2,
        ordered=False)}
    assert guarded[huge_png].error == "scan used more than 150 MB (the per-file memory limit)"
    assert guarded[huge_png].summary.startswith("Could not read the file: scan used more")
    assert {p: guarded[p].verdict.value for p in paths} == {p: expected[p] for p in paths}


def test_a_failed_group_of_metadata_scans_costs_only_the_file_responsible(mixed, tmp_path):
    """A metadata scan sends its files to the workers in groups (`GROUP_FILES`): when one
    file of a group exhausts the memory limit, the group's other files are scanned again one
    by one and keep their reports; only that file gets the error."""
    from labelcheck.run.pool import GROUP_FILES

    folder, expected = mixed
    paths = sorted(expected)[:GROUP_FILES + 2]
    bloated = tmp_path / "trailer.jpg"  # a small JPEG and 160 MB after it, read whole
    bloated.write_bytes(Path(paths[0]).read_bytes() + bytes(160 * 2**20))
    batch = paths[:3] + [str(bloated)] + paths[3:]
    policy, settings = Policy.load("default"), Settings(pixels=False)
    direct = {path: scan(path, policy, settings=settings).verdict for path in paths}

    limited = Settings(pixels=False, limits=Limits(timeout_s=None, memory_mb=60))
    reports = list(scan_many(batch, policy, limited, 2))
    assert [r.path for r in reports] == batch
    failed = reports[3]
    assert failed.verdict is Verdict.ERROR
    assert failed.error == "scan used more than 60 MB (the per-file memory limit)"
    assert failed.size == os.path.getsize(bloated)
    assert {r.path: r.verdict for r in reports if r is not failed} == direct
    assert all(r.error is None for r in reports if r is not failed)


# -- kill and resume ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def resumable(tmp_path_factory):
    """Enough files that a two-worker scan lasts several seconds."""
    folder = tmp_path_factory.mktemp("resumable")
    manifest = generate_batch.generate(folder, 240)
    return folder, {str(folder / item["file"]): item["verdict"] for item in manifest}


def stored_rows(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(
                "select sha256, path, scanned_at from scan_results")).all()
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def results_url(request, tmp_path):
    """A fresh results database: a SQLite file, and PostgreSQL when CI has one."""
    return empty_database(request, tmp_path)


def test_killed_batch_resumes_with_every_file_exactly_once(resumable, results_url, tmp_path):
    """kill -9 of a 2-worker batch, then ``--resume``: every file exactly once in the output
    and in the store, on SQLite and on PostgreSQL."""
    folder, expected = resumable
    url = results_url
    first_out = tmp_path / "first.jsonl"
    command = [sys.executable, "-m", "labelcheck.cli.main", "scan", str(folder), "--db", url,
               "--workers", "2", "--format", "jsonl", "--out", str(first_out), "--quiet"]
    run = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
        written = first_out.read_text().count("\n") if first_out.exists() else 0
        if written >= 40:
            try:
                stored = len(stored_rows(url))
            except Exception:  # noqa: BLE001 - the table is still being made
                continue
            if stored and written > stored:
                break
    os.killpg(run.pid, signal.SIGKILL)  # the parent, the fork server and the workers
    assert run.wait() == -signal.SIGKILL, run.stderr.read().decode()
    before = {row.sha256: row.scanned_at for row in stored_rows(url)}
    first_lines = [json.loads(line) for line in first_out.read_text().splitlines()
                   if line.endswith("}")]
    assert 0 < len(before) < len(expected) and len(first_lines) < len(expected)

    second_out = tmp_path / "second.jsonl"
    assert main(["scan", str(folder), "--db", url, "--workers", "2", "--format", "jsonl",
                 "--out", str(second_out), "--resume", "--quiet"]) == 0
    second = [json.loads(line) for line in second_out.read_text().splitlines()]
    assert Counter(r["path"] for r in second) == Counter(list(expected))  # each file once
    assert {r["path"]: r["verdict"] for r in second} == expected
    rows = stored_rows(url)
    assert len(rows) == len({row.sha256 for row in rows}) == len(expected)
    assert all(row.scanned_at == before[row.sha256] for row in rows if row.sha256 in before)
    by_path = {r["path"]: r for r in second}
    for line in first_lines:  # a file stored by the first run comes back as it was printed
        if line["sha256"] in before:
            assert by_path[line["path"]] == line


def test_resume_needs_the_store(mixed, capsys):
    folder, _ = mixed
    assert main(["scan", str(folder), "--resume", "--no-store"]) == 2
    assert "--resume" in capsys.readouterr().err


def store_round_trip(url, mixed_paths):
    """Save reports twice (a rescan replaces its row), read them back for --resume."""
    from labelcheck.run import store

    engine = store.connect(url)
    policy, settings = Policy.load("default"), Settings()
    results = store.ResultStore(engine, policy, settings)
    reports = [scan(path, policy, settings=settings) for path in mixed_paths]
    for _ in range(2):
        for report in reports + reports[:1]:  # and a duplicate inside one transaction
            results.add(report)
        results.flush()
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from scan_results")).scalar() == \
            len(reports)
    found = results.lookup(r.sha256 for r in reports)
    assert {sha: row["verdict"] for sha, row in found.items()} == \
        {r.sha256: r.verdict.value for r in reports}
    assert store.ResultStore(engine, policy, Settings(pixels=False)).lookup(found) == {}
    restored = store.StoredReport(found[reports[0].sha256], "elsewhere.png")
    assert restored.to_dict() == {**reports[0].to_dict(), "path": "elsewhere.png"}
    assert [f.to_dict() for f in restored.findings] == [f.to_dict() for f in reports[0].findings]
    return engine


def test_store_keeps_one_row_per_file_and_setup(mixed, tmp_path):
    store_round_trip(f"sqlite:///{tmp_path / 'store.db'}", sorted(mixed[1])[:5])


def test_store_from_before_keyed_results_is_set_aside_not_lost(mixed, tmp_path):
    """A database written by an earlier labelcheck (results table without the `setup` column
    or unique key) still takes new results, and its old rows stay readable."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with create_engine(url).begin() as connection:
        connection.execute(text(
            "CREATE TABLE scan_results (id INTEGER PRIMARY KEY, sha256 VARCHAR(64), path TEXT "
            "NOT NULL, policy VARCHAR(200) NOT NULL, labelcheck_version VARCHAR(40) NOT NULL, "
            "verdict VARCHAR(20) NOT NULL, report TEXT NOT NULL, scanned_at DATETIME NOT NULL)"))
        connection.execute(text("CREATE INDEX ix_scan_results_sha256 ON scan_results (sha256)"))
        connection.execute(text(
            "INSERT INTO scan_results (sha256, path, policy, labelcheck_version, verdict, "
            "report, scanned_at) VALUES ('ab', 'old.png', 'default', '0.0.9', 'disclosed', "
            "'{}', '2026-01-01 00:00:00')"))
    engine = store_round_trip(url, sorted(mixed[1])[:3])
    with engine.connect() as connection:
        old = connection.execute(text("select path from scan_results_unkeyed_0")).scalars()
        assert list(old) == ["old.png"]


def test_store_on_postgresql(mixed, pg_url):
    store_round_trip(pg_url, sorted(mixed[1])[:5])


# -- the dask engine ----------------------------------------------------------------------------

def test_dask_cluster_gives_the_local_reports(mixed, capsys):
    distributed = pytest.importorskip("distributed")
    folder, expected = mixed
    args = [str(folder), "--format", "jsonl", "--no-store", "--quiet"]
    _, local, _ = scan_folder_cli(args + ["--workers", "2"], capsys)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        code, remote, _ = scan_folder_cli(
            args + ["--engine", "dask", "--scheduler", cluster.scheduler_address], capsys)
    assert code == 0 and len(remote) == len(expected)
    by_path = lambda rows: {r["path"]: comparable(r) for r in rows}  # noqa: E731
    assert by_path(remote) == by_path(local)


def test_fsspec_urls_are_scanned_like_paths(mixed, capsys):
    folder, expected = mixed
    _, rows, _ = scan_folder_cli([f"file://{folder}", "--format", "jsonl", "--no-store",
                                  "--quiet", "--workers", "2"], capsys)
    assert {r["path"].removeprefix("file://"): r["verdict"] for r in rows} == expected


# -- progress -----------------------------------------------------------------------------------

def test_progress_lines_in_logs(mixed):
    folder, expected = mixed
    result = subprocess.run([sys.executable, "-m", "labelcheck.cli.main", "scan", str(folder),
                             "--format", "csv", "--no-store", "--workers", "2"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    last = result.stderr.strip().splitlines()[-1]
    counts = Counter(expected.values())
    assert last.startswith(f"labelcheck: {len(expected)}/{len(expected)} files (100%), ")
    assert "files/s, in " in last
    for verdict in Verdict:
        assert (f"{verdict.value} {counts[verdict.value]}" in last) == bool(counts[verdict.value])

    lines = io.StringIO()
    progress = LineProgress(4, lines, every=0)
    for report in scan_many(sorted(expected)[:4], Policy.load("default"), Settings(), 1):
        progress.update(report)
    shown = lines.getvalue().splitlines()
    assert shown[0].startswith("labelcheck: 1/4 files (25%), ") and " s left; " in shown[0]
    assert len(shown) == 4


def test_progress_bar_on_a_terminal():
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 160, 0, 0))
    with os.fdopen(follower, "w") as terminal:
        report = scan(generate_batch.make_file(1)[1], name="a1111.png")
        progress = progress_for(2, stream=terminal)
        for _ in range(2):
            progress.update(report)
        progress.close()
    shown = b""
    try:
        while select.select([leader], [], [], 0.5)[0]:
            shown += os.read(leader, 65536)
    except OSError:  # EIO: everything written was read
        pass
    os.close(leader)
    shown = shown.decode()
    assert "2/2" in shown and "undisclosed 2" in shown and "file/s" in shown


# -- the HTML report ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report_folder(tmp_path_factory, mixed):
    """Mixed files, an XSS payload in XMP and in a file name, a labelled ad (visible label with
    its box; needs the label fonts), and a file that is deleted before the report is made."""
    folder = tmp_path_factory.mktemp("report")
    for path in sorted(mixed[1])[:5]:
        (folder / Path(path).name).write_bytes(Path(path).read_bytes())
    xmp = xmp_packet(f"<Iptc4xmpExt:DigitalSourceType>{xml_escape(XSS)}"
                     "</Iptc4xmpExt:DigitalSourceType>",
                     'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"')
    (folder / "xss_xmp.jpg").write_bytes(jpeg_with_xmp(xmp))
    (folder / '<img src=x onerror="window.__xss=3">.jpg').write_bytes(
        generate_batch.make_file(0)[1])
    (folder / "gone.png").write_bytes(generate_batch.make_file(2)[1])
    try:
        import generate_labels

        generate_labels.generate(folder / "ads", 1, 0, workers=1)
    except RuntimeError:  # FontMissingError: no labelled ad, no box to check
        return folder, False
    return folder, True


def test_html_report_in_chromium(report_folder, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    folder, with_ad = report_folder
    paths = sorted(str(p) for p in folder.rglob("*") if p.suffix in (".jpg", ".png"))
    reports = list(scan_many(paths, Policy.load("eu-ai-act"),
                             Settings(display=HtmlWriter.display), 2))
    os.remove(folder / "gone.png")  # the writer opens no file: its picture is in the report
    page_file = tmp_path / "report.html"
    with open(page_file, "w", encoding="utf-8") as stream:
        writer = HtmlWriter(stream)
        for report in reports:
            writer.write(report)
        writer.close()
    verdicts = Counter(r.verdict.value for r in reports)
    labelled = [r for r in reports if any(f.channel == "visible" for f in r.findings)]
    assert len(labelled) == with_ad

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        fetched = []
        page.on("request", lambda request: fetched.append(request.url))
        page.goto(page_file.as_uri())
        assert fetched == [page_file.as_uri()]  # self-contained: nothing else is loaded
        assert page.evaluate("window.__xss") is None
        assert page.locator("script").count() == 1
        assert XSS in page.locator("body").text_content()  # shown as text, not run
        assert any('onerror="window.__xss=3">.jpg' in shown
                   for shown in page.locator(".path").all_inner_texts())

        rows = page.locator("#files tr.file")
        assert rows.count() == len(reports)
        for verdict, count in verdicts.items():
            assert page.locator(f'button[data-filter="{verdict}"] b').inner_text() == str(count)
        assert page.locator("svg.chart").count() == 2
        assert "eu-ai-act" in page.locator(".policy").inner_text()

        assert page.locator(".picture svg image").count() == len(reports)  # gone.png's too
        assert page.locator(".nothumb").count() == 0
        for report in labelled:
            row = rows.filter(has_text=report.path)
            box = next(f.location["box"] for f in report.findings if f.channel == "visible")
            drawn = row.locator("g.box rect").first
            assert [int(float(drawn.get_attribute(k))) for k in ("x", "y", "width", "height")] \
                == box

        page.select_option("#verdict", "disclosed")
        assert page.locator("#files tr.file:visible").count() == verdicts["disclosed"]
        assert page.locator("#shown").inner_text() == str(verdicts["disclosed"])
        page.select_option("#verdict", "")
        page.fill("#q", "a1111")
        assert page.locator("#files tr.file:visible").count() == \
            sum("a1111" in r.path for r in reports)
        row = page.locator("#files tr.file:visible").first
        row.locator("details summary").click()
        assert "png_text" in row.locator("table.findings").inner_text()
        browser.close()


def html_of(*reports) -> str:
    out = io.StringIO()
    writer = HtmlWriter(out)
    for report in reports:
        writer.write(report)
    writer.close()
    return out.getvalue()


def test_html_row_shows_a_video_timeline(mixed):
    """A report carrying a video timeline (as the video source stores it) gets a bar with one
    span per labelled interval; a video that cannot be shown gets a placeholder picture."""
    from labelcheck.run.store import StoredReport

    base = scan(sorted(mixed[1])[0]).to_dict()
    timeline = {"duration_s": 10.0, "first_label_s": 2.0, "coverage": 0.5, "frames": [],
                "intervals": [{"start_s": 2.0, "end_s": 7.0, "text": "AI generated", "lang": "en",
                               "box": [1, 2, 3, 4], "text_height_px": 12}]}
    html = html_of(StoredReport({**base, "kind": "video", "timeline": timeline},
                                "/nowhere/clip.mp4"))
    assert '<rect class="span" x="200.0" y="8" width="500.0" height="32">' in html
    assert "visible for <strong>50 %</strong> of the video (10.0 s long)" in html
    assert 'class="nothumb">video<' in html


def test_html_row_of_a_labelled_video():
    """A real labelled clip: its frame (made by the scan) as the thumbnail, the label's box on
    it, the timeline."""
    import generate_labels
    import generate_videos

    try:
        generate_labels.resolve_fonts()
    except generate_labels.FontMissingError as exc:
        pytest.skip(str(exc))
    clip = generate_videos.ensure_clips(GENERATED.parent / "videos")["label_throughout"]
    report = scan(clip, settings=Settings(display=HtmlWriter.display))
    seen = [f for f in report.timeline["frames"] if f["label_seen"]]
    assert seen
    html = html_of(report)
    assert "data:image/jpeg;base64," in html and 'class="span"' in html
    box = min(seen, key=lambda f: abs(f["time_s"] - report.timeline["first_label_s"]))["box"]
    assert f'<rect x="{box[0]}" y="{box[1]}" width="{box[2]}" height="{box[3]}"' in html
