#!/usr/bin/env python3
"""Deterministic generator for labelcheck's test media.

Run ``python test_media/generate.py [--out DIR]``. By default the files are written next to this
script (``test_media/``), together with ``EXPECTED.json`` (what a correct checker reports for each
file under the ``default`` policy) and ``test_ca.pem`` (the root certificate of the test C2PA PKI,
to be used as a trust anchor).

Everything is fixed: numpy seeds, EC private keys (derived from fixed integers), certificate
validity, dates in metadata. Rerunning gives the same pixels and the same metadata semantics. Only
the C2PA parts differ between runs (manifest UUIDs, ECDSA signatures), which is expected.

The module is importable without side effects (``c2pa`` and ``av`` are imported lazily), so tests
can reuse the helpers, e.g.::

    gen = importlib.util.module_from_spec(...)  # load test_media/generate.py
    marked = gen.embed_sd_watermark(gen.make_scene(512, 512, seed=7, confetti=6), gen.SDXL_BITS)
    assert gen.decode_sd_watermark(marked, len(gen.SDXL_BITS)) == gen.SDXL_BITS

Libraries: Pillow (images), numpy, PyWavelets (watermark DWT), cryptography (test PKI),
c2pa-python (signing and verification), PyAV (MP4).
"""

import argparse
import dataclasses
import datetime as _dt
import gzip
import html
import io
import json
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Fixed values shared by the fixtures (tests may import them)
# ---------------------------------------------------------------------------------------------

#: IPTC digital source type vocabulary base.
IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC_DST + "trainedAlgorithmicMedia"
COMPOSITE_TRAINED = IPTC_DST + "compositeWithTrainedAlgorithmicMedia"
DIGITAL_CAPTURE = IPTC_DST + "digitalCapture"
COMPOSITE = IPTC_DST + "composite"

NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"

#: Fixed dates written into metadata (never "now").
FIXED_DATE_EXIF = "2025:09:01 10:00:00"
FIXED_DATE_ISO = "2025-09-01T10:00:00Z"

#: GB 45438 implicit label, conforming (all seven fields, Label "1" = AI-generated).
AIGC_LABEL = {
    "AIGC": {
        "Label": "1",
        "ContentProducer": "001191110102MACQD9K64010000",
        "ProduceID": "20250901-0001",
        "ReservedCode1": "",
        "ContentPropagator": "",
        "PropagateID": "",
        "ReservedCode2": "",
    }
}
AIGC_JSON = json.dumps(AIGC_LABEL, separators=(",", ":"), ensure_ascii=False)
#: A non-conforming label as seen in the wild (Label is not 1/2/3, required fields missing).
AIGC_NONCONFORMING_JSON = json.dumps(
    {"AIGC": {"Label": "AIGC", "ServiceProvider": "Example"}}, separators=(",", ":")
)

#: AUTOMATIC1111 generation parameters (the PNG ``parameters`` text).
A1111_PARAMETERS = (
    "a portrait of a woman in a red coat\n"
    "Negative prompt: blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.6.0"
)

#: Name used as the C2PA software agent / claim generator of the "AI" test images.
TEST_GENERATOR = "Labelcheck Test Diffusion"
TEST_GENERATOR_VERSION = "1.0"


def _bytes_to_bits(data: bytes) -> list[int]:
    """Bits of ``data``, most significant bit of each byte first (``np.unpackbits`` order)."""
    return [int(b) for b in np.unpackbits(np.frombuffer(data, dtype=np.uint8))]


#: Stable Diffusion 1.x/2.x reference scripts: ``WatermarkEncoder().set_watermark('bytes',
#: b"StableDiffusionV1")`` -> 17 bytes -> 136 bits, MSB first.
SD1_BITS: list[int] = _bytes_to_bits(b"StableDiffusionV1")
#: Stable Diffusion 2.x scripts also used ``b"SDV2"`` (32 bits).
SD2_BITS: list[int] = _bytes_to_bits(b"SDV2")
#: SDXL (Stability generative-models / diffusers): ``[int(b) for b in bin(MSG)[2:]]``, 48 bits.
SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
SDXL_BITS: list[int] = [int(b) for b in bin(SDXL_MESSAGE)[2:]]


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------

_PALETTES = [
    # sky top, sky horizon, far hills, near ground, panel colour, sun colour
    ((40, 90, 170), (250, 190, 140), (90, 110, 140), (60, 110, 60), (235, 80, 60),
     (255, 235, 190)),
    ((20, 40, 90), (200, 120, 160), (70, 60, 100), (90, 70, 50), (240, 200, 70),
     (255, 210, 170)),
    ((110, 170, 220), (225, 235, 240), (120, 140, 120), (150, 130, 90), (30, 120, 200),
     (255, 250, 230)),
    ((60, 60, 80), (230, 150, 90), (100, 80, 90), (50, 80, 90), (250, 250, 245),
     (255, 220, 150)),
]


