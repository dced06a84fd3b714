"""Safe by construction (issue 11): hostile names and ordinary faults.

A name from outside (an upload's name, a path, a URL) is a display string: no writer and no page
opens it; pictures come from the scan worker. Web scans run in the guarded pool with the CLI's
limits, and a small picture never waits behind large uploads. Only regular files are opened.
Names that are not UTF-8 reach every output and the store, escaped reversibly. Faults (a full
disk, a killed batch) end with a clear message and lose nothing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import create_engine, text as sql

from conftest import ROOT, TEST_MEDIA, media_file, submit, wait_job, web_app
from labelcheck.cli.main import main
from labelcheck.core.model import Report
from labelcheck.core.names import display_name, one_line, unescape_name
from labelcheck.core.policy import Policy
from labelcheck.core.scanner import scan
from labelcheck.core.settings import Display, Limits, Settings
from labelcheck.run import batch, store
from labelcheck.writers import WRITERS, inert
from labelcheck.writers.html import HtmlWriter
from webapp.cli import exposure_warning
from webapp.local_server import free_port, running_server

RED, BLUE = (220, 30, 30), (30, 30, 220)


def jpeg_of(colour, size=(96, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def mean_colour(jpeg: bytes) -> tuple[int, ...]:
    image = Image.open(io.BytesIO(jpeg)).convert("RGB").resize((1, 1), Image.Resampling.BOX)
    return image.getpixel((0, 0))


def near(colour, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


def embedded_pictures(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in
            re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", html)]


@contextmanager
def listening_socket():
    """A TCP socket on loopback that records and hangs up every connection (a fetch of a URL
    that only a user typed); yields (its URL, the connections' count so far)."""
    connections: list[tuple] = []
    with closing(socket.socket()) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def answer():
            while True:
                try:
                    connection, address = listener.accept()
                except OSError:  # closed: the test is over
                    return
                connections.append(address)
                connection.close()

        threading.Thread(target=answer, daemon=True).start()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/clip.mp4", connections


# -- no writer and no page opens a user-supplied name ----------------------------------------

def test_web_report_shows_the_uploaded_pixels_whatever_the_uploader_named_them(tmp_path):
    """Uploads named after a server file (absolute, and ``../`` from the server's folder) and
    a video named after a URL on a listening socket: every report (page picture, HTML
    download) shows the uploaded pixels, and the socket receives nothing."""
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg_of(BLUE))
    names = [str(secret), os.path.relpath(secret, os.getcwd())]
    assert names[1].startswith("..")
    with listening_socket() as (url, connections), web_app(tmp_path) as app:
        client = app.test_client()
        still_jobs = [submit(client, (io.BytesIO(jpeg_of(RED)), name)).json["id"]
                      for name in names]
        video_job = submit(client, media_file("plain.mp4", url)).json["id"]
        for job_id in still_jobs:
            job = wait_job(client, job_id)
            assert job["items"][0]["name"] in names
            html = client.get(f"/api/v1/jobs/{job_id}/report/html").text
            [thumbnail] = embedded_pictures(html)
            assert near(mean_colour(thumbnail), RED)
            preview = client.get(f"/jobs/{job_id}/items/1/preview.jpg")
            assert near(mean_colour(preview.data), RED)
        job = wait_job(client, video_job)
        assert job["items"][0]["report"]["path"] == url
        html = client.get(f"/api/v1/jobs/{video_job}/report/html").text
        assert len(embedded_pictures(html)) == 1  # the video's frame, made by the worker
        assert client.get(f"/jobs/{video_job}/items/1").status_code == 200
        assert client.get(f"/jobs/{video_job}/items/1/preview.jpg").status_code == 200
        time.sleep(0.5)
        assert connections == []


