"""The Stable Diffusion invisible-watermark decoder (labelcheck.sources.watermark).

Marked pictures come from `embed` below: a plain re-statement of the published encoder
(invisible-watermark ``EmbedMaxDct.encode``, method ``dwtDct``) written for these tests, so
the product's decoder is checked against the encode path and not against itself.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import pywt
from PIL import Image

from labelcheck.formats.media import Media
from labelcheck.core.model import Kind, MediaError
from labelcheck.sources.base import PIXELS
from labelcheck.core.settings import Settings
from labelcheck.sources.watermark import (
    MESSAGES,
    VARIANTS,
    SDWatermarkSource,
    decode_bits,
    haar_ll,
    mark_can_survive,
    match_watermarks,
    read_messages,
    u_plane,
)

REAL_MEDIA = Path(__file__).parents[1].parent / "shared" / "real_media"
TEST_MEDIA = Path(__file__).parents[1] / "test_media"
MESSAGE = {message.code: message for message in MESSAGES}
VARIANT = {variant.name: variant for variant in VARIANTS}


def photo_like(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A deterministic stand-in for a photo: colour gradients, a few shapes, sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    yy, xx = yy / height, xx / width
    image = np.stack([60 + 150 * xx, 90 + 100 * yy, 170 - 90 * xx * yy], axis=-1)
    disc = (xx - 0.35) ** 2 + ((yy - 0.4) * height / width) ** 2 < 0.04
    image[disc] = (200, 90, 60)
    image[(xx > 0.55) & (xx < 0.85) & (yy > 0.6) & (yy < 0.9)] = (40, 120, 200)
    image[..., 1] += 25 * np.sin(40 * xx + 10 * yy)
    image += rng.normal(0, 5, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def embed(rgb: np.ndarray, bits, *, rgb_as_bgr: bool = False,
          float_input: bool = False) -> np.ndarray:
    """Mark `rgb` the way ``EmbedMaxDct.encode`` does, and return uint8 RGB.

    The defaults are the SD 1.x/2.x scripts (uint8 BGR); ``rgb_as_bgr=True, float_input=True``
    is diffusers' SDXL watermarker (float32 RGB handed over as BGR). Colour conversion uses
    OpenCV's documented YUV formulas in floating point rather than its fixed-point code.
    """
    pixels = rgb.astype(np.float64)
    blue, green, red = (pixels[..., i] for i in ((0, 1, 2) if rgb_as_bgr else (2, 1, 0)))
    offset = 0.5 if float_input else 128.0
    luma = 0.299 * red + 0.587 * green + 0.114 * blue
    u = 0.492 * (blue - luma) + offset
    v = 0.877 * (red - luma) + offset
    if not float_input:  # cvtColor on uint8 rounds and saturates
        luma, u, v = (np.clip(np.rint(plane), 0, 255) for plane in (luma, u, v))
    height, width = u.shape[0] // 4 * 4, u.shape[1] // 4 * 4
    low, (horizontal, vertical, diagonal) = pywt.dwt2(u[:height, :width], "haar")
    cols = low.shape[1] // 4
    for num in range((low.shape[0] // 4) * cols):
        i, j = divmod(num, cols)
        block = low[4 * i:4 * i + 4, 4 * j:4 * j + 4]
        pos = np.argmax(np.abs(block.flatten()[1:])) + 1
        bi, bj = divmod(pos, 4)
        value = block[bi, bj]
        moved = (abs(value) // 36 + 0.25 + 0.5 * bits[num % len(bits)]) * 36
        block[bi, bj] = moved if value >= 0 else -moved
    # The published encoder hands the detail bands back as (v, h, d): kept as it is.
    marked = pywt.idwt2((low, (vertical, horizontal, diagonal)), "haar")
    if not float_input:  # assigning floats into the uint8 YUV array truncates
        marked = np.trunc(np.clip(marked, 0, 255))
    u[:height, :width] = marked
    blue = luma + 2.032 * (u - offset)
    green = luma - 0.395 * (u - offset) - 0.581 * (v - offset)
    red = luma + 1.140 * (v - offset)
    planes = (blue, green, red) if rgb_as_bgr else (red, green, blue)
    return np.clip(np.rint(np.stack(planes, axis=-1)), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def assert_no_wrong_claim(rgb: np.ndarray, code: str) -> None:
    for match in match_watermarks(rgb):
        assert match.message.code == code, f"claimed {match.message.code}, embedded {code}"


@pytest.mark.parametrize("code", ["sd1", "sd2", "sdxl"])
@pytest.mark.parametrize("height, width", [(256, 256), (384, 512), (512, 320)])
def test_finds_the_embedded_message_and_no_other(code, height, width):
    marked = embed(photo_like(height, width, seed=height + width), MESSAGE[code].bits)
    matches = match_watermarks(marked)
    assert [match.message.code for match in matches] == [code]
    assert matches[0].accuracy >= 0.95
    assert matches[0].variant.name == "bgr-uint8"
    others = [reading for reading in read_messages(marked) if reading.message.code != code]
    assert len(others) == 2 and all(reading.accuracy < 0.85 for reading in others)


def test_scores_are_cut_at_their_mean_not_at_one_half():
    """A 0 bit can average above 0.5 (see the module docstring); the two groups still part."""
    bits = MESSAGE["sdxl"].bits.astype(bool)
    scores = decode_bits(embed(photo_like(256, 384), bits), len(bits))
    assert scores[bits].min() > scores[~bits].max()
    assert np.array_equal(scores > scores.mean(), bits)
    assert not np.array_equal(scores * 255 > 127, bits)  # the library's own cut misreads


def test_diffusers_sdxl_convention():
    """diffusers hands float32 RGB to the encoder as if it were BGR."""
    bits = MESSAGE["sdxl"].bits
    marked = embed(photo_like(384, 384, seed=7), bits, rgb_as_bgr=True, float_input=True)
    matches = match_watermarks(marked)
    assert [match.message.code for match in matches] == ["sdxl"]
    assert matches[0].variant.rgb_as_bgr and matches[0].accuracy >= 0.95


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plain_pictures_carry_no_mark(seed):
    assert match_watermarks(photo_like(512, 512, seed=seed)) == []
    for reading in read_messages(photo_like(512, 512, seed=seed)):
        assert reading.accuracy < 0.85 and reading.p_value > 1e-4


def test_flat_and_tiny_pictures():
    assert match_watermarks(np.full((300, 300, 3), 128, np.uint8)) == []
    assert read_messages(np.zeros((63, 500, 3), np.uint8)) == []
    # 64x64 has 64 blocks: enough for SD 2.x and SDXL, not for the 136 bits of SD 1.x.
    small = {reading.message.code for reading in read_messages(photo_like(64, 64))}
    assert small == {"sd2", "sdxl"}


@pytest.mark.parametrize("code", ["sd1", "sdxl"])
def test_recompressed_or_resized_never_names_a_wrong_message(code):
    marked = embed(photo_like(512, 512, seed=3), MESSAGE[code].bits)
    assert_no_wrong_claim(jpeg(marked, 50), code)
    assert_no_wrong_claim(jpeg(marked, 95), code)
    half = np.asarray(Image.fromarray(marked).resize((256, 256), Image.LANCZOS))
    assert_no_wrong_claim(half, code)


def test_haar_ll_is_pywavelets_bit_for_bit():
    rng = np.random.default_rng(5)
    for plane in (rng.integers(0, 256, (64, 96)).astype(np.float64),
                  rng.normal(0, 40, (32, 48))):
        assert np.array_equal(haar_ll(plane), pywt.dwt2(plane, "haar")[0])


def test_u_plane_matches_opencv():
    """U values printed by ``cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)`` (opencv-python 5.0)."""
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 0, 255],
                     [0, 255, 0], [12, 200, 77], [250, 3, 128], [99, 98, 97]]], np.uint8)
    assert u_plane(rgb).tolist() == [[128, 128, 91, 239, 54, 102, 146, 128]]


# Per-bit counts of 1 blocks that invisible-watermark's own decoder (EmbedMaxDct.decode_frame,
# run with OpenCV 5.0 and PyWavelets 1.8) finds in photo_like(256, 320) for a 48-bit message,
# fed as BGR (the library's convention) and as RGB (the "rgb-uint8" convention).
LIBRARY_COUNTS = {
    "bgr-uint8": [16, 13, 8, 7, 17, 17, 7, 16, 13, 12, 9, 8, 12, 20, 10, 11, 17, 8, 12, 12, 11, 15,
                  12, 11, 18, 8, 12, 16, 15, 11, 13, 16, 16, 14, 6, 16, 15, 10, 11, 14, 17, 15, 2,
                  13, 18, 12, 5, 16],
    "rgb-uint8": [15, 19, 14, 12, 14, 16, 16, 9, 15, 13, 13, 11, 14, 17, 7, 13, 15, 16, 9, 11, 17,
                  14, 7, 14, 18, 15, 9, 14, 18, 10, 10, 15, 19, 17, 8, 11, 17, 10, 7, 8, 17, 14, 9,
                  11, 15, 14, 9, 11],
}


@pytest.mark.parametrize("variant", ["bgr-uint8", "rgb-uint8"])
def test_scores_are_the_library_decoders(variant):
    blocks = (256 // 8) * (320 // 8)
    counts = np.bincount(np.arange(blocks) % 48)
    scores = decode_bits(photo_like(256, 320), 48, VARIANT[variant])
    assert np.rint(scores * counts).astype(int).tolist() == LIBRARY_COUNTS[variant]


def test_source_reports_one_finding():
    source = SDWatermarkSource()
    assert (source.name, source.tier, set(source.media_kinds)) == (
        "sd_watermark", PIXELS, {"image"})
    marked = embed(photo_like(384, 512, seed=11), MESSAGE["sd1"].bits)
    findings = list(source.find(Media(png_bytes(marked), "x.png"), Settings()))
    assert len(findings) == 1
    finding = findings[0]
    assert finding.kind is Kind.AI_TRACE and finding.code == "sd_watermark.sd1"
    assert "StableDiffusionV1" in finding.message and "of 136 bits" in finding.message
    assert finding.details["message"] == "StableDiffusionV1"
    assert finding.details["bits"] == 136 and finding.details["bit_accuracy"] >= 0.95
    assert finding.details["p_value"] < 1e-7
    assert 0.9 <= finding.confidence <= 1.0
    plain = Media(png_bytes(photo_like(384, 512, seed=11)), "x.png")
    assert list(source.find(plain, Settings())) == []


def jpeg_bytes(rgb: np.ndarray, quality: int, subsampling: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, subsampling=subsampling)
    return buffer.getvalue()


def marked_pictures() -> list[np.ndarray]:
    """The SDXL test file, and the three messages on a photo-like ad in both conventions."""
    base = photo_like(1350, 1080, seed=7)
    return [np.asarray(Image.open(TEST_MEDIA / "sd_watermark_sdxl.png").convert("RGB"))] + [
        embed(base, MESSAGE[code].bits, rgb_as_bgr=diffusers, float_input=diffusers)
        for code in ("sd1", "sd2", "sdxl") for diffusers in (False, True)]


@pytest.mark.slow
def test_the_decode_is_skipped_only_where_no_mark_survives():
    """4:2:0 JPEGs at libjpeg quality 90 or below are not decoded, and decoding them would
    have found nothing; at 94 and above, and at 4:4:4, they are decoded and marks are found."""
    pictures = marked_pictures()
    source = SDWatermarkSource()
    for quality in (75, 88, 90):
        for rgb in pictures:
            data = jpeg_bytes(rgb, quality, subsampling=2)
            assert not mark_can_survive(Image.open(io.BytesIO(data)))
            assert match_watermarks(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))) \
                == []  # the skip loses nothing
            assert list(source.find(Media(data, "ad.jpg"), Settings())) == []
    found = {(quality, subsampling): sum(
        bool(list(source.find(Media(jpeg_bytes(rgb, quality, subsampling), "ad.jpg"),
                              Settings()))) for rgb in pictures)
        for quality, subsampling in ((98, 2), (80, 0), (95, 0))}
    assert found[(98, 2)] >= 5 and found[(80, 0)] >= 6 and found[(95, 0)] == len(pictures)
    assert mark_can_survive(Image.open(io.BytesIO(jpeg_bytes(pictures[0], 94, 2))))
    assert mark_can_survive(Image.open(TEST_MEDIA / "sd_watermark_sdxl.png"))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Palette images with Transparency")
def test_no_detection_on_real_media():
    """Third-party photos, C2PA fixtures and SD outputs without the mark: never a claim."""
    if not REAL_MEDIA.is_dir():
        pytest.skip("shared/real_media is not present")
    source = SDWatermarkSource()
    decoded = 0
    for path in sorted(REAL_MEDIA.rglob("*")):
        if not path.is_file():
            continue
        try:
            media = Media.open(path)
            media.rgb
        except MediaError:
            continue
        decoded += 1
        assert list(source.find(media, Settings())) == [], path
    assert decoded > 0
