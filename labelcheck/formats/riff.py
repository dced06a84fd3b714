"""RIFF: WebP (VP8/VP8L/VP8X, EXIF, ``XMP `` and C2PA chunks) and AVI (video; its tags and
streams come from FFmpeg)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from labelcheck.formats.base import (FileType, Format, Packet, Walk, container_tags,
                                     decode_xmp, type_name)


@dataclass
class RiffChunk:
    """A RIFF chunk (WebP: VP8/VP8L/VP8X/EXIF/XMP /C2PA)."""

    fourcc: str
    offset: int
    data: bytes


def walk_riff(data: bytes) -> Walk:
    """Walk the chunks of a RIFF file (WebP, AVI top level)."""
    walk = Walk()
    pos = 12
    while pos + 8 <= len(data):
        fourcc, length = struct.unpack("<4sI", data[pos:pos + 8])
        end = pos + 8 + length
        if end > len(data):
            walk.damage = (f"RIFF truncated: chunk {type_name(fourcc)} at byte {pos} runs past "
                           "the end")
            return walk
        walk.items.append(RiffChunk(fourcc.decode("latin-1"), pos, data[pos + 8:end]))
        pos = end + (length & 1)
    return walk


class Riff(Format):
    names = ("webp", "avi")
    extensions = {"webp": "webp", "avi": "avi"}
    c2pa = True

    def identify(self, head, name):
        if head[:4] != b"RIFF":
            return None
        if head[8:12] == b"WEBP":
            return FileType("webp", "image/webp", "image")
        if head[8:12] == b"AVI ":
            return FileType("avi", "video/x-msvideo", "video")
        return None

    def walk(self, data):
        return walk_riff(data)

    def xmp_packets(self, media):
        for chunk in media.riff_chunks:
            if chunk.fourcc == "XMP ":
                yield Packet(f"WebP XMP chunk @{chunk.offset}", decode_xmp(chunk.data))

    def exif_blob(self, media):
        return next((chunk.data for chunk in media.riff_chunks if chunk.fourcc == "EXIF"), None)

    def text_fields(self, media):
        """AVI ``LIST``/``INFO`` tags as FFmpeg reads them (WebP keeps none)."""
        return container_tags(media, "AVI LIST/INFO") if media.media_kind == "video" \
            else iter(())
