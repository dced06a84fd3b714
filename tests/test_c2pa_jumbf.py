"""The manifests walked from the store's own boxes (`labelcheck.sources.c2pa.jumbf`).

They replace the Reader's crJSON, which costs more than the rest of a read, so they must give
the same findings on every real store, and must never be read from a store other than the one
c2pa-rs validated: a file whose walk disagrees with the Reader's JSON is read through crJSON.
"""

import struct
import zlib

import pytest

from conftest import REAL_MEDIA, TEST_MEDIA
from labelcheck.core.settings import Settings
from labelcheck.formats.media import Media
from labelcheck.sources.c2pa import C2paSource, jumbf, reading

SETTINGS = Settings(pixels=False)


def c2pa_files() -> list:
    """The files here and in ../shared/real_media whose store the reader reads (the damaged
    ones it cannot read never reach the walk)."""
    found = []
    for folder in (TEST_MEDIA, REAL_MEDIA):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            try:
                media = Media.open(path)
            except Exception:  # noqa: BLE001 - not media: not a case
                continue
            if not (C2paSource().applies(media, SETTINGS)
                    and media.file_format.c2pa_jumbf(media)):
                continue
            try:
                reading.read_media_store(media, "none", None)
            except Exception:  # noqa: BLE001 - c2pa.C2paError: unreadable, not a case
                continue
            found.append(path)
    return found


def findings(path_or_bytes, monkeypatch, walk: bool) -> list[dict]:
    """The c2pa source's findings, with the manifests walked or (`walk` False) from crJSON."""
    if not walk:
        monkeypatch.setattr(reading, "_walked", lambda store, stored: None)
    media = Media(path_or_bytes) if isinstance(path_or_bytes, bytes) else \
        Media.open(path_or_bytes)
    found = [finding.to_dict() for finding in C2paSource().run(media, SETTINGS)]
    monkeypatch.undo()
    return found


def walked(path) -> list[dict] | None:
    """The walked manifests `read_store` used for `path` (None: it read crJSON)."""
    used = []
    original = reading._walked

    def spy(store, stored):
        used.append(original(store, stored))
        return used[-1]

    reading._walked = spy
    try:
        media = Media.open(path) if not isinstance(path, bytes) else Media(path)
        list(C2paSource().run(media, SETTINGS))
    finally:
        reading._walked = original
    assert len(used) == 1
    return used[0]


FILES = c2pa_files()


def test_there_are_real_stores_to_compare():
    assert len([path for path in FILES if str(path).startswith(str(TEST_MEDIA))]) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_walked_manifests_give_what_crjson_gives(path, monkeypatch):
    """Every real store is walked (none falls back), and every finding, message for message,
    is the one crJSON gave: declarations, Asset Rubrics signals, signer, failures."""
    assert walked(path) is not None
    with_walk = findings(path, monkeypatch, walk=True)
    assert with_walk == findings(path, monkeypatch, walk=False)
    assert any(f["code"] == "c2pa.signals" for f in with_walk)


def png_with_decoy(path) -> bytes:
    """The signed PNG with a changed copy of its store in a private chunk before the real one:
    a walk that looked for the first store would read the copy, whose action is no longer
    ``c2pa.created`` (c2pa-rs reads the ``caBX`` chunk)."""
    data = (TEST_MEDIA / path).read_bytes()
    store = Media.open(TEST_MEDIA / path).file_format.c2pa_jumbf(Media.open(TEST_MEDIA / path))
    assert b"c2pa.created" in store
    decoy = store.replace(b"c2pa.created", b"c2pa.cropped")
    chunk = struct.pack(">I", len(decoy)) + b"zzZz" + decoy + struct.pack(
        ">I", zlib.crc32(b"zzZz" + decoy))
    header_end = 8 + 25  # signature, IHDR
    return data[:header_end] + chunk + data[header_end:]


def test_a_decoy_store_is_not_read(monkeypatch):
    data = png_with_decoy("ai_c2pa_signed.png")
    media = Media(data)
    assert b"c2pa.cropped" in media.file_format.c2pa_jumbf(media)  # the walk would see it
    assert walked(data) is None  # it disagrees with what c2pa-rs validated: crJSON is read
    with_decoy = findings(data, monkeypatch, walk=True)
    assert with_decoy == findings(data, monkeypatch, walk=False)
    declared = [f["message"] for f in with_decoy if f["code"] == "c2pa.ai_source_type"]
    assert declared and all(m.startswith("c2pa.created with digital source type "
                                         "trainedAlgorithmicMedia") for m in declared)


@pytest.mark.parametrize("damage", [b"", b"not a store", b"\0\0\0\x10jumb\0\0\0\x08jumd"])
def test_a_store_that_does_not_walk_is_refused(damage):
    with pytest.raises(jumbf.StoreError):
        jumbf.manifests(damage)


def signed_store() -> bytearray:
    media = Media.open(TEST_MEDIA / "ai_c2pa_signed.jpg")
    return bytearray(media.file_format.c2pa_jumbf(media))


def test_an_assertion_that_does_not_decode_is_refused():
    raw = signed_store()
    at = raw.index(b"cbor", raw.index(b"c2pa.actions")) + 4
    raw[at] = 0xFF  # a CBOR "break" where an item must start
    with pytest.raises(jumbf.StoreError):
        jumbf.manifests(bytes(raw))


def test_an_assertion_without_a_label_is_refused():
    raw = signed_store()
    toggles = raw.index(b"c2pa.actions") - 1  # the description's toggles byte
    raw[toggles] &= ~0x02  # "no label"
    with pytest.raises(jumbf.StoreError, match="without a label"):
        jumbf.manifests(bytes(raw))


def test_a_walk_unlike_the_readers_json_is_not_used():
    """`agrees` answers (never raises) for stores shaped in every wrong way."""
    shown = {"active_manifest": "urn:a", "manifests": {"urn:a": {
        "instance_id": "i", "assertions": [{"label": "c2pa.actions.v2", "data": {
            "actions": [{"action": "c2pa.created"}]}}]}}}
    good = {"label": "urn:a", "claim.v2": {"instanceID": "i"},
            "assertions": {"c2pa.actions": {"actions": [{"action": "c2pa.created"}]}}}
    assert jumbf.agrees(shown, [good])  # a v1 assertion, which the JSON shows as v2
    for wrong in ({**good, "claim.v2": [1, 2]}, {**good, "claim.v2": {"instanceID": "j"}},
                  {**good, "label": "urn:b"}, {**good, "assertions": {}},
                  {**good, "assertions": {"c2pa.actions": {"actions": [
                      {"action": "c2pa.opened"}]}}}):
        assert not jumbf.agrees(shown, [wrong])
    assert not jumbf.agrees(shown, [good, good])  # a label twice
