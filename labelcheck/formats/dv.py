"""DV (``.dv``: tape camcorders and their editors): a raw stream of DIF blocks, no metadata
under keys; streams and timecode come from FFmpeg."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

DIF_HEADER = b"\x1f\x07\x00"  # the first DIF block: a header section, then 0x3f / 0xbf


class Dv(DemuxedVideo):
    names = ("dv",)
    extensions = {"dv": "dv", "dif": "dv"}

    def identify(self, head, name):
        if head.startswith(DIF_HEADER) and len(head) > 3 and head[3] & 0x7F == 0x3F:
            return FileType("dv", "video/dv", "video")
        return None
