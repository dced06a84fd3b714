"""JPEG XL: a bare codestream, or the ISO BMFF-style container whose boxes carry the metadata:
``Exif`` (EXIF, after a 4-byte offset), ``xml `` (XMP), ``jumb`` (C2PA, read by the C2PA
library) and ``brob`` (any of these compressed with Brotli, its first four bytes naming the
box it holds). Pixels come from the pillow-jxl-plugin (libjxl)."""

from __future__ import annotations

from labelcheck.formats.base import MAX_PACKET_BYTES, FileType, Format, Packet, Walk, decode_xmp
from labelcheck.formats.bmff import walk_bmff

CODESTREAM = b"\xff\x0a"
CONTAINER = b"\0\0\0\x0cJXL \r\n\x87\n"


def box_contents(media, box_type: str):
    """(box, payload) of every top-level box of `box_type`, Brotli-compressed ones included
    (inflated up to `MAX_PACKET_BYTES`; a corrupt one is skipped)."""
    for box in media.structure.items:
        payload = box.payload(media.data)
        if box.type == box_type:
            yield box, payload
        elif box.type == "brob" and payload[:4] == box_type.encode("latin-1"):
            inflated = _brotli(payload[4:])
            if inflated is not None:
                yield box, inflated


def _brotli(blob: bytes) -> bytes | None:
    import brotli

    try:
        return brotli.Decompressor().process(blob, output_buffer_limit=MAX_PACKET_BYTES)
    except brotli.error:
        return None


class Jxl(Format):
    names = ("jxl",)
    extensions = {"jxl": "jxl"}
    c2pa = True

    def identify(self, head, name):
        if head.startswith((CODESTREAM, CONTAINER)):
            return FileType("jxl", "image/jxl", "image")
        return None

    def walk(self, data):
        if bytes(data[:len(CONTAINER)]) != CONTAINER:
            return Walk()
        return walk_bmff(data)

    def register_decoder(self):
        import pillow_jxl  # noqa: F401 - registers the JXL plugin with Pillow

    def xmp_packets(self, media):
        for box, payload in box_contents(media, "xml "):
            yield Packet(f"JPEG XL {box.type} box @{box.offset}", decode_xmp(payload))

    def exif_blob(self, media):
        found = next(box_contents(media, "Exif"), None)
        if found is None or len(found[1]) < 4:
            return None
        payload = found[1]
        return payload[4 + int.from_bytes(payload[:4], "big"):]
