"""Screenshots of the web app for docs/: the upload page, a report, a campaign audit, at
desktop and phone widths, taken by Debian's chromium (Playwright) from a real server.

    python bench/web_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from webapp.local_server import running_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
CAMPAIGN = ["ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg", "ai_c2pa_ingredient_only.jpg",
            "iptc_ai.jpg", "ai_stripped.png", "plain_photo.jpg", "truncated.jpg"]


def campaign_zip(folder: Path) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in CAMPAIGN:
            archive.write(ROOT / "test_media" / name, f"spring-campaign/{name}")
    path = folder / "spring-campaign.zip"
    path.write_bytes(buffer.getvalue())
    return path


def labelled_picture(folder: Path) -> Path:
    """One generated ad with a visible "AI generated" badge (test_media/generate_labels.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_labels",
                                                  ROOT / "test_media" / "generate_labels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_labels"] = module
    spec.loader.exec_module(module)
    module.generate(folder / "labels", 1, 0)
    return next((folder / "labels").glob("pos_*.jpg"))


def labelled_video() -> Path:
    """A generated clip whose "AI generated" label shows only in its first 2 s
    (test_media/generate_videos.py): the report shows its label timeline and frames."""
    sys.path.insert(0, str(ROOT / "test_media"))
    import generate_videos

    return generate_videos.ensure_clips()["label_first_2s"]


def upload(page, url: str, path: str, field: str, button: str) -> str:
    page.set_input_files(field, path)
    page.get_by_role("button", name=button).click()
    page.wait_for_url("**/jobs/**")
    page.wait_for_selector(".downloads", timeout=300_000)  # shown once every file is done
    return page.url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="labelcheck-shots-"))
    with running_server(folder, workers=2) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORTS["desktop"])
        page.goto(url + "/")
        report = upload(page, url, str(ROOT / "test_media" / "ai_c2pa_ingredient_only.jpg"),
                        "#files", "Check")
        page.goto(url + "/")
        stripped = upload(page, url, str(ROOT / "test_media" / "ai_c2pa_tampered.jpg"),
                          "#files", "Check")
        page.goto(url + "/")
        badge = upload(page, url, str(labelled_picture(folder)), "#files", "Check")
        page.goto(url + "/")
        video = upload(page, url, str(labelled_video()), "#files", "Check")
        page.goto(url + "/campaign")
        campaign = upload(page, url, str(campaign_zip(folder)), "#archive", "Audit")
        pages = {"upload": url + "/", "report": report, "report-stripped": stripped,
                 "report-visible-label": badge, "report-video": video,
                 "campaign": campaign}
        for width, viewport in VIEWPORTS.items():
            page.set_viewport_size(viewport)
            for name, address in pages.items():
                page.goto(address)
                page.wait_for_load_state("networkidle")  # every picture and video frame
                page.wait_for_function("[...document.images].every(i => i.complete)")
                target = out / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                print(target.relative_to(ROOT))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
