"""Error messages are part of the interface: one cause, one message, in plain words, without
memory addresses, absolute paths, errno numbers or raw bytes."""

import io

import pytest
from PIL import Image, UnidentifiedImageError

import labelcheck
from labelcheck.core.model import MediaError
from labelcheck.core.plain import plain
from labelcheck.formats import identify
from labelcheck.formats.media import CORRUPT_REASON, decode_reason


def test_plain_takes_out_addresses_paths_errno_and_bytes():
    assert plain("cannot identify image file <_io.BytesIO object at 0x7f4045dffbf0>") == \
        "cannot identify image file the data"
    assert plain("[Errno 541478725] End of file: '/work/shared/x/Matroska.mkv'") == \
        "End of file: 'Matroska.mkv'"
    assert plain("chunk b'\\xf4\\xa8' at byte 8") == "chunk (bytes) at byte 8"
    assert plain("open /tmp/a/b.png failed") == "open a file failed"
    assert plain("ratio 1/2, s3://bucket/key/x.jpg") == "ratio 1/2, s3://bucket/key/x.jpg"
    assert len(plain("x" * 1000)) <= 300


@pytest.mark.parametrize("exc, reason", [
    (UnidentifiedImageError("cannot identify image file <_io.BytesIO object at 0x7f1>"),
     "the image header is damaged"),
    (OSError("image file is truncated (18 bytes not processed)"), "truncated"),
    (OSError("decoder error -2"), CORRUPT_REASON),
    (OSError("buffer overrun when reading image file"), CORRUPT_REASON),
    (ValueError("Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"),
     "decompression bomb"),
    (MemoryError(), "too large to decode"),
])
def test_one_cause_one_message(exc, reason):
    assert reason in decode_reason(exc)
    assert decode_reason(exc) == decode_reason(type(exc)(*exc.args))  # no per-file detail


def test_truncated_pixel_data_reads_the_same_whatever_the_file():
    reasons = set()
    for size in ((64, 48), (200, 100)):
        buffer = io.BytesIO()
        Image.new("RGB", size, (1, 2, 3)).save(buffer, "BMP")
        data = buffer.getvalue()[:-40]
        finding = next(f for f in labelcheck.scan(data, name="cut.bmp").findings
                       if f.code == "media.pixels_undecodable")
        reasons.add(finding.details["reason"])
    assert reasons == {"the image data is truncated: the file ends before the picture does"}


def test_damaged_chunk_types_are_not_printed_as_bytes():
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    data = png.getvalue()
    broken = data[:8] + b"\x00\x00\x10\x00\xf4\xa8\x81\xe1" + data[16:]
    report = labelcheck.scan(broken, name="broken.png")
    assert report.error == "PNG truncated: chunk of unreadable type at byte 8 runs past the end"


def test_unknown_bytes_have_one_stable_reason():
    with pytest.raises(MediaError) as first:
        identify(b"BPG\xfb" + bytes(60), "x.bpg")
    with pytest.raises(MediaError) as second:
        identify(b"\x00" * 64, "y")
    assert str(first.value) == str(second.value)
    assert "not a supported image or video format" in str(first.value)
