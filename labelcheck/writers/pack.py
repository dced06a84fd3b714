"""Evidence packs: what a regulator keeps and hands to someone else, who can check that
nothing in it was changed.

A pack is a folder or a zip (``scan ... --evidence-pack DIR|ZIP``, the web app's "evidence
pack" download) holding, for each scanned file, under ``files/NNNN-name/``: its report
(``report.json``, README "Report format"), the picture the scan saw with the evidence boxes
drawn and numbered (``picture-boxes.jpg``, next to the plain ``picture.jpg``), a video's
timeline frames with the label's box (``frames/``), and the C2PA manifest store as c2pa-python
read and validated it (``c2pa-manifest-store.json``, crJSON). At the top: every report in one
``reports.jsonl``, the HTML report (``report.html``, self-contained), the policy files as
applied (``policies/NAME.toml``) and ``MANIFEST.json``: labelcheck's version, the SHA-256 and
size of every other file in the pack, and the SHA-256, size and verdict of each scanned
original. With an Ed25519 key the manifest is signed (``MANIFEST.sig``, with the public key in
``signer.pub.pem``).

`verify_pack` checks a pack against its manifest and says exactly what changed: a file whose
bytes differ, one missing, one added, a signature that does not verify or that was made by
another key than the one expected. Unsigned, a pack shows accidental changes only (whoever
changes a file can change the manifest too); signed, any change, once the recipient knows the
signer's public key.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from labelcheck.core.model import Picture, Report
from labelcheck.core.policy import Policy
from labelcheck.core.settings import Display
from labelcheck.version import __version__
from labelcheck.writers.base import WriterOptions
from labelcheck.writers.html import HtmlWriter

FORMAT = "labelcheck evidence pack"
FORMAT_VERSION = 1
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
PUBLIC_KEY = "signer.pub.pem"
UNLISTED = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})  # the files the manifest cannot list
# What the scans make for a pack: a picture large enough to read a label on, a thumbnail for
# the HTML report, every frame a video's timeline lists, and the manifest store as read.
DISPLAY = Display(side=1600, thumbnail=240, frames=32, manifest_store=True)
BOX_COLOURS = {"ai_declaration": (0, 160, 70), "ai_trace": (0, 160, 70)}  # the rest red
RED = (230, 20, 60)
CHUNK = 1 << 20


class PackError(Exception):
    """A pack that cannot be written or read; the message is for a person."""


# -- writing ----------------------------------------------------------------------------------

class PackWriter:
    """Writes an evidence pack to `target` (a ``.zip`` path, else a folder, which must not
    exist or be empty) as reports arrive; `close` adds the reports, the HTML report, the
    policies and the manifest (signed with the Ed25519 private key in `key_file`, when
    given). The key is read at once, so a wrong key stops the batch before it starts."""

    display = DISPLAY

    def __init__(self, target: str, policies: tuple[Policy, ...], key_file: str | None = None,
                 options: WriterOptions | None = None):
        self.key = load_private_key(key_file) if key_file else None
        self.sink = ZipSink(target) if target.lower().endswith(".zip") else FolderSink(target)
        self.policies = policies
        self.originals: list[dict] = []
        self.reports = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.html = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.html_writer = HtmlWriter(self.html, options or WriterOptions(policies))

    def write(self, report: Report, position: int | None = None) -> None:
        """Add one file's report, pictures and manifest store, under a folder numbered by
        the file's `position` in the input (default: the order of arrival)."""
        number = len(self.originals) + 1 if position is None else position + 1
        folder = f"files/{number:04d}-{slug(report.path)}"
        data = report.to_dict()
        self.sink.add(f"{folder}/report.json", _json(data))
        for name, content in file_evidence(report, data):
            self.sink.add(f"{folder}/{name}", content)
        self.originals.append({"name": report.path, "sha256": report.sha256,
                               "size": report.size, "verdict": report.verdict.value,
                               "folder": folder})
        self.reports.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.html_writer.write(report, position)

    def close(self) -> None:
        self.html_writer.close()
        for name, stream in (("reports.jsonl", self.reports), ("report.html", self.html)):
            stream.seek(0)
            self.sink.add(name, stream.read().encode("utf-8"))
            stream.close()
        for policy in self.policies:
            self.sink.add(f"policies/{slug(policy.name)}.toml", policy.text.encode("utf-8"))
        self.sink.add("README.txt", README.encode("utf-8"))
        manifest = _json(self.manifest())
        self.sink.put(MANIFEST, manifest)
        if self.key is not None:
            self.sink.put(SIGNATURE, base64.b64encode(self.key.sign(manifest)) + b"\n")
            self.sink.put(PUBLIC_KEY, public_pem(self.key.public_key()))
        self.sink.close()

    def manifest(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION,
                "labelcheck_version": __version__,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "policies": [policy.name for policy in self.policies],
                "files": [{"path": path, "sha256": digest, "size": size}
                          for path, (digest, size) in sorted(self.sink.hashes.items())],
                "originals": sorted(self.originals, key=lambda entry: entry["folder"])}


