"""Photoshop documents (PSD, and PSB for large ones): XMP, EXIF and IPTC in the image
resources section (8BIM blocks 1060, 1058 and 1028); the pixels are the flattened composite
Pillow reads (PSD only: Pillow does not read PSB)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from labelcheck.formats.base import FileType, Format, Packet, Walk, decode_xmp

HEADER_BYTES = 26
RESOURCE_SIGNATURES = (b"8BIM", b"MeSa", b"AgHg", b"PHUT", b"DCSR")
XMP_RESOURCE = 1060
EXIF_RESOURCE = 1058


@dataclass
class Resource:
    """One image resource block: its id, where it starts and its data."""

    id: int
    offset: int
    data: bytes


def walk_psd(data: bytes) -> Walk:
    """The image resource blocks, after the header and the colour mode data."""
    walk = Walk()
    pos = HEADER_BYTES
    for section in ("colour mode data", "image resources"):
        if pos + 4 > len(data):
            walk.damage = f"PSD truncated: no {section} section"
            return walk
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        start, pos = pos + 4, pos + 4 + length
        if pos > len(data):
            walk.damage = f"PSD truncated: the {section} section runs past the end of the file"
            return walk
    walk.items, walk.damage = _resources(data, start, pos)
    return walk


def _resources(data: bytes, pos: int, stop: int) -> tuple[list[Resource], str | None]:
    resources = []
    while pos + 12 <= stop:
        if data[pos:pos + 4] not in RESOURCE_SIGNATURES:
            return resources, f"PSD structure broken at byte {pos} (expected an image resource)"
        (resource_id,) = struct.unpack(">H", data[pos + 4:pos + 6])
        name_length = data[pos + 6]
        size_at = pos + 6 + (name_length + 2) // 2 * 2  # Pascal name padded to even length
        if size_at + 4 > stop:
            return resources, f"PSD truncated: image resource at byte {pos} runs past its section"
        (size,) = struct.unpack(">I", data[size_at:size_at + 4])
        end = size_at + 4 + size
        if end > stop:
            return resources, f"PSD truncated: image resource at byte {pos} runs past its section"
        resources.append(Resource(resource_id, pos, data[size_at + 4:end]))
        pos = end + (size & 1)
    return resources, None


class Psd(Format):
    names = ("psd",)
    extensions = {"psd": "psd", "psb": "psd"}

    def identify(self, head, name):
        if head.startswith(b"8BPS") and head[4:6] in (b"\0\1", b"\0\2"):
            return FileType("psd", "image/vnd.adobe.photoshop", "image")
        return None

    def walk(self, data):
        return walk_psd(data)

    def xmp_packets(self, media):
        for resource in media.structure.items:
            if resource.id == XMP_RESOURCE:
                yield Packet(f"PSD image resource 1060 (XMP) @{resource.offset}",
                             decode_xmp(resource.data))

    def exif_blob(self, media):
        return next((resource.data for resource in media.structure.items
                     if resource.id == EXIF_RESOURCE), None)