def _upsample(low: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear upsampling of a 2-D array to (height, width) with plain numpy."""
    lh, lw = low.shape
    ys = np.linspace(0, lh - 1, height)
    xs = np.linspace(0, lw - 1, width)
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    y1 = np.minimum(y0 + 1, lh - 1)
    x1 = np.minimum(x0 + 1, lw - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    top = low[y0][:, x0] * (1 - fx) + low[y0][:, x1] * fx
    bot = low[y1][:, x0] * (1 - fx) + low[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def _scatter_confetti(img: np.ndarray, rng: np.random.Generator, density: float) -> np.ndarray:
    """Paint anti-aliased coloured dots (radius 0.7-1.8 px), ``density`` per 100 pixels."""
    h, w = img.shape[:2]
    n = int(density * h * w / 100)
    ys, xs = rng.uniform(0, h, n), rng.uniform(0, w, n)
    rs = rng.uniform(0.7, 1.8, n)
    hue = rng.uniform(0, 1, n)
    cols = np.stack([127 + 120 * np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)], -1)
    cols = cols * rng.uniform(0.6, 1.0, (n, 1))
    out = img.copy()
    for y, x, r, c in zip(ys, xs, rs, cols):
        y0, y1 = int(max(0, y - r - 1)), int(min(h, y + r + 2))
        x0, x1 = int(max(0, x - r - 1)), int(min(w, x + r + 2))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        a = np.clip(r - np.hypot(yy - y, xx - x) + 0.5, 0, 1)[..., None]
        out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * (1 - a) + c * a
    return out


def make_scene(width: int, height: int, seed: int, palette: int | None = None,
               grain: float = 2.0, shift: float = 0.0, confetti: float = 0.0) -> np.ndarray:
    """Render a deterministic photo/advert-like RGB picture as a ``(height, width, 3)`` uint8 array.

    A sky gradient, a soft sun, two layers of hills, a rounded "product panel" with a shadow and
    highlight, low-frequency texture and per-pixel grain, then a vignette. Everything comes from
    ``numpy.random.default_rng(seed)``, so equal arguments give equal pixels. ``shift`` (0..1)
    moves the sun and panel, for animating video frames.

    ``confetti`` (dots per 100 pixels, e.g. 6) scatters small saturated coloured dots over the
    picture (a party-advert look). Use it for pictures that get the Stable Diffusion watermark:
    that watermark only decodes reliably where the chroma (U) plane has fine detail. On smooth
    colour areas the upstream dwtDct decoder reads about half of the 0 bits as 1, so a smooth
    picture can fail to decode even straight after embedding (real generated images are busy
    enough; these synthetic ones are not without the confetti).
    """
    rng = np.random.default_rng(seed)
    if palette is None:
        palette = int(np.random.default_rng([seed, 1]).integers(len(_PALETTES)))
    pal = _PALETTES[palette % len(_PALETTES)]
    sky_top, sky_hor, far_c, near_c, panel_c, sun_c = (np.array(c, dtype=np.float64) for c in pal)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u = xx / max(width - 1, 1)
    v = yy / max(height - 1, 1)

    horizon = 0.55 + rng.uniform(-0.08, 0.05)
    t = np.clip(v / horizon, 0, 1)[..., None] ** 0.8
    img = sky_top * (1 - t) + sky_hor * t

    # sun with a soft halo
    sx = rng.uniform(0.15, 0.85) + 0.2 * shift
    sy = horizon * rng.uniform(0.35, 0.7)
    r = np.hypot((u - sx) * width / height, v - sy)
    rad = rng.uniform(0.06, 0.11)
    disc = np.clip((rad - r) / 0.01, 0, 1)[..., None]
    halo = np.exp(-(r / (rad * 3.0)) ** 2)[..., None] * 0.45
    img = img * (1 - halo) + sun_c * halo
    img = img * (1 - disc) + sun_c * disc

    # far and near hills (sums of sines)
    for layer, colour, base in ((0, far_c, horizon - 0.06), (1, near_c, horizon + 0.08)):
        line = np.full_like(u[0], base)
        for _ in range(3):
            line = line + rng.uniform(0.01, 0.04) * np.sin(
                2 * np.pi * (rng.uniform(0.5, 3.0) * u[0] + rng.uniform(0, 1)))
        edge = np.clip((v - line[None, :]) * height / 1.5, 0, 1)[..., None]
        depth = np.clip((v - line[None, :]) / (1 - line[None, :] + 1e-6), 0, 1)[..., None]
        shade = colour * (1.0 - 0.35 * depth) + 8 * layer
        img = img * (1 - edge) + shade * edge

    # rounded product panel with a drop shadow and a highlight: the "advert" part
    pw, ph = rng.uniform(0.22, 0.32), rng.uniform(0.28, 0.40)
    px, py = rng.uniform(0.08, 0.70 - pw) + 0.1 * shift, rng.uniform(0.30, 0.95 - ph)
    corner = 0.03

    def rounded(x0: float, y0: float) -> np.ndarray:
        dx = np.maximum(np.maximum(x0 + corner - u, u - (x0 + pw - corner)), 0)
        dy = np.maximum(np.maximum(y0 + corner - v, v - (y0 + ph - corner)), 0)
        d = np.hypot(dx * width / height, dy) - corner
        return np.clip(-d * height / 1.5, 0, 1)[..., None]

    shadow = rounded(px + 0.012, py + 0.02) * 0.45
    img = img * (1 - shadow)
    mask = rounded(px, py)
    grad = (1.15 - 0.4 * np.clip((v - py) / ph, 0, 1))[..., None]
    panel = np.clip(panel_c * grad, 0, 255)
    stripe = ((np.abs(v - (py + ph * 0.72)) < ph * 0.05) & (u > px + pw * 0.15)
              & (u < px + pw * 0.85))[..., None]
    panel = np.where(stripe, 250.0, panel)
    img = img * (1 - mask) + panel * mask

    if confetti > 0:
        img = _scatter_confetti(img, np.random.default_rng(seed + 0xC0F), confetti)

    # low-frequency texture, grain, vignette
    tex = _upsample(rng.normal(0, 1, (height // 16 + 2, width // 16 + 2)), height, width)
    img = img + 7.0 * tex[..., None]
    img = img + rng.normal(0, grain, img.shape)
    vignette = 1 - 0.28 * (((u - 0.5) ** 2 + (v - 0.5) ** 2) / 0.5)
    img = img * vignette[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def encode_png(arr: np.ndarray) -> bytes:
    """PNG bytes for a uint8 RGB/RGBA array, with no ancillary chunks at all."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def encode_jpeg(arr: np.ndarray, quality: int = 85, exif: bytes | None = None) -> bytes:
    """Baseline JPEG bytes (4:2:0) for a uint8 RGB array; ``exif`` is a TIFF-header EXIF blob."""
    from PIL import Image

    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"quality": quality, "subsampling": 2}
    if exif:
        kwargs["exif"] = exif
    Image.fromarray(arr).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def make_exif(make: str | None = None, model: str | None = None, software: str | None = None,
              user_comment: bytes | None = None, date: str = FIXED_DATE_EXIF) -> bytes:
    """EXIF blob (``Exif\\0\\0`` + TIFF) with the given IFD0 tags and ExifIFD UserComment.

    ``user_comment`` must already carry its 8-byte character-code header
    (``b"ASCII\\0\\0\\0"`` or ``b"UNICODE\\0"``), as EXIF 2.3 section 4.6.5 requires.
    """
    from PIL import Image

    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if software:
        exif[0x0131] = software
    exif[0x0132] = date  # DateTime
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = date  # DateTimeOriginal
    if user_comment is not None:
        ifd[0x9286] = user_comment
    return exif.tobytes()


# ---------------------------------------------------------------------------------------------
# Stable Diffusion invisible watermark (invisible-watermark "dwtDct", EmbedMaxDct)
# ---------------------------------------------------------------------------------------------
# Ported from ShieldMnt/invisible-watermark, imwatermark/maxDct.py (EmbedMaxDct) and
# imwatermark/watermark.py (WatermarkEncoder), without OpenCV: the two cv2.cvtColor calls are
# reproduced with OpenCV's own 8-bit fixed-point formulas (bit-exact with cv2 for all 2^24
# colours, checked against opencv-python-headless 5.0). The quirks of the original are kept on
# purpose, because real Stable Diffusion images carry them:
#   * only channel 1 (U) is marked: the loop is ``for channel in range(2)`` and scales are
#     [0, 36, 36], so Y is skipped (scale 0) and V is never visited;
#   * "dwtDct" does no DCT at all: ``diffuse_dct_matrix`` quantises the largest-magnitude
#     coefficient (excluding index 0) of each 4x4 block of the Haar LL band directly;
#   * the inverse DWT is called as ``idwt2((ca1, (v1, h1, d1)))`` -- horizontal and vertical
#     details swapped, which transposes every 2x2 block of the U plane;
#   * the float result is stored into the uint8 YUV array by numpy casting (truncation towards
#     zero, wrapping modulo 256 on overflow).

_YUV_SHIFT = 14
_YUV_HALF = 1 << (_YUV_SHIFT - 1)


def cv2_bgr2yuv(bgr: np.ndarray) -> np.ndarray:
    """``cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)`` for uint8 input, bit-exact, in numpy."""
    b, g, r = (bgr[..., i].astype(np.int64) for i in range(3))
    y = (r * 4899 + g * 9617 + b * 1868 + _YUV_HALF) >> _YUV_SHIFT
    u = ((b - y) * 8061 + (128 << _YUV_SHIFT) + _YUV_HALF) >> _YUV_SHIFT
    v = ((r - y) * 14369 + (128 << _YUV_SHIFT) + _YUV_HALF) >> _YUV_SHIFT
    return np.clip(np.stack([y, u, v], -1), 0, 255).astype(np.uint8)


def cv2_yuv2bgr(yuv: np.ndarray) -> np.ndarray:
    """``cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)`` for uint8 input, bit-exact, in numpy."""
    y, u, v = (yuv[..., i].astype(np.int64) for i in range(3))
    u = u - 128
    v = v - 128
    b = y + ((u * 33292 + _YUV_HALF) >> _YUV_SHIFT)
    g = y + ((u * -6472 + v * -9519 + _YUV_HALF) >> _YUV_SHIFT)
    r = y + ((v * 18678 + _YUV_HALF) >> _YUV_SHIFT)
    return np.clip(np.stack([b, g, r], -1), 0, 255).astype(np.uint8)


def _to_uint8_like_numpy_cast(values: np.ndarray) -> np.ndarray:
    """What ``uint8_array[...] = float_array`` does on x86: truncate, then wrap modulo 256."""
    return (np.trunc(values).astype(np.int64) & 0xFF).astype(np.uint8)


