"""C2PA trust: the bundled official lists, the allowed EKUs, the three signer states kept apart,
the trust options of the CLI, the web app and the results store.

The trusted state is shown with manifests signed here by a test CA that the test gives as a
trust anchor (no real file in ../shared chains to the official list); valid-but-untrusted with
the C2PA SDK fixtures in ../shared/real_media; invalid with its tamper fixtures.
"""

import datetime as dt
import json
import time

import c2pa
import pytest

import labelcheck
from c2pa_signing import (EMAIL_PROTECTION, IPTC, created, make_ca, manifest,
                          picture, sign)
from conftest import TEST_MEDIA
from labelcheck import Kind, Verdict
from labelcheck.cli.main import main
from labelcheck.core.settings import Settings
from labelcheck.run.store import setup_digest
from labelcheck.core.policy import Policy
from labelcheck.sources.c2pa import trust
from labelcheck.sources.c2pa.chain import signer_chains
from labelcheck.sources.c2pa.validation import classify
from labelcheck.sources.c2pa.store import ManifestStore
from labelcheck.formats.media import Media

AI_MANIFEST = manifest([created(IPTC + "trainedAlgorithmicMedia")])


def signer(report):
    """The one signer-state finding of a report."""
    states = [f for f in report.findings if f.code.startswith("c2pa.signer_")]
    assert len(states) == 1, [f.code for f in states]
    return states[0]


def scan_bytes(data: bytes, **settings):
    return labelcheck.scan(data, settings=Settings(pixels=False, **settings))


@pytest.fixture(scope="module")
def ca():
    return make_ca("Example Generator")


@pytest.fixture(scope="module")
def signed(ca):
    return sign(AI_MANIFEST, ca)


@pytest.fixture
def anchors(tmp_path, ca):
    """The test CA as a LoTE JSON list (with an entity name) and as a PEM file."""
    lote, pem = tmp_path / "test-list.json", tmp_path / "test-root.pem"
    lote.write_text(ca.lote("Example Generator Inc."), encoding="utf-8")
    pem.write_bytes(ca.root_pem)
    return {"lote": str(lote), "pem": str(pem)}


# -- the bundled lists -----------------------------------------------------------------------

def test_bundled_claim_list_has_its_entities_and_dates():
    official = trust.bundled("claim")
    assert len(official.entries) == 30 and len(official.entities()) == 17
    assert {"Google LLC", "Trufo Inc.", "Adobe Inc"} <= set(official.entities())
    assert (official.issued.date(), official.next_update.date()) == \
        (dt.date(2026, 8, 5), dt.date(2027, 8, 5))
    assert not official.is_stale(dt.datetime(2027, 8, 4, tzinfo=dt.timezone.utc))
    assert official.is_stale(dt.datetime(2027, 8, 6, tzinfo=dt.timezone.utc))


@pytest.mark.parametrize("kind", ["claim", "tsa"])
def test_bundled_json_and_pem_hold_the_same_certificates(kind):
    """c2pa-rs is given the JSON's certificates; the published PEM must be the same list."""
    from importlib import resources

    from cryptography.hazmat.primitives import hashes, serialization

    listed = trust.bundled(kind)
    name = trust.BUNDLED[kind]
    pem = resources.files("labelcheck.data").joinpath(f"trust/{name}.pem").read_bytes()
    published = trust.parse_pem(pem, name)
    assert {e.fingerprint for e in listed.entries} == {e.fingerprint for e in published.entries}
    # the list's DER is parsed only when a certificate is asked for: every one parses, and
    # the fingerprint taken from the DER is cryptography's
    assert [e.certificate.fingerprint(hashes.SHA256()) for e in listed.entries] == \
        [e.fingerprint for e in listed.entries]
    assert listed.pem().encode() == b"".join(
        e.certificate.public_bytes(serialization.Encoding.PEM) for e in listed.entries)
    assert resources.files("labelcheck.data").joinpath("trust/LICENSE").read_text(
        "utf-8").startswith("Attribution 4.0 International")