def test_html_writer_opens_no_path_and_fetches_no_url(tmp_path):
    """A report without display evidence (a stored one) gets a placeholder: the writer never
    reads the file its path names, nor fetches a URL."""
    picture = tmp_path / "real.jpg"
    picture.write_bytes(jpeg_of(BLUE))
    with listening_socket() as (url, connections):
        reports = [scan(picture), Report(path=url, media_kind="video")]
        out = io.StringIO()
        writer = HtmlWriter(out)
        for report in reports:
            writer.write(report)
        writer.close()
        time.sleep(0.5)
        assert connections == []
    assert embedded_pictures(out.getvalue()) == []
    assert out.getvalue().count('class="nothumb"') == 2


def test_cli_html_pictures_come_from_the_scan(tmp_path):
    """``--format html`` asks the scans for 240 px pictures (`Writer.display`): made where the
    file was scanned, so a file deleted before the report is written still shows."""
    picture = tmp_path / "red.jpg"
    picture.write_bytes(jpeg_of(RED, (2400, 1600)))
    report = scan(picture, settings=Settings(display=HtmlWriter.display))
    picture.unlink()
    assert report.evidence.picture.size == (2400, 1600)
    assert max(Image.open(io.BytesIO(report.evidence.picture.jpeg)).size) == 240
    out = io.StringIO()
    writer = HtmlWriter(out)
    writer.write(report)
    writer.close()
    [thumbnail] = embedded_pictures(out.getvalue())
    assert near(mean_colour(thumbnail), RED)
    assert "evidence" not in report.to_dict()  # never in the JSON contract


def test_c2pa_store_is_read_once_for_the_verdict_and_the_tree(monkeypatch):
    from labelcheck.sources.c2pa import reading

    calls = []
    read = reading.read_store
    monkeypatch.setattr(reading, "read_store",
                        lambda *a, **k: calls.append(a) or read(*a, **k))
    report = scan(TEST_MEDIA / "ai_c2pa_signed.jpg",
                  settings=Settings(pixels=False, display=Display(side=64)))
    assert len(calls) == 1
    assert report.evidence.c2pa_tree["label"] == "C2PA manifest store"


# -- the web app's scans: the guarded pool -----------------------------------------------------

def long_video(path: Path) -> Path:
    """A 3-minute 640x360 clip of moving scenery: its 225 samples take several seconds to scan
    on any machine, well past the 1 s limit below."""
    sys.path.insert(0, str(TEST_MEDIA))
    import generate_videos

    return generate_videos.write_clip(path, width=640, height=360, fps=5, seconds=180,
                                      label_at=lambda t: None, patch=None)


def thumbnail_jpeg() -> io.BytesIO:
    """A 120x90 photo: its whole scan, OCR included, takes a fraction of the 1 s limit below
    even while two video scans load the machine (the 480x360 photo could take a second)."""
    from PIL import Image

    data = io.BytesIO()
    with Image.open(TEST_MEDIA / "plain_photo.jpg") as photo:
        photo.resize((120, 90)).save(data, "JPEG", quality=90)
    data.seek(0)
    return data


def test_web_video_over_the_time_limit_does_not_hold_up_a_small_picture(tmp_path):
    """Two long videos and then a small JPEG, one worker: the videos get the CLI's time-limit
    error, and the JPEG, scanned by the process kept for small files, is done first."""
    video = long_video(tmp_path / "long.mp4").read_bytes()
    with web_app(tmp_path, PIXELS=True, TIMEOUT=1) as app:
        client = app.test_client()
        videos = [submit(client, (io.BytesIO(video), f"long{n}.mp4")).json["id"]
                  for n in (1, 2)]
        small = submit(client, (thumbnail_jpeg(), "small.jpg")).json["id"]
        assert wait_job(client, small, timeout=60)["items"][0]["verdict"] == "no_ai_signal"
        states = [client.get(f"/api/v1/jobs/{job_id}").json["status"] for job_id in videos]
        assert "running" in states or "queued" in states  # the picture did not wait for both
        for job_id in videos:
            report = wait_job(client, job_id)["items"][0]["report"]
            assert report["verdict"] == "error"
            assert report["error"] == "scan took longer than 1 s (the per-file time limit)"


