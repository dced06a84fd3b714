"""Every container labelcheck reads, and the metadata variants real tools write.

The files are built by test_media/generate_formats.py (one per format and variant); each must
be identified by its bytes, give the kind and media type it is, read its metadata layers (an
IPTC, EXIF, C2PA or generator declaration is found), and have its pixels decoded, or say
that they were not (SVG and raw camera files are read for their metadata only).
"""

import json
import sys

import pytest

import labelcheck
from conftest import TEST_MEDIA
from labelcheck import Kind, Verdict

sys.path.insert(0, str(TEST_MEDIA))
import generate_formats as GENERATOR  # noqa: E402

FILES = GENERATOR.build_all()


def pixels_state(report) -> str:
    codes = {f.code for f in report.findings}
    if report.media_kind == "video":
        return "video"
    if "media.pixels_not_decoded" in codes:
        return "not_decoded"
    return "undecodable" if "media.pixels_undecodable" in codes else "decoded"


@pytest.mark.parametrize("name", sorted(FILES))
def test_generated_file_is_read_as_what_it_is(name):
    data, expected = FILES[name]
    report = labelcheck.scan(data, name=name)
    assert report.error is None, report.error
    assert report.media_type == expected["media_type"]
    assert report.media_kind == expected["kind"]
    assert report.ai_generated is expected["ai_generated"], report.summary
    assert pixels_state(report) == expected["pixels"]
    assert "media.mislabelled" not in {f.code for f in report.findings}
    json.dumps(report.to_dict())


@pytest.mark.parametrize("name", sorted(FILES))
def test_metadata_only_scan_agrees(name):
    """--no-ocr and the full scan agree on everything but pixel evidence: these files have
    none, so the verdicts are the same."""
    data, _ = FILES[name]
    assert labelcheck.scan(data, name=name, pixels=False).verdict is \
        labelcheck.scan(data, name=name).verdict


def test_svg_and_raw_say_their_pixels_were_not_checked():
    for name in ("iptc_ai.svg", "canon.cr3"):
        report = labelcheck.scan(FILES[name][0], name=name)
        note = [f for f in report.findings if f.code == "media.pixels_not_decoded"]
        assert len(note) == 1 and note[0].kind is Kind.INFO, name
        assert "were not checked" in note[0].message


def test_cr3_is_a_raw_image_with_its_camera_not_a_video():
    report = labelcheck.scan(FILES["canon.cr3"][0], name="IMG_0001.CR3")
    assert report.media_kind == "image" and report.verdict is Verdict.NO_AI_SIGNAL
    camera = [f for f in report.findings if f.code == "exif.camera"]
    assert camera and "Canon EOS R5" in camera[0].message
    assert not any(f.detector.startswith("video") for f in report.findings)


def test_c2pa_in_svg_jxl_and_gif_is_read_and_validated():
    for name in ("c2pa_ai.svg", "c2pa_ai.jxl", "c2pa_ai.gif"):
        report = labelcheck.scan(FILES[name][0], name=name)
        declared = [f for f in report.findings if f.code == "c2pa.ai_source_type"]
        assert declared and declared[0].intact, name
        assert report.verdict is Verdict.DISCLOSED, name


@pytest.mark.parametrize("name", ["iptc_ai_xmp_utf16le.jpg", "iptc_ai_xmp_utf16be.jpg",
                                  "iptc_ai_xmp_utf32le.jpg", "iptc_ai_xmp_utf32be.jpg",
                                  "iptc_ai_xmp_utf16_tag700.tif", "iptc_ai_xmp_prefix_xmp.jpg"])
def test_xmp_in_any_encoding_and_root_prefix_declares_ai(name):
    report = labelcheck.scan(FILES[name][0], name=name)
    declared = [f for f in report.findings if f.code == "iptc.ai_source_type"]
    assert declared and "trainedAlgorithmicMedia" in declared[0].message
    assert not [f for f in report.findings if f.code == "xmp.unreadable"]


