"""Shared fixtures: where the bundled and the third-party media live, and a private store."""

import contextlib
import io
import json
import os
import re
import secrets
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_MEDIA = ROOT / "test_media"
REAL_MEDIA = ROOT.parent / "shared" / "real_media"


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    """Every test gets its own results database and user data directory, never the user's:
    the CLI reads ``LABELCHECK_DB``, and a scan given no database uses the data directory."""
    url = f"sqlite:///{tmp_path / 'labelcheck.db'}"
    monkeypatch.setenv("LABELCHECK_DB", url)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return url


def empty_database(request, tmp_path) -> str:
    """The URL of an empty database for a test parametrized over ``sqlite``/``postgresql``: a
    new SQLite file, or a schema of its own on CI's PostgreSQL server (`pg_url`; the test is
    skipped without one)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url():
    """The URL of a new, empty PostgreSQL database on the test server
    (``LABELCHECK_TEST_PG_URL``; skipped when unset): a schema of its own, dropped afterwards,
    so that every test starts from no tables and leaves none behind."""
    base = os.environ.get("LABELCHECK_TEST_PG_URL")
    if not base:
        pytest.skip("LABELCHECK_TEST_PG_URL is not set (no PostgreSQL server)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(base).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright drives it, nothing is downloaded
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason="no /usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, one per test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def media():
    """Path of a bundled test file by name."""
    return lambda name: TEST_MEDIA / name


@pytest.fixture(scope="session")
def clips():
    """The generated test videos (`test_media/generate_videos.py`), written once."""
    import sys

    sys.path.insert(0, str(TEST_MEDIA))
    import generate_labels
    import generate_videos

    try:
        generate_labels.resolve_fonts()
    except generate_labels.FontMissingError as exc:
        pytest.skip(str(exc))
    return generate_videos.ensure_clips(TEST_MEDIA / "generated" / "videos")


@pytest.fixture(scope="session")
def real_media():
    if not REAL_MEDIA.is_dir():
        pytest.skip("../shared/real_media is not available")
    return REAL_MEDIA


def load_expected(path: Path) -> list:
    return json.loads(path.read_text()) if path.is_file() else []


def small_jpeg(size=(64, 48)) -> bytes:
    """A tiny real JPEG with no metadata."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 140, 160)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def with_app_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """`jpeg` with one more APPn segment right after SOI."""
    import struct

    return jpeg[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload \
        + jpeg[2:]


def jpeg_with_xmp(xmp: str) -> bytes:
    return with_app_segment(small_jpeg(), 0xE1, b"http://ns.adobe.com/xap/1.0/\0"
                            + xmp.encode("utf-8"))


def xmp_packet(body: str, namespaces: str = "") -> str:
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {namespaces}>{body}</rdf:Description>'
            '</rdf:RDF></x:xmpmeta>')


def png_with_text(chunks: dict, size=(64, 48), mode="RGB") -> bytes:
    """A tiny real PNG carrying the given iTXt chunks (keyword -> text)."""
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for keyword, text in chunks.items():
        info.add_itxt(keyword, text)
    buffer = io.BytesIO()
    Image.new(mode, size, (90, 100, 110)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


# -- the web app ----------------------------------------------------------------------------

TOKEN = "test-token-123"


def make_app(tmp, db=None, **config):
    """A web app on its own database and upload folder (one worker, metadata-only scans
    unless `config` says otherwise)."""
    from webapp import create_app

    return create_app({"DB": db or f"sqlite:///{tmp / 'web.db'}",
                       "UPLOAD_DIR": str(tmp / "uploads"),
                       "SCAN_WORKERS": 1, "PIXELS": False, "API_TOKEN": TOKEN,
                       "SUBMIT_RATE_LIMIT": "1000 per minute", "TESTING": True, **config})


@contextlib.contextmanager
def web_app(tmp, **config):
    """`make_app` whose workers are stopped afterwards."""
    app = make_app(tmp, **config)
    try:
        yield app
    finally:
        app.extensions["labelcheck"].jobs.shutdown(cancel=True)


def text(html: str) -> str:
    """What a reader sees: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":")


def csrf(client, path="/"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def media_file(name, as_name=None):
    return (io.BytesIO((TEST_MEDIA / name).read_bytes()), as_name or name)


def wait_job(client, job_id, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json
        if job["status"] in ("done", "error"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def submit(client, *files, policy="default", **headers):
    response = client.post("/api/v1/scans", data={"policy": policy, "files": list(files)},
                           content_type="multipart/form-data", headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response


def tampered_camera_photo() -> bytes:
    """A camera photo whose C2PA credentials say "digital capture" (not AI) and whose pixels
    were changed after signing: no AI evidence, but a broken credential, which a trust team
    must see (test_media/generate.py signs with its test CA)."""
    import sys

    sys.path.insert(0, str(TEST_MEDIA))
    import generate

    manifest = generate.ai_manifest("camera.jpg", source_type=generate.DIGITAL_CAPTURE,
                                    generator="Labelcheck Test Camera")
    signed = generate.c2pa_sign((TEST_MEDIA / "plain_photo.jpg").read_bytes(), "image/jpeg",
                                manifest, generate.build_test_pki())
    return generate.tamper_jpeg_scan(signed)
