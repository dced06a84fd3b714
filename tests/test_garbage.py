"""Garbage in: every bad file becomes a clear `error` (or a partial result), never a crash."""

import random
import struct
import zlib

import pytest

import labelcheck
from conftest import png_with_text, small_jpeg
from labelcheck import Kind, Verdict
from labelcheck.cli.main import main
from labelcheck.formats.media import Media
from labelcheck.formats.png import MAX_INFLATED_TEXT


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_header_png(width=50_000, height=50_000) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + png_chunk(b"IEND", b""))


@pytest.mark.parametrize("extension", ["jpg", "png", "webp", "mp4", "mov", "heic", "tif"])
def test_random_bytes_with_media_extension(extension):
    data = random.Random(extension).randbytes(4096)
    report = labelcheck.scan(data, name=f"random.{extension}")
    assert report.verdict is Verdict.ERROR and report.error


def test_zero_bytes():
    report = labelcheck.scan(b"", name="empty.jpg")
    assert report.verdict is Verdict.ERROR and "empty" in report.error


@pytest.mark.parametrize("cut", [3, 20, 100, 300])
def test_truncated_jpeg(cut):
    report = labelcheck.scan(small_jpeg()[:cut], name="cut.jpg")
    assert report.verdict is Verdict.ERROR and "truncated" in report.error.lower()


def test_truncated_png_keeps_what_was_read():
    whole = png_with_text({"parameters": "x\nSteps: 20, Sampler: Euler, Seed: 3"})
    report = labelcheck.scan(whole[:-30], name="cut.png")
    assert report.verdict is Verdict.ERROR and "truncated" in report.error
    assert report.ai_generated  # the A1111 chunk before the damage is still reported


@pytest.mark.slow
def test_truncated_mp4(real_media):
    data = (real_media / "c2pa-rs" / "video1_no_manifest.mp4").read_bytes()
    report = labelcheck.scan(data[: len(data) // 3], name="cut.mp4")
    assert report.verdict is Verdict.ERROR and report.error


def test_decompression_bomb_pixels_are_refused_and_the_metadata_still_judged():
    report = labelcheck.scan(bomb_header_png(), name="bomb.png")
    refusal = [f for f in report.findings if f.code == "media.pixels_undecodable"]
    assert refusal and refusal[0].kind is Kind.PROBLEM
    assert "50000x50000" in refusal[0].message and "decompression bomb" in refusal[0].message
    assert "pixels were not checked" in report.summary
    # The same verdict as a metadata-only scan, which never touches the pixels.
    metadata_only = labelcheck.scan(bomb_header_png(), name="bomb.png", pixels=False)
    assert report.verdict is metadata_only.verdict is Verdict.NO_AI_SIGNAL
    assert "media.pixels_undecodable" not in {f.code for f in metadata_only.findings}


def test_compressed_text_chunk_zip_bomb_is_bounded():
    """A zTXt chunk that inflates to 32 MiB (from ~140 KB) is read only up to the inflate
    limit, and what its head says (A1111 parameters) is still found."""
    text = b"a cat\nSteps: 20, Sampler: Euler, Seed: 3\n" + bytes(32 << 20)
    data = bomb_header_png(8, 8)
    body = b"parameters\0\0" + zlib.compress(text, 1)
    data = data[:-12] + png_chunk(b"zTXt", body) + data[-12:]
    [chunk] = [c for c in Media(data, "ztxt-bomb.png").png_chunks if c.type == "zTXt"]
    assert len(chunk.text[1]) == MAX_INFLATED_TEXT < len(text)
    report = labelcheck.scan(data, name="ztxt-bomb.png", pixels=False)
    assert report.error is None
    assert "a1111.parameters" in {f.code for f in report.findings}


def test_text_file_named_as_image():
    report = labelcheck.scan(b"hello, this is not an image\n" * 10, name="notes.jpg")
    assert report.verdict is Verdict.ERROR and "not a supported" in report.error


def test_mislabelled_file_is_read_by_content():
    report = labelcheck.scan(png_with_text({"parameters": "x\nSteps: 2, Seed: 1"}),
                             name="really-a-png.jpg")
    assert report.media_type == "image/png" and report.ai_generated
    assert "media.mislabelled" in {f.code for f in report.findings}


@pytest.mark.slow
def test_one_bad_file_never_stops_a_multi_file_scan(tmp_path, capsys):
    names = []
    for index, data in enumerate([b"", bomb_header_png(), small_jpeg()[:50], small_jpeg(),
                                  random.Random(1).randbytes(999)]):
        path = tmp_path / f"{index}.png"
        path.write_bytes(data)
        names.append(str(path))
    assert main(["scan", *names, "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    assert sum('"verdict": "error"' in line for line in lines) == 3  # empty, cut, random
    bomb = next(line for line in lines if names[1] in line)
    assert '"no_ai_signal"' in bomb and '"media.pixels_undecodable"' in bomb
