"""Acceptance on third-party files: ../shared/real_media and its expected.json."""

import json

import pytest

import labelcheck
from conftest import REAL_MEDIA, load_expected
from labelcheck import Kind, Verdict

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

ROWS = [row for row in load_expected(REAL_MEDIA / "expected.json")
        if row.get("expect_ai_generated") is not None]
TAMPER_CODES = {"assertion.dataHash.mismatch", "assertion.bmffHash.mismatch",
                "claimSignature.mismatch", "assertion.hashedURI.mismatch"}


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_ai_generated_matches_expected(real_media, row):
    report = labelcheck.scan(real_media / row["file"])
    assert report.ai_generated is row["expect_ai_generated"], report.summary
    json.dumps(report.to_dict())  # the contract form always serialises


@pytest.mark.parametrize("row", [r for r in ROWS if set(r["observed"].get("status_codes") or [])
                                 & TAMPER_CODES], ids=lambda r: r["file"])
def test_broken_c2pa_fixtures_are_flagged_tampered(real_media, row):
    report = labelcheck.scan(real_media / row["file"])
    assert report.tampered
    codes = {f.details.get("status_code") for f in report.findings if f.kind is Kind.TAMPER}
    assert codes & TAMPER_CODES


def test_intact_fixtures_are_not_tampered(real_media):
    intact = [r for r in ROWS if r["observed"].get("validation_state") == "Valid"]
    assert intact
    for row in intact:
        assert not labelcheck.scan(real_media / row["file"]).tampered, row["file"]


def test_ai_declared_only_in_ingredient_is_found(real_media):
    report = labelcheck.scan(real_media / "c2pa-rs" / "ocsp.jpg")
    ingredient = [f for f in report.findings if f.code == "c2pa.ai_source_type"
                  and "ingredient manifest" in f.location]
    assert ingredient and "trainedAlgorithmicMedia" in ingredient[0].message
    assert report.verdict is Verdict.DISCLOSED


def test_algorithmic_media_is_not_ai(real_media):
    for name in ("c2pa-rs/C.jpg", "c2pa-python/C.dng", "c2pa-rs/ims_multiple_manifests.jpg"):
        report = labelcheck.scan(real_media / name)
        assert report.verdict is Verdict.NO_AI_SIGNAL, name


def test_zero_byte_and_unreadable_give_error(real_media):
    for name in ("sd-parsers/empty_file.png", "c2pa-rs/dash1.m4s"):
        report = labelcheck.scan(real_media / name)
        assert report.verdict is Verdict.ERROR and report.error, name


def test_trust_anchors_turn_untrusted_into_trusted(real_media):
    path = real_media / "c2pa-rs" / "C.jpg"
    plain = labelcheck.scan(path)
    assert "c2pa.signer_untrusted" in {f.code for f in plain.findings}
    trusted = labelcheck.scan(path, trust_anchors=str(real_media / "c2pa-rs" /
                                                       "test_cert_root_bundle.pem"))
    summary = next(f for f in trusted.findings if f.code == "c2pa.present")
    assert summary.details["validation_state"] == "Trusted"
    assert "c2pa.signer_untrusted" not in {f.code for f in trusted.findings}


def test_expired_signer_is_named_expired_not_tampering(real_media):
    report = labelcheck.scan(real_media / "public-testfiles" / "nikon-20221019-building.jpeg")
    expired = [f for f in report.findings if f.code == "c2pa.certificate_expired"]
    assert expired and expired[0].details["status_code"] == "signingCredential.expired"
    assert expired[0].kind is Kind.PROBLEM and "not evidence of tampering" in expired[0].message
    state = next(f for f in report.findings if f.code == "c2pa.signer_invalid")
    assert "expired" in state.message and state.details["signer_state"] == "invalid"
    assert not report.tampered


def test_remote_manifest_is_reported_not_fetched(real_media):
    report = labelcheck.scan(real_media / "c2pa-rs" / "cloud.jpg")
    codes = {f.code for f in report.findings}
    assert "c2pa.remote_unreachable" in codes and "xmp.remote_manifest_link" in codes
    assert report.verdict is Verdict.NO_AI_SIGNAL


def test_stealth_pnginfo_needs_pixels(real_media):
    path = real_media / "sd-parsers" / "automatic1111_stealth.png"
    report = labelcheck.scan(path)
    stealth = [f for f in report.findings if f.detector == "stealth_pnginfo"]
    assert stealth and stealth[0].details["Seed"] == "2015833630"
    assert not labelcheck.scan(path, pixels=False).ai_generated


def test_iptc_software_image_is_not_ai(real_media):
    report = labelcheck.scan(real_media / "php-image-metadata-parser" /
                             "IPTC-PhotometadataRef-Std2021.1.jpg")
    assert [f.kind for f in report.findings if f.detector == "xmp"] == [Kind.NOT_AI_DECLARATION]
    assert report.verdict is Verdict.NO_AI_SIGNAL
