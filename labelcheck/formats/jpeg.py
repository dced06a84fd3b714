"""JPEG: marker segments up to the first scan. XMP and extended XMP in APP1, EXIF in APP1,
comments in COM; C2PA manifests in APP11 (read by the C2PA library)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterator

from labelcheck.formats.base import (C2PA_STORE_DESCRIPTION, FileType, Format, Packet, TextField,
                                     Walk, decode_xmp)

XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\0"
EXTENDED_XMP_HEADER = b"http://ns.adobe.com/xmp/extension/\0"
EXIF_HEADER = b"Exif\0\0"


@dataclass
class Segment:
    """A JPEG marker segment (APPn, COM) before the first scan."""

    marker: int
    offset: int
    payload: bytes

    @property
    def name(self) -> str:
        if 0xE0 <= self.marker <= 0xEF:
            return f"APP{self.marker - 0xE0}"
        return {0xFE: "COM"}.get(self.marker, f"0x{self.marker:02X}")


def walk_jpeg(data: bytes) -> Walk:
    """Collect APPn and COM segments up to the first SOS; check the image ends with EOI.
    Bytes between segments that are not a marker are skipped, as libjpeg skips them."""
    walk = Walk()
    pos = 2
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:  # junk between segments: decoders skip to the next marker
            pos = data.find(b"\xff", pos)
            if pos < 0:
                walk.damage = "JPEG structure broken: no marker after the last segment"
                return walk
            continue
        marker = data[pos + 1]
        if marker in (0xFF, 0x00):  # a fill byte; or a stuffed 0xFF 0x00 pair inside junk
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            return walk
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            walk.damage = f"JPEG truncated: segment at byte {pos} runs past the end of the file"
            return walk
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            walk.items.append(Segment(marker, pos, data[pos + 4:end]))
        if marker == 0xDA:  # start of scan: entropy-coded data follows until EOI
            if data.rfind(b"\xff\xd9", end) < 0:
                walk.damage = "JPEG truncated: image data has no end-of-image marker"
            return walk
        pos = end
    walk.damage = "JPEG truncated: no image data"
    return walk


class Jpeg(Format):
    names = ("jpeg",)
    extensions = {"jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg"}
    c2pa = True

    def identify(self, head, name):
        if head.startswith(b"\xff\xd8\xff"):
            return FileType("jpeg", "image/jpeg", "image")
        return None

    def walk(self, data):
        return walk_jpeg(data)

    def xmp_packets(self, media) -> Iterator[Packet]:
        extended: dict[bytes, list[tuple[int, bytes]]] = {}
        for segment in media.jpeg_segments:
            if segment.name != "APP1":
                continue
            if segment.payload.startswith(XMP_HEADER):
                yield Packet(f"JPEG APP1 @{segment.offset}",
                             decode_xmp(segment.payload[len(XMP_HEADER):]))
            elif segment.payload.startswith(EXTENDED_XMP_HEADER):
                body = segment.payload[len(EXTENDED_XMP_HEADER):]
                guid, offset = body[:32], int.from_bytes(body[36:40], "big")
                extended.setdefault(guid, []).append((offset, body[40:]))
        for guid, parts in extended.items():
            joined = b"".join(part for _, part in sorted(parts))
            yield Packet(f"JPEG extended XMP {guid.decode('latin-1', 'replace')}",
                         decode_xmp(joined))

    def exif_blob(self, media):
        for segment in media.jpeg_segments:
            if segment.name == "APP1" and segment.payload.startswith(EXIF_HEADER):
                return segment.payload
        return None

    def c2pa_jumbf(self, media):
        """The C2PA store split over APP11 segments: each carries ``JP``, a box instance
        number, a sequence number and the next part of the box; parts after the first
        repeat the box header (8 bytes, 16 with an extended length), which is dropped."""
        parts: dict[int, list[tuple[int, bytes]]] = {}
        for segment in media.jpeg_segments:
            payload = segment.payload
            if segment.name == "APP11" and payload[:2] == b"JP" and len(payload) > 16:
                instance, sequence = struct.unpack(">HI", payload[2:8])
                parts.setdefault(instance, []).append((sequence, payload[8:]))
        for pieces in parts.values():
            pieces.sort(key=lambda piece: piece[0])
            first = pieces[0][1]
            header = 16 if first[:4] == b"\0\0\0\x01" else 8
            store = first + b"".join(piece[header:] for _, piece in pieces[1:])
            if store[4:8] == b"jumb" and C2PA_STORE_DESCRIPTION in store[:64]:
                return store
        return None

    def text_fields(self, media):
        for segment in media.jpeg_segments:
            if segment.name == "COM":
                yield TextField(f"JPEG COM segment @{segment.offset}", "comment",
                                segment.payload.decode("utf-8", "replace"))