README = """labelcheck evidence pack

files/NNNN-name/  one folder per scanned file: report.json (its report), picture.jpg (the
                  picture the scan saw), picture-boxes.jpg (the same with the evidence boxes,
                  numbered in the order of the report's located findings), frames/ (a video's
                  timeline frames, the label boxed), c2pa-manifest-store.json (the C2PA
                  manifest store as read and validated, crJSON)
reports.jsonl     every report, one per line
report.html       the audit report (open it in a browser; it loads nothing)
policies/         the policy files as applied
MANIFEST.json     labelcheck's version, the SHA-256 and size of every file above, and the
                  SHA-256, size and verdict of each scanned original
MANIFEST.sig      (when signed) an Ed25519 signature of MANIFEST.json; signer.pub.pem is the
                  public key

Check it:  labelcheck verify-pack PACK [--key SIGNER.pub.pem] [--original FILE...]
"""


def file_evidence(report: Report, data: dict) -> Iterator[tuple[str, bytes]]:
    """The files of one scanned file's folder besides its report."""
    from labelcheck.writers.view import evidence_boxes, frame_boxes  # Jinja2: packs only

    evidence = report.evidence
    if evidence is None:
        return
    if evidence.picture is not None:
        yield "picture.jpg", evidence.picture.jpeg
        boxes = (frame_boxes(_facts(evidence.picture)) if evidence.picture.time_s is not None
                 else evidence_boxes(data))
        if boxes:
            yield "picture-boxes.jpg", boxed(evidence.picture, boxes)
    for number, frame in enumerate(evidence.frames, start=1):
        yield (f"frames/{number:02d}-at-{frame.time_s or 0:.2f}s.jpg",
               boxed(frame, frame_boxes(_facts(frame))))
    if evidence.c2pa_store:
        yield "c2pa-manifest-store.json", evidence.c2pa_store.encode("utf-8")


def _facts(picture: Picture) -> dict:
    return {"time_s": picture.time_s, "label_seen": picture.label_seen, "box": picture.box}


