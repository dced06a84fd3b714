"""TIFF, BigTIFF and DNG: the file is itself a TIFF structure, so its EXIF is the whole file;
XMP sits in tag 700 (found by scanning for the packet). BigTIFF (64-bit offsets, for files over
4 GiB) has the same tags; Pillow reads its directory with the image header."""

from __future__ import annotations

import io

from labelcheck.formats.base import FileType, Format

CLASSIC = (b"II*\0", b"MM\0*")
BIG = (b"II+\0", b"MM\0+")


class Tiff(Format):
    names = ("tiff",)
    extensions = {"tif": "tiff", "tiff": "tiff", "dng": "tiff", "btf": "tiff", "tf8": "tiff"}
    c2pa = True

    def identify(self, head, name):
        if head[:4] not in CLASSIC + BIG:
            return None
        if name.lower().endswith(".dng"):
            return FileType("tiff", "image/dng", "image")
        return FileType("tiff", "image/tiff", "image")

    def exif_blob(self, media):
        return media.data

    def exif(self, media):
        """Classic TIFF loads as an EXIF block; BigTIFF's 64-bit directory is read by
        Pillow's TIFF header parser (no pixels are decoded)."""
        if media.data[:4] not in BIG:
            return super().exif(media)
        from PIL import Image

        try:
            with Image.open(io.BytesIO(media.data), formats=["TIFF"]) as image:
                return image.getexif()
        except Exception:  # noqa: BLE001 - a broken directory is just absent evidence
            return None
