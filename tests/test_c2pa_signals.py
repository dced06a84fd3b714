"""The C2PA Asset Rubrics 1.0 signals, C2PA 2.4's AI disclosure, CAWG and soft-binding
assertions, IPTC 2025.1's AI fields and the vocabulary aligned with the rubric.

Each signal is tested on a manifest signed here that carries it; the real files show the
signals the rubric gives them, and what labelcheck reads wider says why.
"""

import datetime as dt

import pytest

import labelcheck
from c2pa_signing import C2PA_TYPES, IPTC, created, make_ca, manifest, picture, sign
from conftest import TEST_MEDIA, jpeg_with_xmp, xmp_packet
from labelcheck import Kind, Verdict
from labelcheck.core.model import Status
from labelcheck.core.settings import Settings

EDIT = "c2pa.edited"
SIGNAL_CASES = {
    "blankCanvas": [created(C2PA_TYPES + "empty")],
    "capturedMedia": [created(IPTC + "digitalCapture")],
    "capturedMediaStitched": [created(IPTC + "compositeCapture")],
    "compositionMayContainGenAI": [created(IPTC + "composite")],
    "fullyGenAIMedia": [created(IPTC + "trainedAlgorithmicMedia")],
    "nonGenAIDigitalCreation": [created(IPTC + "digitalCreation")],
    "partlyGenAICreation": [created(IPTC + "compositeWithTrainedAlgorithmicMedia")],
    "screenCaptureMayContainGenAI": [created(IPTC + "screenCapture")],
    "perceptibleGenAI": [created(IPTC + "digitalCapture"),
                         {"action": EDIT, "digitalSourceType": IPTC + "trainedAlgorithmicMedia"}],
    "perceptibleNonGenAI": [created(IPTC + "digitalCapture"),
                            {"action": "c2pa.cropped", "digitalSourceType": IPTC + "humanEdits"}],
    "perceptiblePossiblyGenAI": [created(IPTC + "digitalCapture"),
                                 {"action": EDIT, "digitalSourceType": IPTC + "composite"}],
    "nonEditorial": [created(IPTC + "digitalCapture"), {"action": "c2pa.resized.proportional"}],
    "ambiguousActions": [created(IPTC + "digitalCapture"), {"action": "com.example.magic"}],
}
AI_SIGNALS = {"fullyGenAIMedia", "partlyGenAICreation", "perceptibleGenAI"}


@pytest.fixture(scope="module")
def ca():
    return make_ca()


def scan_signed(data: bytes, policy: str = "default"):
    """A scan on the day the EU rules apply from, so that their requirements bind."""
    return labelcheck.scan(data, policy, settings=Settings(pixels=False,
                                                            as_of=dt.date(2026, 9, 1)))


def signals_of(report, role: str = "active manifest") -> dict:
    (found,) = [f for f in report.findings
                if f.code == "c2pa.signals" and f.details["role"] == role]
    return found


@pytest.mark.parametrize("name", sorted(SIGNAL_CASES))
def test_each_signal_on_a_manifest_that_carries_it(ca, name):
    report = scan_signed(sign(manifest(SIGNAL_CASES[name]), ca))
    finding = signals_of(report)
    signals = finding.details["signals"]
    assert signals[name]["read_by"] == "rubric"
    assert signals[name]["id"].endswith(f"signal_{name}")
    assert finding.details["asserted_by"] == "Test Signer (Labelcheck Test Signer)"
    assert name in finding.message and "Labelcheck Test Signer" in finding.message
    if name != "ambiguousActions":
        assert "ambiguousActions" not in signals
    assert report.ai_generated is (name in AI_SIGNALS)


def test_media_of_unknown_provenance(ca):
    definition = manifest([{"action": "c2pa.opened", "parameters": {"ingredientIds": ["p"]}}])
    data = sign(definition, ca, ingredients=[(
        {"title": "plain.png", "relationship": "parentOf", "label": "p"}, "image/png",
        picture("PNG"))])
    assert signals_of(scan_signed(data)).details["signals"]["mediaUnknownProvenance"][
        "read_by"] == "rubric"