def test_a_listed_issuing_ca_names_its_entity():
    """The list holds issuing CAs as well as roots: a chain through Google's media ICA names
    Google, from the list's JSON."""
    official = trust.bundled("claim")
    ica = next(e for e in official.entries
               if e.service == "Google C2PA Media Services 1P ICA G3")
    assert official.entity_for([ica.certificate]).entity == "Google LLC"
    assert official.entity_for([make_ca().root]) is None


def test_reader_settings_always_allow_the_claim_signing_eku():
    for mode in trust.TRUST_MODES[::2]:  # official and none
        settings = trust.trust_setup(mode).reader_settings()
        assert "1.3.6.1.4.1.62558.2.1" in settings["trust"]["trust_config"].splitlines()
    assert trust.trust_setup("none").reader_settings()["verify"]["verify_trust"] is False


# -- the three signer states -----------------------------------------------------------------

def test_trusted_signer_is_named_from_the_list(signed, anchors):
    """A claim-signing-only leaf, through an issuing CA, to a root on a LoTE list: trusted,
    with the entity's name from the list (not the certificate's organisation)."""
    report = scan_bytes(signed, trust_anchors=anchors["lote"])
    state = signer(report)
    assert state.code == "c2pa.signer_trusted" and state.kind is Kind.INFO
    assert state.details["entity"] == "Example Generator Inc."
    assert "Test Trust List issued 2026-01-01 (file test-list.json)" in state.message
    assert str(anchors["lote"]) not in json.dumps(report.to_dict())  # no server paths
    assert report.verdict is Verdict.DISCLOSED


def test_trusted_by_pem_anchor_is_named_by_the_certificate(signed, anchors):
    state = signer(scan_bytes(signed, trust_anchors=anchors["pem"]))
    assert state.code == "c2pa.signer_trusted"
    assert state.details["entity"] == "Example Generator"  # the root's organisation


def test_anchors_replace_or_add_to_the_official_list(signed, anchors):
    added = trust.trust_setup("official", anchors["pem"])
    only = trust.trust_setup("anchors", anchors["pem"])
    assert [t.name for t in added.lists] == ["C2PA Trust List", "C2PA TSA Trust List",
                                             "trust anchors you gave"]
    assert [t.name for t in only.lists] == ["trust anchors you gave"]
    assert signer(scan_bytes(signed, trust="anchors",
                             trust_anchors=anchors["pem"])).code == "c2pa.signer_trusted"


def test_claim_signing_eku_alone_is_valid_not_invalid(signed):
    """Under the official list, a signer whose certificate carries only the C2PA EKU is valid
    but untrusted. Without the allowed EKUs c2pa-rs calls the same file invalid."""
    state = signer(scan_bytes(signed))
    assert state.code == "c2pa.signer_untrusted" and state.details["signer_state"] == \
        "valid_untrusted"
    bare = c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False}})
    import io
    with bare, c2pa.Reader("image/jpeg", io.BytesIO(signed), context=bare) as reader:
        assert reader.get_validation_state() == "Invalid"


def test_email_protection_signer_is_accepted_too(anchors, tmp_path):
    ca = make_ca("Mail Signer", ekus=(EMAIL_PROTECTION,), intermediate=False)
    (tmp_path / "mail.pem").write_bytes(ca.root_pem)
    report = scan_bytes(sign(AI_MANIFEST, ca), trust_anchors=str(tmp_path / "mail.pem"))
    assert signer(report).code == "c2pa.signer_trusted"


def test_trust_none_checks_integrity_only(signed):
    report = scan_bytes(signed, trust="none")
    state = signer(report)
    assert state.code == "c2pa.signer_untrusted"
    assert "trust is not checked" in state.message
    assert report.verdict is Verdict.DISCLOSED


@pytest.mark.parametrize("name", ["c2pa-rs/C.jpg", "c2pa-rs/ocsp.jpg",
                                  "public-testfiles/adobe-20240110-single_manifest_store.pdf"])
def test_sdk_fixtures_are_valid_but_untrusted(real_media, name):
    report = labelcheck.scan(real_media / name, pixels=False)
    state = signer(report)
    assert state.code == "c2pa.signer_untrusted" and state.kind is Kind.INFO
    assert "C2PA Trust List issued 2026-08-05" in state.message
    assert not report.tampered
    assert not [f for f in report.findings if f.detector == "c2pa" and f.kind is Kind.PROBLEM]