def embed_sd_watermark(rgb: np.ndarray, bits: Sequence[int], *, scale: int = 36, block: int = 4,
                       rgb_as_bgr: bool = False) -> np.ndarray:
    """Embed ``bits`` like ``WatermarkEncoder().encode(bgr, 'dwtDct')`` and return new RGB pixels.

    ``rgb`` is a uint8 ``(H, W, 3)`` array of at least 256*256 pixels (the library refuses
    smaller ones). As in the Stable Diffusion scripts (``put_watermark``: RGB -> BGR -> encode ->
    RGB) the channels are reversed before encoding. ``rgb_as_bgr=True`` skips the reversal,
    reproducing diffusers' SDXL watermarker, which hands RGB arrays to the encoder as if BGR.
    Save the result losslessly (PNG): the mark does not survive resizing and barely survives JPEG.
    """
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError("expected a uint8 (H, W, 3) array")
    import pywt

    rows, cols = arr.shape[:2]
    if rows * cols < 256 * 256:
        raise ValueError("image too small, should be larger than 256x256")
    wm = [int(b) % 2 for b in bits]
    if not wm:
        raise ValueError("no watermark bits")
    bgr = arr[..., :3] if rgb_as_bgr else arr[..., 2::-1]
    yuv = cv2_bgr2yuv(np.ascontiguousarray(bgr))
    scales = [0, scale, scale]
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    for channel in range(2):  # sic: upstream never reaches channel 2 (V)
        if scales[channel] <= 0:
            continue
        ca1, (h1, v1, d1) = pywt.dwt2(yuv[:r4, :c4, channel].astype(np.float64), "haar")
        _encode_frame(ca1, wm, scales[channel], block)
        rec = pywt.idwt2((ca1, (v1, h1, d1)), "haar")  # sic: (v1, h1) swapped as upstream
        yuv[:r4, :c4, channel] = _to_uint8_like_numpy_cast(rec)
    out = cv2_yuv2bgr(yuv)
    out = out if rgb_as_bgr else out[..., ::-1]
    if arr.shape[2] == 4:
        return np.concatenate([out, arr[..., 3:4]], axis=2)
    return np.ascontiguousarray(out)


