"""Auditing a website or an ad page (issue 15): `scan URL --crawl` collects the pictures and
videos pages show, honours robots.txt and a rate limit, follows links and sitemaps, and every
fetch stays within the network rules. Every test talks to a local HTTP server on 127.0.0.1
serving pages it writes; nothing else is reached."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from conftest import TEST_MEDIA, text, wait_job, web_app
from labelcheck.cli.main import main
from labelcheck.core.settings import NetworkRules
from labelcheck.run.crawl import CrawlLog, CrawlOptions, crawl, css_urls, largest_candidate
from labelcheck.run.fetch import FetchError, fetch

SHOP = """<!doctype html><html><head>
<meta property="og:image" content="/media/og.jpg">
<style>.hero { background-image: url("/media/hero.png"); color: red }</style>
</head><body>
<img src="/media/plain_photo.jpg" alt="a">
<img srcset="/media/small.jpg 320w, /media/ai_c2pa_signed.jpg 1280w" src="/media/small.jpg">
<picture><source srcset="/media/iptc_ai.jpg 2x, /media/tiny.jpg 1x" type="image/jpeg"></picture>
<video poster="/media/poster.jpg"><source src="/media/aigc_key.mp4" type="video/mp4"></video>
<div style="background: #fff url('/media/ai_c2pa_tampered.jpg') no-repeat"></div>
<img src="/private/secret.jpg">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<a href="/page2.html#top">more</a> <a href="http://localhost:{port}/elsewhere.html">other site</a>
<a href="/private/page.html">private</a>
</body></html>"""
PAGE2 = """<html><body><img src="media/ai_stripped.png"><a href="/page3.html">deeper</a>
</body></html>"""
PAGE3 = """<html><body><img src="/media/deep.jpg"></body></html>"""
ROBOTS = "User-agent: *\nDisallow: /private/\n"


class Site(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and records each request (path, time)."""

    requests: list[tuple[str, float]] = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - the stdlib's name
        type(self).requests.append((self.path, time.monotonic()))
        super().do_GET()


@contextlib.contextmanager
def site(folder: Path):
    """An HTTP server on 127.0.0.1 serving `folder`; yields its base URL."""
    handler = type("Handler", (Site,), {"requests": []})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def shop(tmp_path):
    folder = tmp_path / "site"
    (folder / "media").mkdir(parents=True)
    (folder / "private").mkdir()
    for name in ("plain_photo.jpg", "ai_c2pa_signed.jpg", "iptc_ai.jpg", "aigc_key.mp4",
                 "ai_c2pa_tampered.jpg", "ai_stripped.png"):
        shutil.copy(TEST_MEDIA / name, folder / "media" / name)
    (folder / "private" / "secret.jpg").write_bytes((TEST_MEDIA / "iptc_ai.jpg").read_bytes())
    with site(folder) as (url, requests):
        port = url.rsplit(":", 1)[1]
        (folder / "shop.html").write_text(SHOP.replace("{port}", port))
        (folder / "page2.html").write_text(PAGE2)
        (folder / "page3.html").write_text(PAGE3)
        (folder / "robots.txt").write_text(ROBOTS)
        (folder / "sitemap.xml").write_text(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{url}/page2.html</loc></url><url><loc>{url}/page3.html</loc></url>"
            "</urlset>")
        yield url, requests


def found(url, **options):
    log = CrawlLog()
    items = list(crawl([url], CrawlOptions(delay=0, **options), log))
    return [(item.url.split("/", 3)[-1], item.page and item.page.split("/", 3)[-1])
            for item in items], log


def test_a_page_shows_images_sources_videos_og_and_css_backgrounds(shop):
    url, requests = shop
    items, log = found(f"{url}/shop.html")
    assert [name for name, _ in items] == [
        "media/plain_photo.jpg", "media/small.jpg", "media/ai_c2pa_signed.jpg",
        "media/iptc_ai.jpg", "media/poster.jpg", "media/aigc_key.mp4", "media/og.jpg",
        "media/ai_c2pa_tampered.jpg", "media/hero.png"]
    assert {page for _, page in items} == {"shop.html"}
    assert ("http://127.0.0.1:" in log.skipped[0][0] and "/private/secret.jpg" in log.skipped[0][0]
            and log.skipped[0][1] == "robots.txt does not allow it")
    assert log.pages == [f"{url}/shop.html"]  # depth 0: no link followed
    assert not any(path.startswith("/private/") for path, _ in requests)