def test_sdk_fixture_is_trusted_with_the_sdk_test_roots(real_media):
    report = labelcheck.scan(real_media / "c2pa-rs" / "C.jpg", pixels=False,
                             trust_anchors=str(real_media / "c2pa-rs" /
                                               "test_cert_root_bundle.pem"))
    state = signer(report)
    assert state.code == "c2pa.signer_trusted"
    assert state.details["entity"] == "C2PA Test Root CA"


@pytest.mark.parametrize("name,tamper", [
    ("public-testfiles/adobe-20220124-E-sig-CA.jpg", "c2pa.manifest_altered"),
    ("public-testfiles/adobe-20220124-E-dat-CA.jpg", "c2pa.content_changed"),
    ("c2pa-rs/XCA.jpg", "c2pa.content_changed"),
    ("c2pa-rs/dashinit.mp4", "c2pa.content_changed")])
def test_tamper_fixtures_are_invalid(real_media, name, tamper):
    report = labelcheck.scan(real_media / name, pixels=False)
    state = signer(report)
    assert state.code == "c2pa.signer_invalid" and state.kind is Kind.PROBLEM
    assert any(f.code == tamper and f.kind is Kind.TAMPER for f in report.findings)
    assert report.tampered


def test_tampered_pixels_make_a_trusted_signer_invalid(signed, anchors):
    data = bytearray(signed)
    data[-10] ^= 0xFF  # in the entropy-coded data, before the end-of-image marker
    report = scan_bytes(bytes(data), trust_anchors=anchors["lote"])
    state = signer(report)
    assert state.code == "c2pa.signer_invalid"
    assert "the content changed after signing" in state.message
    assert report.verdict is Verdict.STRIPPED


def test_expired_certificate_is_named_expired(anchors, tmp_path):
    """A certificate valid when it signed and expired when read: invalid, named as expired,
    never as tampering."""
    ca = make_ca("Short Lived", valid_for=dt.timedelta(seconds=2))
    data = sign(AI_MANIFEST, ca)
    (tmp_path / "short.pem").write_bytes(ca.root_pem)
    time.sleep(3)
    report = scan_bytes(data, trust_anchors=str(tmp_path / "short.pem"))
    state = signer(report)
    assert state.code == "c2pa.signer_invalid" and "had expired (not tampering)" in state.message
    assert [f.code for f in report.findings if f.code == "c2pa.certificate_expired"]
    assert not report.tampered


def test_revoked_certificate_is_named_revoked():
    """No file with a revoked signer exists here; the code c2pa-rs reports is classified."""
    reading = ManifestStore({}, [], lambda kind, code, message, **fields: (kind, code, message))
    kind, code, message = classify(reading, {"code": "signingCredential.ocsp.revoked",
                                             "explanation": "certificate revoked"})
    assert (kind, code) == (Kind.PROBLEM, "c2pa.certificate_revoked")
    assert "not evidence of tampering" in message


def test_ingredient_failure_leaves_the_active_signer_valid(real_media):
    """An ingredient's broken signature is its own finding (tampering with the provenance
    chain); the active manifest's signer stays valid."""
    report = labelcheck.scan(real_media / "c2pa-python" / "CIE-sig-CA.jpg", pixels=False)
    assert signer(report).code == "c2pa.signer_untrusted"
    (altered,) = [f for f in report.findings if f.code == "c2pa.ingredient_manifest_altered"]
    assert altered.details["status_code"] == "claimSignature.mismatch"
    assert "read wider than the Asset Rubrics" in altered.message


# -- chains, from every container ------------------------------------------------------------

def test_chains_are_read_from_png_and_mp4(ca):
    png = Media(sign(AI_MANIFEST, ca, fmt="image/png"), "a.png")
    (chain,) = signer_chains(png.file_format.c2pa_jumbf(png)).values()
    assert [cert.subject.rfc4514_string() for cert in chain] == [
        "CN=Test Signer,O=Example Generator,C=US", "CN=Test Issuing CA,O=Example Generator,C=US"]
    assert chain[-1].issuer == ca.root.subject
    mp4 = Media.open(TEST_MEDIA / "c2pa_signed.mp4")
    (chain,) = signer_chains(mp4.file_format.c2pa_jumbf(mp4)).values()
    assert "Labelcheck Test Signer" in chain[0].subject.rfc4514_string()