def _encode_frame(frame: np.ndarray, wm: list[int], scale: float, block: int) -> None:
    """``EmbedMaxDct.encode_frame`` + ``diffuse_dct_matrix``: one bit per block, in place."""
    rows, cols = frame.shape
    num = 0
    n = len(wm)
    for i in range(rows // block):
        for j in range(cols // block):
            blk = frame[i * block:(i + 1) * block, j * block:(j + 1) * block]
            bit = wm[num % n]
            pos = int(np.argmax(np.abs(blk.flatten()[1:]))) + 1
            bi, bj = pos // block, pos % block
            val = blk[bi, bj]
            if val >= 0.0:
                blk[bi, bj] = (val // scale + 0.25 + 0.5 * bit) * scale
            else:
                blk[bi, bj] = -1.0 * (abs(val) // scale + 0.25 + 0.5 * bit) * scale
            num += 1


def decode_sd_watermark(rgb: np.ndarray, n_bits: int, *, scale: int = 36, block: int = 4,
                        rgb_as_bgr: bool = False) -> list[int]:
    """Read ``n_bits`` like ``WatermarkDecoder('bits', n_bits).decode(bgr, 'dwtDct')``.

    Per block of the U channel's Haar LL band: the largest-magnitude coefficient (index 0
    excluded) is 1 when ``abs(val) % scale > scale / 2``; the per-bit mean over all repeats is
    thresholded (``mean * 255 > 127``). Provided for self-checks and tests.
    """
    import pywt

    arr = np.asarray(rgb)
    rows, cols = arr.shape[:2]
    bgr = arr[..., :3] if rgb_as_bgr else arr[..., 2::-1]
    yuv = cv2_bgr2yuv(np.ascontiguousarray(bgr))
    r4, c4 = rows // 4 * 4, cols // 4 * 4
    ca1, _ = pywt.dwt2(yuv[:r4, :c4, 1].astype(np.float64), "haar")
    br, bc = ca1.shape[0] // block, ca1.shape[1] // block
    blocks = ca1[:br * block, :bc * block].reshape(br, block, bc, block).transpose(0, 2, 1, 3)
    flat = blocks.reshape(br * bc, block * block)
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1
    val = np.abs(flat[np.arange(flat.shape[0]), pos])
    score = ((val % scale) > 0.5 * scale).astype(np.float64)
    sums = np.bincount(np.arange(score.size) % n_bits, weights=score, minlength=n_bits)
    counts = np.bincount(np.arange(score.size) % n_bits, minlength=n_bits)
    means = sums / np.maximum(counts, 1)
    return [int(m * 255 > 127) for m in means]


def bits_to_bytes(bits: Sequence[int]) -> bytes:
    """Pack bits (MSB first) into bytes, as ``WatermarkDecoder.reconstruct_bytes``."""
    return np.packbits(np.array(bits, dtype=np.uint8)).tobytes()


# ---------------------------------------------------------------------------------------------
# A1111 "stealth pnginfo"
# ---------------------------------------------------------------------------------------------


def embed_stealth_pnginfo(rgb: np.ndarray, text: str, compressed: bool = False) -> np.ndarray:
    """Return an RGBA array carrying ``text`` in the alpha LSBs, as sd-webui-stealth-pnginfo does.

    Follows ``add_data(params, mode='alpha', compressed)`` of the stealth pnginfo extension:
    ``image.putalpha(255)``; bit string = signature ``stealth_pnginfo`` (``stealth_pngcomp``
    when gzip-compressed) as 8 bits per byte + the payload length IN BITS as 32-bit big-endian
    binary + the payload bytes (UTF-8 text, or its gzip), each MSB first; written in column-major
    pixel order (``for x in range(width): for y in range(height)``) as
    ``a = (a & ~1) | bit``. Remaining pixels keep alpha 255.
    """
    arr = np.asarray(rgb, dtype=np.uint8)[..., :3]
    h, w = arr.shape[:2]
    sig = b"stealth_pngcomp" if compressed else b"stealth_pnginfo"
    payload = text.encode("utf-8")
    if compressed:
        payload = gzip.compress(payload, mtime=0)
    bits = _bytes_to_bits(sig) + [int(c) for c in format(len(payload) * 8, "032b")] \
        + _bytes_to_bits(payload)
    if len(bits) > h * w:
        raise ValueError("image too small for the payload")
    alpha_cm = np.full(w * h, 255, dtype=np.uint8)  # column-major: index = x * height + y
    alpha_cm[:len(bits)] = (alpha_cm[:len(bits)] & 0xFE) | np.array(bits, dtype=np.uint8)
    alpha = alpha_cm.reshape(w, h).T
    return np.concatenate([arr, alpha[..., None]], axis=2)


def read_stealth_pnginfo(rgba: np.ndarray) -> str | None:
    """Inverse of :func:`embed_stealth_pnginfo` (alpha mode only), for self-checks and tests."""
    arr = np.asarray(rgba)
    if arr.ndim != 3 or arr.shape[2] != 4:
        return None
    lsb = (arr[..., 3].T.reshape(-1) & 1).astype(np.uint8)
    if lsb.size < 152:
        return None
    sig = np.packbits(lsb[:120]).tobytes()
    if sig not in (b"stealth_pnginfo", b"stealth_pngcomp"):
        return None
    n = int("".join(map(str, lsb[120:152])), 2)
    data = np.packbits(lsb[152:152 + n]).tobytes()
    if sig == b"stealth_pngcomp":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------------------
# PNG and JPEG container surgery
# ---------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 over type+data."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(
        ">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def png_text_chunk(keyword: str, text: str) -> bytes:
    """A ``tEXt`` chunk (Latin-1 keyword and text)."""
    return png_chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text.encode("latin-1"))


def png_itxt_chunk(keyword: str, text: str) -> bytes:
    """An uncompressed ``iTXt`` chunk with empty language tag and translated keyword."""
    return png_chunk(b"iTXt", keyword.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8"))


def png_split(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split PNG bytes into ``(type, raw_chunk_bytes)`` pairs (signature excluded)."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out, pos = [], len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        out.append((ctype, data[pos:pos + 12 + length]))
        pos += 12 + length
    return out


def png_insert(data: bytes, chunks: Iterable[bytes], after: bytes = b"IHDR") -> bytes:
    """Insert raw chunks after the first chunk of type ``after`` (``IDAT``: after the last one)."""
    parts = png_split(data)
    types = [t for t, _ in parts]
    idx = (len(types) - 1 - types[::-1].index(after)) if after == b"IDAT" else types.index(after)
    new = [raw for _, raw in parts[:idx + 1]] + list(chunks) + [raw for _, raw in parts[idx + 1:]]
    return PNG_SIGNATURE + b"".join(new)


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """One JPEG marker segment (``FF xx``, 2-byte length including itself, payload)."""
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("JPEG segment payload too large (64 KB limit)")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


XMP_APP1_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"


def jpeg_insert_app(data: bytes, segments: Iterable[bytes]) -> bytes:
    """Insert raw segments after the leading APPn segments (after JFIF APP0 / Exif APP1)."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    while data[pos] == 0xFF and 0xE0 <= data[pos + 1] <= 0xEF:
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        pos += 2 + length
    return data[:pos] + b"".join(segments) + data[pos:]


def xmp_packet(description_attrs: str = "", description_body: str = "",
               namespaces: dict[str, str] | None = None, doctype: str = "") -> str:
    """A complete XMP packet with one ``rdf:Description`` (attributes and/or child elements)."""
    ns = {"xmp": "http://ns.adobe.com/xap/1.0/"}
    ns.update(namespaces or {})
    decls = "".join(f'\n    xmlns:{p}="{u}"' for p, u in ns.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        + doctype
        + '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Labelcheck test XMP">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""{decls}\n'
        f'    xmp:CreateDate="{FIXED_DATE_ISO}"{description_attrs}>\n'
        f"{description_body}"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )


def jpeg_with_xmp(jpeg: bytes, xmp: str) -> bytes:
    """Add an XMP APP1 segment to JPEG bytes."""
    return jpeg_insert_app(jpeg, [jpeg_segment(0xE1, XMP_APP1_HEADER + xmp.encode("utf-8"))])


# ---------------------------------------------------------------------------------------------
# C2PA test PKI and signing
# ---------------------------------------------------------------------------------------------

#: Fixed private scalars of the test keys (NOT secret: test fixtures only).
ROOT_KEY_SCALAR = 0x1ABE1C4EC4007C0FFEE000000000000000000000000000000000000000000001
LEAF_KEY_SCALAR = 0x1ABE1C4EC4007C0FFEE000000000000000000000000000000000000000000002
PKI_NOT_BEFORE = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)
PKI_NOT_AFTER = _dt.datetime(2036, 1, 1, tzinfo=_dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class FixturePKI:
    """PEM material of the test signer. Only ``root_pem`` is written to disk (test_ca.pem)."""

    root_pem: bytes
    leaf_pem: bytes
    chain_pem: bytes  # leaf + root, as C2paSignerInfo.sign_cert wants
    key_pem: bytes  # leaf private key, PKCS#8


def build_test_pki() -> FixturePKI:
    """Build the deterministic test CA (EC P-256, CA:true, keyCertSign) and its leaf signer.

    The leaf is EC P-256, digitalSignature, EKU emailProtection, CA:false, issued by the root
    (c2pa-rs rejects self-signed signers). Keys come from ``ec.derive_private_key`` on fixed
    integers, validity and serials are fixed and the certificates are signed with deterministic
    ECDSA (RFC 6979), so the PEM bytes are identical on every run.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    root_key = ec.derive_private_key(ROOT_KEY_SCALAR, ec.SECP256R1())
    leaf_key = ec.derive_private_key(LEAF_KEY_SCALAR, ec.SECP256R1())
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Labelcheck Test")
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Labelcheck Test Root CA"), org])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Labelcheck Test Signer"), org])

    def key_usage(digital_signature: bool, cert_sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=digital_signature, content_commitment=False,
                             key_encipherment=False, data_encipherment=False,
                             key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                             encipher_only=False, decipher_only=False)

    root = (
        x509.CertificateBuilder()
        .subject_name(root_name).issuer_name(root_name)
        .public_key(root_key.public_key()).serial_number(0x1AB0001)
        .not_valid_before(PKI_NOT_BEFORE).not_valid_after(PKI_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(False, True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf_name).issuer_name(root_name)
        .public_key(leaf_key.public_key()).serial_number(0x1AB0002)
        .not_valid_before(PKI_NOT_BEFORE).not_valid_after(PKI_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(True, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                       critical=False)
        .sign(root_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    pem = serialization.Encoding.PEM
    root_pem = root.public_bytes(pem)
    leaf_pem = leaf.public_bytes(pem)
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    return FixturePKI(root_pem=root_pem, leaf_pem=leaf_pem, chain_pem=leaf_pem + root_pem,
                   key_pem=key_pem)


def make_signer(pki: FixturePKI):
    """``c2pa.Signer`` for the test leaf: ES256, chain = leaf + root, no timestamp authority."""
    import c2pa

    info = c2pa.C2paSignerInfo(alg=c2pa.C2paSigningAlg.ES256, sign_cert=pki.chain_pem,
                               private_key=pki.key_pem, ta_url=None)
    return c2pa.Signer.from_info(info)


def ai_manifest(title: str, *, source_type: str = TRAINED,
                generator: str = TEST_GENERATOR, version: str = TEST_GENERATOR_VERSION) -> dict:
    """Manifest definition declaring a ``c2pa.created`` action with an IPTC digital source type."""
    return {
        "claim_generator_info": [{"name": generator, "version": version}],
        "title": title,
        "assertions": [{
            "label": "c2pa.actions.v2",
            "data": {"actions": [{
                "action": "c2pa.created",
                "when": FIXED_DATE_ISO,
                "digitalSourceType": source_type,
                "softwareAgent": {"name": f"{generator} {version}"},
            }]},
        }],
    }


#: c2pa-rs builder settings: keep the embedded claim thumbnails small (default is a 1024 px
#: long edge, which would triple the size of the PNG fixture).
C2PA_BUILDER_SETTINGS = {"builder": {"thumbnail": {
    "enabled": True, "long_edge": 128, "format": "jpeg", "quality": "low",
}}}


def _signing_context():
    import c2pa

    return c2pa.Context.from_dict(C2PA_BUILDER_SETTINGS)


def c2pa_sign(data: bytes, mime: str, manifest: dict, pki: FixturePKI,
              ingredients: Sequence[tuple[dict, str, bytes]] = ()) -> bytes:
    """Sign ``data`` with ``Builder(manifest).sign(signer, mime, src, dst)``; returns new bytes.

    ``ingredients`` are ``(ingredient_json, mime, bytes)`` added with
    ``Builder.add_ingredient(json, mime, stream)`` before signing.
    """
    import c2pa

    builder = c2pa.Builder(manifest, context=_signing_context())
    for ing_json, ing_mime, ing_bytes in ingredients:
        builder.add_ingredient(ing_json, ing_mime, io.BytesIO(ing_bytes))
    dst = io.BytesIO()
    builder.sign(make_signer(pki), mime, io.BytesIO(data), dst)
    return dst.getvalue()


def c2pa_read(data: bytes, mime: str, trust_pem: bytes | None = None) -> dict | None:
    """The manifest store JSON of ``data`` as a dict (None when there is none).

    With ``trust_pem`` the PEM is installed as a user trust anchor through
    ``Context(Settings.from_dict({"trust": {"user_anchors": pem}}))``.
    """
    import c2pa

    kwargs = {}
    if trust_pem is not None:
        settings = c2pa.Settings.from_dict({"trust": {"user_anchors": trust_pem.decode()}})
        kwargs["context"] = c2pa.Context(settings)
    reader = c2pa.Reader.try_create(mime, io.BytesIO(data), **kwargs)
    if reader is None:
        return None
    with reader:
        return json.loads(reader.json())


def _status_codes(store: dict) -> set[str]:
    """All validation status codes (success, informational, failure) in a manifest store."""
    codes = {s.get("code") for s in store.get("validation_status") or []}
    results = store.get("validation_results") or {}
    for part in [results.get("activeManifest") or {}] + list(
            (results.get("ingredientDeltas") or [])):
        if "validationDeltas" in part:
            part = part["validationDeltas"]
        for key in ("success", "informational", "failure"):
            codes.update(s.get("code") for s in part.get(key) or [])
    return codes


def tamper_jpeg_scan(data: bytes, count: int = 4) -> bytes:
    """Flip one bit in ``count`` bytes of the entropy-coded scan data of a JPEG.

    Bytes are chosen in the middle of the first scan, skipping 0xFF bytes, their successors and
    any change that would create 0xFF, so the marker structure stays valid and the file still
    decodes (with a glitch) while every content hash over the scan breaks.
    """
    buf = bytearray(data)
    pos = 2
    while True:  # walk marker segments up to SOS
        if buf[pos] != 0xFF:
            raise ValueError("bad JPEG structure")
        marker = buf[pos + 1]
        (length,) = struct.unpack(">H", buf[pos + 2:pos + 4])
        if marker == 0xDA:
            scan_start = pos + 2 + length
            break
        pos += 2 + length
    scan_end = buf.rfind(b"\xff\xd9")
    changed, i = 0, scan_start + (scan_end - scan_start) // 2
    while changed < count and i < scan_end - 2:
        b = buf[i]
        if b != 0xFF and buf[i - 1] != 0xFF and (b ^ 0x10) != 0xFF:
            buf[i] = b ^ 0x10
            changed += 1
            i += 97
        else:
            i += 1
    return bytes(buf)


# ---------------------------------------------------------------------------------------------
# MP4
# ---------------------------------------------------------------------------------------------


def make_mp4(seed: int, *, metadata: dict[str, str] | None = None,
             options: dict[str, str] | None = None, width: int = 160, height: int = 120,
             fps: int = 10, frames: int = 15) -> bytes:
    """A small H.264 MP4 (``frames`` / ``fps`` seconds) of an animated :func:`make_scene`.

    ``metadata`` goes to the container (``container.metadata``) and ``options`` to the muxer,
    e.g. ``{"movflags": "use_metadata_tags"}`` to write arbitrary keys into moov/udta/meta
    (mdta keys + ilst), which is how ffmpeg writes a GB 45438 ``AIGC`` key.
    """
    import av

    opts = {"fflags": "+bitexact"}
    opts.update(options or {})
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4", options=opts) as container:
        for k, val in (metadata or {}).items():
            container.metadata[k] = val
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"preset": "medium", "crf": "30", "threads": "1"}
        for n in range(frames):
            rgb = make_scene(width, height, seed=seed, grain=1.0, shift=n / max(frames - 1, 1))
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# The fixture set
# ---------------------------------------------------------------------------------------------

JPEG_W, JPEG_H = 480, 360
PNG_W, PNG_H = 320, 240
WM_W, WM_H = 384, 288  # 110 592 px: above the watermark library's 256*256 minimum
WM_CONFETTI = 6.0


def _png_scene(seed: int) -> np.ndarray:
    """Picture for the PNG fixtures (light grain keeps the lossless files small)."""
    return make_scene(PNG_W, PNG_H, seed=seed, grain=1.0)


def _wm_scene(seed: int) -> np.ndarray:
    """Busy picture for the watermark fixtures (see ``make_scene``'s ``confetti``)."""
    return make_scene(WM_W, WM_H, seed=seed, grain=1.5, confetti=WM_CONFETTI)

COMFYUI_PROMPT = {
    "3": {"inputs": {"seed": 1234, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                     "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                     "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]},
          "class_type": "KSampler", "_meta": {"title": "KSampler"}},
    "4": {"inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"},
          "class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"}},
    "5": {"inputs": {"width": 512, "height": 512, "batch_size": 1},
          "class_type": "EmptyLatentImage", "_meta": {"title": "Empty Latent Image"}},
    "6": {"inputs": {"text": "a lighthouse on a cliff at sunset, product photo", "clip": ["4", 1]},
          "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    "7": {"inputs": {"text": "blurry, watermark", "clip": ["4", 1]},
          "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]},
          "class_type": "VAEDecode", "_meta": {"title": "VAE Decode"}},
    "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]},
          "class_type": "SaveImage", "_meta": {"title": "Save Image"}},
}


def _comfy_workflow() -> dict:
    """A small ComfyUI UI-format workflow matching :data:`COMFYUI_PROMPT`."""
    nodes = []
    widgets = {
        "3": [1234, "fixed", 20, 7, "euler", "normal", 1],
        "4": ["v1-5-pruned-emaonly.safetensors"],
        "5": [512, 512, 1],
        "6": [COMFYUI_PROMPT["6"]["inputs"]["text"]],
        "7": [COMFYUI_PROMPT["7"]["inputs"]["text"]],
        "8": [],
        "9": ["ComfyUI"],
    }
    for order, (nid, node) in enumerate(COMFYUI_PROMPT.items()):
        nodes.append({
            "id": int(nid), "type": node["class_type"], "pos": [100 + 250 * order, 100],
            "size": [315, 262], "flags": {}, "order": order, "mode": 0,
            "properties": {"Node name for S&R": node["class_type"]},
            "widgets_values": widgets[nid],
        })
    links = [[1, 4, 0, 3, 0, "MODEL"], [2, 6, 0, 3, 1, "CONDITIONING"],
             [3, 7, 0, 3, 2, "CONDITIONING"], [4, 5, 0, 3, 3, "LATENT"],
             [5, 4, 1, 6, 0, "CLIP"], [6, 4, 1, 7, 0, "CLIP"], [7, 3, 0, 8, 0, "LATENT"],
             [8, 4, 2, 8, 1, "VAE"], [9, 8, 0, 9, 0, "IMAGE"]]
    return {"last_node_id": 9, "last_link_id": 9, "nodes": nodes, "links": links,
            "groups": [], "config": {}, "extra": {"ds": {"scale": 1, "offset": [0, 0]}},
            "version": 0.4}


def _xmp_aigc_element(value_json: str) -> str:
    return xmp_packet(
        namespaces={"TC260": NS_TC260},
        description_body=f"   <TC260:AIGC>{html.escape(value_json, quote=False)}</TC260:AIGC>\n",
    )


@dataclasses.dataclass
class Fixture:
    """One generated file and what a correct checker must report for it (an EXPECTED.json row)."""

    file: str
    data: bytes
    ai_generated: bool
    tampered: bool
    verdict: str
    evidence: list[str]
    note: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def expected(self) -> dict[str, Any]:
        row = {"file": self.file, "ai_generated": self.ai_generated, "tampered": self.tampered,
               "verdict": self.verdict, "evidence": self.evidence, "note": self.note}
        row.update(self.extra)
        return row


def build_fixtures(pki: FixturePKI | None = None) -> list[Fixture]:
    """Build every fixture in memory, verifying the C2PA ones with ``c2pa.Reader``.

    Raises ``AssertionError`` if a fixture does not have the property it is meant to test
    (e.g. the tampered file does not report ``assertion.dataHash.mismatch``).
    """
    pki = pki or build_test_pki()
    fx: list[Fixture] = []

    def add(*args: Any, **kwargs: Any) -> Fixture:
        f = Fixture(*args, **kwargs)
        fx.append(f)
        return f

    trusted = {"c2pa_trusted_with_test_ca": True}

    # -- 1. C2PA-signed AI JPEG ------------------------------------------------------------
    ai_jpeg_src = encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=101))
    ai_jpeg = c2pa_sign(ai_jpeg_src, "image/jpeg", ai_manifest("ai_c2pa_signed.jpg"), pki)
    store = c2pa_read(ai_jpeg, "image/jpeg", pki.root_pem)
    assert store and store.get("validation_state") == "Trusted", store
    add("ai_c2pa_signed.jpg", ai_jpeg, True, False, "disclosed",
        ["c2pa: active manifest c2pa.created with digitalSourceType trainedAlgorithmicMedia",
         "c2pa: assertion.dataHash.match (content binding intact)"],
        "C2PA manifest (actions.v2, softwareAgent 'Labelcheck Test Diffusion 1.0') signed by "
        "the test CA; state Valid, or Trusted with test_ca.pem as anchor.", dict(trusted))

    # -- 2. C2PA-signed AI PNG that also carries the SD1 invisible watermark -------------------
    wm_pixels = embed_sd_watermark(_wm_scene(202), SD1_BITS)
    assert decode_sd_watermark(wm_pixels, len(SD1_BITS)) == SD1_BITS
    wm_png = encode_png(wm_pixels)
    ai_png = c2pa_sign(wm_png, "image/png", ai_manifest("ai_c2pa_signed.png"), pki)
    store = c2pa_read(ai_png, "image/png", pki.root_pem)
    assert store and store.get("validation_state") == "Trusted", store
    assert b"caBX" in ai_png
    add("ai_c2pa_signed.png", ai_png, True, False, "disclosed",
        ["c2pa: active manifest c2pa.created with digitalSourceType trainedAlgorithmicMedia",
         "c2pa: assertion.dataHash.match (content binding intact)",
         "sd_watermark: dwtDct 136-bit 'StableDiffusionV1'"],
        "PNG (caBX chunk) signed by the test CA; pixels also carry the SD 1.x invisible "
        "watermark.", dict(trusted, sd_watermark="StableDiffusionV1"))

    # -- 3. file 1 with scan data changed after signing -----------------------------------
    tampered = tamper_jpeg_scan(ai_jpeg)
    store = c2pa_read(tampered, "image/jpeg", pki.root_pem)
    assert store is not None
    assert "assertion.dataHash.mismatch" in _status_codes(store), store.get("validation_status")
    add("ai_c2pa_tampered.jpg", tampered, True, True, "stripped",
        ["c2pa: active manifest declares trainedAlgorithmicMedia",
         "c2pa: assertion.dataHash.mismatch (pixels changed after signing)"],
        "ai_c2pa_signed.jpg with 4 bytes of entropy-coded scan data flipped after signing; "
        "the AI declaration is no longer bound to these pixels.",
        {"c2pa_failure_codes": ["assertion.dataHash.mismatch"]})

    # -- 4. pixels of file 2 without any metadata -----------------------------------------
    stripped = encode_png(wm_pixels)
    assert not any(t in (b"caBX", b"tEXt", b"iTXt", b"zTXt", b"eXIf")
                   for t, _ in png_split(stripped))
    add("ai_stripped.png", stripped, True, False, "undisclosed",
        ["sd_watermark: dwtDct 136-bit 'StableDiffusionV1'", "no C2PA, no text chunks"],
        "Same pixels as ai_c2pa_signed.png re-saved with no metadata at all: the SD watermark is "
        "the only AI evidence left.", {"sd_watermark": "StableDiffusionV1",
                                       "same_pixels_as": "ai_c2pa_signed.png"})

    # -- 5. AI declared only in the parent ingredient's manifest (ChatGPT-style) ---------------
    parent = c2pa_sign(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=505)), "image/jpeg",
                       ai_manifest("generated.jpg"), pki)
    opened = {
        "claim_generator_info": [{"name": "Labelcheck Test Editor", "version": "1.0"}],
        "title": "ai_c2pa_ingredient_only.jpg",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [{
            "action": "c2pa.opened", "when": FIXED_DATE_ISO,
            "softwareAgent": {"name": "Labelcheck Test Editor 1.0"},
            "parameters": {"ingredientIds": ["parent-ingredient"]},
        }]}}],
    }
    ing_only = c2pa_sign(parent, "image/jpeg", opened, pki, ingredients=[(
        {"title": "generated.jpg", "relationship": "parentOf", "label": "parent-ingredient"},
        "image/jpeg", parent)])
    store = c2pa_read(ing_only, "image/jpeg", pki.root_pem)
    assert store and len(store["manifests"]) == 2, store and list(store["manifests"])
    assert store.get("validation_state") == "Trusted", store.get("validation_status")
    active = store["manifests"][store["active_manifest"]]
    assert "digitalSourceType" not in json.dumps(active["assertions"])
    others = [m for k, m in store["manifests"].items() if k != store["active_manifest"]]
    assert TRAINED in json.dumps(others[0]["assertions"])
    add("ai_c2pa_ingredient_only.jpg", ing_only, True, False, "disclosed",
        ["c2pa: ingredient (parentOf) manifest c2pa.created with trainedAlgorithmicMedia",
         "c2pa: active manifest c2pa.opened (no source type)", "c2pa: 2 manifests in store"],
        "Like ChatGPT/DALL-E files: the AI declaration lives only in the parent ingredient's "
        "manifest; a checker must look at every manifest of the store.", dict(trusted))

    # -- 6. legacy com.adobe.digitalSourceType parameter ----------------------------------
    # c2pa-rs refuses a claim v2 c2pa.created without digitalSourceType
    # ("assertion.action.malformed"), so this one is a claim v1 manifest (as 2023-era Adobe
    # files) with the source type only in the action parameters.
    legacy = {
        "claim_version": 1,
        "claim_generator_info": [{"name": "Labelcheck Test Legacy", "version": "1.0"}],
        "title": "ai_c2pa_legacy_param.jpg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created", "when": FIXED_DATE_ISO,
            "parameters": {"com.adobe.digitalSourceType": TRAINED},
        }]}}],
    }
    legacy_jpeg = c2pa_sign(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=606)), "image/jpeg",
                            legacy, pki)
    store = c2pa_read(legacy_jpeg, "image/jpeg", pki.root_pem)
    assert store and store.get("validation_state") == "Trusted", store
    act = json.dumps(store["manifests"][store["active_manifest"]]["assertions"])
    assert "com.adobe.digitalSourceType" in act and '"digitalSourceType"' not in act
    add("ai_c2pa_legacy_param.jpg", legacy_jpeg, True, False, "disclosed",
        ["c2pa: action parameters com.adobe.digitalSourceType = trainedAlgorithmicMedia",
         "c2pa: assertion.dataHash.match"],
        "Claim v1 manifest whose c2pa.created action has no digitalSourceType field, only "
        "parameters['com.adobe.digitalSourceType'].", dict(trusted))

    # -- 7-11. IPTC digital source type in XMP --------------------------------------------
    x = xmp_packet(namespaces={"iptcExt": NS_IPTC_EXT},
                   description_attrs=f'\n    iptcExt:DigitalSourceType="{TRAINED}"')
    add("iptc_ai.jpg", jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=707)), x),
        True, False, "disclosed",
        ["iptc: DigitalSourceType trainedAlgorithmicMedia (namespace Iptc4xmpExt, prefix iptcExt)"],
        "Midjourney-style XMP: non-standard prefix 'iptcExt' bound to the real IPTC Extension "
        "namespace, attribute form; resolve by namespace URI, not prefix.")

    x = xmp_packet(namespaces={"Iptc4xmpExt": NS_IPTC_EXT},
                   description_body=f"   <Iptc4xmpExt:DigitalSourceType>{COMPOSITE_TRAINED}"
                                    "</Iptc4xmpExt:DigitalSourceType>\n")
    add("iptc_composite_ai.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=808)), x),
        True, False, "disclosed",
        ["iptc: DigitalSourceType compositeWithTrainedAlgorithmicMedia"],
        "IPTC DigitalSourceType in element form: a composite that includes AI-generated parts.")

    x = xmp_packet(namespaces={"Iptc4xmpExt": NS_IPTC_EXT},
                   description_body=f"   <Iptc4xmpExt:DigitalSourceType>{DIGITAL_CAPTURE}"
                                    "</Iptc4xmpExt:DigitalSourceType>\n")
    exif = make_exif(make="NIKON CORPORATION", model="NIKON Z 6_2")
    add("iptc_digital_capture.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=909), exif=exif), x),
        False, False, "no_ai_signal",
        ["iptc: DigitalSourceType digitalCapture (not AI, informational)",
         "exif: Make NIKON CORPORATION, Model NIKON Z 6_2"],
        "Camera capture declared by IPTC plus camera EXIF; must not be flagged as AI.")

    x = xmp_packet(namespaces={"Iptc4xmpExt": NS_IPTC_EXT},
                   description_attrs=f'\n    Iptc4xmpExt:DigitalSourceType="{COMPOSITE}"')
    add("iptc_possibly_ai.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=1010)), x),
        False, False, "no_ai_signal",
        ["iptc: DigitalSourceType composite (possibly AI, reported as possible_ai)"],
        "'composite' may or may not involve AI: reported as possible AI, but it is not AI "
        "evidence, so the verdict stays no_ai_signal.", {"possible_ai": True})

    x = xmp_packet(namespaces={"photoshop": "http://ns.adobe.com/photoshop/1.0/",
                               "Iptc4xmpExt": NS_IPTC_EXT},
                   description_attrs='\n    photoshop:Credit="Made with Google AI"'
                                     f'\n    Iptc4xmpExt:DigitalSourceType="{TRAINED}"')
    add("google_ai_credit.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=1111)), x),
        True, False, "disclosed",
        ["iptc: DigitalSourceType trainedAlgorithmicMedia",
         "xmp: photoshop:Credit 'Made with Google AI'"],
        "Google-style disclosure: photoshop:Credit plus the IPTC source type.")

    # -- 12-16. GB 45438 AIGC implicit label ----------------------------------------------
    add("aigc_xmp.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=1212)),
                      _xmp_aigc_element(AIGC_JSON)),
        True, False, "disclosed",
        ["aigc: XMP TC260:AIGC Label 1, ContentProducer 001191110102MACQD9K64010000, "
         "ProduceID 20250901-0001"],
        "GB 45438 implicit label in XMP (namespace http://www.tc260.org.cn/ns/AIGC/1.0/), "
        "element form, all seven fields.", {"aigc_label": "1", "aigc_conforming": True})

    x = xmp_packet(namespaces={"TC260": NS_TC260},
                   description_attrs=f'\n    TC260:AIGC="{html.escape(AIGC_JSON, quote=True)}"')
    add("aigc_xmp_attribute.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=1313)), x),
        True, False, "disclosed",
        ["aigc: XMP TC260:AIGC attribute (&quot;-encoded JSON) Label 1"],
        "Same label in attribute form: the JSON is HTML-entity encoded inside the attribute.",
        {"aigc_label": "1", "aigc_conforming": True})

    aigc_png = png_insert(encode_png(_png_scene(1414)),
                          [png_text_chunk("AIGC", AIGC_JSON)])
    add("aigc_png_chunk.png", aigc_png, True, False, "disclosed",
        ["aigc: PNG tEXt 'AIGC' Label 1"],
        "GB 45438 label as a raw PNG tEXt chunk with keyword AIGC (seen in real files).",
        {"aigc_label": "1", "aigc_conforming": True})

    exif = make_exif(software="Labelcheck Test Service",
                     user_comment=b"ASCII\0\0\0" + AIGC_JSON.encode("ascii"))
    add("aigc_exif_usercomment.jpg",
        encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=1515), exif=exif),
        True, False, "disclosed",
        ["aigc: EXIF UserComment (ASCII header) Label 1"],
        "GB 45438 label JSON in EXIF UserComment with the 8-byte 'ASCII\\0\\0\\0' charset "
        "header.", {"aigc_label": "1", "aigc_conforming": True})

    x = _xmp_aigc_element(AIGC_NONCONFORMING_JSON)
    nonconf = png_insert(encode_png(_png_scene(1616)),
                         [png_itxt_chunk("XML:com.adobe.xmp", x)])
    add("aigc_nonconforming.png", nonconf, True, False, "disclosed",
        ["aigc: XMP (PNG iTXt XML:com.adobe.xmp) TC260:AIGC present",
         "problem: non-conforming AIGC value (Label 'AIGC', ServiceProvider, missing "
         "ContentProducer/ProduceID/... fields) must be reported"],
        "An AIGC label with a non-standard value: counts as a disclosure, but the checker must "
        "report the non-conformance.", {"aigc_label": "AIGC", "aigc_conforming": False,
                                        "expect_problem": "aigc_nonconforming"})

    # -- 17-21. generator traces (evidence, not disclosure) -------------------------------
    a1111_png = png_insert(encode_png(_png_scene(1717)),
                           [png_text_chunk("parameters", A1111_PARAMETERS)])
    add("a1111.png", a1111_png, True, False, "undisclosed",
        ["a1111: PNG tEXt 'parameters' (Steps, Sampler, CFG scale, Seed, Model hash)"],
        "AUTOMATIC1111 generation parameters in a tEXt chunk before IDAT.")

    after = png_insert(encode_png(_png_scene(1818)),
                       [png_text_chunk("parameters", A1111_PARAMETERS)], after=b"IDAT")
    assert [t for t, _ in png_split(after)][-2:] == [b"tEXt", b"IEND"]
    add("a1111_after_idat.png", after, True, False, "undisclosed",
        ["a1111: PNG tEXt 'parameters' located after IDAT"],
        "Same A1111 chunk placed after the image data; readers that stop at IDAT miss it.")

    comfy = png_insert(encode_png(_png_scene(1919)),
                       [png_text_chunk("prompt", json.dumps(COMFYUI_PROMPT)),
                        png_text_chunk("workflow", json.dumps(_comfy_workflow()))])
    add("comfyui.png", comfy, True, False, "undisclosed",
        ["comfyui: PNG tEXt 'prompt' (API graph with KSampler, CheckpointLoaderSimple) and "
         "'workflow'"],
        "ComfyUI SaveImage output: prompt + workflow JSON text chunks.")

    exif = make_exif(user_comment=b"UNICODE\0" + A1111_PARAMETERS.encode("utf-16-be"))
    add("a1111_usercomment.jpg",
        encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=2020), exif=exif),
        True, False, "undisclosed",
        ["a1111: EXIF UserComment (UNICODE header, UTF-16BE) with A1111 parameters"],
        "A1111 JPEG output: piexif UserComment.dump(encoding='unicode') = b'UNICODE\\0' + "
        "UTF-16BE text.")

    stealth = embed_stealth_pnginfo(_png_scene(2121), A1111_PARAMETERS)
    assert read_stealth_pnginfo(stealth) == A1111_PARAMETERS
    stealth_png = encode_png(stealth)
    assert not any(t in (b"tEXt", b"iTXt", b"zTXt") for t, _ in png_split(stealth_png))
    add("a1111_stealth.png", stealth_png, True, False, "undisclosed",
        ["a1111: stealth pnginfo ('stealth_pnginfo', alpha LSB, column-major) with A1111 "
         "parameters"],
        "RGBA PNG without text chunks; the A1111 parameters sit in the alpha channel's least "
        "significant bits (sd-webui-stealth-pnginfo format, uncompressed).")

    sdxl = embed_sd_watermark(_wm_scene(2222), SDXL_BITS)
    assert decode_sd_watermark(sdxl, len(SDXL_BITS)) == SDXL_BITS
    add("sd_watermark_sdxl.png", encode_png(sdxl), True, False, "undisclosed",
        ["sd_watermark: dwtDct 48-bit SDXL pattern 0xB3EC907BB19E"],
        "No metadata; the SDXL invisible watermark (BGR order as Stability's generative-models "
        "scripts) is the only AI evidence.", {"sd_watermark": "SDXL"})

    # -- 23-24. video -----------------------------------------------------------------------
    mp4_src = make_mp4(seed=2323)
    mp4 = c2pa_sign(mp4_src, "video/mp4", ai_manifest("c2pa_signed.mp4"), pki)
    store = c2pa_read(mp4, "video/mp4")
    assert store and store.get("validation_state") in ("Valid", "Trusted"), store
    store = c2pa_read(mp4, "video/mp4", pki.root_pem)
    assert store and store.get("validation_state") == "Trusted", store
    add("c2pa_signed.mp4", mp4, True, False, "disclosed",
        ["c2pa: active manifest c2pa.created with digitalSourceType trainedAlgorithmicMedia",
         "c2pa: assertion.bmffHash.match"],
        "1.5 s 160x120 H.264 MP4, C2PA manifest in a BMFF uuid box.", dict(trusted))

    aigc_mp4 = make_mp4(seed=2424, metadata={"AIGC": AIGC_JSON},
                        options={"movflags": "use_metadata_tags"})
    assert b"mdta" in aigc_mp4 and b"AIGC" in aigc_mp4 and AIGC_JSON.encode() in aigc_mp4
    add("aigc_key.mp4", aigc_mp4, True, False, "disclosed",
        ["aigc: moov/udta/meta keys+ilst key 'AIGC' Label 1"],
        "ffmpeg-style GB 45438 video label (-metadata AIGC=... -movflags use_metadata_tags).",
        {"aigc_label": "1", "aigc_conforming": True})

    # -- 25. negatives ----------------------------------------------------------------------
    plain_jpeg = encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=2525),
                             exif=make_exif(make="Canon", model="Canon EOS R6",
                                            software="Adobe Lightroom"))
    add("plain_photo.jpg", plain_jpeg, False, False, "no_ai_signal",
        ["exif: Make Canon, Model Canon EOS R6, Software Adobe Lightroom (not AI)"],
        "Ordinary camera photo edited in Lightroom; no AI evidence.")
    plain_png = encode_png(_png_scene(2626))
    add("plain.png", plain_png, False, False, "no_ai_signal", [],
        "Plain PNG with no metadata and no watermark.")
    plain_mp4 = make_mp4(seed=2727)
    add("plain.mp4", plain_mp4, False, False, "no_ai_signal", [],
        "Plain H.264 MP4 without C2PA or AIGC keys.")

    # -- 26. bad input ------------------------------------------------------------------------
    bad = {"expect_error": True}
    add("zero_bytes.jpg", b"", False, False, "error", [], "Empty file.", dict(bad))
    rnd = np.random.default_rng(2626).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    add("random_bytes.png", rnd, False, False, "error", [],
        "4096 fixed-seed random bytes named .png.", dict(bad))
    add("text_named.jpg",
        b"This is a plain text file, not an image.\nIt only carries a .jpg name.\n",
        False, False, "error", [], "A text file with a .jpg extension.", dict(bad))
    add("truncated.jpg", plain_jpeg[:len(plain_jpeg) * 60 // 100], False, False, "error", [],
        "First 60% of plain_photo.jpg (EXIF intact, scan data cut).", dict(bad))
    add("truncated.png", plain_png[:len(plain_png) * 60 // 100], False, False, "error", [],
        "First 60% of plain.png (IDAT cut, no IEND).", dict(bad))
    add("truncated.mp4", plain_mp4[:len(plain_mp4) * 40 // 100], False, False, "error", [],
        "First 40% of plain.mp4.", dict(bad))

    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    bomb = (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024, 9)) + png_chunk(b"IEND", b""))
    add("png_bomb_header.png", bomb, False, False, "no_ai_signal", [],
        "Valid PNG structure whose IHDR claims 50000x50000 RGB (7.5 GB decoded) with a tiny "
        "IDAT: a decompression-bomb header; its pixels must be refused without allocating "
        "(a media.pixels_undecodable problem), its metadata still judged.",
        {"pixels_undecodable": True})

    laughs = "".join(
        f'  <!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
    doctype = ("<!DOCTYPE x:xmpmeta [\n  <!ENTITY lol0 \"lol\">\n" + laughs + "]>\n")
    x = xmp_packet(namespaces={"dc": "http://purl.org/dc/elements/1.1/"}, doctype=doctype,
                   description_body="   <dc:description>&lol9;</dc:description>\n")
    add("xmp_billion_laughs.jpg",
        jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=2828)), x),
        False, False, "no_ai_signal", [],
        "XMP packet with a DTD of nested entities (billion laughs, 10^9 expansions): refused "
        "as hostile at once (xmp.unreadable), never expanded; the rest of the file is read.",
        {"expect_no_hang": True})

    # A standard XMP APP1 segment holds at most 65 502 bytes of packet, so 100 000 nested
    # elements (>= 700 kB of tags) cannot fit; nest as deep as one segment allows (~9 000).
    head = xmp_packet(namespaces={"dc": "http://purl.org/dc/elements/1.1/"},
                      description_body="   <dc:subject>@@NEST@@</dc:subject>\n")
    room = 0xFFFF - 2 - len(XMP_APP1_HEADER) - len(head.encode()) + len("@@NEST@@")
    depth = room // 7  # "<a>" + "</a>"
    x = head.replace("@@NEST@@", "<a>" * depth + "</a>" * depth)
    deep = jpeg_with_xmp(encode_jpeg(make_scene(JPEG_W, JPEG_H, seed=2929)), x)
    add("xmp_deep_nesting.jpg", deep, False, False, "no_ai_signal", [],
        f"XMP packet with {depth} nested elements (as deep as one 64 KB APP1 segment allows): "
        "recursive walkers must not crash or hang; it is read like any packet.",
        {"expect_no_hang": True, "nesting_depth": depth})

    # -- 27. content sniffing ------------------------------------------------------------------
    add("mislabelled_png.jpg", a1111_png, True, False, "undisclosed",
        ["a1111: PNG tEXt 'parameters' (file is a PNG despite the .jpg name)"],
        "The bytes of a1111.png under a .jpg name: detect the format from content, not the "
        "extension.", {"same_bytes_as": "a1111.png"})

    return fx


def write_outputs(out_dir: Path, fixtures: Sequence[Fixture], pki: FixturePKI) -> list[Path]:
    """Write every fixture, ``EXPECTED.json`` and ``test_ca.pem`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f in fixtures:
        p = out_dir / f.file
        p.write_bytes(f.data)
        written.append(p)
    expected = [f.expected() for f in fixtures]
    p = out_dir / "EXPECTED.json"
    p.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(p)
    p = out_dir / "test_ca.pem"
    p.write_bytes(pki.root_pem)
    written.append(p)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: build, verify and write the fixtures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE,
                    help="output directory (default: the folder of this script)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pki = build_test_pki()
    fixtures = build_fixtures(pki)
    paths = write_outputs(args.out, fixtures, pki)
    total = sum(p.stat().st_size for p in paths)
    for p in paths:
        print(f"{p.stat().st_size:>9}  {p.name}")
    print(f"{total:>9}  total, {len(paths)} files in {args.out} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
