"""Screenshots of a performer's pages for docs/: checking an ad (the form, the answer with the
original and a feed screenshot side by side), the registry (its originals with their badges
boxed, a refused registration saying what to do, removal asking first), at desktop and phone
widths, taken by Debian's chromium (Playwright) from a real server. The browser test
(tests/test_performer_browser.py) drives the same flows, from here.

    python bench/performer_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import io
import json
import sys
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "test_media"))

from conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS  # noqa: E402 - the browser tests' own
from webapp.local_server import running_server  # noqa: E402
from web_screenshots import prepare  # noqa: E402

TOKEN = "performer-screenshots"
OWNER = "Mira Vale"
PHOTO = ROOT / "test_media" / "plain_photo.jpg"  # a camera photo: no AI evidence


def make_ad(folder: Path) -> tuple[Path, Path]:
    """A registered-to-be original (a C2PA-signed ad with an "AI-generated" badge in its top
    left corner, test_media/generate_registry.py) and a phone feed's screenshot of it,
    cropped through the badge and re-encoded."""
    import numpy as np
    from PIL import Image

    import generate_registry

    manifest = generate_registry.generate(folder / "ad", originals=1, distractors=0, workers=1)
    original = folder / "ad" / manifest["originals"][0]["file"]
    renamed = folder / "mira-spring-ad.jpg"
    renamed.write_bytes(original.read_bytes())
    feed = folder / "feed-screenshot.jpg"
    feed.write_bytes(generate_registry.feed_screenshot(
        np.asarray(Image.open(original).convert("RGB")), "performer"))
    return renamed, feed


def register(url: str, path: Path, note: str) -> dict:
    """Register an original through the API (``POST /api/v1/registry``)."""
    boundary = uuid.uuid4().hex
    body = io.BytesIO()
    for name, value in (("owner", OWNER), ("note", note)):
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n".encode())
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="original"; '
               f'filename="{path.name}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode())
    body.write(path.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        url + "/api/v1/registry", body.getvalue(),
        {"Content-Type": f"multipart/form-data; boundary={boundary}",
         "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())["asset"]


def check_ad(page, url: str, path: Path) -> str:
    """Upload an ad on the "Check an ad" page; returns the answer's text once it is there."""
    page.goto(url + "/check")
    page.set_input_files("#files", str(path))
    page.get_by_role("button", name="Check the ad").click()
    page.wait_for_url("**/copy*")
    banner = page.wait_for_selector(".banner.answer", timeout=300_000)
    page.wait_for_function("[...document.images].every(i => i.complete)")
    return " ".join(banner.inner_text().split())


def unlock(page, url: str) -> None:
    page.goto(url + "/registry")
    if page.locator("#token").count():
        page.fill("#token", TOKEN)
        page.get_by_role("button", name="Unlock").click()
        page.wait_for_selector("#owner")


def register_in_form(page, path: Path, owner: str, declared: bool = False) -> None:
    """Fill the registry's form (unlocked) and send it."""
    page.fill("#owner", owner)
    page.set_input_files("#original", str(path))
    page.set_checked("#ai_made", declared)
    page.get_by_role("button", name="Register").click()
    page.wait_for_load_state()


def open_removal(page, url: str, asset_id: int) -> None:
    """Follow an original's "Remove…" link to the page that asks first."""
    unlock(page, url)
    page.get_by_role("link", name=f"Remove original #{asset_id}").click()
    page.wait_for_selector("h1")


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def main() -> int:
    out, folder = prepare(__doc__.split("\n")[0], "labelcheck-performer-")
    from playwright.sync_api import sync_playwright

    original, feed = make_ad(folder)
    env = {"LABELCHECK_API_TOKEN": TOKEN}
    with running_server(folder, env=env) as url, sync_playwright() as playwright:
        asset = register(url, original, "spring avatar campaign")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            page.goto(url + "/check")
            shoot(page, out, f"check-{width}")
            check_ad(page, url, feed)
            shoot(page, out, f"check-answer-{width}")
            unlock(page, url)
            register_in_form(page, PHOTO, OWNER)
            shoot(page, out, f"registry-refused-{width}")
            page.goto(url + "/registry")
            shoot(page, out, f"registry-{width}")
            open_removal(page, url, asset["id"])
            shoot(page, out, f"registry-remove-{width}")
            page.close()
        browser.close()
    return 0


def shoot(page, out: Path, name: str) -> None:
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
          f"overflow {overflow(page)} px")


if __name__ == "__main__":
    sys.exit(main())