def test_video_signer_is_trusted_with_its_anchor():
    report = labelcheck.scan(TEST_MEDIA / "c2pa_signed.mp4", pixels=False,
                             trust_anchors=str(TEST_MEDIA / "test_ca.pem"))
    assert signer(report).details["entity"] == "Labelcheck Test"


def test_damaged_stores_give_no_chain():
    assert signer_chains(None) == {} and signer_chains(b"\0\0\0\x10jumbxxxxxxxx") == {}
    jpeg = Media(picture(), "plain.jpg")
    assert jpeg.file_format.c2pa_jumbf(jpeg) is None


# -- options: CLI, web app, store ------------------------------------------------------------

def test_trust_command_lists_entities_and_dates(capsys):
    assert main(["trust"]) == 0
    out = capsys.readouterr().out
    assert "C2PA Trust List (C2PA-TRUST-LIST.json, issued 2026-08-05, next update " \
           "2027-08-05): 17 entities, 30 certificates" in out
    assert "  Google LLC\n" in out and "C2PA TSA Trust List" in out
    assert main(["trust", "--format", "json"]) == 0
    lists = json.loads(capsys.readouterr().out)["lists"]
    assert lists[0]["entities"]["Trufo Inc."] and lists[0]["past_next_update"] is False


def test_trust_command_warns_past_the_next_update(tmp_path, capsys, ca):
    old = tmp_path / "old.json"
    old.write_text(ca.lote("Old Entity", next_update="2020-01-01T00:00:00Z"), encoding="utf-8")
    assert main(["trust", "--trust", "anchors", "--trust-anchors", str(old)]) == 0
    captured = capsys.readouterr()
    assert "was due to be replaced on 2020-01-01" in captured.err
    assert "(PAST: a newer list exists)" in captured.out and "Old Entity" in captured.out


@pytest.mark.parametrize("args,said", [
    (["--trust", "anchors"], "needs a --trust-anchors file"),
    (["--trust", "none", "--trust-anchors", "x.pem"], "cannot go with --trust-anchors"),
    (["--trust-anchors", "missing.pem"], "cannot read trust anchors missing.pem"),
])
def test_scan_refuses_unusable_trust_options(args, said, capsys):
    assert main(["scan", "--no-store", str(TEST_MEDIA / "ai_c2pa_signed.jpg"), *args]) == 2
    assert said in capsys.readouterr().err


def test_scan_refuses_a_file_that_is_not_anchors(tmp_path, capsys):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert main(["scan", "--no-store", str(TEST_MEDIA / "ai_c2pa_signed.jpg"),
                 "--trust-anchors", str(bad)]) == 2
    assert "bad.pem" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('{"LoTE": {}}')
    assert main(["trust", "--trust-anchors", str(tmp_path / "bad.json")]) == 2
    assert "not a C2PA trust list in LoTE JSON form" in capsys.readouterr().err


def test_scan_refuses_a_list_whose_certificate_does_not_parse(ca, tmp_path, capsys):
    """A list's certificates are kept as DER and parsed when used; the user's are parsed
    before any scan, so a broken one stops the command with the file named."""
    lote = json.loads(ca.lote("Example Generator Inc."))
    services = lote["LoTE"]["TrustedEntitiesList"][0]["TrustedEntityServices"]
    services[0]["ServiceInformation"]["ServiceDigitalIdentity"]["X509Certificates"][0]["val"] \
        = "bm90IGEgY2VydGlmaWNhdGU="  # "not a certificate"
    (tmp_path / "broken.json").write_text(json.dumps(lote))
    assert main(["scan", "--no-store", str(TEST_MEDIA / "ai_c2pa_signed.jpg"),
                 "--trust-anchors", str(tmp_path / "broken.json")]) == 2
    assert "broken.json is not a C2PA trust list in LoTE JSON form: ValueError" in \
        capsys.readouterr().err


