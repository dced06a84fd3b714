"""Visible labels: read, matched, measured, and judged by the policies."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import labelcheck
from labelcheck import Kind, Verdict
from labelcheck.vision.lexicon import match_label, match_partial

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def font(size, path=None):
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size)


def ad(texts=(), size=(1080, 1350), seed=3):
    """A photo-like background with ordinary ad text; returns a drawable PIL image."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(60, 190, width)[None, :, None] + np.linspace(0, 40, height)[:, None, None]
    pixels = np.clip(ramp + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for index, text in enumerate(texts):
        draw.text((80, 300 + index * 120), text, font=font(56), fill=(255, 255, 255))
    return image


def pill(image, text, xy, size, fill=(0, 0, 0), ink=(255, 255, 255), path=None):
    draw = ImageDraw.Draw(image)
    face = font(size, path)
    left, top, right, bottom = draw.textbbox(xy, text, font=face)
    pad = size // 2
    draw.rounded_rectangle((left - pad, top - pad, right + pad, bottom + pad), radius=pad,
                           fill=fill)
    draw.text(xy, text, font=face, fill=ink)
    return image


def icon(image, text, xy, size):
    draw = ImageDraw.Draw(image)
    face = font(size)
    left, top, right, bottom = draw.textbbox(xy, text, font=face)
    side = max(right - left, bottom - top) + size
    cx, cy = (left + right) // 2, (top + bottom) // 2
    draw.rounded_rectangle((cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2),
                           radius=side // 6, fill=(0, 0, 0))
    draw.text(xy, text, font=face, fill=(255, 255, 255))
    return image


def scan(image, policy="default", quality=90):
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return labelcheck.scan(buffer.getvalue(), policy=policy, name="ad.jpg")


def visible(report):
    return [f for f in report.findings if f.channel == "visible"]


CONFUSABLES = ("AIR MAX 90", "Thailand RAIN", "Al Pacino", "FAIR PAID MAIN",
               "Generated leads", "Made in Italy")


def test_lexicon_words_and_confusables():
    for text in ("AI generated", "Al-generated", "Generado por lA", "KI-generiert",
                 "Được tạo bằng AI", "人工智能生成", "内容由Al生成", "Gemaakt met AI"):
        assert match_label(text), text
    for text in CONFUSABLES + ("Spain", "HECHO CON LA MEJOR CALIDAD", "智能手机", "生成器"):
        assert match_label(text) is None, text
    assert match_label("Al").icon  # a bare "AI" is the EU icon's text
    assert match_partial("AI-gener").phrase == "AI generated"
    assert match_partial("nerated") is None


@pytest.mark.slow
def test_negative_ad_with_confusable_words_has_no_label():
    report = scan(ad(CONFUSABLES))
    assert visible(report) == [] and report.verdict is Verdict.NO_AI_SIGNAL


def test_corner_pill_is_read_and_measured():
    report = scan(pill(ad(("Summer sale -50%",)), "AI generated", (840, 40), 40))
    [label] = visible(report)
    assert label.kind is Kind.AI_DECLARATION and label.intact
    assert label.measurements["position"] == "corner"
    assert 0.02 <= label.measurements["height_ratio"] <= 0.045
    assert label.measurements["contrast"] > 7
    x, y, w, h = label.location["box"]
    assert 780 < x < 860 and y < 80 and x + w <= 1080
    assert report.verdict is Verdict.DISCLOSED and report.visible_disclosure
    assert label.message.startswith('visible AI label "AI generated" (English) at the corner')


def test_label_is_shown_normalised_with_the_ocr_reading_in_the_details():
    """A badge that reads "Al generated" (an l for the I, as OCR often reads it) is shown as
    the label it is; what OCR read stays in the measurements."""
    report = scan(pill(ad(), "Al generated", (840, 40), 40))
    [label] = visible(report)
    assert label.message.startswith('visible AI label "AI generated" (English)')
    assert label.measurements["text"] == "AI generated"
    assert label.measurements["ocr_text"] == "Al generated"
    assert label.measurements["language"] == "English"
    assert set(label.location) == {"box"}  # nothing but a box a person can check


def test_label_cut_by_the_border_means_stripped():
    image = pill(ad(("Order today",)), "AI generated", (960, 1240), 44)
    report = scan(image)
    [label] = visible(report)
    assert label.code == "visible.partial_label" and not label.intact
    assert label.message.startswith("visible AI label cut by the picture's edge: ")
    assert report.verdict is Verdict.STRIPPED and report.ai_generated
    assert report.requirements[0].missing == "the visible AI label is cut by the picture's edge"
    assert "cut by the picture's edge" in report.summary
    assert "signing" not in report.summary


@pytest.mark.slow
def test_eu_icon_is_recognised_by_its_shape():
    [shaped] = visible(scan(icon(ad(), "AI", (960, 60), 48)))
    assert shaped.code == "visible.icon" and shaped.confidence > 0.8
    bare = ImageDraw.Draw(image := ad())
    bare.text((960, 60), "AI", font=font(48), fill=(255, 255, 255))
    [plain] = visible(scan(image))
    assert plain.code == "visible.label" and plain.confidence < 0.75


def test_cr_pin_without_manifest_is_removal_evidence():
    report = scan(icon(ad(), "CR", (960, 60), 44))
    pins = [f for f in report.findings if f.code == "visible.cr_pin"]
    assert pins and pins[0].kind is Kind.REMOVAL


@pytest.mark.slow
@pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-wqy-microhei not installed")
def test_gb45438_label_size_rule():
    big = scan(pill(ad(), "AI生成", (40, 40), 80, path=CJK_FONT), policy="cn-gb45438")
    [label] = visible(big)
    assert label.measurements["rules"] == ["gb45438"]
    assert label.measurements["height_ratio"] >= 0.05
    explicit = next(r for r in big.requirements if r.id == "explicit_label")
    assert explicit.satisfied and big.verdict is Verdict.UNDISCLOSED  # no AIGC metadata
    small = scan(pill(ad(), "AI生成", (40, 40), 30, path=CJK_FONT), policy="cn-gb45438")
    explicit = next(r for r in small.requirements if r.id == "explicit_label")
    assert not explicit.satisfied and explicit.missing.startswith("text height ")
    assert explicit.missing.endswith("of the shorter side, under the 5% required")


@pytest.mark.slow
def test_ny_conspicuous_needs_contrast():
    clear = pill(ad(), "Made with AI", (760, 40), 44)
    assert scan(clear, policy="ny-synthetic-performer").verdict is Verdict.DISCLOSED
    faint = pill(ad(), "Made with AI", (760, 40), 44, fill=(120, 120, 120),
                 ink=(150, 150, 150))
    report = scan(faint, policy="ny-synthetic-performer")
    if visible(report):  # read despite the low contrast: the policy must still refuse it
        assert report.verdict is Verdict.UNDISCLOSED
        assert "required" in report.requirements[0].missing
        assert report.requirements[0].missing.startswith("contrast ")


def test_no_ocr_skips_visible_labels():
    image = pill(ad(), "AI generated", (840, 40), 40)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    report = labelcheck.scan(buffer.getvalue(), name="ad.jpg", pixels=False)
    assert visible(report) == [] and report.verdict is Verdict.NO_AI_SIGNAL


def test_ai_and_digits_alone_need_a_badge_to_count():
    """A house number "A128" reads "AI 28", which the Korean entry (an "AI" and what the
    model could not read of Hangul) would take: digits after "AI" count only on a badge."""
    assert match_label("A128").needs_badge and match_label("AI2").needs_badge
    assert not match_label("AI生放").needs_badge  # residue in another script is evidence
    assert not match_label("AI [unreadable]").needs_badge
    assert not match_label("AI generated").needs_badge


def test_big_low_contrast_sign_is_no_label_and_a_badge_is():
    facade = ad(size=(640, 480))
    ImageDraw.Draw(facade).text((40, 110), "A128", font=font(230), fill=(150, 120, 95))
    assert visible(scan(facade)) == []
    badge = pill(ad(size=(640, 480)), "AI2", (520, 24), 26)
    [label] = visible(scan(badge))
    assert label.measurements["lang"] == "ko" and label.measurements["contrast"] > 3


def test_measurements_describe_the_box_that_matched():
    """Letters that fill their box to its edges (a sign, not a badge) leave the letter mask
    nothing inside the box: the height is then the box's, never a speck's."""
    from labelcheck.sources.visible_label import measure_label

    rgb = np.full((480, 640, 3), 200, np.uint8)
    rgb[121:449, 23:120] = (120, 40, 30)  # a tall letter stroke from the box's top to bottom
    rgb[121:449, 300:340] = (120, 40, 30)
    rgb[200:210, 400:410] = (120, 40, 30)  # a speck inside the box
    measure = measure_label(rgb, (23, 121, 616, 328))
    assert measure.height_ratio == pytest.approx(328 / 480, abs=0.01)