def test_unlisted_actions_are_ambiguous(ca):
    report = scan_signed(sign(manifest([created(IPTC + "trainedAlgorithmicMedia")],
                                       all_included=False), ca))
    assert {"ambiguousActions", "fullyGenAIMedia"} <= set(signals_of(report).details["signals"])


def test_loosely_written_source_type_is_read_wider(ca):
    """The rubric compares whole URIs: an https URI gives it nothing, labelcheck says why."""
    report = scan_signed(sign(manifest([created(
        "https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")]), ca))
    signal = signals_of(report).details["signals"]["fullyGenAIMedia"]
    assert signal["read_by"] == "labelcheck (wider than the rubric)"
    assert "not written as the exact URI" in signal["because"][0]
    (declaration,) = [f for f in report.findings if f.code == "c2pa.ai_source_type"]
    assert "not written as the exact URI" in declaration.message


# -- real files: the signals the rubric gives them, and what labelcheck adds ----------------

REAL_SIGNALS = {  # file: (rubric signals of the active manifest, signals labelcheck adds)
    "c2pa-python/C.dng": (set(), set()),
    "c2pa-rs/CACA.jpg": ({"ambiguousActions"}, set()),
    "c2pa-rs/C_with_CAWG_data.jpg": (set(), {"capturedMedia"}),
    "c2pa-rs/ocsp.jpg": ({"ambiguousActions"}, {"partlyGenAICreation", "perceptibleGenAI"}),
    "c2pa-rs/adobe_connected_identities.jpg": ({"ambiguousActions"}, {"nonEditorial"}),
    "public-testfiles/adobe-20240110-single_manifest_store.pdf": ({"ambiguousActions"},
                                                                  {"perceptibleGenAI"}),
    "public-testfiles/adobe-20220124-CA.jpg": ({"ambiguousActions"}, {"mediaUnknownProvenance"}),
}


@pytest.mark.parametrize("name", sorted(REAL_SIGNALS))
def test_real_files_show_the_rubric_signals(real_media, name):
    rubric, wider = REAL_SIGNALS[name]
    signals = signals_of(labelcheck.scan(real_media / name, pixels=False)).details["signals"]
    assert {s for s, v in signals.items() if v["read_by"] == "rubric"} == rubric
    assert {s for s, v in signals.items() if v["read_by"] != "rubric"} == wider


def test_v1_actions_are_read_wider_and_say_so(real_media):
    """Every real AI file writes v1 actions: the rubric gives them no AI signal, labelcheck
    reads them and says that the rubric does not."""
    report = labelcheck.scan(real_media / "c2pa-rs" / "ocsp.jpg", pixels=False)
    signal = signals_of(report).details["signals"]["partlyGenAICreation"]
    assert signal["because"] == ["read from v1 c2pa.actions, which the Asset Rubrics 1.0 do "
                                 "not read"]
    ingredient = signals_of(report, "ingredient manifest")
    assert "fullyGenAIMedia" in ingredient.details["signals"]
    assert "Adobe Firefly" in ingredient.details["asserted_by"]
    declared = [f for f in report.findings if f.code == "c2pa.ai_source_type"]
    assert all("read from v1 c2pa.actions, which the Asset Rubrics 1.0 do not read" in f.message
               for f in declared)
    assert any("declared in an ingredient's manifest" in f.message for f in declared)
    assert any(f.code == "c2pa.ai_generator" and "which the Asset Rubrics do not read"
               in f.message for f in report.findings)


def test_adobe_parameter_is_read_wider_and_says_so():
    report = labelcheck.scan(TEST_MEDIA / "ai_c2pa_legacy_param.jpg", pixels=False)
    because = signals_of(report).details["signals"]["fullyGenAIMedia"]["because"]
    assert because == ["read from Adobe's com.adobe.digitalSourceType parameter, which the "
                       "rubric does not read"]
    (declaration,) = [f for f in report.findings if f.code == "c2pa.ai_source_type"]
    assert declaration.details["wider_than_rubric"] == because[0]
    assert declaration.location.endswith("parameters.com.adobe.digitalSourceType")


# -- the vocabulary aligned with the rubric --------------------------------------------------

