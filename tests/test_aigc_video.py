"""GB 45438's implicit label in video containers, at each placement of the TC260 practice guide
(TC260-PG-20257A): MP4/MOV ``moov/udta/meta`` keys+ilst, Matroska ``SimpleTag``, AVI
``LIST/INFO`` and FLV ``onMetaData``. Each file is made here with PyAV (FFmpeg); FFmpeg's AVI
muxer writes only the standard INFO tags, so the ``AIGC`` chunk is added to its ``LIST/INFO``
as a producer would."""

import json
import struct

import av
import numpy as np
import pytest

import labelcheck
from conftest import TEST_MEDIA
from labelcheck import Verdict

LABEL = {"AIGC": {"Label": "1", "ContentProducer": "001191110108MA01KP2T00000",
                  "ProduceID": "video-0001", "ReservedCode1": "", "ContentPropagator": "",
                  "PropagateID": "", "ReservedCode2": ""}}


def tiny_video(path, container: str, codec: str, metadata: dict) -> None:
    """A one-second 64x48 clip with container `metadata` (file-level tags)."""
    with av.open(str(path), "w", format=container) as out:
        out.metadata.update(metadata)
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), index * 20, np.uint8),
                                               format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def riff_chunk(fourcc: bytes, body: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def with_info_tag(avi: bytes, key: bytes, value: str) -> bytes:
    """`avi` with a ``LIST/INFO`` chunk holding `key` before its ``movi`` list (the index
    counts from ``movi``, so it stays right); the RIFF size is updated."""
    info = riff_chunk(b"LIST", b"INFO" + riff_chunk(key, value.encode("utf-8") + b"\0"))
    pos = 12
    while pos + 12 <= len(avi):
        fourcc, size = struct.unpack("<4sI", avi[pos:pos + 8])
        if fourcc == b"LIST" and avi[pos + 8:pos + 12] == b"movi":
            break
        pos += 8 + size + (size & 1)
    out = avi[:pos] + info + avi[pos:]
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


@pytest.fixture
def placements(tmp_path):
    """One labelled clip per placement: name -> (path, where the label is said to be)."""
    label = json.dumps(LABEL)
    tiny_video(tmp_path / "label.mkv", "matroska", "mpeg4", {"AIGC": label})
    tiny_video(tmp_path / "label.flv", "flv", "flv", {"AIGC": label})
    tiny_video(tmp_path / "plain.avi", "avi", "mpeg4", {})
    (tmp_path / "label.avi").write_bytes(
        with_info_tag((tmp_path / "plain.avi").read_bytes(), b"AIGC", label))
    return {"mkv": (tmp_path / "label.mkv", "Matroska SimpleTag AIGC"),
            "flv": (tmp_path / "label.flv", "FLV onMetaData AIGC"),
            "avi": (tmp_path / "label.avi", "AVI LIST/INFO AIGC"),
            "mp4": (TEST_MEDIA / "aigc_key.mp4", "moov/udta/meta/keys+ilst key 'AIGC'")}


@pytest.mark.parametrize("container", ["mp4", "mkv", "avi", "flv"])
def test_implicit_label_is_read_at_each_video_placement(placements, container):
    path, where = placements[container]
    report = labelcheck.scan(path, "cn-gb45438", pixels=False)
    (label,) = [f for f in report.findings if f.code == "aigc.label"]
    assert label.location == where
    assert label.measurements == {"label": "1", "conformant": True}
    assert report.media_kind == "video" and report.ai_generated
    (implicit,) = [r for r in report.requirements if r.id == "implicit_label"]
    assert implicit.satisfied


def test_avi_without_the_info_tag_has_no_label(tmp_path):
    tiny_video(tmp_path / "plain.avi", "avi", "mpeg4", {"title": "holiday"})
    report = labelcheck.scan(tmp_path / "plain.avi", pixels=False)
    assert report.verdict is Verdict.NO_AI_SIGNAL
    assert not [f for f in report.findings if f.detector == "aigc"]
