"""Stable Diffusion's invisible watermark, read back from the pixels.

The Stable Diffusion reference scripts (SD 1.x, SD 2.x) and the SDXL pipelines (Stability's
`generative-models`, Hugging Face `diffusers`) stamp every picture with the ``dwtDct`` method of
the `invisible-watermark` package (ShieldMnt/invisible-watermark, ``imwatermark/maxDct.py``,
class ``EmbedMaxDct``). The package imports torch, so this module re-implements the decoder with
NumPy alone, bit for bit on the library's own convention. The published algorithm:

1. The picture is handed over as OpenCV BGR and converted with ``cv2.COLOR_BGR2YUV``.
2. Only channel 1 (U) carries the mark: ``scales=[0, 36, 36]`` but the loop runs over
   ``range(2)`` and Y's scale is 0.
3. A one-level Haar DWT (``pywt.dwt2(..., 'haar')``) of U, cropped to multiples of 4, gives the
   LL band, which is cut into 4x4 blocks in raster order; block ``num`` carries message bit
   ``num % len(message)``.
4. In each block the entry of largest magnitude, excluding position (0, 0), is found (the code
   calls it "dct" but no DCT is ever taken: the LL coefficients are used as they are). The
   encoder moved it to ``(|v| // 36 + 0.25 + 0.5 * bit) * 36``; the decoder reads
   ``bit = (|v| % 36) > 18``.
5. Each message bit's score is the mean of its blocks' bits; the library then cuts at
   ``score * 255 > 127``.

The messages: SD 1.x writes the 136 bits of the bytes ``b"StableDiffusionV1"``, SD 2.x the 32
bits of ``b"SDV2"``, and SDXL the fixed 48-bit pattern ``0xB3EC907BB19E``.

Two departures from the library's own decoder, both measured on photos embedded with the
published encoder:

* Callers feed the encoder in different ways, and the U plane the encoder saw differs with
  them: the SD 1.x/2.x scripts pass uint8 BGR (OpenCV adds 128 to U and rounds), Stability's
  ``sgm`` ``WatermarkEmbedder`` passes float32 BGR (OpenCV adds 0.5, no rounding: in the
  LL band the two differ by 255, which moves the argmax and the residue), and diffusers'
  ``StableDiffusionXLWatermarker`` passes float32 *RGB* in BGR's place (so "U" is really
  0.492 * (R - Y')). Stability's own ``scripts/demo/detect.py`` flips channels before decoding
  for the same reason. Read with the wrong convention, a marked photo often decodes to
  chance, so every convention in `VARIANTS` is tried and the best one is reported.
* The fixed cut at 0.5 is biased in the uint8 convention: U sits near 128, so the LL entries
  of a block are all close to 256, and lowering the largest one to ``k*36 + 9`` for a 0 bit
  often hands the argmax to a neighbour whose residue is then more likely above 18. On
  textured photos a 0 bit then averages above 0.5 and the library reads noise (51% of SD 1.x
  bits right on a 1024x1024 photo that the encoder itself had just marked). The scores of
  the 1 bits and of the 0 bits still form two separate groups, so bits are cut at the mean
  score of the picture instead (100% right on the same photo), which needs no knowledge of
  the expected message.

Decision. On a picture without the mark each decoded bit is a coin toss, so the number of bits
that agree with a message is Binomial(n, 1/2). A watermark is declared when the Bonferroni-
corrected tail probability (tail times the number of (message, convention) pairs tried) is
below `MAX_P_VALUE` = 1e-7 *and* at least `MIN_ACCURACY` = 90% of the bits agree. The p-value
alone sets the bar for the short SD 2.x message (31 of 32 bits: tail 7.7e-9, while 30 of 32
is 1.2e-7 before correction); the accuracy floor sets it for SDXL (44 of 48) and SD 1.x (123 of
136) and guards against pictures whose structure breaks the coin-toss model (flat areas, where
every block reads the same bit). Unmarked pictures stay far below: on the 62 third-party
images in ``shared/real_media`` big enough to decode (camera photos, C2PA fixtures, TrustMark
samples, a Stable Diffusion sample without the mark) the best any message reached was 0.669
for SD 1.x (91/136), 0.646 for SDXL (31/48) and 0.719 for SD 2.x (23/32), the lowest
corrected p-value 6e-4; ``stable-diffusion/000002025.png`` reads 0.478, 0.583 and 0.562.

Robustness, measured on 21 pictures marked by the published encoder (three messages on four
source images, in the uint8-BGR and the diffusers convention): lossless copies always decode
(100% of bits); JPEG without chroma subsampling (4:4:4) mostly survives down to quality 75;
ordinary 4:2:0 JPEG keeps it only at quality 98 (at 95 in 4 of 21, at 90 never): at half
chroma resolution the mark is a high-frequency pattern that quantisation and upsampling blur
past the +-9 margin. Resizing and cropping move the block grid and the bit numbering and
destroy it. A miss therefore proves nothing; and because the encoder is public, a match shows
that the invisible-watermark SD mark was applied, which in practice means a Stable Diffusion
pipeline.

Where the mark cannot be, it is not decoded (`mark_can_survive`): a 4:2:0 JPEG whose chroma
quantisation is as coarse as libjpeg's at quality 90 or coarser. Measured on 19 marked
pictures (the SDXL test file; SD 1.x, SD 2.x and SDXL marks on three photo-like pictures of
768 to 1350 px, in the uint8 and the diffusers convention), re-encoded by libjpeg at 4:2:0:
no mark read at quality 80 to 93, 2 of 19 at 94, 4 at 95, 12 at 96, 17 at 98 (4:2:2: 2 of 19
at 85, 5 at 90; 4:4:4: 18 at 80). Most uploads are such JPEGs, and the decode is about 12% of
a full picture scan (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from labelcheck.core.model import Finding, Kind
from labelcheck.sources.base import PIXELS, Source
from labelcheck.core.settings import Settings

SCALE = 36  # EmbedMaxDct's default scale for the U channel
BLOCK = 4  # 4x4 blocks of the LL band
MIN_SIDE = 64  # below this there are too few blocks to say anything
MAX_DECODE_PIXELS = 8_000_000  # top rows only beyond this: hundreds of repeats per bit already
STRIP_PIXELS = 65_536
MAX_P_VALUE = 1e-7  # Bonferroni-corrected binomial tail
MIN_ACCURACY = 0.9
NO_MARK_JPEG_QUALITY = 90  # 4:2:0 JPEGs this coarse or coarser lose the mark (docstring)
# libjpeg's standard chrominance quantisation table (ITU-T T.81 Annex K, Table K.2), which
# its quality setting scales (`jpeg_quality_scaling`).
STANDARD_CHROMA_TABLE = (17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
                         24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
                         *(99,) * 32)


def _bits_of_bytes(data: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def _bits_of_int(value: int, width: int) -> np.ndarray:
    return np.array([int(bit) for bit in format(value, f"0{width}b")], dtype=np.uint8)


@dataclass(frozen=True)
class Message:
    """A payload that a Stable Diffusion release writes."""

    code: str  # the finding code's suffix
    text: str  # how the payload is shown to a person
    generator: str
    bits: np.ndarray


MESSAGES = (
    Message("sd1", "StableDiffusionV1", "Stable Diffusion 1.x",
            _bits_of_bytes(b"StableDiffusionV1")),
    Message("sd2", "SDV2", "Stable Diffusion 2.x", _bits_of_bytes(b"SDV2")),
    Message("sdxl", "0xB3EC907BB19E", "Stable Diffusion XL",
            _bits_of_int(0b101100111110110010010000011110111011000110011110, 48)),
)


@dataclass(frozen=True)
class Variant:
    """How the encoder was fed: channel order and pixel type decide which U plane it marked."""

    name: str
    rgb_as_bgr: bool  # RGB pixels passed where OpenCV expects BGR
    float_input: bool  # float32 pixels: U offset 0.5 and no rounding, instead of 128 and rounding
    note: str


VARIANTS = (
    Variant("bgr-uint8", False, False,
            "uint8 BGR, as in the SD 1.x/2.x scripts and invisible-watermark's own decoder"),
    Variant("rgb-float", True, True,
            "float32 RGB passed as BGR, as in diffusers' StableDiffusionXLWatermarker"),
    Variant("bgr-float", False, True,
            "float32 BGR, as in Stability generative-models' WatermarkEmbedder"),
    Variant("rgb-uint8", True, False,
            "uint8 RGB passed as BGR, as Stability's scripts/demo/detect.py reads"),
)

HYPOTHESES = len(MESSAGES) * len(VARIANTS)

HAAR = math.sqrt(0.5)  # PyWavelets' haar filter tap, 0.7071067811865476


def haar_ll(plane: np.ndarray) -> np.ndarray:
    """The LL band of ``pywt.dwt2(plane, "haar")`` for even-sized planes, bit for bit.

    It repeats PyWavelets' own float operations (rows first, each output ``h*x1 + h*x0``), so
    a coefficient that lands exactly on the 18 boundary rounds as in the reference decoder;
    doing it here is 30 times faster than ``pywt.dwt2``, which also computes the three detail
    bands that the mark never touches.
    """
    rows = HAAR * plane[1::2] + HAAR * plane[0::2]
    return HAAR * rows[:, 1::2] + HAAR * rows[:, 0::2]


def _encoder_channels(image: np.ndarray, variant: Variant) -> tuple:
    """The planes OpenCV took for B, G and R (R and B trade places for `rgb_as_bgr`)."""
    order = (0, 1, 2) if variant.rgb_as_bgr else (2, 1, 0)
    return tuple(image[..., index] for index in order)


def u_plane(rgb: np.ndarray, variant: Variant = VARIANTS[0]) -> np.ndarray:
    """The uint8 U plane of ``cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)``, bit for bit.

    OpenCV's fixed-point arithmetic: Y with the 14-bit weights 1868/9617/4899, U with 8061
    (0.492) and the offset 128, both rounded. The result always lies in 17..239.
    """
    blue, green, red = (channel.astype(np.int32) for channel in _encoder_channels(rgb, variant))
    luma = (blue * 1868 + green * 9617 + red * 4899 + (1 << 13)) >> 14
    return ((blue - luma) * 8061 + (128 << 14) + (1 << 13)) >> 14


def _pixel_sums(rgb: np.ndarray) -> np.ndarray:
    """Each channel summed over the 2x2 cells that the Haar LL band averages."""
    sums = rgb[0::2, 0::2].astype(np.int32)
    sums += rgb[0::2, 1::2]
    sums += rgb[1::2, 0::2]
    sums += rgb[1::2, 1::2]
    return sums


def ll_band(rgb: np.ndarray, variant: Variant = VARIANTS[0],
            pixel_sums: np.ndarray | None = None) -> np.ndarray:
    """The Haar LL band of the U plane that `variant`'s encoder marked (even-sized `rgb`).

    uint8 conventions go through `u_plane` and `haar_ll`, so the numbers are exactly the
    reference decoder's. For float input U = 0.492 * (B - Y) + 0.5 is linear in the pixels,
    so its LL band is the same combination of the 2x2 pixel sums (halved; the offset becomes
    1.0): a quarter of the work, and nothing to match bit for bit, since the encoder's float
    output was rounded to uint8 anyway. `pixel_sums` lets callers share those sums.
    """
    if not variant.float_input:
        return haar_ll(u_plane(rgb, variant).astype(np.float64))
    sums = _pixel_sums(rgb) if pixel_sums is None else pixel_sums
    blue, green, red = (channel.astype(np.float64) for channel in _encoder_channels(sums, variant))
    return 0.246 * (0.886 * blue - 0.587 * green - 0.299 * red) + 1.0


def block_bits(low: np.ndarray) -> np.ndarray:
    """The bit each 4x4 block of an LL band carries, in the encoder's raster order."""
    rows, cols = low.shape[0] // BLOCK, low.shape[1] // BLOCK
    blocks = np.abs(low[:rows * BLOCK, :cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
                    .swapaxes(1, 2).reshape(rows * cols, BLOCK * BLOCK))
    peak = np.argmax(blocks[:, 1:], axis=1) + 1
    values = blocks[np.arange(len(blocks)), peak]
    return (values % SCALE) > SCALE / 2


def _crop(rgb: np.ndarray) -> np.ndarray:
    """The pixels the 4x4 LL blocks cover: multiples of 8 from the top left, at most
    `MAX_DECODE_PIXELS` of them (whole rows: the bit numbering runs in raster order)."""
    rgb = np.asarray(rgb)
    width = rgb.shape[1] // 8 * 8
    height = min(rgb.shape[0] // 8 * 8, max(8, MAX_DECODE_PIXELS // max(width, 1) // 8 * 8))
    return rgb[:height, :width, :3]


def _variant_bits(rgb: np.ndarray, variants: tuple[Variant, ...]) -> list[np.ndarray]:
    """`block_bits` for each variant, computed in strips of about `STRIP_PIXELS` pixels.

    Block rows are independent and come in raster order, so strips give the same bits; they
    keep the working set in the CPU cache, which halves the time on large pictures.
    """
    strip_rows = max(8, STRIP_PIXELS // max(rgb.shape[1], 1) // 8 * 8)
    parts: list[list[np.ndarray]] = [[] for _ in variants]
    for top in range(0, rgb.shape[0], strip_rows):
        strip = rgb[top:top + strip_rows]
        sums = _pixel_sums(strip)
        for part, variant in zip(parts, variants):
            part.append(block_bits(ll_band(strip, variant, sums)))
    return [np.concatenate(part) for part in parts]


def _scores(bits: np.ndarray, nbits: int) -> np.ndarray:
    slots = np.arange(len(bits)) % nbits
    with np.errstate(invalid="ignore", divide="ignore"):
        return (np.bincount(slots, weights=bits, minlength=nbits)
                / np.bincount(slots, minlength=nbits))


def decode_bits(rgb: np.ndarray, nbits: int, variant: Variant = VARIANTS[0]) -> np.ndarray:
    """Per message bit, the share of its blocks that read 1 (NaN for a bit with no block).

    `rgb` is an HxWx3 uint8 RGB array. With the default variant this is exactly the score
    ``EmbedMaxDct.decode`` averages before it cuts at 127/255.
    """
    return _scores(_variant_bits(_crop(rgb), (variant,))[0], nbits)


def binomial_tail(agree: int, n: int) -> float:
    """P(X >= agree) for X ~ Binomial(n, 1/2): the chance of this many agreements by luck."""
    return sum(math.comb(n, k) for k in range(agree, n + 1)) / 2 ** n


@dataclass(frozen=True)
class WatermarkMatch:
    """How well one message reads from a picture, under its best-reading variant."""

    message: Message
    variant: Variant
    agree: int

    @property
    def bits(self) -> int:
        return len(self.message.bits)

    @property
    def accuracy(self) -> float:
        return self.agree / self.bits

    @property
    def p_value(self) -> float:
        """Binomial tail, Bonferroni-corrected for every (message, variant) pair tried."""
        return min(1.0, binomial_tail(self.agree, self.bits) * HYPOTHESES)

    @property
    def detected(self) -> bool:
        return self.p_value < MAX_P_VALUE and self.accuracy >= MIN_ACCURACY


def read_messages(rgb: np.ndarray) -> list[WatermarkMatch]:
    """Every known message's best reading, best first, whether or not it is a match."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3 or min(rgb.shape[:2]) < MIN_SIDE:
        return []
    per_variant = _variant_bits(_crop(rgb), VARIANTS)
    readings = []
    for message in MESSAGES:
        nbits = len(message.bits)
        if len(per_variant[0]) < nbits:
            continue  # some bits would have no block at all
        best = None
        for variant, bits in zip(VARIANTS, per_variant):
            scores = _scores(bits, nbits)
            agree = int(np.sum((scores > scores.mean()) == message.bits.astype(bool)))
            if best is None or agree > best.agree:
                best = WatermarkMatch(message, variant, agree)
        readings.append(best)
    return sorted(readings, key=lambda match: match.p_value)


def match_watermarks(rgb: np.ndarray) -> list[WatermarkMatch]:
    """The messages that are really there (normally none or one), best first."""
    return [match for match in read_messages(rgb) if match.detected]


def mark_can_survive(image) -> bool:
    """False for a 4:2:0 JPEG whose chroma table is at least as coarse, in sum, as libjpeg's
    at `NO_MARK_JPEG_QUALITY` (the sum compares tables of other encoders too, whatever their
    scaling); True for every other picture."""
    layers = getattr(image, "layer", None)
    tables = getattr(image, "quantization", None)
    if image.format != "JPEG" or not layers or len(layers) != 3 or not tables:
        return True
    (_, luma_h, luma_v, _), (_, cb_h, cb_v, cb_table) = layers[0], layers[1]
    if (luma_h, luma_v, cb_h, cb_v) != (2, 2, 1, 1) or cb_table not in tables:
        return True
    return sum(tables[cb_table]) < sum(scaled_table(STANDARD_CHROMA_TABLE,
                                                    NO_MARK_JPEG_QUALITY))


def scaled_table(table: tuple[int, ...], quality: int) -> list[int]:
    """`table` as libjpeg scales it for `quality` (``jpeg_quality_scaling``, baseline)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (value * scale + 50) // 100)) for value in table]


class SDWatermarkSource(Source):
    """Finds the Stable Diffusion invisible watermark in an image's pixels."""

    name = "sd_watermark"
    tier = PIXELS
    media_kinds = frozenset({"image"})
    order = 60

    def find(self, media, settings: Settings) -> Iterable[Finding]:
        if not mark_can_survive(media.image):
            return
        matches = match_watermarks(media.rgb)
        if not matches:
            return
        match = matches[0]
        message = match.message
        yield self.finding(
            Kind.AI_TRACE, f"sd_watermark.{message.code}",
            f'{message.generator} invisible watermark "{message.text}" (DWT-DCT), '
            f"{match.accuracy:.0%} of {match.bits} bits match",
            location="pixels: invisible-watermark dwtDct mark in the YUV U channel "
                     "(Haar LL band, 4x4 blocks)",
            confidence=round(2 * match.accuracy - 1, 3), channel="watermark",
            details={"message": message.text, "generator": message.generator,
                     "bit_accuracy": round(match.accuracy, 4), "bits": match.bits,
                     "p_value": match.p_value, "variant": match.variant.name,
                     "variant_note": match.variant.note})
