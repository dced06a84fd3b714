"""Screenshots of the web app and the HTML report for docs/: every page at desktop (1366x900)
and phone (390x844) widths, taken by Debian's chromium (Playwright) from a real server; each
page's horizontal overflow is printed (it must be 0).

    python bench/web_screenshots.py [--out docs/screenshots]

Pages: the upload form, reports (a disclosed, a stripped, a badge-labelled picture, a video
with its label timeline), the campaign form, a campaign audited under two regimes, a trust
team's queue with tampered credentials, a web page audit (a local site on 127.0.0.1), the watch
form and a watch of a live HLS stream whose label goes missing (FFmpeg on 127.0.0.1, as the
watch tests make it), and the CLI's HTML report of the same campaign.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "test_media"))

import generate_videos  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS  # noqa: E402 - the browser tests' own
from streams import HttpFolder, hls, stop, wait_for  # noqa: E402
from webapp.local_server import running_server  # noqa: E402

CAMPAIGN = ["ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg", "aigc_xmp.jpg", "iptc_ai.jpg",
            "ai_stripped.png", "plain_photo.jpg", "truncated.jpg"]
ADS = ["pos_0000_en.jpg", "pos_0001_zh.jpg", "pos_0009_ja.jpg"]
REGIMES = ["cn-gb45438", "eu-ai-act"]
SHOP = """<!doctype html><html><head><title>Spring sale</title>
<meta property="og:image" content="/media/iptc_ai.jpg"></head><body>
<h1>Spring sale</h1><img src="/media/ad_zh.jpg" alt="">
<picture><source srcset="/media/ai_c2pa_signed.jpg 2x"></picture>
<div style="background-image: url('/media/ai_c2pa_tampered.jpg')"></div>
<a href="/more.html">more</a></body></html>"""
MORE = """<html><body><img src="/media/ad_ja.jpg"><img src="/private/x.jpg"></body></html>"""


def campaign_files(folder: Path) -> dict[str, bytes]:
    """The campaign: bundled files, a camera photo whose credentials were changed after
    signing, and generated ads with visible labels (English, Chinese, a small Japanese one)."""
    import generate_labels
    from conftest import tampered_camera_photo

    files = {name: (ROOT / "test_media" / name).read_bytes() for name in CAMPAIGN}
    files["camera_edited.jpg"] = tampered_camera_photo()
    generate_labels.generate(folder / "ads", 10, 0, workers=1)
    for name in ADS:
        files[f"ad_{name.split('_')[-1]}"] = (folder / "ads" / name).read_bytes()
    return files


def campaign_zip(folder: Path, files: dict[str, bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"spring-campaign/{name}", data)
    path = folder / "spring-campaign.zip"
    path.write_bytes(buffer.getvalue())
    return path


@contextlib.contextmanager
def local_site(folder: Path, files: dict[str, bytes]):
    """A small shop site on 127.0.0.1 (a page, a linked page, robots.txt) for the web page
    audit."""
    site = folder / "site"
    (site / "media").mkdir(parents=True)
    for name, data in files.items():
        (site / "media" / name).write_bytes(data)
    (site / "index.html").write_text(SHOP)
    (site / "more.html").write_text(MORE)
    (site / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def labelled_video() -> Path:
    """A generated clip whose "AI generated" label shows only in its first 2 s
    (test_media/generate_videos.py): the report shows its label timeline and frames."""
    return generate_videos.ensure_clips()["label_first_2s"]


def finished(page) -> str:
    page.wait_for_url("**/jobs/**")
    page.wait_for_selector(".downloads", timeout=300_000)  # shown once every file is done
    return page.url


def upload(page, url: str, paths: list[str]) -> str:
    page.goto(url + "/")
    page.set_input_files("#files", paths)
    page.get_by_role("button", name="Check").click()
    return finished(page)


def choose_regimes(page, form: str) -> None:
    scope = page.locator(form)
    for title in ("China GB 45438-2025", "EU AI Act Art. 50"):
        scope.get_by_label(title).check()
    scope.get_by_label("Any intact AI disclosure").uncheck()


def audit(page, url: str, archive: Path) -> str:
    page.goto(url + "/campaign")
    page.set_input_files("#archive", str(archive))
    choose_regimes(page, "form.upload")
    page.get_by_role("button", name="Audit", exact=True).click()
    return finished(page)


def watch_stream(page, url: str, stream: str) -> str:
    """Start a watch of `stream` from the form; returns its page once the stream ended (the
    timeline, events, verdict and downloads)."""
    page.goto(url + "/watch")
    page.fill("#url", stream)
    page.get_by_role("button", name="Start watching").click()
    page.wait_for_url("**/watches/**")
    page.wait_for_selector(".banner", timeout=180_000)
    return page.url


def audit_site(page, url: str, site: str) -> str:
    page.goto(url + "/campaign")
    page.fill("#url", site + "/index.html")
    page.select_option("#depth", "1")
    choose_regimes(page, "form[action$='/crawl']")
    page.get_by_role("button", name="Audit the page").click()
    return finished(page)


def html_report(folder: Path, files: dict[str, bytes]) -> str:
    """The CLI's HTML report of the campaign, as a file:// address."""
    source = folder / "spring-campaign"
    source.mkdir()
    for name, data in files.items():
        (source / name).write_bytes(data)
    out = folder / "report.html"
    subprocess.run([sys.executable, "-m", "labelcheck.cli.main", "scan", source.name,
                    "--format", "html", "--out", str(out), "--policy", ",".join(REGIMES),
                    "--quiet", "--no-store"], cwd=folder, check=True)
    return out.as_uri()