def test_depth_same_site_and_sitemap(shop):
    url, requests = shop
    items, log = found(f"{url}/shop.html", depth=1, same_site=True)
    assert ("media/ai_stripped.png", "page2.html") in items
    assert "media/deep.jpg" not in [name for name, _ in items]  # two links away
    assert log.pages == [f"{url}/shop.html", f"{url}/page2.html"]  # not localhost, not /private
    assert ("/private/page.html", ) not in [(p,) for p, _ in requests]
    items, _ = found(f"{url}/shop.html", depth=2, same_site=True)
    assert ("media/deep.jpg", "page3.html") in items
    items, log = found(f"{url}/sitemap.xml")
    assert items == [("media/ai_stripped.png", "page2.html"), ("media/deep.jpg", "page3.html")]


def test_requests_to_a_host_are_rate_limited(shop):
    url, requests = shop
    list(crawl([f"{url}/shop.html"], CrawlOptions(depth=2, delay=0.4, same_site=True),
               CrawlLog()))
    pages = [at for path, at in requests if path.endswith(".html")]
    assert len(pages) == 3
    gaps = [later - earlier for earlier, later in zip(pages, pages[1:])]
    assert min(gaps) >= 0.38


def test_srcset_and_css_parsing():
    assert largest_candidate("a.jpg 1x, b.jpg 3x, c.jpg 2x") == "b.jpg"
    assert largest_candidate("a.jpg 480w,b.jpg 1080w") == "b.jpg"
    assert largest_candidate("only.jpg") == "only.jpg"
    assert css_urls("background:url(a.png), url('b.png'); color: url(x.png)", True) == [
        "a.png", "b.png"]
    assert css_urls(".x{background-image:image-set(url(c.png) 1x)} .y{content:url(d.png)}",
                    False) == ["c.png"]


def test_cli_crawl_scans_what_the_page_shows(shop, tmp_path, capsys):
    url, requests = shop
    out = tmp_path / "page.jsonl"
    code = main(["scan", f"{url}/shop.html", "--crawl", "--format", "jsonl", "--out",
                 str(out), "--no-ocr", "--crawl-delay", "0", "--workers", "2", "--summary"])
    err = capsys.readouterr().err
    assert code == 0
    reports = {r["path"].rsplit("/", 1)[-1]: r for r in map(json.loads, out.read_text().split(
        "\n")[:-1])}
    assert reports["ai_c2pa_tampered.jpg"]["verdict"] == "stripped"
    assert reports["ai_c2pa_signed.jpg"]["verdict"] == "disclosed"
    assert reports["aigc_key.mp4"]["kind"] == "video"
    assert {r["found_on"] for r in reports.values()} == {f"{url}/shop.html"}
    assert "the server answered 404" in reports["og.jpg"]["error"]  # not on the site
    assert "read 1 page(s), found 9 picture(s) and video(s)" in err
    assert "skipped http://127.0.0.1:" in err and "robots.txt does not allow it" in err
    assert json.loads(err.strip().splitlines()[-1])["files"] == 9


def test_cli_crawl_refuses_paths_and_resume(capsys):
    assert main(["scan", str(TEST_MEDIA), "--crawl"]) == 2
    assert main(["scan", "http://127.0.0.1:9/x.html", "--crawl", "--resume"]) == 2
    assert "--crawl reads http(s) pages" in capsys.readouterr().err