@pytest.mark.parametrize("term", ["digitalArt", "composite", "screenCapture"])
def test_possibly_ai_source_types_in_iptc_are_reported_not_evidence(term):
    data = jpeg_with_xmp(xmp_packet(
        f'<Iptc4xmpExt:DigitalSourceType>{IPTC}{term}</Iptc4xmpExt:DigitalSourceType>',
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'))
    report = labelcheck.scan(data, pixels=False)
    (finding,) = [f for f in report.findings if f.detector == "xmp"]
    assert finding.kind is Kind.POSSIBLE_AI and not report.ai_generated
    if term == "digitalArt":
        assert "a retired term, now digitalCreation" in finding.message


def test_c2pa_screen_capture_is_possibly_ai(ca):
    report = scan_signed(sign(manifest(SIGNAL_CASES["screenCaptureMayContainGenAI"]), ca))
    (finding,) = [f for f in report.findings if f.code == "c2pa.possible_ai_source_type"]
    assert "screenCaptureMayContainGenAI" in finding.message
    assert report.verdict is Verdict.NO_AI_SIGNAL


# -- C2PA 2.4 and CAWG -----------------------------------------------------------------------

AI_DISCLOSURE = {"label": "c2pa.ai-disclosure",
                 "data": {"modelType": "c2pa.types.model", "modelName": "ExampleGen",
                          "modelIdentifier": "urn:example:model:examplegen-2.1",
                          "contentProfile": {"humanOversightLevel": "prompt_guided"}}}
SOFT_BINDING = {"label": "c2pa.soft-binding",
                "data": {"alg": "com.adobe.trustmark.Q",
                         "blocks": [{"scope": {}, "value": "2*0000001001010000010000111101"}]}}
CAWG_METADATA = {"label": "cawg.metadata", "kind": "Json",
                 "data": {"@context": {"Iptc4xmpExt":
                                       "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"},
                          "Iptc4xmpExt:AISystemUsed": "ExampleGen",
                          "Iptc4xmpExt:AISystemVersionUsed": "2.1"}}
TRAINING = {"label": "cawg.training-mining",
            "data": {"entries": {"cawg.ai_generative_training": {"use": "notAllowed"}}}}
RECEIPT = {"label": "c2pa.repository-receipt",
           "data": {"repository": "https://manifests.example.com", "id": "abc123"}}
CAPTURE = [created(IPTC + "digitalCapture")]


def test_ai_disclosure_is_an_ai_declaration(ca):
    """An AI disclosure alone, with no AI source type, declares AI."""
    report = scan_signed(sign(manifest(CAPTURE, [AI_DISCLOSURE]), ca))
    (finding,) = [f for f in report.findings if f.code == "c2pa.ai_disclosure"]
    assert finding.kind is Kind.AI_DECLARATION and finding.channel == "c2pa"
    assert finding.details == {"modelType": "c2pa.types.model", "modelName": "ExampleGen",
                               "modelIdentifier": "urn:example:model:examplegen-2.1",
                               "humanOversightLevel": "prompt_guided"}
    assert report.verdict is Verdict.DISCLOSED


def test_cawg_metadata_names_the_ai_system(ca):
    report = scan_signed(sign(manifest(CAPTURE, [CAWG_METADATA]), ca))
    (finding,) = [f for f in report.findings if f.code == "c2pa.ai_system"]
    assert finding.kind is Kind.AI_TRACE
    assert finding.details == {"AISystemUsed": "ExampleGen", "AISystemVersionUsed": "2.1"}
    (metadata,) = [f for f in report.findings if f.code == "c2pa.cawg_metadata"]
    assert metadata.details["fields"] == {"Iptc4xmpExt:AISystemUsed": "ExampleGen",
                                          "Iptc4xmpExt:AISystemVersionUsed": "2.1"}


def test_training_mining_and_repository_receipt_are_reported(ca):
    report = scan_signed(sign(manifest(CAPTURE, [TRAINING, RECEIPT]), ca))
    codes = {f.code: f for f in report.findings}
    assert "cawg.ai_generative_training notAllowed" in codes["c2pa.training_mining"].message
    receipt = codes["c2pa.repository_receipt"]
    assert "repository https://manifests.example.com" in receipt.message
    assert "not contacted" in receipt.message and receipt.kind is Kind.INFO


def test_declared_watermark_is_named_and_stays_not_verifiable(ca):
    report = scan_signed(sign(manifest([created(IPTC + "trainedAlgorithmicMedia")],
                                       [SOFT_BINDING]), ca), "eu-ai-act")
    (binding,) = [f for f in report.findings if f.code == "c2pa.soft_binding"]
    assert binding.channel == "watermark" and binding.kind is Kind.INFO
    assert "Adobe TrustMark invisible watermark (com.adobe.trustmark.Q)" in binding.message
    (watermark,) = [r for r in report.requirements if r.id == "imperceptible_watermark"]
    assert watermark.status is Status.NOT_VERIFIABLE
    assert "declared, not decodable here" in watermark.missing
    assert "com.adobe.trustmark.Q" in watermark.missing


def test_cawg_identity_says_who_and_how(real_media):
    x509 = labelcheck.scan(real_media / "c2pa-rs" / "C_with_CAWG_data.jpg", pixels=False)
    (identity,) = [f for f in x509.findings if f.code == "c2pa.cawg_identity"]
    assert identity.details["verified_by"] == "cawg.x509.cose"
    assert "C2PA Signer (C2PA Test Signing Cert)" in identity.message
    assert "cawg.x509.credential.untrusted" in identity.details["status"]
    ica = labelcheck.scan(real_media / "c2pa-rs" / "adobe_connected_identities.jpg",
                          pixels=False)
    (identity,) = [f for f in ica.findings if f.code == "c2pa.cawg_identity"]
    assert identity.details["verified_by"] == "cawg.identity_claims_aggregation"
    assert "behance testuser23 (cawg.social_media, verified 2025-04-09)" in identity.message


def test_real_soft_bindings_name_watermark_and_fingerprint(real_media):
    report = labelcheck.scan(real_media / "c2pa-rs" / "ims_multiple_manifests.jpg",
                             pixels=False)
    kinds = sorted(f.details["kind"] for f in report.findings if f.code == "c2pa.soft_binding")
    assert kinds == ["fingerprint", "watermark"]


# -- IPTC 2025.1 -----------------------------------------------------------------------------

def iptc_ai_jpeg(source_type: str | None) -> bytes:
    body = ("<Iptc4xmpExt:AISystemUsed>Midjourney</Iptc4xmpExt:AISystemUsed>"
            "<Iptc4xmpExt:AISystemVersionUsed>6.1</Iptc4xmpExt:AISystemVersionUsed>"
            "<Iptc4xmpExt:AIPromptInformation>a red fox in snow</Iptc4xmpExt:AIPromptInformation>"
            "<Iptc4xmpExt:AIPromptWriterName>Jane Doe</Iptc4xmpExt:AIPromptWriterName>")
    if source_type:
        body += (f"<Iptc4xmpExt:DigitalSourceType>{IPTC}{source_type}"
                 "</Iptc4xmpExt:DigitalSourceType>")
    return jpeg_with_xmp(xmp_packet(
        body, 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'))


def test_iptc_ai_fields_alone_are_evidence_not_disclosure():
    report = labelcheck.scan(iptc_ai_jpeg(None), pixels=False)
    (finding,) = [f for f in report.findings if f.code == "iptc.ai_system"]
    assert finding.kind is Kind.AI_TRACE and finding.channel is None
    assert "AI system used 'Midjourney', version '6.1'" in finding.message
    assert finding.details["AIPromptWriterName"] == "Jane Doe"
    assert report.ai_generated and report.verdict is Verdict.UNDISCLOSED


def test_iptc_ai_fields_with_an_ai_source_type_disclose():
    report = labelcheck.scan(iptc_ai_jpeg("trainedAlgorithmicMedia"), pixels=False)
    (finding,) = [f for f in report.findings if f.code == "iptc.ai_system"]
    assert finding.kind is Kind.AI_DECLARATION and finding.channel == "iptc"
    assert report.verdict is Verdict.DISCLOSED