def prepare(description: str, prefix: str) -> tuple[Path, Path]:
    """The screenshots' folder (``--out``, made if missing) and a new working folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    return out, Path(tempfile.mkdtemp(prefix=prefix))


def main() -> int:
    out, folder = prepare(__doc__.split("\n")[0], "labelcheck-shots-")
    from playwright.sync_api import sync_playwright

    files = campaign_files(folder)
    environment = {"LABELCHECK_CRAWL_ALLOW": "127.0.0.1/32", "LABELCHECK_CRAWL_DELAY": "0.2",
                   "LABELCHECK_WATCH_ALLOW": "127.0.0.1/32"}
    live = folder / "live"
    live.mkdir()
    with running_server(folder, workers=2, env=environment) as url, \
            local_site(folder, files) as site, HttpFolder(live) as stream, \
            sync_playwright() as playwright:
        encoder = hls(generate_videos.build_live_clip(live), live)
        wait_for(live / "live.m3u8")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORTS["desktop"])
        media = ROOT / "test_media"
        camera = folder / "IMG_2041.jpg"
        camera.write_bytes(files["camera_edited.jpg"])
        pages = {
            "upload": url + "/",
            "report": upload(page, url, [str(media / "ai_c2pa_ingredient_only.jpg")]),
            "report-stripped": upload(page, url, [str(media / "ai_c2pa_tampered.jpg")]),
            "report-visible-label": upload(page, url, [str(folder / "ads" / ADS[1])]),
            "report-video": upload(page, url, [str(labelled_video())]),
            "campaign-form": url + "/campaign",
            "campaign": audit(page, url, campaign_zip(folder, files)),
            "queue": upload(page, url, [str(camera), str(media / "plain_photo.jpg"),
                                        str(media / "ai_c2pa_signed.jpg"),
                                        str(media / "iptc_ai.jpg")]),
            "web-page-audit": audit_site(page, url, site),
            "watch-form": url + "/watch",
            "watch": watch_stream(page, url, stream.url("live.m3u8")),
            "html-report": html_report(folder, files),
        }
        for width, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            for name, address in pages.items():
                page.goto(address)
                page.wait_for_load_state("networkidle")  # every picture and video frame
                page.wait_for_function("[...document.images].every(i => i.complete)")
                wider = page.evaluate("document.documentElement.scrollWidth - innerWidth")
                target = out / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"{target.relative_to(ROOT)} (overflow {wider} px)")
        browser.close()
        stop(encoder)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
