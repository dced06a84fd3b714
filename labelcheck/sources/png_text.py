"""PNG text chunks (tEXt, zTXt, iTXt, anywhere in the file) and A1111 stealth pnginfo.

Generators write their settings into text chunks, sometimes after IDAT where readers that stop
at the pixels miss them. The A1111 "stealth pnginfo" extension hides the same text in the
alpha channel's least significant bits, which only a pixel read reveals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelcheck.sources import generator_traces
from labelcheck.formats.png import bounded_inflate
from labelcheck.sources.base import PIXELS, Source

SKIPPED_KEYWORDS = {"xml:com.adobe.xmp", "aigc"}  # read by the XMP and AIGC sources
STEALTH_SIGNATURES = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
SIGNATURE_BITS = 15 * 8
MAX_STEALTH_BYTES = 1024 * 1024

if TYPE_CHECKING:
    import numpy as np


class PngTextSource(Source):
    name = "png_text"
    media_kinds = frozenset({"image"})
    order = 30

    def applies(self, media, settings) -> bool:
        return media.format == "png" and super().applies(media, settings)

    def find(self, media, settings):
        for chunk in media.png_chunks:
            if not chunk.text or chunk.text[0].lower() in SKIPPED_KEYWORDS:
                continue
            keyword, text = chunk.text
            trace = generator_traces.recognise(keyword, text)
            if trace:
                where = "after IDAT" if chunk.after_idat else "before IDAT"
                yield generator_traces.as_finding(self, trace,
                                    f"PNG {chunk.type} chunk {keyword!r} @{chunk.offset} "
                                    f"({where})", text)


class StealthPngInfoSource(Source):
    name = "stealth_pnginfo"
    tier = PIXELS
    media_kinds = frozenset({"image"})
    order = 35

    def applies(self, media, settings) -> bool:
        return media.format in ("png", "webp") and super().applies(media, settings)

    def find(self, media, settings):
        alpha = media.alpha
        if alpha is None or alpha.size < SIGNATURE_BITS + 32:
            return
        text = read_stealth_alpha(alpha)
        if text is None:
            return
        trace = generator_traces.recognise("parameters", text) or generator_traces.Trace(
            "stealth_pnginfo.text", "A1111 stealth pnginfo", {}, 0.9)
        yield generator_traces.as_finding(
            self, trace, "pixels: alpha-channel least significant bits (A1111 stealth pnginfo, "
            "column-major)", text)


def read_stealth_alpha(alpha: np.ndarray) -> str | None:
    """Decode stealth pnginfo from alpha LSBs read column by column; None if absent."""
    import numpy as np  # a pixel read: the metadata tier starts without NumPy

    bits = (alpha.T & 1).ravel()
    signature = np.packbits(bits[:SIGNATURE_BITS]).tobytes()
    if signature not in STEALTH_SIGNATURES:
        return None
    length_bits = int("".join(map(str, bits[SIGNATURE_BITS:SIGNATURE_BITS + 32])), 2)
    start = SIGNATURE_BITS + 32
    if length_bits <= 0 or length_bits % 8 or length_bits // 8 > MAX_STEALTH_BYTES \
            or start + length_bits > bits.size:
        return None
    payload = np.packbits(bits[start:start + length_bits]).tobytes()
    if STEALTH_SIGNATURES[signature]:
        payload = bounded_inflate(payload, MAX_STEALTH_BYTES, gzip=True)
    return payload.decode("utf-8", "replace")
