"""Watch jobs in the web app: off unless the operator names what may be watched, URLs checked
before anything runs, a watch started from a URL, its timeline and events (polled and as a
stream), stopped, its report and evidence downloaded; a restarted server ends what it left."""

from __future__ import annotations

import io
import json
import sys
import time
import zipfile

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, TEST_MEDIA, csrf, needs_chromium, text, web_app
from streams import HttpFolder, hls, needs_ffmpeg, stop, wait_for

sys.path.insert(0, str(TEST_MEDIA))
import generate_videos  # noqa: E402

ALLOW = "127.0.0.1/32"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A recorded HLS stream of the live clip (label gone from 3 s to 11 s), served on
    127.0.0.1; yields its playlist URL."""
    folder = tmp_path_factory.mktemp("hls")
    clip = generate_videos.build_live_clip(folder)
    hls(clip, folder, realtime=False).wait(timeout=120)
    with HttpFolder(folder) as server:
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with web_app(tmp_path_factory.mktemp("web"), WATCH_ALLOW=ALLOW) as app:
        yield app
        app.extensions["labelcheck"].watches.shutdown()


@pytest.fixture
def client(app):
    return app.test_client()


def wait_ended(client, watch_id, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watch = client.get(f"/api/v1/watches/{watch_id}").json
        if watch["status"] == "ended":
            return watch
        time.sleep(0.3)
    raise AssertionError(f"watch {watch_id} did not end: {watch}")


def test_watching_is_off_until_the_operator_allows_it(tmp_path):
    with web_app(tmp_path) as off:
        client = off.test_client()
        response = client.post("/api/v1/watches", json={"url": "https://example.com/a.m3u8"})
        assert response.status_code == 403
        assert "LABELCHECK_WATCH_ALLOW" in response.json["error"]["message"]
        assert "switched off" in text(client.get("/watch").text)


@pytest.mark.parametrize("url, says", [
    ("http://10.0.0.8/live.m3u8",
     "10.0.0.8 is at a private address, which the allow-list does not name"),
    ("http://[::1]:8000/live.m3u8", "::1 is at a loopback address, which the allow-list does"),
    ("http://localhost:8000/live.m3u8", "localhost is not in the allow-list"),
    ("file:///etc/passwd", "only http and https"),
    ("/etc/passwd", "only http and https"),
    ("rtmp://127.0.0.1/live/room", "only http and https"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "cannot watch gopher"),
])
def test_urls_outside_the_allow_list_are_refused_before_anything_runs(client, app, url, says):
    response = client.post("/api/v1/watches", data={"url": url})
    assert response.status_code == 403, response.json
    assert says in response.json["error"]["message"]
    assert not app.extensions["labelcheck"].watches.processes


@needs_ffmpeg
@pytest.mark.slow
def test_a_watch_from_start_to_report(client, app, recorded):
    response = client.post("/api/v1/watches", json={
        "url": recorded.url("live.m3u8"), "policy": "cn-live-commerce-2026", "grace": 2})
    assert response.status_code == 202, response.json
    watch = response.json
    assert watch["status"] == "running" and response.headers["Location"] == watch["links"]["self"]
    ended = wait_ended(client, watch["id"])
    assert ended["verdict"] == "undisclosed" and ended["reason"] == "the source ended the stream"
    assert "no label from" in ended["summary"]
    states = [span["state"] for span in ended["bar"]["spans"]]
    assert states == ["shown", "missing", "shown"], ended["bar"]
    events = client.get(f"/api/v1/watches/{watch['id']}/events").json["events"]
    kinds = [event["event"] for event in events]
    for kind in ("started", "label_shown", "label_missing", "label_back", "ended"):
        assert kind in kinds
    later = client.get(f"/api/v1/watches/{watch['id']}/events?after=2").json
    assert [event["seq"] for event in later["events"]] == [e["seq"] for e in events[2:]]
    assert client.get(f"/api/v1/watches/{watch['id']}/events?after=x").status_code == 400

    report = client.get(f"/api/v1/watches/{watch['id']}/report/json")
    assert report.status_code == 200 and json.loads(report.data)[0]["verdict"] == "undisclosed"
    html = client.get(f"/watches/{watch['id']}/report/html").text
    assert "data:image/jpeg;base64," in html  # the first label's frame, made by the watch
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        f"/api/v1/watches/{watch['id']}/evidence.zip").data))
    names = archive.namelist()
    assert "events.jsonl" in names and "report.json" in names
    shown = next(event for event in events if event["event"] == "label_shown")
    assert f"pictures/{shown['evidence']}" in names
    picture = client.get(f"/watches/{watch['id']}/evidence/{shown['evidence']}")
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    assert "private" in picture.headers["Cache-Control"]
    for name in ("report.json", "..%2Freport.json", "log.txt", "x.jpg"):
        assert client.get(f"/watches/{watch['id']}/evidence/{name}").status_code == 404

    page = client.get(f"/watches/{watch['id']}")
    assert page.status_code == 200 and "<script>" not in page.text and " style=" not in page.text
    assert 'class="state-missing"' in page.text and "Ended:" in text(page.text)
    assert "private" in page.headers["Cache-Control"]

    stream = client.get(f"/api/v1/watches/{watch['id']}/events/stream",
                        headers={"Last-Event-ID": "3"})
    assert stream.mimetype == "text/event-stream"
    body = stream.get_data(as_text=True)
    ids = [int(line[4:]) for line in body.splitlines() if line.startswith("id: ")]
    assert ids == [e["seq"] for e in events[3:]] and body.rstrip().endswith("data: {}")


@needs_ffmpeg
@pytest.mark.slow
def test_a_running_watch_is_stopped_from_its_page(client, app, tmp_path):
    folder = tmp_path / "live"
    folder.mkdir()
    clip = generate_videos.build_live_clip(folder)
    with HttpFolder(folder) as server:
        encoder = hls(clip, folder)  # in real time: 16 s
        try:
            wait_for(folder / "live.m3u8")
            form = {"csrf_token": csrf(client, "/watch"), "url": server.url("live.m3u8"),
                    "policy": "cn-live-commerce-2026", "grace": "2"}
            response = client.post("/watch", data=form)
            assert response.status_code == 303
            page_url = response.headers["Location"]
            watch_id = page_url.rsplit("/", 1)[1]
            deadline = time.monotonic() + 60
            while not client.get(f"/api/v1/watches/{watch_id}/events").json["events"]:
                assert time.monotonic() < deadline
                time.sleep(0.3)
            page = client.get(page_url).text
            assert "Watching now" in text(page) and "Stop watching" in page
            assert client.get(f"/api/v1/watches/{watch_id}/report/json").status_code == 409
            stopped = client.post(f"{page_url}/stop", data={"csrf_token": csrf(client, page_url)})
            assert stopped.status_code == 303
            ended = wait_ended(client, watch_id)
        finally:
            stop(encoder)
    assert ended["reason"] == "stopped (SIGTERM)" and ended["verdict"]
    assert client.get(f"/api/v1/watches/{watch_id}/report/text").status_code == 200


def test_a_restarted_server_ends_the_watches_it_left(tmp_path):
    from sqlalchemy import insert

    from webapp.watch_jobs import watches
    import datetime as dt

    with web_app(tmp_path, WATCH_ALLOW=ALLOW) as first:
        engine = first.extensions["labelcheck"].watches.engine
        with engine.begin() as connection:
            connection.execute(insert(watches).values(
                id="left-running", source="http://127.0.0.1/x.m3u8", policy="default",
                options={"grace_s": 2}, status="running",
                created_at=dt.datetime.now(dt.timezone.utc)))
    with web_app(tmp_path, WATCH_ALLOW=ALLOW) as second:
        watch = second.test_client().get("/api/v1/watches/left-running").json
    assert watch["status"] == "ended" and watch["reason"] == "the server stopped during the watch"


@needs_ffmpeg
@needs_chromium
@pytest.mark.slow
def test_the_watch_page_follows_the_stream_in_a_browser(tmp_path):
    """Chromium on a real server: the page started from the form follows the watch by its
    event stream (no reload, no script error, nothing the CSP blocks) until the stream ends,
    then shows the verdict and the downloads."""
    from playwright.sync_api import sync_playwright

    from webapp.local_server import running_server

    folder = tmp_path / "live"
    folder.mkdir()
    (tmp_path / "server").mkdir()
    clip = generate_videos.build_live_clip(folder)
    with HttpFolder(folder) as stream, running_server(
            tmp_path / "server", env={"LABELCHECK_WATCH_ALLOW": ALLOW}) as server, \
            sync_playwright() as playwright:
        encoder = hls(clip, folder)
        try:
            wait_for(folder / "live.m3u8")
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text)
                    if message.type == "error" else None)
            page.goto(server + "/watch")
            page.fill("#url", stream.url("live.m3u8"))
            page.get_by_role("button", name="Start watching").click()
            page.wait_for_url("**/watches/**")
            page.evaluate("window.stayed = true")  # gone if the page reloads
            page.wait_for_selector("#watch-list td:text('label missing')", timeout=60_000)
            assert page.evaluate("window.stayed === true")  # the script updated the page
            assert page.locator("#watch-bar rect.state-missing").count() >= 1
            banner = page.wait_for_selector(".banner", timeout=90_000)  # ended: reloaded
            assert "Not disclosed" in banner.inner_text()
            assert page.locator(".downloads a").count() >= 2
            assert errors == []
            browser.close()
        finally:
            stop(encoder)
