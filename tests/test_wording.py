"""What people read: locations, requirement reasons and labels in words, never raw dicts,
lists, internal keys or misread OCR."""

import io

import pytest

import labelcheck
from conftest import jpeg_with_xmp, xmp_packet
from labelcheck.core.wording import describe_location, offset_words
from labelcheck.vision.lexicon import normalised
from labelcheck.writers import TextWriter

C2PA_REF = "self#jumbf=/c2pa/urn:c2pa:1234/c2pa.assertions/c2pa.hash.data"


@pytest.mark.parametrize("location, words", [
    (None, ""),
    ("EXIF UserComment", "EXIF UserComment"),
    ({"box": [12, 30.4, 200, 40]}, "pixels x 12, y 30, 200 × 40"),
    ({"box": [1, 2, 3, 4], "quad": [[1, 2], [4, 2], [4, 6], [1, 6]], "image_size": [10, 10]},
     "pixels x 1, y 2, 3 × 4"),
    ({"time_s": 1.0, "start_s": 1.0, "end_s": 4.25, "box": [5, 6, 7, 8]},
     "from 1 s to 4.2 s, pixels x 5, y 6, 7 × 8"),
    ({"original_box": [10, 20, 30, 40]}, "the original's pixels x 10, y 20, 30 × 40"),
    ({"offset_s": -3.0}, "the copy starts 3 s into the original"),
    ({"offset_s": 2.5}, "the original starts 2.5 s into the copy"),
    ({"offset_s": 0.1}, "the copy runs in step with the original"),
    (C2PA_REF, "C2PA manifest urn:c2pa:1234 > c2pa.assertions > c2pa.hash.data"),
    ("self#jumbf=/c2pa", "this file's C2PA manifest store"),
    ({"something": "else"}, "in the file"),
])
def test_locations_in_words(location, words):
    assert describe_location(location) == words


def test_offsets_name_which_side_was_trimmed():
    assert offset_words(-1.0) == "the copy starts 1 s into the original"


@pytest.mark.parametrize("raw, shown", [
    ("Al generated", "AI generated"), ("Made with Al", "Made with AI"),
    ("Généré par l'lA", "Généré par l'IA"), ("内容由Al生成", "内容由AI生成"),
    ("KI-generiert", "KI-generiert"), ("AI2 [unreadable]", "AI2 [unreadable]"),
])
def test_labels_are_shown_with_ocr_misreadings_of_ai_undone(raw, shown):
    assert normalised(raw) == shown


def test_own_manifest_reference_is_not_a_remote_manifest():
    """XMP's dcterms:provenance pointing at the file's own JUMBF store is a reference to the
    embedded manifest; only a URL is a remote manifest."""
    ns = 'xmlns:dcterms="http://purl.org/dc/terms/"'
    own = labelcheck.scan(jpeg_with_xmp(xmp_packet(
        f"<dcterms:provenance>{C2PA_REF}</dcterms:provenance>", ns)), name="own.jpg")
    [finding] = [f for f in own.findings if f.detector == "xmp"]
    assert finding.code == "xmp.manifest_reference"
    assert "remote" not in finding.message
    assert "embedded in this file (C2PA manifest urn:c2pa:1234" in finding.message
    remote = labelcheck.scan(jpeg_with_xmp(xmp_packet(
        "<dcterms:provenance>https://example.com/m.c2pa</dcterms:provenance>", ns)),
        name="remote.jpg")
    [finding] = [f for f in remote.findings if f.detector == "xmp"]
    assert finding.code == "xmp.remote_manifest_link" and "remote" in finding.message


def test_text_report_has_no_raw_structures(media):
    """The text report of files with pixel boxes and C2PA references shows them in words."""
    out = io.StringIO()
    writer = TextWriter(out)
    for name in ("ai_c2pa_tampered.jpg", "a1111.png"):
        writer.write(labelcheck.scan(media(name)))
    writer.close()
    text = out.getvalue()
    assert "self#jumbf" not in text and "{" not in text and "[[" not in text
    assert "C2PA manifest urn:" in text
    assert "changed after signing" in text
