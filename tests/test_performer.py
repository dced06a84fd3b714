"""A performer's check of an ad and the registry's pages, through Flask's test client: the
answer page and its API, refusals that say what to do, removal that asks first."""

from __future__ import annotations

import html
import io
import re
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import TEST_MEDIA, TOKEN, csrf, media_file, text, wait_job, web_app

sys.path.insert(0, str(TEST_MEDIA))
import generate_registry  # noqa: E402

PHOTO = "plain_photo.jpg"  # a camera photo: no AI evidence


def bearer(token=TOKEN):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def ad(tmp_path_factory):
    """One generated original (a C2PA-signed ad with an "AI-generated" badge in its top-left
    corner) and a performer's screenshot of it in a feed, cropped through the badge and
    re-encoded."""
    out = tmp_path_factory.mktemp("ad")
    manifest = generate_registry.generate(out, originals=1, distractors=0, workers=1)
    original = out / manifest["originals"][0]["file"]
    feed = out / "feed.jpg"
    rgb = np.asarray(Image.open(original).convert("RGB"))
    feed.write_bytes(generate_registry.feed_screenshot(rgb, "performer"))
    return original, feed


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Full scans (pixels on): the registry's cross-check reads the pixels."""
    with web_app(tmp_path_factory.mktemp("web"), PIXELS=True) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def unlocked(client):
    token = csrf(client, "/registry")
    assert client.post("/registry/unlock",
                       data={"csrf_token": token, "token": TOKEN}).status_code == 303
    return token


def upload(path, name=None):
    return (io.BytesIO(path.read_bytes()), name or path.name)


def register(client, path, **form):
    response = client.post("/api/v1/registry", headers=bearer(),
                           data={"owner": "Mira Vale", "original": upload(path), **form})
    assert response.status_code == 201, response.text
    return response.json["asset"]


# -- the registry -----------------------------------------------------------------------------

@pytest.mark.slow
def test_a_camera_photo_is_refused_with_what_to_do_and_the_form_kept(client):
    token = unlocked(client)
    refused = client.post("/registry", data={
        "csrf_token": token, "owner": "Mira <Vale>", "note": "my photo",
        "original": media_file(PHOTO)}, content_type="multipart/form-data")
    assert refused.status_code == 422
    page = text(refused.text)
    assert "Not done: plain_photo.jpg: not registered: labelcheck found no AI evidence" in page
    assert "What to do: If this original is AI-made, declare it: tick" in page
    assert 'value="Mira &lt;Vale&gt;"' in refused.text and 'value="my photo"' in refused.text
    assert 'id="ai_made"' in refused.text  # the form to try again, on the same page
    added = client.post("/registry", data={
        "csrf_token": token, "owner": "Mira Vale", "ai_made": "yes",
        "original": media_file(PHOTO)}, content_type="multipart/form-data")
    assert added.status_code == 303
    assert "Its owner declared it AI-made" in text(client.get("/registry").text)


@pytest.mark.slow
def test_the_api_refuses_an_original_not_known_to_be_ai_made(client):
    refused = client.post("/api/v1/registry", headers=bearer(),
                          data={"owner": "A", "original": media_file(PHOTO, "photo.jpg")})
    assert refused.status_code == 422
    error = refused.json["error"]
    assert "no AI evidence" in error["message"] and "ai_made=true" in error["hint"]
    assert "/" not in error["message"].split(":")[0]  # no server path
    asset = register(client, TEST_MEDIA / PHOTO, ai_made="true")
    assert asset["declared_ai"] and asset["ai_made"] and asset["ai_evidence"] == []
    evidence = register(client, TEST_MEDIA / "iptc_ai.jpg")
    assert not evidence["declared_ai"] and evidence["ai_evidence"] == [
        "IPTC Digital Source Type trainedAlgorithmicMedia: AI-generated"]
    assert evidence["layers"] == ["IPTC/XMP declaration"]


def test_a_wrong_token_gives_the_registry_page_with_what_to_do(client):
    token = csrf(client, "/registry")
    wrong = client.post("/registry/unlock", data={"csrf_token": token, "token": "nope"})
    assert wrong.status_code == 403
    page = text(wrong.text)
    assert "Not done: the API token is not valid." in page
    assert "What to do: Check the token with the operator" in page
    assert 'id="token"' in wrong.text  # try again right there
    locked = client.post("/registry", data={"csrf_token": token, "owner": "A",
                                            "original": media_file("iptc_ai.jpg")},
                         content_type="multipart/form-data")
    assert locked.status_code == 401
    assert "What to do: Enter the API token in the form on the registry page" in text(
        locked.text)


def test_a_file_that_is_not_media_gets_the_registry_page_with_what_to_do(client):
    token = unlocked(client)
    refused = client.post("/registry", data={
        "csrf_token": token, "owner": "A", "original": (io.BytesIO(b"%!PS-Adobe\n"), "ad.eps")},
        content_type="multipart/form-data")
    assert refused.status_code == 415
    page = text(refused.text)
    assert "Not done: ad.eps: not an image, video or PDF that labelcheck reads" in page
    assert "What to do: Choose the picture or video file itself" in page


