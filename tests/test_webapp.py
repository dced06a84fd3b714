"""The web app through Flask's test client: every route, every refusal, hostile input.

One app (one worker process, metadata-only scans for speed) serves most tests; limits are
changed per test through its config, which Flask and the views read on every request.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import struct
import sys
import zipfile

import pytest
from sqlalchemy import select, update

from conftest import (TEST_MEDIA, TOKEN, csrf, empty_database, jpeg_with_xmp, load_expected,
                      make_app, media_file, submit, text, wait_job, web_app)
from labelcheck.writers import WRITERS
from webapp.jobs import items as job_items
from webapp.uploads import ZipLimits

EXPECTED = {entry["file"]: entry for entry in load_expected(TEST_MEDIA / "EXPECTED.json")}
HEADLINES = {"stripped": "Stripped: this is AI-made and its label was removed or broken",
             "disclosed": "Disclosed: this is AI-made and it is labelled",
             "undisclosed": "Not disclosed: this is AI-made",
             "no_ai_signal": "No AI signal:", "error": "Could not check:"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("web"))
    yield app
    app.extensions["labelcheck"].jobs.shutdown(cancel=True)


@pytest.fixture
def client(app):
    return app.test_client()


def upload_files(app):
    return sorted(os.listdir(app.extensions["labelcheck"].upload_dir))


# -- pages --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/campaign", "/registry", "/api"])
def test_pages_render_with_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert '<meta name="viewport"' in response.text
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.text and " style=" not in response.text  # CSP: no inline


def test_static_files_served(client):
    assert "XMLHttpRequest" in client.get("/static/app.js").text
    assert ".banner" in client.get("/static/style.css").text


def test_form_upload_shows_verdict_evidence_and_downloads(client):
    name = "ai_c2pa_tampered.jpg"
    response = client.post("/scan", data={"csrf_token": csrf(client), "policy": "default",
                                          "files": [media_file(name)]},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    page_url = response.headers["Location"]
    job_id = page_url.rsplit("/", 1)[1]
    job = wait_job(client, job_id)
    assert job["items"][0]["verdict"] == EXPECTED[name]["verdict"] == "stripped"
    page = client.get(page_url).text
    assert HEADLINES["stripped"] in text(page)
    assert "assertion.dataHash.mismatch" in page  # the evidence, with its C2PA code
    assert "C2PA manifest store" in page and "Ingredient" not in page  # the manifest tree
    assert 'http-equiv="refresh"' not in page  # finished: no more polling
    preview = client.get(f"{page_url}/items/1/preview.jpg")
    assert preview.status_code == 200 and preview.data.startswith(b"\xff\xd8\xff")
    caching = {part.strip() for part in preview.headers["Cache-Control"].split(",")}
    assert "private" in caching and "public" not in caching  # no shared cache keeps it
    assert HEADLINES["stripped"] in text(client.get(f"{page_url}/items/1").text)
    for fmt in WRITERS:
        download = client.get(f"{page_url}/download/{fmt}")
        assert download.status_code == 200
        assert "attachment" in download.headers["Content-Disposition"]
        assert name in download.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(client.get(f"{page_url}/download/csv").text)))
    assert [row["verdict"] for row in rows] == ["stripped"]
    api_json = client.get(f"/api/v1/jobs/{job_id}/report/json")
    assert json.loads(api_json.data)[0]["verdict"] == "stripped"


def test_api_scan_of_many_files_matches_expected_verdicts(client):
    names = ["ai_c2pa_signed.jpg", "iptc_ai.jpg", "plain_photo.jpg", "ai_c2pa_ingredient_only.jpg"]
    response = submit(client, *(media_file(name) for name in names))
    assert response.headers["Location"] == response.json["links"]["self"]
    assert response.json["status"] in ("queued", "running")
    job = wait_job(client, response.json["id"])
    assert job["status"] == "done" and job["total"] == 4
    for item, name in zip(job["items"], names):
        assert item["name"] == name
        assert item["verdict"] == item["report"]["verdict"] == EXPECTED[name]["verdict"]
    page = client.get(job["links"]["page"]).text
    assert all(name in page for name in names)
    item_page = client.get(f"{job['links']['page']}/items/4").text
    assert "Ingredient" in item_page and "generated.jpg (parentOf)" in item_page
    assert "signingCredential.untrusted" in item_page


def test_job_survives_a_reload_while_running(client):
    job_id = submit(client, media_file("iptc_ai.jpg")).json["id"]
    first = client.get(f"/jobs/{job_id}").text
    assert "iptc_ai.jpg" in first
    wait_job(client, job_id)
    assert HEADLINES["disclosed"] in text(client.get(f"/jobs/{job_id}").text)


def test_decompression_bomb_pixels_are_refused_with_reason(tmp_path):
    with web_app(tmp_path, PIXELS=True) as app:  # the bomb is in the pixels
        client = app.test_client()
        job = wait_job(client, submit(client, media_file("png_bomb_header.png")).json["id"])
    report = job["items"][0]["report"]
    refused = [f for f in report["findings"] if f["code"] == "media.pixels_undecodable"]
    assert report["verdict"] == "no_ai_signal"  # the metadata's verdict, as with --no-ocr
    assert refused and "decompression bomb" in refused[0]["message"]
    assert "decompression bomb" in client.get(job["links"]["page"]).text


def test_svg_upload_with_a_long_prologue_is_read_for_its_metadata(tmp_path):
    """An SVG's root element can sit far past the first 64 bytes: uploads are sniffed as
    far as `identify` needs."""
    prologue = "<!-- " + "exported by a vector editor " * 20 + "-->\n"
    svg = ('<?xml version="1.0"?>\n' + prologue + '<svg xmlns="http://www.w3.org/2000/svg" '
           'width="8" height="8"><rect width="8" height="8"/></svg>').encode()
    with web_app(tmp_path, PIXELS=True) as app:  # to hear about the pixels
        client = app.test_client()
        job = wait_job(client, submit(client, (io.BytesIO(svg), "drawing.svg")).json["id"])
    report = job["items"][0]["report"]
    assert report["media_type"] == "image/svg+xml" and report["verdict"] == "no_ai_signal"
    assert any(f["code"] == "media.pixels_not_decoded" for f in report["findings"])


def test_mislabelled_upload_is_read_by_content(client):
    job = wait_job(client, submit(client, media_file("mislabelled_png.jpg")).json["id"])
    report = job["items"][0]["report"]
    assert report["media_type"] == "image/png"
    assert any(f["code"] == "media.mislabelled" for f in report["findings"])
    assert "named like a JPEG file but the content is PNG" in client.get(
        job["links"]["page"]).text


def test_video_picture_comes_from_the_worker(client):
    """A video's picture is its first frame, made by the worker (metadata-only scans sample
    no timeline frames); no route decodes a frame on request."""
    job = wait_job(client, submit(client, media_file("plain.mp4")).json["id"])
    item = f"{job['links']['page']}/items/1"
    preview = client.get(f"{item}/preview.jpg")
    assert preview.status_code == 200 and preview.data.startswith(b"\xff\xd8\xff")
    assert "the frame at 0.0 s" in client.get(item).text
    assert client.get(f"{item}/frames/0.jpg").status_code == 404  # no timeline, no frames
    assert client.get(f"{item}/frame.png?t=0.2").status_code == 404


def test_timeline_and_boxes_render_from_the_report(app):
    """The presentation of a video timeline and of pixel boxes, from report dicts as the
    scanner writes them."""
    report = {"verdict": "stripped", "summary": "s", "policy": "default", "path": "v.mp4",
              "kind": "video", "disclosures": {}, "requirements": [],
              "findings": [{"detector": "visible_label", "kind": "ai_declaration",
                            "code": "visible.label", "message": "AI generated",
                            "location": {"box": [10, 20, 30, 8]}, "confidence": 0.9}],
              "timeline": {"duration_s": 10.0, "first_label_s": 2.5, "coverage": 0.4,
                           "intervals": [{"start_s": 2.5, "end_s": 6.5, "text": "AI <b>",
                                          "lang": "en", "box": [1, 2, 3, 4],
                                          "text_height_px": 12}],
                           "frames": [{"time_s": 3.0, "label_seen": True, "box": [1, 2, 3, 4]}]}}
    frame = {"size": [100, 50], "time_s": 3.0, "label_seen": True, "box": [1, 2, 3, 4]}
    item = {"position": 1, "status": "done", "verdict": "stripped", "report": report,
            "extras": {"preview": frame, "frames": [frame]}, "name": "v.mp4"}
    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("_report.html").module.report_view
        html = str(macro({"id": "J", "total": 1}, item))
    assert 'class="span" x="250.0"' in html and 'width="400.0"' in html
    assert "first appears at <strong>2.5 s</strong>" in html and "40 %" in html
    assert "/jobs/J/items/1/preview.jpg" in html and "/jobs/J/items/1/frames/0.jpg" in html
    assert html.count('<rect x="1" y="2" width="3" height="4"') == 2  # on the picture, frame
    assert "the frame at 3.0 s" in html
    assert "AI &lt;b&gt;" in html and "AI <b>" not in html

    still = {**report, "kind": "image", "timeline": None}
    item = {**item, "report": still, "extras": {"preview": {"size": [100, 50],
                                                             "time_s": None}}}
    with app.test_request_context("/"):
        html = str(macro({"id": "J", "total": 1}, item))
    assert '<rect x="10" y="20" width="30" height="8"' in html and "box 1" in html


# -- refusals -----------------------------------------------------------------------------------

def test_form_without_csrf_token_is_refused(client):
    response = client.post("/scan", data={"files": [media_file("plain.png")]},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "did not come from this site" in response.text


def test_unknown_things_are_404(client):
    assert client.get("/jobs/nope").status_code == 404
    api = client.get("/api/v1/jobs/nope")
    assert api.status_code == 404 and "no such job" in api.json["error"]["message"]
    assert client.get("/api/v1/nothing").json["error"]["status"] == 404
    job_id = submit(client, media_file("plain.png")).json["id"]
    wait_job(client, job_id)
    assert client.get(f"/jobs/{job_id}/items/9").status_code == 404
    assert client.get(f"/jobs/{job_id}/items/9/preview.png").status_code == 404
    assert client.get(f"/jobs/{job_id}/download/exe").status_code == 404
    assert client.get(f"/api/v1/jobs/{job_id}/report/exe").status_code == 404
    assert client.get(f"/jobs/{job_id}/items/1/frame.png?t=1").status_code == 404  # an image


def test_wrong_method_is_405(client):
    assert client.get("/scan").status_code == 405
    assert client.delete("/api/v1/scans").json["error"]["status"] == 405


def test_empty_upload_and_bad_policies_are_refused(client):
    assert "choose at least one" in client.post(
        "/api/v1/scans", data={}, content_type="multipart/form-data").json["error"]["message"]
    for policy in ("nope", "/etc/passwd", "../labelcheck/policies/default.toml"):
        response = client.post("/api/v1/scans", data={"policy": policy,
                                                      "files": [media_file("plain.png")]},
                               content_type="multipart/form-data")
        assert response.status_code == 400 and "unknown policy" in response.json["error"]["message"]


@pytest.mark.parametrize("name", ["random_bytes.png", "text_named.jpg", "zero_bytes.jpg"])
def test_non_media_upload_is_refused_by_content(app, client, name):
    before = upload_files(app)
    response = client.post("/api/v1/scans", data={"files": [media_file("plain.png"),
                                                            media_file(name)]},
                           content_type="multipart/form-data")
    assert response.status_code == 415
    assert name in response.json["error"]["message"]
    assert "not an image, video or PDF" in response.json["error"]["message"]
    assert upload_files(app) == before  # the accepted first file was removed too


def test_oversized_upload_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 50_000)
    response = client.post("/api/v1/scans", data={"files": [media_file("ai_c2pa_signed.png")]},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.json["error"]["message"]
    page = client.post("/scan", data={"files": [media_file("ai_c2pa_signed.png")]},
                       content_type="multipart/form-data")
    assert page.status_code == 413 and "The limit is 0.04768 MiB" in page.text


def test_too_many_files_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_FILES", 2)
    response = client.post("/api/v1/scans", data={"files": [
        media_file("plain.png"), media_file("plain_photo.jpg"), media_file("iptc_ai.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert "over the limit of 2" in response.json["error"]["message"]


def test_rate_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_LIMIT", "2 per minute")
    codes = [client.post("/api/v1/scans", data={}, content_type="multipart/form-data")
             .status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    response = client.post("/api/v1/scans", data={}, content_type="multipart/form-data")
    assert "Too many requests" in response.json["error"]["message"]
    assert "2 per 1 minute" in response.json["error"]["message"]


# -- hostile metadata ---------------------------------------------------------------------------

XSS_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
    '&lt;script&gt;alert(1)&lt;/script&gt;" '
    'xmp:CreatorTool="Midjourney &lt;img src=x onerror=alert(2)&gt;">'
    '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">&lt;script&gt;alert(3)&lt;/script&gt;'
    '</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>')


def assert_neutralised(response, raw: list[str], escaped: list[str]):
    html = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for unsafe in raw:
        assert unsafe not in html
    for safe in escaped:
        assert safe in html


def test_xss_in_xmp_and_file_name_is_escaped(client):
    upload = (io.BytesIO(jpeg_with_xmp(XSS_XMP)), '<svg onload=alert(4)>.jpg')
    job = wait_job(client, submit(client, upload).json["id"])
    assert any("Midjourney <img" in f["message"] for f in job["items"][0]["report"]["findings"])
    for path in (job["links"]["page"], f"{job['links']['page']}/items/1"):
        assert_neutralised(
            client.get(path),
            raw=["<script>alert(1)", "<img src=x onerror", "<svg onload", "alert(4)>"],
            escaped=["&lt;script&gt;alert(1)&lt;/script&gt;",
                     "Midjourney &lt;img src=x onerror=alert(2)&gt;",
                     "&lt;svg onload=alert(4)&gt;.jpg"])


def test_xss_in_c2pa_title_and_generator_is_escaped(client):
    pytest.importorskip("cryptography")
    sys.path.insert(0, str(TEST_MEDIA))
    import generate

    pki = generate.build_test_pki()
    manifest = generate.ai_manifest('<script>alert("c2pa")</script>',
                                    generator="<img src=x onerror=alert(5)>")
    signed = generate.c2pa_sign((TEST_MEDIA / "plain_photo.jpg").read_bytes(), "image/jpeg",
                                manifest, pki)
    job = wait_job(client, submit(client, (io.BytesIO(signed), "signed.jpg")).json["id"])
    assert job["items"][0]["verdict"] == "disclosed"
    assert_neutralised(client.get(job["links"]["page"]),
                       raw=['<script>alert("c2pa")', "<img src=x onerror=alert(5)"],
                       escaped=["&lt;script&gt;alert(&#34;c2pa&#34;)&lt;/script&gt;",
                                "&lt;img src=x onerror=alert(5)&gt;"])


# -- campaigns ----------------------------------------------------------------------------------

def make_zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def post_zip(client, buffer, name="campaign.zip"):
    return client.post("/api/v1/campaigns", data={"archive": (buffer, name)},
                       content_type="multipart/form-data")


def test_campaign_zip_scans_every_file(client):
    names = ["ai_c2pa_tampered.jpg", "iptc_ai.jpg", "plain.png"]
    entries = {f"ads/{name}": (TEST_MEDIA / name).read_bytes() for name in names}
    entries["ads/readme.txt"] = b"not media"
    entries["__MACOSX/ads/._plain.png"] = b"junk"
    response = post_zip(client, make_zip(entries))
    assert response.status_code == 202 and response.json["kind"] == "campaign"
    job = wait_job(client, response.json["id"])
    assert [item["name"] for item in job["items"]] == [f"ads/{n}" for n in names] + [
        "ads/readme.txt"]
    verdicts = [item["verdict"] for item in job["items"]]
    assert verdicts == [EXPECTED[n]["verdict"] for n in names] + ["error"]
    assert "not a supported" in job["items"][3]["report"]["error"]
    page = client.get(job["links"]["page"]).text
    assert "Campaign audit: campaign.zip" in page
    assert ("1 of 4 creatives fails Any intact AI disclosure: 1 carries C2PA credentials "
            "changed after signing. Of the rest, 1 meets it, 1 shows no AI evidence and 1 "
            "could not be read.") in text(page)
    assert re.search(r'data-filter="stripped"[^>]*><b>1</b> stripped', page)
    rows = list(csv.DictReader(io.StringIO(client.get(job["links"]["reports"]["csv"]).text)))
    assert len(rows) == 4


def test_campaign_form_page(client):
    response = client.post("/campaign", data={
        "csrf_token": csrf(client, "/campaign"),
        "archive": (make_zip({"a.png": (TEST_MEDIA / "plain.png").read_bytes()}), "c.zip")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    job = wait_job(client, response.headers["Location"].rsplit("/", 1)[1])
    assert job["verdicts"] == {"no_ai_signal": 1}


def test_zip_bomb_by_ratio_is_refused(app, client):
    before = upload_files(app)
    response = post_zip(client, make_zip({"bomb.png": bytes(30 << 20)}))
    assert response.status_code == 413 and "zip bomb" in response.json["error"]["message"]
    assert upload_files(app) == before


def test_zip_over_total_size_or_entry_count_is_refused(app, client, monkeypatch):
    services = app.extensions["labelcheck"]
    monkeypatch.setattr(services, "zip_limits", ZipLimits(entries=3, total_bytes=20_000,
                                                          ratio=100))
    many = post_zip(client, make_zip({f"{n}.png": b"x" for n in range(4)}))
    assert many.status_code == 413 and "4 files" in many.json["error"]["message"]
    photo = (TEST_MEDIA / "plain_photo.jpg").read_bytes()
    big = post_zip(client, make_zip({"a.jpg": photo, "b.jpg": photo}, zipfile.ZIP_STORED))
    assert big.status_code == 413 and "MiB" in big.json["error"]["message"]


def test_zip_whose_header_lies_about_sizes_is_refused(app, client):
    """A central directory that declares a tiny entry over a large one: extraction stops at
    the declared size (and the damage is reported), never writing more."""
    data = make_zip({"a.png": bytes(2 << 20)}).getvalue()
    central = data.rfind(b"PK\x01\x02")
    patched = bytearray(data)
    struct.pack_into("<I", patched, central + 24, 100)  # uncompressed size
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", patched, local + 22, 100)
    before = upload_files(app)
    response = post_zip(client, io.BytesIO(bytes(patched)))
    assert response.status_code == 400  # zipfile stops at the declared size: a CRC error
    assert response.json["error"]["message"].startswith("the zip file is damaged: ")
    assert upload_files(app) == before


@pytest.mark.parametrize("name", ["../evil.png", "/etc/evil.png", "C:\\evil.png",
                                  "ads/../../evil.png", "ads\\..\\..\\evil.png"])
def test_zip_path_traversal_is_refused(app, client, name):
    before = upload_files(app)
    response = post_zip(client, make_zip({"ok.png": (TEST_MEDIA / "plain.png").read_bytes(),
                                          name: b"x"}))
    assert response.status_code == 400
    assert "leaves the archive" in response.json["error"]["message"]
    assert upload_files(app) == before


def test_zip_symlink_and_garbage_are_refused(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    buffer.seek(0)
    response = post_zip(client, buffer)
    assert response.status_code == 400 and "symbolic link" in response.json["error"]["message"]
    response = post_zip(client, io.BytesIO(b"not a zip at all"))
    assert response.status_code == 400 and "not a readable zip" in response.json["error"]["message"]
    assert post_zip(client, make_zip({"__MACOSX/x": b"x"})).status_code == 400  # nothing in it
    assert client.post("/api/v1/campaigns", data={}).status_code == 400


# -- registry -----------------------------------------------------------------------------------

def bearer(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.slow
def test_registry_api(client):
    original = lambda: media_file("ai_c2pa_signed.png", "avatar <b>.png")  # noqa: E731
    form = {"owner": "Jane <Doe>", "note": "spring"}
    missing = client.post("/api/v1/registry", data={**form, "original": original()})
    assert missing.status_code == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    wrong = client.post("/api/v1/registry", data={**form, "original": original()},
                        headers=bearer("nope"))
    assert wrong.status_code == 403 and "not valid" in wrong.json["error"]["message"]
    no_owner = client.post("/api/v1/registry", data={"original": original()}, headers=bearer())
    assert no_owner.status_code == 400
    broken = client.post("/api/v1/registry",
                         data={**form, "original": media_file("truncated.mp4")}, headers=bearer())
    assert broken.status_code == 422, broken.text
    assert "truncated.mp4" in broken.json["error"]["message"]
    added = client.post("/api/v1/registry", data={**form, "original": original()},
                        headers=bearer())
    assert added.status_code == 201, added.text
    asset = added.json["asset"]
    assert asset["owner"] == "Jane <Doe>" and asset["title"] == "avatar_b.png"
    assert client.get(f"/api/v1/registry/{asset['id']}").json["asset"]["id"] == asset["id"]
    assert asset["id"] in [a["id"] for a in client.get("/api/v1/registry").json["assets"]]
    assert "Jane &lt;Doe&gt;" in client.get("/registry").text
    assert client.delete(f"/api/v1/registry/{asset['id']}").status_code == 401
    assert client.delete(f"/api/v1/registry/{asset['id']}",
                         headers=bearer("x")).status_code == 403
    assert client.delete(f"/api/v1/registry/{asset['id']}", headers=bearer()).status_code == 204
    assert client.delete(f"/api/v1/registry/{asset['id']}", headers=bearer()).status_code == 404
    assert client.get(f"/api/v1/registry/{asset['id']}").status_code == 404


def test_registry_writes_are_off_without_a_configured_token(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN", None)
    response = client.delete("/api/v1/registry/1", headers=bearer())
    assert response.status_code == 403 and "switched off" in response.json["error"]["message"]
    assert "switched off" in client.get("/registry").text


def test_registry_pages_unlock_add_remove(client):
    token = csrf(client, "/registry")
    wrong = client.post("/registry/unlock", data={"csrf_token": token, "token": "nope"})
    assert wrong.status_code == 403 and "not valid" in wrong.text
    refused = client.post("/registry", data={"csrf_token": token, "owner": "A",
                                             "original": media_file("iptc_ai.jpg")},
                          content_type="multipart/form-data")
    assert refused.status_code == 401
    assert client.post("/registry/unlock", data={"csrf_token": token, "token": TOKEN}) \
        .status_code == 303
    page = client.get("/registry").text
    assert 'id="owner"' in page
    added = client.post("/registry", data={"csrf_token": token, "owner": "Acme",
                                           "original": media_file("iptc_ai.jpg")},
                        content_type="multipart/form-data")
    assert added.status_code == 303
    asset_id = int(added.headers["Location"].rsplit("=", 1)[1])
    assert "Acme" in client.get("/registry").text
    removed = client.post(f"/registry/{asset_id}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert client.post(f"/registry/{asset_id}/delete", data={"csrf_token": token}) \
        .status_code == 404
    assert client.post("/registry/lock", data={"csrf_token": token}).status_code == 303
    assert 'id="owner"' not in client.get("/registry").text


# -- API description ----------------------------------------------------------------------------

def test_openapi_documents_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, operations in document["paths"].items()
                  for method in operations}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served.update((path, method) for method in rule.methods - {"HEAD", "OPTIONS"})
    assert served == documented


def test_policies_api(client):
    names = [policy["name"] for policy in client.get("/api/v1/policies").json["policies"]]
    assert "default" in names and "eu-ai-act" in names


# -- restarts -----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """An empty database for the web tables: a SQLite file, and PostgreSQL when CI has one."""
    return empty_database(request, tmp_path)


@pytest.mark.slow
def test_jobs_survive_a_server_restart(tmp_path, database):
    """Submit, stop the server with work still queued, start a new one on the same database:
    the job finishes. An item left 'running' by a crash is scanned again; one that already
    stopped the scanner MAX_ATTEMPTS times is given up with a reason."""
    first = make_app(tmp_path, database)
    client = first.test_client()
    names = ["iptc_ai.jpg", "plain.png", "plain_photo.jpg", "aigc_xmp.jpg", "a1111.png"]
    job_id = submit(client, *(media_file(name) for name in names)).json["id"]
    other_id = submit(client, media_file("plain.png")).json["id"]
    first.extensions["labelcheck"].jobs.shutdown(cancel=True)
    engine = first.extensions["labelcheck"].jobs.engine
    with engine.begin() as connection:
        statuses = connection.execute(select(job_items.c.status).where(
            job_items.c.job_id == job_id)).scalars().all()
        assert "queued" in statuses  # work was left undone
        connection.execute(update(job_items).where(job_items.c.job_id == job_id,
                                                   job_items.c.position == 5)
                           .values(status="running"))
        connection.execute(update(job_items).where(job_items.c.job_id == other_id)
                           .values(status="running", attempts=3))
    del first, client

    second = make_app(tmp_path, database)
    try:
        client = second.test_client()
        job = wait_job(client, job_id)
        assert job["status"] == "done"
        assert [item["verdict"] for item in job["items"]] == [
            EXPECTED[name]["verdict"] for name in names]
        other = client.get(f"/api/v1/jobs/{other_id}").json
        assert other["status"] == "error" and "stopped 3 times" in other["items"][0]["error"]
    finally:
        second.extensions["labelcheck"].jobs.shutdown(cancel=True)


def test_stopping_the_server_finishes_the_scans_under_way(tmp_path):
    """A server told to stop (SIGTERM) starts no more files and records the ones it was
    scanning; what waits stays queued for the next one."""
    app = make_app(tmp_path)
    jobs = app.extensions["labelcheck"].jobs
    client = app.test_client()
    names = ["iptc_ai.jpg", "plain.png", "plain_photo.jpg", "aigc_xmp.jpg", "a1111.png"]
    job_id = submit(client, *(media_file(name) for name in names)).json["id"]
    jobs.shutdown()
    statuses = [item["status"] for item in client.get(f"/api/v1/jobs/{job_id}").json["items"]]
    assert statuses.count("done") == 2  # one worker and the one kept for small files
    assert statuses.count("queued") == 3



def test_video_sampling_is_the_operators_choice(tmp_path):
    """``VIDEO_SAMPLING`` reaches every scan's settings; a value that is not one stops the
    start, named, instead of failing each video later."""
    from conftest import web_app

    with web_app(tmp_path / "a", VIDEO_SAMPLING="thorough") as app:
        assert app.extensions["labelcheck"].jobs.settings.video_sampling == "thorough"
    with pytest.raises(ValueError, match="VIDEO_SAMPLING must be one of fast, standard"):
        make_app(tmp_path / "b", VIDEO_SAMPLING="quick")