def test_scan_with_trust_options_reports_the_state(signed, anchors, tmp_path, capsys):
    path = tmp_path / "signed.jpg"
    path.write_bytes(signed)
    assert main(["scan", "--no-store", "--no-ocr", "--format", "json", str(path),
                 "--trust-anchors", anchors["lote"]]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    states = [f for f in report["findings"] if f["code"].startswith("c2pa.signer_")]
    assert [f["details"]["entity"] for f in states] == ["Example Generator Inc."]
    assert main(["scan", "--no-store", "--no-ocr", str(path), "--trust", "none"]) == 0
    assert "trust is not checked (--trust none)" in capsys.readouterr().out


def test_store_digest_depends_on_the_trust_setting(anchors):
    policy = Policy.load("default")
    digests = {setup_digest(policy, Settings(trust=mode, trust_anchors=path))
               for mode, path in (("official", None), ("none", None),
                                  ("official", anchors["pem"]), ("anchors", anchors["pem"]))}
    assert len(digests) == 4


def test_web_app_takes_the_trust_options(tmp_path, anchors):
    from conftest import web_app

    with web_app(tmp_path, TRUST="anchors", TRUST_ANCHORS=anchors["lote"]) as app:
        settings = app.extensions["labelcheck"].jobs.settings
        assert (settings.trust, settings.trust_anchors) == ("anchors", anchors["lote"])
    with pytest.raises(trust.TrustError, match="needs a --trust-anchors file"):
        with web_app(tmp_path, TRUST="anchors"):
            pass


# -- the states in every output --------------------------------------------------------------

@pytest.fixture
def three_states(signed, anchors):
    """Reports of the same kind of file in each of the three signer states."""
    tampered = bytearray(signed)
    tampered[-10] ^= 0xFF
    return {"trusted": scan_bytes(signed, trust_anchors=anchors["lote"]),
            "untrusted": scan_bytes(signed),
            "invalid": scan_bytes(bytes(tampered), trust_anchors=anchors["lote"])}


def test_html_report_keeps_the_states_apart(three_states):
    import io

    from labelcheck.writers import WRITERS

    out = io.StringIO()
    writer = WRITERS["html"](out)
    for report in three_states.values():
        writer.write(report)
    writer.close()
    html = out.getvalue()
    assert '<div class="signer s-trusted">C2PA signer trusted: Example Generator Inc.</div>' \
        in html
    assert '<div class="signer s-valid_untrusted">C2PA signer valid but untrusted: Test Signer' \
        in html
    assert '<div class="signer s-invalid">C2PA signer invalid: Test Signer' in html


def test_text_report_keeps_the_states_apart(three_states):
    import io

    from labelcheck.writers import WRITERS

    lines = {}
    for state, report in three_states.items():
        out = io.StringIO()
        WRITERS["text"](out).write(report)
        lines[state] = [line for line in out.getvalue().splitlines() if "c2pa: signer" in line]
    assert lines["trusted"][0].startswith("  [  ] c2pa: signer trusted: Test Signer")
    assert lines["untrusted"][0].startswith("  [  ] c2pa: signer valid but untrusted:")
    assert lines["invalid"][0].startswith("  [! ] c2pa: signer invalid: the content changed")


def test_web_page_keeps_the_states_apart(tmp_path, three_states):
    from conftest import text, web_app

    words = {"trusted": "C2PA signer Trusted: Example Generator Inc., listed in the Test Trust "
                        "List issued 2026-01-01 (file test-list.json)",
             "untrusted": "C2PA signer Valid but untrusted: Test Signer (Example "
                          "Generator) (integrity holds; the signer is on no trust list in use)",
             "invalid": "C2PA signer Invalid: Test Signer (Example Generator) "
                        "(assertion.dataHash.mismatch)"}
    with web_app(tmp_path) as app, app.test_request_context("/"):
        macro = app.jinja_env.get_template("_report.html").module.report_view
        for state, report in three_states.items():
            item = {"position": 1, "status": "done", "verdict": report.verdict.value,
                    "report": report.to_dict(), "extras": {}, "name": "x.jpg"}
            html = str(macro({"id": "J", "total": 1}, item))
            assert words[state] in text(html), text(html)
            assert f'class="signer signer-{report.findings[1].details["signer_state"]}"' in html
