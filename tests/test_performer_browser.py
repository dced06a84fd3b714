"""A performer's workflow in a real browser (Debian's chromium driven by Playwright, against a
real server on a loopback port), at desktop 1366x900 and phone 390x844: checking a cropped,
re-encoded feed screenshot of a registered ad, a registry addition refused with what to do,
and a removal that asks first. The flows are those of bench/performer_screenshots.py."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import performer_screenshots as flows  # noqa: E402

pytestmark = [pytest.mark.skipif(not os.path.exists(flows.CHROMIUM),
                                 reason="no /usr/bin/chromium"),
              pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=flows.CHROMIUM,
                                             args=flows.CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with the API token set and the ad's original registered through the API."""
    folder = tmp_path_factory.mktemp("server")
    original, feed = flows.make_ad(folder)
    from webapp.local_server import running_server

    with running_server(folder, env={"LABELCHECK_API_TOKEN": flows.TOKEN}) as url:
        asset = flows.register(url, original, "spring avatar campaign")
        yield url, asset, feed


@pytest.fixture(params=sorted(flows.VIEWPORTS))
def page(request, browser):
    """A page at one viewport that fails its test on a script error, a Content-Security-
    Policy violation or a picture or file that did not load (a refused form's own page,
    answered 4xx on purpose, is not a failure)."""
    page = browser.new_page(viewport=flows.VIEWPORTS[request.param])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load")
            else None)
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None)
    yield page
    assert errors == []
    page.close()


def test_a_cropped_reencoded_feed_screenshot_names_its_original(page, server):
    url, asset, feed = server
    answer = flows.check_ad(page, url, feed)
    assert answer.startswith(f'This is a copy of registered original #{asset["id"]} '
                             '"mira-spring-ad.jpg" (Mira Vale: spring avatar campaign), and '
                             "its AI label was removed")
    assert page.locator(".pair figure.marked").count() == 2
    for side in range(2):  # the badge is boxed on both pictures, and numbered alike
        figure = page.locator(".pair figure.marked").nth(side)
        assert figure.locator("g.mark-removed rect").count() == 2  # its box and its tag
        assert figure.locator("g.mark-removed text").text_content() == "1"
        assert figure.locator("svg image").evaluate("i => i.getBBox().width") > 0
    fates = page.locator(".fates").inner_text()
    assert 'the badge "AI-generated" was cut by the edge of the copy' in fates
    assert "the C2PA declaration was stripped" in fates
    assert flows.overflow(page) == 0


def test_a_camera_photo_is_refused_with_what_to_do(page, server):
    url, _, _ = server
    flows.unlock(page, url)
    flows.register_in_form(page, flows.PHOTO, "Mira Vale")
    alert = " ".join(page.get_by_role("alert").inner_text().split())
    assert "Not done: plain_photo.jpg: not registered: labelcheck found no AI evidence" in alert
    assert "What to do: If this original is AI-made, declare it: tick" in alert
    assert page.input_value("#owner") == "Mira Vale"  # the form is still filled in
    assert flows.overflow(page) == 0
    flows.register_in_form(page, flows.PHOTO, "Mira Vale", declared=True)
    notice = page.get_by_role("status").first.inner_text()
    assert notice.startswith("Registered original #")
    assert "Its owner declared it AI-made" in page.locator(".originals").inner_text()


def test_removing_an_original_asks_first(page, server):
    url, asset, _ = server
    flows.open_removal(page, url, asset["id"])
    heading = page.locator("h1").inner_text()
    assert heading == f"Remove original #{asset['id']} mira-spring-ad.jpg?"
    assert page.locator(".confirm svg image").count() == 1  # what is about to go
    assert "This cannot be undone" in page.locator(".confirm").inner_text()
    assert flows.overflow(page) == 0
    page.get_by_role("link", name="Keep it").click()
    page.wait_for_url("**/registry")
    assert f"#{asset['id']} mira-spring-ad.jpg" in page.locator(".originals").inner_text()
