"""Acceptance on generated ads: visible-label recall and false positives on a subset of the
set that test_media/generate_labels.py makes (the full 660-image run is bench/visible_labels.py).
"""

import importlib.util
import json
import sys

import pytest

from conftest import TEST_MEDIA
from labelcheck.run.batch import scan_many
from labelcheck.core.policy import Policy
from labelcheck.core.settings import Settings

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

POSITIVES, NEGATIVES = 48, 48  # four labelled ads per language, and as many negatives


def _generator():
    spec = importlib.util.spec_from_file_location("generate_labels",
                                                  TEST_MEDIA / "generate_labels.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_labels"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    generator = _generator()
    folder = tmp_path_factory.mktemp("labels")
    try:
        generator.generate(folder, POSITIVES, NEGATIVES)
    except generator.FontMissingError as exc:
        pytest.skip(str(exc))
    manifest = json.loads((folder / "manifest.json").read_text())
    paths = [str(folder / item["file"]) for item in manifest]
    reports = scan_many(paths, Policy.load("default"), Settings(), workers=2)
    return [(item, report) for item, report in zip(manifest, reports)]


def visible(report):
    return [f for f in report.findings if f.channel == "visible"]


def test_recall_on_labelled_ads(results):
    positives = [(item, report) for item, report in results if item["positive"]]
    missed = [item["file"] for item, report in positives if not visible(report)]
    assert len(positives) == POSITIVES
    assert 1 - len(missed) / len(positives) >= 0.97, missed


def test_no_false_positive_on_confusable_ads(results):
    false = [(item["file"], [f.measurements["text"] for f in visible(report)])
             for item, report in results if not item["positive"] and visible(report)]
    assert false == []

