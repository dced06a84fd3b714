"""The regulator's audit and the trust team's queue in a real browser (issue 15): Debian's
chromium driven by Playwright against a real server (waitress) on a loopback port, at desktop
(1366x900) and phone (390x844) sizes.

- A campaign audited under two regimes through the pages: the summary sentence per regime,
  sort (most severe first, back to input order), filter by requirement and verdict, the
  evidence pack downloaded by the browser and checked by ``labelcheck verify-pack``.
- A trust team's upload with a camera photo whose credentials were changed after signing: no
  AI evidence, and still in the headline and the "tampered" filter.
- No horizontal overflow on either screen.
"""

from __future__ import annotations

import json
import sys
import urllib.request
import zipfile

import pytest

from conftest import TEST_MEDIA, VIEWPORTS, needs_chromium, tampered_camera_photo
from labelcheck.cli.main import main
from webapp.local_server import running_server

CAMPAIGN = ["ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg", "aigc_xmp.jpg", "ai_stripped.png",
            "plain_photo.jpg", "truncated.jpg"]

pytestmark = needs_chromium

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("server"), workers=2) as url:
        yield url


@pytest.fixture(scope="module")
def campaign_zip(tmp_path_factory):
    """The campaign: bundled files, a camera photo with tampered credentials and, when the
    label fonts are installed, generated ads with visible labels (English, Chinese, a small
    Japanese one)."""
    folder = tmp_path_factory.mktemp("campaign")
    files = {name: (TEST_MEDIA / name).read_bytes() for name in CAMPAIGN}
    files["camera_edited.jpg"] = tampered_camera_photo()
    sys.path.insert(0, str(TEST_MEDIA))
    import generate_labels

    try:
        generate_labels.generate(folder / "ads", 10, 0, workers=1)
        for name in ("pos_0000_en.jpg", "pos_0001_zh.jpg", "pos_0009_ja.jpg"):
            files[f"ad_{name}"] = (folder / "ads" / name).read_bytes()
    except generate_labels.FontMissingError:
        pass
    path = folder / "spring.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"spring/{name}", data)
    return path, len(files)


