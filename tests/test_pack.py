"""Evidence packs (issue 15): what a regulator hands to someone else, who checks with
`labelcheck verify-pack` that nothing was changed, and which originals were scanned."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import TEST_MEDIA, make_app, wait_job
from labelcheck.cli.main import main
from labelcheck.core.model import Evidence, Finding, Kind, Picture, Report, Verdict
from labelcheck.core.policy import Policy
from labelcheck.writers.pack import PackWriter, verify_pack

NAMES = ["ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg", "plain_photo.jpg", "aigc_key.mp4"]


def keys(folder: Path) -> tuple[Path, Path]:
    """An Ed25519 key pair in PEM files, as ``openssl genpkey -algorithm ed25519`` makes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private, public = folder / "signer.pem", folder / "signer.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="module")
def signed_pack(tmp_path_factory):
    """A signed pack of four files under two regimes, and the JSONL the same scan wrote."""
    folder = tmp_path_factory.mktemp("pack")
    private, public = keys(folder)
    pack, jsonl = folder / "campaign.zip", folder / "out.jsonl"
    code = main(["scan", *(str(TEST_MEDIA / name) for name in NAMES), "--format", "jsonl",
                 "--out", str(jsonl), "--policy", "cn-gb45438,eu-ai-act", "--quiet",
                 "--evidence-pack", str(pack), "--sign-key", str(private), "--workers", "2",
                 "--no-store"])  # module scope: before the per-test database exists
    assert code == 0
    return pack, public, [json.loads(line) for line in jsonl.read_text().splitlines()]


