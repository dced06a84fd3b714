"""test_media/generate_labels.py: the visible-AI-label picture generator (small runs only)."""

import importlib.util
import json
import re
import sys

import pytest
from PIL import Image, ImageStat

from conftest import TEST_MEDIA

pytestmark = pytest.mark.slow  # deselect with -m "not slow"


def _load():
    name = "generate_labels"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TEST_MEDIA / "generate_labels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so worker processes can unpickle its functions
    spec.loader.exec_module(module)
    return module


gen = _load()
N_POS, N_NEG = 6, 6
AI_WORD = re.compile(r"(?<![A-Za-z])(AI|IA|KI)(?![A-Za-z])")
# "AI" alone (the EU icon) is matched as a word by AI_WORD, not as a substring ("AIR MAX")
ALL_LABELS = [text for texts in gen.LABELS.values() for text in texts if text != "AI"]


def _contains_label(text: str) -> bool:
    low = text.casefold()
    return bool(AI_WORD.search(text)) or any(label.casefold() in low for label in ALL_LABELS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same small set generated twice: in this process and with 2 worker processes."""
    try:
        gen.resolve_fonts()
    except gen.FontMissingError as exc:
        pytest.skip(str(exc))
    first = tmp_path_factory.mktemp("labels_a")
    second = tmp_path_factory.mktemp("labels_b")
    gen.generate(first, N_POS, N_NEG, workers=1)
    gen.generate(second, N_POS, N_NEG, workers=2)
    return first, second


@pytest.fixture(scope="module")
def manifest(runs):
    return json.loads((runs[0] / "manifest.json").read_text(encoding="utf-8"))


def test_deterministic_bytes(runs):
    first, second = runs
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) == N_POS + N_NEG + 1
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_manifest_fields(runs, manifest):
    assert len(manifest) == N_POS + N_NEG
    assert sum(e["positive"] for e in manifest) == N_POS
    assert len({e["file"] for e in manifest}) == len(manifest)
    required = {"file", "positive", "language", "text", "box", "text_height_ratio", "position",
                "style", "font", "jpeg_quality", "scale", "cut", "confusables"}
    for e in manifest:
        assert required <= set(e), e["file"]
        assert e["file"].endswith(".jpg")
        assert 50 <= e["jpeg_quality"] <= 95
        assert e["scale"] == 1.0 or 0.6 <= e["scale"] <= 0.9
        assert isinstance(e["cut"], bool)
        with Image.open(runs[0] / e["file"]) as im:
            assert im.format == "JPEG"
            assert list(im.size) == e["size"]
            w, h = e["size"]
        base = (round(w / e["scale"]), round(h / e["scale"]))
        assert base in {(1080, 1350), (1080, 1080), (1350, 1080)}, (e["file"], base)


def test_positives(runs, manifest):
    positives = [e for e in manifest if e["positive"]]
    for e in positives:
        assert e["language"] in gen.LANGUAGES
        assert e["text"] in gen.LABELS[e["language"]]
        assert e["style"] in gen.STYLES
        assert (e["style"] == "eu_icon") == (e["language"] == "eu_icon") == (e["text"] == "AI")
        assert e["position"] in ("corner", "edge", "centre")
        assert e["font"] in gen.SPEC_BY_NAME
        assert 0.015 <= e["text_height_ratio"] <= 0.11, e
        x, y, bw, bh = e["box"]
        w, h = e["size"]
        assert bw > 0 and bh > 0
        assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h, e
        assert not any(_contains_label(t) for t in e["texts"]), e["texts"]
        # something is drawn where the label is said to be
        with Image.open(runs[0] / e["file"]) as im:
            crop = im.convert("L").crop((x, y, x + bw, y + bh))
            assert ImageStat.Stat(crop).stddev[0] > 10, e["file"]
    # 6 positives: the first six languages, one of them cut by the border
    assert [e["language"] for e in positives] == gen.LANGUAGES[:N_POS]
    assert sum(e["cut"] for e in positives) == 1


def test_negatives(manifest):
    for e in (e for e in manifest if not e["positive"]):
        assert e["text"] is None and e["box"] is None and e["text_height_ratio"] is None
        assert e["cut"] is False
        assert 4 <= len(e["texts"]) <= 8, e
        assert len(e["confusables"]) >= 2
        assert set(e["confusables"]) <= set(gen.CONFUSABLES)
        assert set(e["confusables"]) <= set(e["texts"])
        for text in e["texts"]:
            assert not _contains_label(text), (e["file"], text)


def test_vocabulary_has_no_label_outside_labels():
    """Ordinary ad texts and confusables never contain a label (nor "AI" as a word)."""
    for words in (gen.CONFUSABLES, gen.BRANDS, gen.PRODUCTS, gen.PRICES, gen.CTAS, gen.SLOGANS,
                  gen.URLS):
        for text in words:
            assert not _contains_label(text), text


def test_full_plan_is_balanced():
    """The default 330 + 330 plan (no drawing): languages even, ~10 % centred, ~10 cut,
    20 % rescaled, JPEG quality over 50..95, heights spread over 2-10 %."""
    from collections import Counter

    plan = gen.build_plan(330, 330)
    pos = [p for p in plan if p["positive"]]
    assert len(pos) == 330 and len(plan) == 660
    langs = Counter(p["language"] for p in pos)
    assert set(langs) == set(gen.LANGUAGES) and max(langs.values()) - min(langs.values()) <= 1
    styles = Counter(p["style"] for p in pos)
    assert set(styles) == set(gen.STYLES)
    assert all(styles[s] >= 55 for s in gen.TEXT_STYLES)
    assert 30 <= sum(p["anchor"] == "centre" for p in pos) <= 36
    assert sum(bool(p["cut_fraction"]) for p in pos) == 10
    assert all(0.3 <= p["cut_fraction"] <= 0.6 for p in pos if p["cut_fraction"])
    assert sum(p["scale"] != 1.0 for p in plan) == 132
    assert {p["jpeg_quality"] for p in plan} == set(range(50, 96))
    ratios = sorted(p["target_ratio"] for p in pos)
    assert 0.02 <= ratios[0] < 0.021 and 0.099 < ratios[-1] <= 0.1
    for lang, texts in gen.LABELS.items():
        assert {p["text"] for p in pos if p["language"] == lang} == set(texts), lang
    assert plan == gen.build_plan(330, 330)


def test_fonts_cover_every_label():
    try:
        gen.resolve_fonts()
    except gen.FontMissingError as exc:
        pytest.skip(str(exc))
    for lang, texts in gen.LABELS.items():
        for text in texts:
            assert gen.fonts_for(text, lang if lang != "eu_icon" else None), text
    for text in gen.CONFUSABLES + gen.CTAS + gen.PRICES + gen.SLOGANS + gen.PRODUCTS:
        assert gen.fonts_for(text), text
