"""The bundled test media (test_media/generate.py): every file's expected result, and the
generator's determinism."""

import filecmp
import subprocess
import sys

import pytest

import labelcheck
from conftest import TEST_MEDIA, load_expected
from labelcheck import Kind, Verdict

ROWS = load_expected(TEST_MEDIA / "EXPECTED.json")
TEST_CA = str(TEST_MEDIA / "test_ca.pem")


def findings(report, **match):
    return [f for f in report.findings
            if all(getattr(f, key) == value for key, value in match.items())]


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_expected_result(row):
    report = labelcheck.scan(TEST_MEDIA / row["file"])
    assert report.verdict.value == row["verdict"], report.summary
    assert report.ai_generated is row["ai_generated"]
    assert report.tampered is row["tampered"]
    if row["verdict"] == "error":
        assert report.error
    if row.get("pixels_undecodable"):
        assert findings(report, code="media.pixels_undecodable", kind=Kind.PROBLEM)


@pytest.mark.parametrize("row", [r for r in ROWS if r.get("c2pa_trusted_with_test_ca")],
                         ids=lambda r: r["file"])
def test_trusted_with_the_test_ca(row):
    report = labelcheck.scan(TEST_MEDIA / row["file"], trust_anchors=TEST_CA)
    assert findings(report, code="c2pa.present")[0].details["validation_state"] == "Trusted"
    assert not findings(report, kind=Kind.PROBLEM)


@pytest.mark.parametrize("row", [r for r in ROWS if r.get("sd_watermark")],
                         ids=lambda r: r["file"])
def test_watermark_message(row):
    found = findings(labelcheck.scan(TEST_MEDIA / row["file"]), detector="sd_watermark")
    assert len(found) == 1
    assert row["sd_watermark"].lower() in (found[0].details["message"] + found[0].code).lower()


@pytest.mark.parametrize("row", [r for r in ROWS if "aigc_label" in r], ids=lambda r: r["file"])
def test_aigc_label_value_and_conformance(row):
    report = labelcheck.scan(TEST_MEDIA / row["file"])
    labels = findings(report, detector="aigc", channel="aigc")
    assert [f.measurements["label"] for f in labels] == [row["aigc_label"]]
    assert labels[0].measurements["conformant"] is row["aigc_conforming"]
    assert bool(findings(report, code="aigc.nonconformant")) is not row["aigc_conforming"]


def test_hostile_xmp_is_refused_and_deep_xmp_is_read():
    laughs = labelcheck.scan(TEST_MEDIA / "xmp_billion_laughs.jpg")
    assert [f.code for f in laughs.findings] == ["xmp.unreadable"]
    assert "hostile" in laughs.findings[0].message
    assert labelcheck.scan(TEST_MEDIA / "xmp_deep_nesting.jpg").findings == []


def test_ingredient_only_declaration_is_located_in_the_ingredient():
    report = labelcheck.scan(TEST_MEDIA / "ai_c2pa_ingredient_only.jpg")
    ai = findings(report, code="c2pa.ai_source_type")
    assert ai and all("ingredient manifest" in f.location for f in ai)


def test_tampered_signed_image_is_stripped_with_evidence():
    report = labelcheck.scan(TEST_MEDIA / "ai_c2pa_tampered.jpg")
    changed = findings(report, code="c2pa.content_changed")
    assert changed and changed[0].details["status_code"] == "assertion.dataHash.mismatch"
    assert all(not f.intact for f in findings(report, channel="c2pa"))
    assert report.summary.endswith(
        "A required disclosure was removed or broken: the C2PA declaration no longer matches "
        "the content: it was changed after signing.")
    assert "label removed" not in report.summary.lower()


def test_stripped_copy_keeps_only_the_watermark():
    report = labelcheck.scan(TEST_MEDIA / "ai_stripped.png")
    assert {f.detector for f in report.findings if f.is_ai_evidence} == {"sd_watermark"}
    assert labelcheck.scan(TEST_MEDIA / "ai_stripped.png", pixels=False).verdict \
        is Verdict.NO_AI_SIGNAL


def test_generator_traces_name_their_tool():
    tools = {name: {f.details.get("tool") for f in labelcheck.scan(TEST_MEDIA / name).findings
                    if f.kind is Kind.AI_TRACE}
             for name in ("a1111.png", "a1111_after_idat.png", "comfyui.png",
                          "a1111_usercomment.jpg", "a1111_stealth.png")}
    assert tools["comfyui.png"] == {"ComfyUI"}
    for name in ("a1111.png", "a1111_after_idat.png", "a1111_usercomment.jpg",
                 "a1111_stealth.png"):
        assert tools[name] == {"Stable Diffusion (AUTOMATIC1111 / Forge)"}, name
    after = labelcheck.scan(TEST_MEDIA / "a1111_after_idat.png").findings
    assert any("after IDAT" in f.location for f in after if f.kind is Kind.AI_TRACE)


@pytest.mark.parametrize("policy, verdict", [("default", Verdict.DISCLOSED),
                                             ("eu-ai-act", Verdict.UNDISCLOSED),
                                             ("cn-gb45438", Verdict.UNDISCLOSED),
                                             ("ny-synthetic-performer", Verdict.UNDISCLOSED)])
def test_policies_on_machine_readable_only_disclosure(policy, verdict):
    report = labelcheck.scan(TEST_MEDIA / "aigc_xmp.jpg", policy=policy)
    assert report.verdict is verdict
    assert all(r.satisfied == (r.id in ("any_disclosure", "machine_readable_marking",
                                        "implicit_label")) for r in report.requirements)


def test_video_container_evidence():
    signed = labelcheck.scan(TEST_MEDIA / "c2pa_signed.mp4")
    assert signed.media_kind == "video" and findings(signed, code="c2pa.ai_source_type")
    keyed = labelcheck.scan(TEST_MEDIA / "aigc_key.mp4")
    assert "moov/udta/meta" in findings(keyed, code="aigc.label")[0].location


@pytest.mark.slow
def test_generator_is_deterministic(tmp_path):
    result = subprocess.run([sys.executable, str(TEST_MEDIA / "generate.py"), "--out",
                             str(tmp_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    signed = {row["file"] for row in ROWS if "c2pa" in " ".join(row["evidence"])
              or row["file"].startswith(("ai_c2pa", "c2pa_"))}
    compared = [row["file"] for row in ROWS if row["file"] not in signed]
    _, mismatch, errors = filecmp.cmpfiles(TEST_MEDIA, tmp_path, compared, shallow=False)
    assert not mismatch and not errors
    assert (tmp_path / "EXPECTED.json").read_text() == (TEST_MEDIA / "EXPECTED.json").read_text()


def test_c2pa_readers_are_closed_after_reading(monkeypatch):
    """Every c2pa Reader a scan opens is closed when its manifest store has been read."""
    import c2pa

    opened = []

    class Recorded(c2pa.Reader):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(c2pa, "Reader", Recorded)
    report = labelcheck.scan(TEST_MEDIA / "ai_c2pa_signed.jpg")
    assert findings(report, code="c2pa.present") and len(opened) == 1
    with pytest.raises(c2pa.C2paError, match="closed"):
        opened[0].json()