def overflow(page) -> int:
    """How far the page is wider than the screen (0: no horizontal scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def api_job(server: str, page_url: str) -> dict:
    job_id = page_url.rstrip("/").rsplit("/", 1)[-1]
    with urllib.request.urlopen(f"{server}/api/v1/jobs/{job_id}") as response:
        return json.load(response)


def visible_rows(page):
    return page.locator("table.audit tr.file:visible")


def audited_campaign(page, server: str, archive) -> str:
    """Submit the campaign through the page, under GB 45438 and the EU AI Act."""
    page.goto(server + "/campaign")
    page.set_input_files("#archive", str(archive))
    page.get_by_label("China GB 45438-2025").check()
    page.get_by_label("EU AI Act Art. 50").check()
    page.locator("form.upload").get_by_label("Any intact AI disclosure").uncheck()
    page.get_by_role("button", name="Audit", exact=True).click()
    page.wait_for_url("**/jobs/**")
    page.wait_for_selector(".downloads", timeout=300_000)
    return page.url


@pytest.mark.parametrize("size", VIEWPORTS)
def test_campaign_audit_under_two_regimes(browser, server, campaign_zip, tmp_path, size):
    archive, count = campaign_zip
    page = browser.new_page(viewport=VIEWPORTS[size], accept_downloads=True)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    job_url = audited_campaign(page, server, archive)
    job = api_job(server, job_url)
    assert job["policy"] == "cn-gb45438,eu-ai-act" and job["total"] == count
    reports = [item["report"] for item in job["items"]]

    # The sentence on top, one per regime, from the same counts as the API's reports.
    sentences = page.locator(".audit-summary .sentence").all_inner_texts()
    failing = sum(r["verdicts"]["cn-gb45438"]["verdict"] in ("stripped", "undisclosed")
                  for r in reports)
    assert sentences[0].startswith(f"{failing} of {count} creatives fail China GB 45438-2025: ")
    assert "lack the implicit AIGC label" in sentences[0]
    assert sentences[1].startswith("") and "EU AI Act Art. 50" in sentences[1]
    assert "_" not in " ".join(sentences)  # no requirement ids, no codes

    # A cell is a mark and the measured value against the rule, in words.
    gb_implicit = page.locator('td.cell[data-label="Implicit label (cn-gb45438)"]')
    assert gb_implicit.count() == count
    assert "implicit AIGC label missing" in gb_implicit.first.inner_text()
    if any("ad_pos_0009_ja" in r["path"] for r in reports):  # the small Japanese label
        ad = page.locator("tr.file", has_text="ad_pos_0009_ja.jpg")
        assert "< 5%" in ad.locator('td[data-label="Visible label (cn-gb45438)"]').inner_text()

    # Sort: most severe first, then back to the order given.
    rows = page.locator("table.audit tr.file")
    page.select_option("#sort", "rank")
    assert rows.first.get_attribute("data-verdict") == "stripped"
    ranks = [int(r) for r in rows.evaluate_all("rows => rows.map(r => r.dataset.rank)")]
    assert ranks == sorted(ranks)
    page.select_option("#sort", "position")
    positions = rows.evaluate_all("rows => rows.map(r => Number(r.dataset.position))")
    assert positions == list(range(1, count + 1))

    # Filter by requirement, then by verdict.
    page.select_option("#requirement", "cn-gb45438:implicit_label")
    lacking = sum(any(q["id"] == "implicit_label" and q["status"] == "not_met"
                      for q in r["verdicts"]["cn-gb45438"]["requirements"]) for r in reports)
    assert visible_rows(page).count() == lacking > 0
    assert page.locator("#shown").inner_text() == str(lacking)
    page.select_option("#requirement", "")
    page.locator('button[data-filter="stripped"]').click()
    assert visible_rows(page).count() == sum(r["verdict"] == "stripped" for r in reports) == 1
    page.locator('button[data-filter="stripped"]').click()
    assert visible_rows(page).count() == count

    assert page.locator("table.audit .picture svg image").count() == count - 1  # truncated
    assert overflow(page) <= 0, f"{overflow(page)} px wider than the {size} screen"
    page.screenshot(path=str(tmp_path / f"campaign-{size}.png"), full_page=True)

    # The evidence pack, downloaded as a person would, checks out.
    with page.expect_download() as download:
        page.get_by_role("link", name="Evidence pack (ZIP)").click()
    pack = tmp_path / "pack.zip"
    download.value.save_as(pack)
    assert main(["verify-pack", str(pack)]) == 0
    with zipfile.ZipFile(pack) as opened:
        manifest = json.loads(opened.read("MANIFEST.json"))
    assert manifest["policies"] == ["cn-gb45438", "eu-ai-act"]
    assert len(manifest["originals"]) == count
    assert errors == []


@pytest.mark.parametrize("size", VIEWPORTS)
def test_trust_team_sees_tampered_credentials_without_ai_evidence(browser, server, tmp_path,
                                                                 size):
    camera = tmp_path / "IMG_2041.jpg"
    camera.write_bytes(tampered_camera_photo())
    page = browser.new_page(viewport=VIEWPORTS[size])
    page.goto(server + "/")
    page.set_input_files("#files", [str(camera), str(TEST_MEDIA / "plain_photo.jpg"),
                                    str(TEST_MEDIA / "ai_c2pa_signed.jpg")])
    page.get_by_role("button", name="Check").click()
    page.wait_for_url("**/jobs/**")
    page.wait_for_selector(".downloads", timeout=300_000)
    tampered = page.locator('button[data-filter="tampered"]')
    assert " ".join(tampered.inner_text().split()) == "1 tampered (1 without AI evidence)"
    assert " ".join(page.locator('button[data-filter="no_ai_signal"]').inner_text().split()) \
        == "2 no AI signal"
    tampered.click()
    assert visible_rows(page).count() == 1
    row = visible_rows(page).first
    assert "IMG_2041.jpg" in row.inner_text() and "credentials tampered" in row.inner_text()
    assert row.get_attribute("data-verdict") == "no_ai_signal"
    cells = row.locator("td.cell")
    assert cells.first.get_attribute("data-status") == "not_applicable"
    assert "no AI evidence" in cells.first.inner_text()
    page.select_option("#verdict", "")
    assert visible_rows(page).count() == 3
    assert overflow(page) <= 0, f"{overflow(page)} px wider than the {size} screen"


@pytest.mark.parametrize("size", VIEWPORTS)
def test_pages_fit_the_screen(browser, server, size):
    page = browser.new_page(viewport=VIEWPORTS[size])
    for path in ("/", "/campaign", "/registry", "/api"):
        page.goto(server + path)
        assert overflow(page) <= 0, f"{path}: {overflow(page)} px wider than the {size} screen"