def test_wide_xmp_packets_name_their_encoding():
    from labelcheck.formats.base import Packet, decode_xmp
    from labelcheck.formats.xmp import parse, scan_packets

    body = GENERATOR.ai_xmp().replace("/>", ' xmlns:dc="http://purl.org/dc/elements/1.1/" '
                                      'dc:title="Ünïcode 漢字"/>', 1)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        raw = body.encode(codec)
        found = list(scan_packets(b"\x00junk" + raw + b"tail"))
        assert len(found) == 1, codec
        if codec != "utf-8":
            assert codec.upper() in found[0].where
        for packet in (found[0], Packet("walker", decode_xmp(raw))):
            titles = parse(packet).values("http://purl.org/dc/elements/1.1/", "title")
            assert titles == ["Ünïcode 漢字"], codec


@pytest.mark.parametrize("name, tool", [("swarmui.png", "SwarmUI"), ("swarmui.jpg", "SwarmUI"),
                                        ("comfyui_usercomment.jpg", "ComfyUI"),
                                        ("comfyui.webp", "ComfyUI"),
                                        ("civitai.jpg", "Civitai generator"),
                                        ("ruined_fooocus.png", "RuinedFooocus"),
                                        ("hf_space.png", "Stable Diffusion")])
def test_generator_settings_json_is_recognised_by_structure(name, tool):
    report = labelcheck.scan(FILES[name][0], name=name)
    traces = [f for f in report.findings if f.kind is Kind.AI_TRACE]
    assert traces and {f.details["tool"] for f in traces} == {tool}
    assert report.verdict is Verdict.UNDISCLOSED


def test_settings_json_names_the_settings_it_saw():
    report = labelcheck.scan(FILES["swarmui.jpg"][0], name="swarmui.jpg")
    trace = next(f for f in report.findings if f.kind is Kind.AI_TRACE)
    assert trace.location == "EXIF UserComment"
    assert {"sampler": "euler", "steps": "20", "seed": "1"}.items() <= trace.details.items()


@pytest.mark.parametrize("name", ["camera_json.jpg", "editor_json.png", "takeout_json.png"])
def test_camera_and_editor_json_is_not_a_generator(name):
    report = labelcheck.scan(FILES[name][0], name=name)
    assert not [f for f in report.findings if f.is_ai_evidence]


def test_undecodable_pixels_keep_the_metadata_verdict():
    """A picture whose pixel data is corrupt gets the verdict its metadata gives, and one
    problem finding, in both modes' terms: the same verdict as --no-ocr."""
    data = bytearray(FILES["iptc_ai.jp2"][0])
    start = data.find(b"jp2c") + 40
    data[start:] = bytes(len(data) - start)  # the codestream after its header wiped
    full = labelcheck.scan(bytes(data), name="broken.jp2")
    metadata_only = labelcheck.scan(bytes(data), name="broken.jp2", pixels=False)
    assert full.verdict is metadata_only.verdict is Verdict.DISCLOSED
    problems = [f for f in full.findings if f.code == "media.pixels_undecodable"]
    assert len(problems) == 1 and problems[0].kind is Kind.PROBLEM


def test_a_large_file_is_read_once_for_its_hash_and_every_marker(tmp_path):
    """A video read from disk is hashed and searched for the markers the sources announced
    (`FileBytes.expect`) in one read, including a marker across two chunks."""
    import hashlib

    from labelcheck.formats.media import CHUNK_BYTES, FileBytes

    data = bytearray(3 * CHUNK_BYTES + 100)
    data[CHUNK_BYTES - 2:CHUNK_BYTES + 2] = b"AIGC"  # across the first chunk boundary
    data[2 * CHUNK_BYTES + 5:2 * CHUNK_BYTES + 9] = b"c2pa"
    data[-4:] = b"AIGC"
    path = tmp_path / "big.mp4"
    path.write_bytes(bytes(data))

    class Counted(FileBytes):
        opened = 0

        def open(self):
            Counted.opened += 1
            return super().open()

    big = Counted(str(path), len(data))
    big.expect([b"AIGC", b"c2pa", b"provenance"])
    assert big.sha256() == hashlib.sha256(data).hexdigest()
    assert big.find(b"AIGC") == CHUNK_BYTES - 2
    assert big.find(b"c2pa") == 2 * CHUNK_BYTES + 5
    assert big.find(b"provenance") == -1
    assert big.find_any((b"c2pa", b"AIGC")) == (CHUNK_BYTES - 2, b"AIGC")
    assert Counted.opened == 1
    assert big.find(b"AIGC", CHUNK_BYTES) == len(data) - 4  # later hits: searched as asked
