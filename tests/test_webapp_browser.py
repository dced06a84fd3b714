"""The web app in a real browser: Debian's chromium driven by Playwright, against a real
server (waitress) on a loopback port. Upload a labelled picture and a stripped one and read
the verdict banners as a person would."""

from __future__ import annotations

import pytest

from conftest import TEST_MEDIA, load_expected, needs_chromium
from webapp.local_server import running_server

HEADLINES = {"disclosed": "Disclosed: this is AI-made and it is labelled",
             "stripped": "Stripped: this is AI-made and its label was removed or broken"}

pytestmark = [needs_chromium, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url


def test_upload_labelled_and_stripped_pictures(browser, server):
    expected = {entry["file"]: entry["verdict"]
                for entry in load_expected(TEST_MEDIA / "EXPECTED.json")}
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    for name in ("ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg"):
        page.goto(server + "/")
        page.set_input_files("#files", str(TEST_MEDIA / name))
        assert name in page.inner_text(".chosen")  # the page's script listed the choice
        page.get_by_role("button", name="Check").click()
        page.wait_for_url("**/jobs/**")
        banner = page.wait_for_selector(".banner", timeout=120_000)
        assert HEADLINES[expected[name]] in " ".join(banner.inner_text().split())
        assert page.locator(".picture svg image").count() == 1
        assert page.locator(".finding").count() >= 2
    assert errors == []  # no script error, no CSP violation
