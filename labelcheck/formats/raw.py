"""Raw camera files: read for their metadata (EXIF, XMP, C2PA where the format carries it),
never decoded. Demosaicing raw sensor data is a camera pipeline of its own, and a raw file is
a capture straight from a camera, not where a visible AI label would be, so labelcheck reports
that its pixels were not checked.

Each maker's layout is known only as far as finding the metadata: TIFF-based raws (CR2, NEF,
ARW, PEF, ...) are EXIF from the first byte (RW2 and ORF change only the TIFF magic number);
Canon CR3 is an ISO BMFF file (brand ``crx``, not a video) with its EXIF in ``CMT1``/``CMT2``
boxes; Fujifilm RAF embeds a JPEG preview that holds the EXIF; Minolta MRW a ``TTW`` TIFF
block. DNG, the open raw format that Pillow and C2PA read, stays with TIFF.
"""

from __future__ import annotations

import os

from labelcheck.formats.base import FileType, Format
from labelcheck.formats.jpeg import EXIF_HEADER, walk_jpeg

TIFF_MAGIC = (b"II*\0", b"MM\0*")
# Raws with a signature of their own: (prefix, offset of the prefix, media type).
SIGNED = (
    (b"ftypcrx ", 4, "image/x-canon-cr3"),
    (b"HEAPCCDR", 6, "image/x-canon-crw"),
    (b"FUJIFILMCCD-RAW", 0, "image/x-fuji-raf"),
    (b"IIU\0", 0, "image/x-panasonic-rw2"),
    (b"IIRO", 0, "image/x-olympus-orf"),
    (b"IIRS", 0, "image/x-olympus-orf"),
    (b"MMOR", 0, "image/x-olympus-orf"),
    (b"\0MRM", 0, "image/x-minolta-mrw"),
    (b"FOVb", 0, "image/x-sigma-x3f"),
)
# TIFF-based raws whose TIFF header is all their first bytes say: told by their names.
TIFF_BASED = {"cr2": "image/x-canon-cr2", "nef": "image/x-nikon-nef",
              "nrw": "image/x-nikon-nrw", "arw": "image/x-sony-arw", "srf": "image/x-sony-srf",
              "sr2": "image/x-sony-sr2", "pef": "image/x-pentax-pef",
              "srw": "image/x-samsung-srw", "3fr": "image/x-hasselblad-3fr",
              "erf": "image/x-epson-erf", "kdc": "image/x-kodak-kdc",
              "dcr": "image/x-kodak-dcr", "mef": "image/x-mamiya-mef",
              "mos": "image/x-leaf-mos", "iiq": "image/x-phaseone-iiq",
              "rwl": "image/x-leica-rwl"}
OTHER_EXTENSIONS = ("cr3", "crw", "raf", "rw2", "orf", "mrw", "x3f")
RAF_PREVIEW = 84  # where a RAF header keeps its JPEG preview's offset and length
METADATA_SEARCH = 1 << 20  # CR3 keeps its CMT boxes near the start


def _raw(media_type: str) -> FileType:
    return FileType("raw", media_type, "image")


class Raw(Format):
    names = ("raw",)
    extensions = {**{ext: "raw" for ext in TIFF_BASED}, **{ext: "raw" for ext in OTHER_EXTENSIONS}}
    c2pa = True  # NEF and ARW can carry a manifest; the C2PA reader says when a type cannot
    pixels_not_decoded = ("raw camera data: labelcheck reads raw files for their metadata and "
                          "does not decode the sensor data")

    def identify(self, head, name):
        for prefix, offset, media_type in SIGNED:
            if head[offset:offset + len(prefix)] == prefix:
                return _raw(media_type)
        if head[:4] in TIFF_MAGIC:
            if head[8:10] == b"CR":
                return _raw(TIFF_BASED["cr2"])
            ext = os.path.splitext(name)[1].lower().lstrip(".")
            if ext in TIFF_BASED:
                return _raw(TIFF_BASED[ext])
        return None

    def exif_blob(self, media):
        data, kind = media.data, media.media_type
        if data[:4] in TIFF_MAGIC:
            return data
        if kind in ("image/x-panasonic-rw2", "image/x-olympus-orf"):
            return data[:2] + (b"*\0" if data[:2] == b"II" else b"\0*") + data[4:]
        if kind == "image/x-canon-cr3":
            return _box_payload(data, b"CMT1")
        if kind == "image/x-fuji-raf":
            return _raf_exif(data)
        if kind == "image/x-minolta-mrw":
            return _mrw_tiff(data)
        return None


def _box_payload(data: bytes, box_type: bytes) -> bytes | None:
    """The payload of the first box of `box_type` near the start of a BMFF file."""
    at = data.find(box_type, 4, METADATA_SEARCH)
    if at < 0:
        return None
    size = int.from_bytes(data[at - 4:at], "big")
    return data[at + 4:at - 4 + size] if size >= 8 else None


def _raf_exif(data: bytes) -> bytes | None:
    """The EXIF of a RAF's embedded JPEG preview."""
    offset = int.from_bytes(data[RAF_PREVIEW:RAF_PREVIEW + 4], "big")
    length = int.from_bytes(data[RAF_PREVIEW + 4:RAF_PREVIEW + 8], "big")
    preview = data[offset:offset + length]
    if not preview.startswith(b"\xff\xd8"):
        return None
    return next((segment.payload for segment in walk_jpeg(preview).items
                 if segment.name == "APP1" and segment.payload.startswith(EXIF_HEADER)), None)


def _mrw_tiff(data: bytes) -> bytes | None:
    """The TIFF block (``TTW``) among an MRW file's blocks."""
    pos, stop = 8, min(len(data), 8 + int.from_bytes(data[4:8], "big"))
    while pos + 8 <= stop:
        tag, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        if tag == b"\0TTW":
            return data[pos + 8:pos + 8 + size]
        pos += 8 + size
    return None
