"""JPEG 2000: the JP2 family (``.jp2``, ``.jpf``/``.jpx``, ``.jpm``), bare codestreams
(``.j2k``, ``.j2c``) and Motion JPEG 2000 (``.mj2``, a video).

JP2 files are made of boxes laid out like ISO BMFF's, so the BMFF walker reads them. XMP sits
in a ``uuid`` box with the XMP UUID (as in MP4), EXIF in a ``uuid`` box whose UUID spells
``JpgTiffExif->JP2``. A bare codestream has no boxes: its XMP, if any, is found by searching.
Pillow decodes the stills (OpenJPEG); Motion JPEG 2000 is a video that FFmpeg decodes.
"""

from __future__ import annotations

from labelcheck.formats.base import FileType, Format, Packet, TextField, Walk, decode_xmp
from labelcheck.formats.bmff import (XMP_UUID, bmff_video_info, iter_boxes, quicktime_metadata,
                                     uuid_of, walk_bmff)

SIGNATURE_BOX = b"\0\0\0\x0cjP  \r\n\x87\n"
CODESTREAM = b"\xff\x4f\xff\x51"  # SOC then SIZ
EXIF_UUID = b"JpgTiffExif->JP2".hex()
BRANDS = {b"jp2 ": FileType("jp2", "image/jp2", "image"),
          b"jpx ": FileType("jp2", "image/jpx", "image"),
          b"jpm ": FileType("jp2", "image/jpm", "image"),
          b"mjp2": FileType("mj2", "video/mj2", "video"),
          b"mj2s": FileType("mj2", "video/mj2", "video")}


class Jpeg2000(Format):
    names = ("jp2", "j2k", "mj2")
    extensions = {"jp2": "jp2", "jpf": "jp2", "jpx": "jp2", "jpm": "jp2", "j2k": "j2k",
                  "j2c": "j2k", "jpc": "j2k", "mj2": "mj2", "mjp2": "mj2"}

    def identify(self, head, name):
        if head.startswith(CODESTREAM):
            return FileType("j2k", "image/jp2", "image")
        if head.startswith(SIGNATURE_BOX):
            brand = head[20:24] if head[16:20] == b"ftyp" else b"jp2 "
            return BRANDS.get(brand, BRANDS[b"jp2 "])
        return None

    def walk(self, data):
        if bytes(data[:len(CODESTREAM)]) == CODESTREAM:
            return Walk()
        return walk_bmff(data)

    def _uuid_boxes(self, media, uuid: str):
        for box in iter_boxes(media.structure.items):
            if box.type == "uuid" and uuid_of(box, media.data) == uuid:
                yield box

    def xmp_packets(self, media):
        for box in self._uuid_boxes(media, XMP_UUID):
            yield Packet(f"JPEG 2000 uuid XMP box @{box.offset}",
                         decode_xmp(box.payload(media.data)))

    def exif_blob(self, media):
        box = next(self._uuid_boxes(media, EXIF_UUID), None)
        return box.payload(media.data) if box else None

    def text_fields(self, media):
        for path, key, value in quicktime_metadata(media.data, media.structure.items):
            yield TextField(f"{path} key {key!r}", key, value)

    def video_info(self, media):
        return bmff_video_info(media.data, media.structure.items)