def rewritten(source: Path, target: Path, change) -> Path:
    """A copy of the zip at `source` whose entries went through `change(name, bytes)`
    (returning None drops the entry), plus what `change("", None)` adds."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info))
            if data is not None:
                new.writestr(info.filename, data)
        for name, data in change("", None) or []:
            new.writestr(name, data)
    return target


def test_pack_holds_reports_pictures_manifest_store_policies_and_hashes(signed_pack):
    pack, _, scanned = signed_pack
    with zipfile.ZipFile(pack) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("MANIFEST.json"))
        folders = {entry["name"].rsplit("/", 1)[-1]: entry["folder"]
                   for entry in manifest["originals"]}
        assert sorted(folders) == sorted(NAMES)
        assert folders["ai_c2pa_signed.jpg"] == "files/0001-ai_c2pa_signed.jpg"  # input order
        for entry in manifest["originals"]:  # each original's hash, as the scan read it
            name = entry["name"].rsplit("/", 1)[-1]
            assert entry["sha256"] == hashlib.sha256((TEST_MEDIA / name).read_bytes()).hexdigest()
            report = json.loads(archive.read(f"{entry['folder']}/report.json"))
            assert report == next(r for r in scanned if r["path"] == entry["name"])
            assert entry["verdict"] == report["verdict"]
            assert f"{entry['folder']}/picture.jpg" in names
        store = json.loads(archive.read(f"{folders['ai_c2pa_tampered.jpg']}/"
                                        "c2pa-manifest-store.json"))
        assert "@context" in store and store["manifests"]  # crJSON, as c2pa-python read it
        assert "dataHash.mismatch" in json.dumps(store)  # with its validation results
        assert f"{folders['plain_photo.jpg']}/c2pa-manifest-store.json" not in names
        video = json.loads(archive.read(f"{folders['aigc_key.mp4']}/report.json"))
        frames = sorted(n for n in names if n.startswith(f"{folders['aigc_key.mp4']}/frames/"))
        assert len(frames) == len(video["timeline"]["frames"]) > 0
        for name in ("cn-gb45438", "eu-ai-act"):
            assert archive.read(f"policies/{name}.toml").decode() == Policy.load(name).text
        assert manifest["policies"] == ["cn-gb45438", "eu-ai-act"]
        listed = {entry["path"] for entry in manifest["files"]}
        assert listed == names - {"MANIFEST.json", "MANIFEST.sig", "signer.pub.pem"}
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
        html = archive.read("report.html").decode()
        assert "fail China GB 45438-2025" in html and "data:image/jpeg;base64," in html


def test_verify_pack_accepts_an_untouched_pack_and_names_the_originals(signed_pack, capsys):
    pack, public, _ = signed_pack
    assert main(["verify-pack", str(pack), "--key", str(public), "--original",
                 str(TEST_MEDIA / "plain_photo.jpg")]) == 0
    out = capsys.readouterr().out
    assert "signed by the key given" in out and "the pack is intact" in out
    assert "files match MANIFEST.json" in out
    assert "plain_photo.jpg: scanned as" in out and "verdict no_ai_signal" in out
    assert main(["verify-pack", str(pack), "--original", str(TEST_MEDIA / "iptc_ai.jpg")]) == 1
    assert "not a file this pack scanned" in capsys.readouterr().out


def test_verify_pack_says_exactly_what_changed(signed_pack, tmp_path, capsys):
    pack, public, _ = signed_pack
    with zipfile.ZipFile(pack) as archive:
        manifest = json.loads(archive.read("MANIFEST.json"))
    report = next(e["path"] for e in manifest["files"] if e["path"].endswith("report.json"))
    picture = next(e["path"] for e in manifest["files"] if e["path"].endswith("picture.jpg"))

    def edit(name, data):
        if name == report:
            return data.replace(b'"verdict": "stripped"', b'"verdict": "disclosed"') \
                .replace(b'"verdict": "undisclosed"', b'"verdict": "disclosed"')
        if data is None:
            return [("files/extra.jpg", b"x")]
        return None if name == picture else data

    changed = rewritten(pack, tmp_path / "changed.zip", edit)
    assert main(["verify-pack", str(changed), "--key", str(public)]) == 1
    out = capsys.readouterr().out
    assert f"changed: {report} (SHA-256" in out
    assert f"missing: {picture}" in out
    assert "added: files/extra.jpg (not in the manifest)" in out
    assert "3 problem(s)" in out

    # Change a file and its hash in the manifest: only the signature tells.
    forged_bytes = b'{"forged": true}\n'

    def forge(name, data):
        if name == report:
            return forged_bytes
        if name == "MANIFEST.json":
            text = json.loads(data)
            for entry in text["files"]:
                if entry["path"] == report:
                    entry.update(sha256=hashlib.sha256(forged_bytes).hexdigest(),
                                 size=len(forged_bytes))
            return json.dumps(text, indent=2).encode()
        return data

    forged = rewritten(pack, tmp_path / "forged.zip", forge)
    assert main(["verify-pack", str(forged), "--key", str(public)]) == 1
    out = capsys.readouterr().out
    assert "signature: MANIFEST.json is not signed by the key given" in out
    _, other = keys(tmp_path)
    assert main(["verify-pack", str(pack), "--key", str(other)]) == 1
    assert "not signed by the key given" in capsys.readouterr().out


def test_folder_pack_unsigned_and_the_refusals(tmp_path, capsys):
    folder = tmp_path / "pack"
    photo = str(TEST_MEDIA / "plain_photo.jpg")
    assert main(["scan", photo, "--evidence-pack", str(folder), "--no-ocr"]) == 0
    capsys.readouterr()
    assert main(["verify-pack", str(folder)]) == 0
    assert "not signed: this shows accidental changes only" in capsys.readouterr().out
    (folder / "files" / "0001-plain_photo.jpg" / "report.json").write_text("{}")
    assert main(["verify-pack", str(folder)]) == 1
    assert "changed: files/0001-plain_photo.jpg/report.json" in capsys.readouterr().out
    _, public = keys(tmp_path)
    assert main(["scan", photo, "--evidence-pack", str(folder), "--no-ocr"]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert main(["scan", photo, "--evidence-pack", str(tmp_path / "p.zip"), "--sign-key",
                 str(public)]) == 2
    assert "not an unencrypted Ed25519 private key" in capsys.readouterr().err
    assert main(["scan", photo, "--sign-key", str(public)]) == 2
    assert main(["verify-pack", str(TEST_MEDIA / "plain_photo.jpg")]) == 2
    assert "not a zip file or a folder" in capsys.readouterr().err


def test_evidence_pictures_have_the_boxes_drawn(tmp_path):
    """The picture with boxes: a green box where the label was found, numbered, drawn at the
    finding's place scaled to the picture (the scan's picture may be smaller)."""
    white = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(white, "JPEG")
    label = Finding("visible_label", Kind.AI_DECLARATION, "visible.label", "AI generated",
                    location={"box": [400, 200, 200, 100]}, channel="visible")
    report = Report(path="ad.jpg", verdict=Verdict.DISCLOSED, findings=[label],
                    evidence=Evidence(picture=Picture(white.getvalue(), (800, 400))))
    writer = PackWriter(str(tmp_path / "p.zip"), (Policy.load("default"),))
    writer.write(report)
    writer.close()
    with zipfile.ZipFile(tmp_path / "p.zip") as archive:
        boxed = Image.open(io.BytesIO(archive.read("files/0001-ad.jpg/picture-boxes.jpg")))
    red, green, blue = boxed.convert("RGB").getpixel((300, 150))  # the box's corner: (400,
    assert green > 120 and red < 100 and blue < 140  # 200) in the original, halved
    assert boxed.convert("RGB").getpixel((350, 175))[0] > 230  # inside the box: the picture


def test_web_evidence_pack_is_signed_by_the_server_key(tmp_path):
    private, public = keys(tmp_path)
    app = make_app(tmp_path / "web", PACK_KEY=str(private))
    try:
        client = app.test_client()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in ("ai_c2pa_tampered.jpg", "plain_photo.jpg"):
                archive.write(TEST_MEDIA / name, f"ads/{name}")
        buffer.seek(0)
        response = client.post("/api/v1/campaigns", data={
            "archive": (buffer, "c.zip"), "policy": ["default", "cn-gb45438"]})
        assert response.status_code == 202
        job = wait_job(client, response.json["id"])
        pack = client.get(job["links"]["evidence_pack"])
        assert pack.status_code == 200 and pack.mimetype == "application/zip"
        target = tmp_path / "web-pack.zip"
        target.write_bytes(pack.data)
        result = verify_pack(str(target), str(public))
        assert result.ok, result.problems
        manifest = result.manifest
        assert manifest["policies"] == ["default", "cn-gb45438"]
        assert [e["name"] for e in manifest["originals"]] == ["ads/ai_c2pa_tampered.jpg",
                                                              "ads/plain_photo.jpg"]
        with zipfile.ZipFile(target) as archive:
            assert "files/0001-ai_c2pa_tampered.jpg/c2pa-manifest-store.json" in \
                archive.namelist()
            assert "files/0002-plain_photo.jpg/picture.jpg" in archive.namelist()
    finally:
        app.extensions["labelcheck"].jobs.shutdown(cancel=True)