@pytest.mark.slow
def test_each_original_shows_what_it_disclosed_and_removal_asks_first(client, ad):
    original, _ = ad
    asset = register(client, original, note="spring")
    page = client.get("/registry").text
    assert f'href="/registry/{asset["id"]}/preview.jpg"' in page
    card = page[page.index(f'#{asset["id"]} orig_00.jpg'):]
    assert "badge “AI-generated” at the corner" in text(card) and "C2PA declaration" in card
    [(x, y)] = re.findall(r'class="mark mark-shown">\s*<rect x="(\d+)" y="(\d+)"',
                          page[page.index(f'/registry/{asset["id"]}/preview.jpg'):])
    assert [int(x), int(y)] == asset["disclosures"]["visible"][0]["box"][:2]
    preview = client.get(f"/registry/{asset['id']}/preview.jpg")
    assert preview.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(preview.data)) as picture:
        assert max(picture.size) == 640
    locked = client.get(f"/registry/{asset['id']}/remove")
    assert locked.status_code == 200 and "Unlock changes" in text(locked.text)
    assert "Remove original #" not in text(locked.text).split("?", 1)[1]
    token = unlocked(client)
    assert f'href="/registry/{asset["id"]}/remove"' in client.get("/registry").text
    confirm = text(client.get(f"/registry/{asset['id']}/remove").text)
    assert f"Remove original #{asset['id']} orig_00.jpg?" in confirm
    assert "This cannot be undone" in confirm and "Keep it" in confirm
    removed = client.post(f"/registry/{asset['id']}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert client.get(f"/registry/{asset['id']}/preview.jpg").status_code == 404


# -- the performer's check ----------------------------------------------------------------------

def test_check_page_offers_one_upload(client):
    page = client.get("/check")
    assert page.status_code == 200
    assert "Is this my avatar, and was its label removed?" in text(page.text)
    assert 'data-api="/api/v1/copy-checks"' in page.text
    two = client.post("/api/v1/copy-checks", data={"files": [media_file("plain.png"),
                                                             media_file("iptc_ai.jpg")]})
    assert two.status_code == 400 and "one ad at a time" in two.json["error"]["message"]


@pytest.mark.slow
def test_a_feed_screenshot_is_answered_on_the_page_and_by_the_api(client, ad):
    original, feed = ad
    asset = register(client, original, note="spring campaign")
    submitted = client.post("/api/v1/copy-checks", data={"files": [upload(feed)]})
    assert submitted.status_code == 202
    links = submitted.json["links"]
    job_id = submitted.json["id"]
    assert links["page"] == f"/jobs/{job_id}/copy"
    assert links["copy_check"] == f"/api/v1/jobs/{job_id}/copy-check"
    wait_job(client, job_id, timeout=300)
    [item] = client.get(links["copy_check"]).json["items"]
    [found] = item["copies"]
    assert found["asset_id"] == asset["id"] and found["owner"] == "Mira Vale"
    assert item["answer"].startswith(
        f'This is a copy of registered original #{asset["id"]} "orig_00.jpg" (Mira Vale: '
        "spring campaign), and its AI label was removed: the badge \"AI-generated\" was cut "
        "by the edge of the copy")
    assert item["answer"].endswith("the C2PA declaration was stripped.")
    [badge] = found["badges"]
    assert badge["state"] == "removed" and badge["copy_box"][0] == 0
    assert found["links"]["original_preview"] == f"/registry/{asset['id']}/preview.jpg"
    page = client.get(links["page"])
    assert page.status_code == 200 and "private" in page.headers["Cache-Control"]
    words = html.unescape(text(page.text))
    assert item["answer"] in words
    assert page.text.count('<figure class="picture marked">') == 2
    assert page.text.count('class="mark mark-removed"') == 2  # the badge boxed on both
    assert f'href="/registry/{asset["id"]}/preview.jpg"' in page.text
    assert f'href="/jobs/{job_id}/items/1/preview.jpg"' in page.text
    assert page.text.count('class="outline"') == 2  # each picture's edges in the other
    assert "Removed: the C2PA declaration was stripped" in words


@pytest.mark.slow
def test_an_ad_that_copies_nothing_registered_says_so(client):
    submitted = client.post("/check", data={"csrf_token": csrf(client, "/check"),
                                            "files": [media_file("ai_c2pa_signed.jpg")]},
                            content_type="multipart/form-data")
    assert submitted.status_code == 303 and submitted.headers["Location"].endswith("/copy")
    job_id = submitted.headers["Location"].split("/")[-2]
    wait_job(client, job_id, timeout=300)
    words = text(client.get(submitted.headers["Location"]).text)
    assert "No registered original was found in this file" in words
    assert "The full check of your upload: Disclosed" in words