def test_network_rules_refuse_private_addresses_and_other_hosts(shop):
    url, requests = shop
    public_only = NetworkRules(hosts=("*",), networks=())
    with pytest.raises(FetchError, match="127.0.0.1 is at a loopback address"):
        fetch(f"{url}/shop.html", public_only, 2**20)
    with pytest.raises(FetchError, match="only http and https"):
        fetch("file:///etc/passwd", NetworkRules(), 2**20)
    listed = NetworkRules.allow_list(["127.0.0.1/32"])
    assert fetch(f"{url}/robots.txt", listed, 2**20).body == ROBOTS.encode()
    with pytest.raises(FetchError, match="over the"):
        fetch(f"{url}/media/ai_stripped.png", listed, 1000)
    before = len(requests)
    with pytest.raises(FetchError, match="loopback"):
        fetch(url.replace("127.0.0.1", "localhost") + "/shop.html",
              NetworkRules.allow_list(["localhost"]), 2**20)
    assert len(requests) == before  # refused before connecting


def test_a_redirect_to_a_private_address_is_refused(tmp_path):
    """A public-looking start that redirects inward reaches nothing: each connection, the
    redirect's included, is checked (here the first server plays the public site)."""
    with site(tmp_path) as (inner, inner_requests):
        class Redirect(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                self.send_response(302)
                self.send_header("Location", inner.replace("127.0.0.1", "127.0.0.2") + "/x")
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            rules = NetworkRules.allow_list(["127.0.0.1/32"])  # not 127.0.0.2
            with pytest.raises(FetchError, match="127.0.0.2 is at a loopback address"):
                fetch(f"http://127.0.0.1:{server.server_address[1]}/go", rules, 2**20)
        finally:
            server.shutdown()
            server.server_close()
    assert inner_requests == []


# -- the web app's field ------------------------------------------------------------------------

def test_web_page_audit_is_off_without_an_allow_list(tmp_path):
    with web_app(tmp_path) as app:
        client = app.test_client()
        response = client.post("/api/v1/crawls", data={"url": "http://127.0.0.1:9/"})
        assert response.status_code == 403
        assert "LABELCHECK_CRAWL_ALLOW" in response.json["error"]["message"]
        assert "Auditing web pages is switched off" in client.get("/campaign").text


def test_web_page_audit_within_the_allow_list(shop, tmp_path):
    url, requests = shop
    with web_app(tmp_path, CRAWL_ALLOW="127.0.0.1/32", CRAWL_DELAY=0) as app:
        client = app.test_client()
        assert 'name="url"' in client.get("/campaign").text
        response = client.post("/api/v1/crawls", data={
            "url": f"{url}/shop.html", "depth": "1", "same_site": "1",
            "policy": ["default", "cn-gb45438"]})
        assert response.status_code == 202 and response.json["kind"] == "crawl"
        job = wait_job(client, response.json["id"])
        names = [item["name"].rsplit("/", 1)[-1] for item in job["items"]]
        assert names[:3] == ["plain_photo.jpg", "small.jpg", "ai_c2pa_signed.jpg"]
        assert "ai_stripped.png" in names and "secret.jpg" not in names
        reports = {item["name"].rsplit("/", 1)[-1]: item["report"] for item in job["items"]}
        assert reports["ai_c2pa_tampered.jpg"]["verdict"] == "stripped"
        assert reports["ai_stripped.png"]["found_on"] == f"{url}/page2.html"
        assert reports["small.jpg"]["error"].startswith("could not download it: the server")
        page = client.get(job["links"]["page"]).text
        assert f"Web page audit: {url}/shop.html" in text(page)
        assert page.count('<div class="meta">found on http:') == len(job["items"])
        assert not any(path.startswith("/private/") for path, _ in requests)


def test_web_page_audit_refuses_a_loopback_address_outside_the_list(shop, tmp_path):
    url, requests = shop
    before = len(requests)
    with web_app(tmp_path, CRAWL_ALLOW="*") as app:  # any public host, nothing private
        client = app.test_client()
        job = wait_job(client, client.post("/api/v1/crawls", data={
            "url": f"{url}/shop.html"}).json["id"])
        [item] = job["items"]
        assert item["verdict"] == "error"
        assert "127.0.0.1 is at a loopback address" in item["report"]["error"]
    assert len(requests) == before  # nothing reached the server