def boxed(picture: Picture, boxes: list) -> bytes:
    """`picture` with each (number, finding, [x, y, w, h]) box drawn and numbered; boxes are in
    the original's pixels, the picture may be smaller."""
    from PIL import Image, ImageDraw, ImageFont

    if not boxes:
        return picture.jpeg
    image = Image.open(io.BytesIO(picture.jpeg)).convert("RGB")
    scale = image.width / max(1, picture.size[0])
    draw = ImageDraw.Draw(image)
    size = max(12, image.width // 40)
    font = ImageFont.load_default(size=size)
    for number, finding, (x, y, w, h) in boxes:
        colour = BOX_COLOURS.get(finding.get("kind"), RED)
        left, top = round(x * scale), round(y * scale)
        right, bottom = round((x + w) * scale), round((y + h) * scale)
        draw.rectangle((left, top, right, bottom), outline=colour, width=max(2, size // 6))
        tag_top = max(0, top - size - 4)
        draw.rectangle((left, tag_top, left + size + 6, tag_top + size + 4), fill=colour)
        draw.text((left + 3, tag_top + 1), str(number), fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def slug(name: str, limit: int = 60) -> str:
    """A file name for a display name in a pack: its last part, in letters, digits and
    ``.-_`` (a name from outside never chooses where a file goes)."""
    last = re.split(r"[\\/]", name.rstrip("/\\"))[-1] or "file"
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", last).strip("._") or "file"
    return cleaned[:limit]


def _json(data) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


class Sink:
    """Where a pack's files go; `hashes` records each listed file's SHA-256 and size."""

    def __init__(self):
        self.hashes: dict[str, tuple[str, int]] = {}

    def add(self, path: str, content: bytes) -> None:
        """A file the manifest lists."""
        self.hashes[path] = (hashlib.sha256(content).hexdigest(), len(content))
        self.put(path, content)

    def put(self, path: str, content: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the pack."""


class FolderSink(Sink):
    """A pack as a folder, which must not exist or be empty."""

    def __init__(self, folder: str):
        super().__init__()
        if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
            raise PackError(f"{folder} exists and is not an empty folder")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise PackError(f"cannot make {folder}: {exc.strerror}") from None
        self.folder = folder

    def put(self, path: str, content: bytes) -> None:
        target = os.path.join(self.folder, *path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(content)


class ZipSink(Sink):
    """A pack as a zip file."""

    def __init__(self, path: str):
        super().__init__()
        try:
            self.archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        except OSError as exc:
            raise PackError(f"cannot write {path}: {exc.strerror}") from None

    def put(self, path: str, content: bytes) -> None:
        self.archive.writestr(path, content)

    def close(self) -> None:
        self.archive.close()


# -- keys -------------------------------------------------------------------------------------

def load_private_key(path: str):
    """The Ed25519 private key in a PEM file (unencrypted PKCS#8, as ``openssl genpkey
    -algorithm ed25519`` writes it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(_read_key(path), password=None)
    except (ValueError, TypeError):  # not PEM, or encrypted
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise PackError(f"{path} is not an unencrypted Ed25519 private key in PEM")
    return key


def load_public_key(data: bytes, origin: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise PackError(f"{origin} is not an Ed25519 public key in PEM")
    return key


def _read_key(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise PackError(f"cannot read key {path}: {exc.strerror}") from None


def public_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key) -> str:
    """A public key's SHA-256 fingerprint, as people compare it over the phone."""
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


# -- verifying --------------------------------------------------------------------------------

@dataclass
class Verification:
    """What `verify_pack` found: `problems` (each a line for a person) and `notes` (what was
    checked and is fine)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class PackReader:
    """The files of a pack, a folder or a zip, read in chunks (never extracted)."""

    def __init__(self, path: str):
        self.path = path
        self.archive = None
        if os.path.isdir(path):
            return
        try:
            self.archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            reason = getattr(exc, "strerror", None) or "not a zip file or a folder"
            raise PackError(f"cannot read the pack {path}: {reason}") from None

    def names(self) -> list[str]:
        if self.archive is not None:
            return [info.filename for info in self.archive.infolist() if not info.is_dir()]
        found = []
        for folder, _, files in os.walk(self.path):
            for name in files:
                relative = os.path.relpath(os.path.join(folder, name), self.path)
                found.append(relative.replace(os.sep, "/"))
        return found

    def open(self, name: str):
        if self.archive is not None:
            return self.archive.open(name)
        return open(os.path.join(self.path, *name.split("/")), "rb")

    def read(self, name: str) -> bytes:
        with self.open(name) as handle:
            return handle.read()

    def digest(self, name: str) -> tuple[str, int]:
        """SHA-256 and size of a file in the pack."""
        digest, size = hashlib.sha256(), 0
        with self.open(name) as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size


def verify_pack(path: str, key_file: str | None = None,
                originals: list[str] = ()) -> Verification:
    """Check the pack at `path`: its signature (against the public key in `key_file` when
    given), every file against the manifest, no file added; and which scanned original each
    file in `originals` is."""
    result = Verification()
    pack = PackReader(path)
    names = set(pack.names())
    if MANIFEST not in names:
        raise PackError(f"{path} is not an evidence pack: it has no {MANIFEST}")
    raw = pack.read(MANIFEST)
    try:
        result.manifest = json.loads(raw)
        listed = {entry["path"]: entry for entry in result.manifest["files"]}
    except (ValueError, KeyError, TypeError):
        raise PackError(f"{MANIFEST} cannot be read: it is not the manifest labelcheck "
                        "writes") from None
    _check_signature(pack, names, raw, key_file, result)
    for name in sorted(listed):
        entry = listed[name]
        if name not in names:
            result.problems.append(f"missing: {name}")
            continue
        digest, size = pack.digest(name)
        if digest != entry.get("sha256"):
            result.problems.append(f"changed: {name} (SHA-256 {digest}, the manifest says "
                                   f"{entry.get('sha256')}; {size} bytes, the manifest says "
                                   f"{entry.get('size')})")
    for name in sorted(names - set(listed) - UNLISTED):
        result.problems.append(f"added: {name} (not in the manifest)")
    if not result.problems:
        result.notes.append(f"{len(listed)} files match {MANIFEST} (made by labelcheck "
                            f"{result.manifest.get('labelcheck_version')} on "
                            f"{result.manifest.get('created')})")
    _match_originals(result, originals)
    return result


def _check_signature(pack: PackReader, names: set[str], manifest: bytes,
                     key_file: str | None, result: Verification) -> None:
    from cryptography.exceptions import InvalidSignature

    if SIGNATURE not in names:
        if key_file:
            result.problems.append("not signed: the pack has no signature, but a signer's "
                                   "key was given")
        else:
            result.notes.append("not signed: this shows accidental changes only (whoever "
                                "changes a file can change the manifest too)")
        return
    expected = load_public_key(_read_key(key_file), key_file) if key_file else None
    enclosed = None
    if PUBLIC_KEY in names:
        enclosed = load_public_key(pack.read(PUBLIC_KEY), PUBLIC_KEY)
    key = expected or enclosed
    if key is None:
        result.problems.append(f"signed, but there is no public key to check it with (no "
                               f"{PUBLIC_KEY} in the pack; give one with --key)")
        return
    try:
        key.verify(base64.b64decode(pack.read(SIGNATURE), validate=False), manifest)
    except (InvalidSignature, ValueError):
        who = "the key given" if expected else f"its enclosed key {fingerprint(key)}"
        result.problems.append(f"signature: {MANIFEST} is not signed by {who} (the manifest "
                               "or the signature was changed, or another key signed it)")
        return
    if expected is not None:
        result.notes.append(f"signed by the key given ({fingerprint(key)})")
    else:
        result.notes.append(f"signed by the key enclosed in the pack, {fingerprint(key)}: "
                            "compare it with the signer's, or check with --key")


def _match_originals(result: Verification, originals: list[str]) -> None:
    """Which scanned original each file given is, by its SHA-256."""
    known = {entry.get("sha256"): entry for entry in result.manifest.get("originals") or []}
    for path in originals:
        try:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            result.problems.append(f"original {path}: cannot be read ({exc.strerror})")
            continue
        entry = known.get(digest)
        if entry is None:
            result.problems.append(f"original {path}: not a file this pack scanned "
                                   f"(SHA-256 {digest})")
        else:
            result.notes.append(f"original {path}: scanned as {entry['name']} "
                                f"({entry['folder']}), verdict {entry['verdict']}")
