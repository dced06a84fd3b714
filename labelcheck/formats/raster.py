"""Pillow's other raster formats: BMP, ICO/CUR, PCX, PPM, SGI, TGA, DDS, QOI, FITS, PhotoCD...

These formats carry no metadata layer that declares AI (no XMP, EXIF, C2PA or text keys), but
a picture in them can still show a visible label, so they are read for their pixels. Which
bytes are which format is Pillow's own knowledge: its plugins' signature checks (`accept`)
are asked, never copied. A few formats have no signature at all (TGA, PhotoCD); they are
taken only when the file is named like one and Pillow reads its header from the first bytes.
"""

from __future__ import annotations

import io
import os
from functools import cache

from labelcheck.formats.base import FileType, Format

# Pillow format ids read here, each with a signature Pillow checks. DIB, XBM, GBR, IM, SPIDER
# and WMF are left out: their checks accept too much (any C comment is an XBM) or nothing.
SIGNED = ("BMP", "ICO", "CUR", "PCX", "DCX", "DDS", "BLP", "FLI", "FTEX", "ICNS", "MSP",
          "PPM", "QOI", "SGI", "SUN", "XPM", "XVTHUMB", "FITS", "PIXAR", "MCIDAS")
# Formats without a signature: identified by name, then by Pillow reading the header.
NAMED = ("TGA", "PCD")
PREFIX_BYTES = 16  # what Pillow hands its plugins' signature checks
EXTENSIONS = {
    "bmp": "bmp", "dib": "bmp", "ico": "ico", "cur": "cur", "pcx": "pcx", "dcx": "dcx",
    "dds": "dds", "blp": "blp", "fli": "fli", "flc": "fli", "ftc": "ftex", "ftu": "ftex",
    "icns": "icns", "msp": "msp", "pbm": "ppm", "pgm": "ppm", "ppm": "ppm", "pnm": "ppm",
    "pfm": "ppm", "qoi": "qoi", "sgi": "sgi", "bw": "sgi", "rgb": "sgi", "rgba": "sgi",
    "ras": "sun", "xpm": "xpm", "p7": "xvthumb", "fits": "fits", "fit": "fits", "pxr": "pixar",
    "tga": "tga", "icb": "tga", "vda": "tga", "vst": "tga", "pcd": "pcd",
}


@cache
def _pillow_registry() -> tuple[dict, dict]:
    """Pillow's plugins (imported on first use: a file no other format claimed) and its
    media types."""
    from PIL import Image

    Image.init()
    return Image.OPEN, Image.MIME


def _file_type(pillow_id: str) -> FileType:
    _, mime = _pillow_registry()
    name = pillow_id.lower()
    return FileType(name, mime.get(pillow_id) or f"image/x-{name}", "image")


def _reads_header(head: bytes, pillow_id: str) -> bool:
    """Whether Pillow's plugin for `pillow_id` reads `head` as that format's header."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(head), formats=[pillow_id]):
            return True
    except Exception:  # noqa: BLE001 - any refusal means "not this format"
        return False


class Raster(Format):
    names = tuple(pid.lower() for pid in SIGNED + NAMED)
    extensions = EXTENSIONS

    def identify(self, head, name):
        """A format without a signature, when the file is named like one and reads as one
        (first: an uncompressed true-colour TGA starts like a CUR icon); else the first
        format whose signature Pillow accepts."""
        claimed = EXTENSIONS.get(os.path.splitext(name)[1].lower().lstrip("."), "").upper()
        if claimed in NAMED and _reads_header(head, claimed):
            return _file_type(claimed)
        registry, _ = _pillow_registry()
        prefix = head[:PREFIX_BYTES]
        for pillow_id in SIGNED:
            accept = registry.get(pillow_id, (None, None))[1]
            if accept is not None and accept(prefix):
                return _file_type(pillow_id)
        return None
