"""TIFF and DNG: the file is itself a TIFF structure, so its EXIF is the whole file; XMP sits
in tag 700 (found by scanning for the packet)."""

from __future__ import annotations

from labelcheck.formats.base import FileType, Format


class Tiff(Format):
    names = ("tiff",)
    extensions = {"tif": "tiff", "tiff": "tiff", "dng": "tiff"}
    c2pa = True

    def identify(self, head, name):
        if head[:4] not in (b"II*\0", b"MM\0*"):
            return None
        if name.lower().endswith(".dng"):
            return FileType("tiff", "image/dng", "image")
        return FileType("tiff", "image/tiff", "image")

    def exif_blob(self, media):
        return media.data