def cli_reports(path, capsys) -> list[dict]:
    assert main(["scan", str(path), str(path), "--max-memory", "200", "--format", "jsonl",
                 "--no-store", "--quiet"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_pixel_limit_follows_the_memory_limit(tmp_path, capsys):
    """A 100 MP picture under a 200 MB memory limit is refused for its size at once (the
    pixel limit that fits), not killed half decoded: in the web app and in the CLI (a pixels
    problem, not an error: its metadata still gives the verdict)."""
    big = tmp_path / "big.png"
    Image.new("L", (10_000, 10_000), 128).save(big)
    with web_app(tmp_path, PIXELS=True, MAX_MEMORY=200) as app:
        client = app.test_client()
        job = wait_job(client, submit(client, (io.BytesIO(big.read_bytes()), "big.png"))
                       .json["id"])
    for report in [job["items"][0]["report"]] + cli_reports(big, capsys):
        [refused] = [f for f in report["findings"] if f["code"] == "media.pixels_undecodable"]
        assert "over the 15 MP limit" in refused["message"]
    assert Limits(memory_mb=2048).max_pixels() == 120_000_000  # the default keeps 120 MP


def test_web_results_share_the_cli_store_key(tmp_path, capsys):
    """The web writes the results store with the CLI's setup digest: ``scan --resume`` of
    the same bytes under the same settings finds the web's result."""
    with web_app(tmp_path) as app:
        client = app.test_client()
        job = wait_job(client, submit(client, media_file("iptc_ai.jpg")).json["id"])
        url = app.extensions["labelcheck"].db_url
    with create_engine(url).connect() as connection:
        [setup] = connection.execute(sql("select setup from scan_results")).scalars().all()
    assert setup == store.setup_digest(Policy.load("default"), Settings(pixels=False))
    assert main(["scan", str(TEST_MEDIA / "iptc_ai.jpg"), "--db", url, "--no-ocr",
                 "--resume", "--format", "jsonl", "--quiet"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    web = job["items"][0]["report"]
    assert json.loads(line) == {**web, "path": str(TEST_MEDIA / "iptc_ai.jpg")}  # stored


def test_web_has_one_pool_implementation():
    source = (ROOT / "webapp" / "jobs.py").read_text()
    assert "ProcessPoolExecutor" not in source and "guarded_pool" in source


# -- regular files only ------------------------------------------------------------------------

@pytest.fixture
def special_files(tmp_path):
    """A folder with a picture, a named pipe, a socket and a symlink loop, all named .jpg."""
    folder = tmp_path / "special"
    folder.mkdir()
    (folder / "plain.jpg").write_bytes((TEST_MEDIA / "plain_photo.jpg").read_bytes())
    os.mkfifo(folder / "pipe.jpg")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock.jpg"))
    os.symlink("loop.jpg", folder / "loop.jpg")
    yield folder
    server.close()


def run_cli(*args, timeout=120):
    """`labelcheck` in a process of its own; a hang fails the test instead of blocking it."""
    return subprocess.run([sys.executable, "-m", "labelcheck.cli.main", *args], cwd=ROOT,
                          capture_output=True, timeout=timeout)


def test_pipes_sockets_and_devices_are_errors_at_once(special_files, tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    expected = {"pipe.jpg": "not a regular file (a named pipe)",
                "sock.jpg": "not a regular file (a socket)",
                "null": "not a regular file (a device)",
                "loop.jpg": "could not read the file: Too many levels of symbolic links",
                "plain.jpg": None}
    for extra in ([], ["--resume"]):
        done = run_cli("scan", str(special_files), "/dev/null", "--db", db, "--workers", "2",
                       "--format", "jsonl", "--no-ocr", "--quiet", *extra)
        assert done.returncode == 0, done.stderr.decode()
        reports = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
        assert {name: r["error"] for name, r in reports.items()} == expected
    alone = run_cli("scan", str(special_files / "pipe.jpg"), "--no-store", "--format", "json")
    assert json.loads(alone.stdout)[0]["error"] == "not a regular file (a named pipe)"


# -- names that are not UTF-8, newlines, formulas ----------------------------------------------

HOSTILE_NAMES = [b"caf\xe9.jpg", b"new\nline.jpg", b"back\\slash.jpg", b"\xe2\x80\xaegpj.jpg",
                 b"=HYPERLINK(\"evil\").jpg", b"+1.jpg", b"-2.jpg", b"@SUM.jpg",
                 b"a.jpg\n  DISCLOSED: forged record.jpg"]


@pytest.fixture
def hostile_folder(tmp_path):
    folder = os.path.join(os.fsencode(tmp_path), b"hostile")
    os.mkdir(folder)
    data = (TEST_MEDIA / "iptc_ai.jpg").read_bytes()
    for number, name in enumerate(HOSTILE_NAMES):  # distinct bytes: one store row each
        with open(os.path.join(folder, name), "wb") as out:
            out.write(data + bytes([number]))
    return os.fsdecode(folder)


def test_display_names_round_trip():
    for raw in HOSTILE_NAMES + [b"plain.jpg", "文件.png".encode(), b"\x01\x7f\xff"]:
        shown = display_name(raw)
        assert shown.isprintable() and shown.encode("utf-8")
        assert unescape_name(shown) == raw
    assert display_name("plain name.jpg") == "plain name.jpg"
    assert display_name(b"caf\xe9.jpg") == "caf\\xe9.jpg"
    assert one_line("a\nb\\c") == "a\\nb\\c"


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_hostile_names_reach_every_output_and_the_store(hostile_folder, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    db = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["scan", hostile_folder, "--format", fmt, "--out", str(out), "--db", db,
                 "--workers", "2", "--no-ocr", "--quiet"]) == 0
    shown = [display_name(os.path.join(os.fsencode(hostile_folder), name))
             for name in HOSTILE_NAMES]
    body = out.read_text("utf-8")
    if fmt == "jsonl":
        paths = [json.loads(line)["path"] for line in body.splitlines()]
    elif fmt == "json":
        paths = [report["path"] for report in json.loads(body)]
    elif fmt == "csv":
        paths = [row["path"].removeprefix("'") for row in csv.DictReader(io.StringIO(body))]
    elif fmt == "text":  # a block starts with its path; every other line is indented
        paths = [line for line in body.splitlines()
                 if line and not line.startswith(" ") and not re.match(r"\d+ file|no_ai", line)]
    else:
        from html import unescape

        paths = [unescape(found.replace("<wbr>", ""))
                 for found in re.findall(r'<div class="path">(.*?)</div>', body)]
    assert sorted(paths) == sorted(shown)
    assert {unescape_name(path) for path in paths} == \
        {os.path.join(os.fsencode(hostile_folder), name) for name in HOSTILE_NAMES}
    with create_engine(db).connect() as connection:
        stored = connection.execute(sql("select path from scan_results")).scalars().all()
    assert sorted(stored) == sorted(shown)


def test_text_output_cannot_be_forged_by_a_name(hostile_folder, tmp_path):
    out = tmp_path / "report.txt"
    assert main(["scan", hostile_folder, "--out", str(out), "--no-store", "--no-ocr",
                 "--quiet"]) == 0
    lines = out.read_text().splitlines()
    assert "  DISCLOSED: forged record.jpg" not in lines
    assert sum(bool(re.match(r"  [A-Z_]+: ", line)) for line in lines) == len(HOSTILE_NAMES)


def test_csv_cells_never_start_a_formula(hostile_folder, tmp_path, monkeypatch):
    """Files named on the command line as they are (``=HYPERLINK(...)``, ``+1``, ``-2``,
    ``@SUM``): their path cells start with ``'``, which a spreadsheet shows as text."""
    out = tmp_path / "report.csv"
    monkeypatch.chdir(hostile_folder)
    names = sorted(name for name in os.listdir(".") if name[0] in "=+-@")
    assert len(names) == 4
    assert main(["scan", "--format", "csv", "--out", str(out), "--no-store", "--no-ocr",
                 "--quiet", "--", *names]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(row["path"] for row in rows) == sorted("'" + name for name in names)
    for row in rows:
        assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r"))
                       for value in row.values())
    assert inert("=1+1") == "'=1+1" and inert("\tx") == "'\tx" and inert("ok") == "ok"
    assert inert(-1) == -1  # numbers are not text


# -- faults ----------------------------------------------------------------------------------

def test_full_disk_on_out_is_a_one_line_error(tmp_path, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    code = main(["scan", str(TEST_MEDIA / "iptc_ai.jpg"), "--out", "/dev/full", "--no-store"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "labelcheck: cannot write /dev/full: No space left on device\n"


def test_damaged_pdf_is_an_error():
    complete = minimal_pdf()
    assert scan(complete, name="ok.pdf").verdict.value == "no_ai_signal"
    for damaged, reason in ((complete[:-40], "PDF truncated"),
                            (re.sub(rb"startxref\n\d+", b"startxref\n3", complete),
                             "no cross-reference table at byte 3")):
        report = scan(damaged, name="damaged.pdf")
        assert report.verdict.value == "error" and reason in report.error


def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 4\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_resume_hashes_each_file_once(tmp_path, monkeypatch):
    """``--resume`` hashes every file to look it up; the files still to scan carry that hash
    to their scan, which does not hash them again."""
    from labelcheck.formats import media as media_module
    from labelcheck.run import inputs

    files = []
    for number in range(3):
        path = tmp_path / f"{number}.jpg"
        path.write_bytes((TEST_MEDIA / "iptc_ai.jpg").read_bytes() + bytes([number]))
        files.append(str(path))
    policy, settings = Policy.load("default"), Settings(pixels=False)
    results = store.ResultStore(store.connect(f"sqlite:///{tmp_path / 's.db'}"), policy,
                                settings)
    list(batch.scan_batch(files[:1], policy, settings, results=results, workers=1,
                          guarded=False))
    hashed = []
    digest = hashlib.file_digest
    monkeypatch.setattr(inputs.hashlib, "file_digest",
                        lambda handle, name: hashed.append(handle.name) or digest(handle, name))
    monkeypatch.setattr(media_module.hashlib, "sha256",
                        lambda *data: hashed.append("in memory") or hashlib.new("sha256", *data))
    reports = list(batch.scan_batch(files, policy, settings, results=results, resume=True,
                                    workers=1, guarded=False))
    assert sorted(r.path for r in reports) == files
    assert len(hashed) == len(files)  # once each: for the lookup, never again for the scan
    assert all(r.sha256 == hashlib.sha256(Path(r.path).read_bytes()).hexdigest()
               for r in reports)


# -- the server ----------------------------------------------------------------------------------

def test_upload_over_the_limit_gets_the_api_json_413(tmp_path):
    """Through waitress (the real server): an upload over MAX_CONTENT_LENGTH is answered by
    the app's JSON error, not waitress's plain text or a reset."""
    env = {"LABELCHECK_MAX_CONTENT_LENGTH": "200000", "LABELCHECK_SCAN_WORKERS": "1",
           "LABELCHECK_PIXELS": "false"}
    with running_server(tmp_path, env=env) as url:
        response = requests.post(url + "/api/v1/scans", timeout=60,
                                 files={"files": ("big.jpg", b"\xff\xd8\xff" + b"0" * 500_000)})
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["message"] == \
        "The upload is too large. The limit is 0.1907 MiB."


def test_serving_beyond_loopback_warns(tmp_path):
    port = free_port()
    env = {**os.environ, "LABELCHECK_UPLOAD_DIR": str(tmp_path / "uploads"),
           "LABELCHECK_SCAN_WORKERS": "1", "LABELCHECK_PIXELS": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "labelcheck.cli.main", "serve", "--host", "0.0.0.0",
         "--port", str(port), "--db", f"sqlite:///{tmp_path / 'w.db'}"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        lines = [server.stderr.readline() for _ in range(2)]
    finally:
        server.terminate()
        server.wait(30)
    assert lines[0].startswith("labelcheck: warning: serving on 0.0.0.0, beyond this machine")
    assert "set LABELCHECK_SCAN_TOKEN" in lines[0]
    assert lines[1].startswith("labelcheck: serving on http://0.0.0.0:")
    assert "scan uploads need the scan token" in exposure_warning("::", {"SCAN_TOKEN": "x"})


def test_scan_token_protects_uploads(tmp_path):
    with web_app(tmp_path, SCAN_TOKEN="s3cret") as app:
        client = app.test_client()

        def post(**headers):
            return client.post("/api/v1/scans", data={"files": [media_file("plain.png")]},
                               content_type="multipart/form-data", headers=headers)

        assert post().status_code == 401
        assert post(Authorization="Bearer wrong").status_code == 403
        wait_job(client, submit(client, media_file("plain.png"),
                                Authorization="Bearer s3cret").json["id"])
        page = client.get("/").text
        assert 'name="token"' in page and 'type="password"' in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = {"csrf_token": token, "files": [media_file("plain.png")]}
        assert client.post("/scan", data=form, content_type="multipart/form-data") \
            .status_code == 401
        form = {**form, "token": "s3cret", "files": [media_file("plain.png")]}
        assert client.post("/scan", data=form, content_type="multipart/form-data") \
            .status_code == 303


def test_uploads_are_deleted_once_reported_and_jobs_expire(tmp_path):
    with web_app(tmp_path, KEEP_HOURS=1) as app:
        client = app.test_client()
        jobs = app.extensions["labelcheck"].jobs
        job = wait_job(client, submit(client, media_file("plain_photo.jpg")).json["id"])
        stored = jobs.item(job["id"], 1)["stored"]
        assert sorted(os.listdir(jobs.upload_dir)) == [f"{stored}.preview.jpg",
                                                      f"{stored}.thumbnail.jpg"]
        assert jobs.expire() == 0  # not yet an hour old
        later = time.time() + 2 * 3600
        from datetime import datetime, timezone

        assert jobs.expire(datetime.fromtimestamp(later, timezone.utc)) == 1
        assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 404
    assert os.listdir(tmp_path / "uploads") == []


def test_no_message_reveals_the_upload_folder(tmp_path):
    """A full upload folder (a tiny tmpfs): the refusal says why without the server's path."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(uploads)],
                      capture_output=True).returncode:
        pytest.skip("mounting a tmpfs is not allowed here")
    try:
        with web_app(tmp_path) as app:
            client = app.test_client()
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as bundle:
                bundle.writestr("big.jpg", b"\xff\xd8\xff" + os.urandom(200_000))
            archive.seek(0)
            response = client.post("/api/v1/campaigns", data={"archive": (archive, "c.zip")},
                                   content_type="multipart/form-data")
            upload = client.post("/api/v1/scans", content_type="multipart/form-data",
                                 data={"files": [(io.BytesIO(b"\xff\xd8\xff" + os.urandom(200_000)),
                                                  "x.jpg")]})
    finally:
        subprocess.run(["umount", str(uploads)], check=True)
    for refused in (response, upload):
        assert refused.status_code == 507
        message = refused.json["error"]["message"]
        assert "No space left on device" in message and str(uploads) not in message
