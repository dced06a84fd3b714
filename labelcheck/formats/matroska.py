"""Matroska and WebM (EBML): video whose tags (``SimpleTag``) and streams come from FFmpeg."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

EBML_MAGIC = b"\x1a\x45\xdf\xa3"


class Matroska(DemuxedVideo):
    names = ("webm",)
    extensions = {"webm": "webm", "mkv": "webm"}
    tag_place = "Matroska SimpleTag"

    def identify(self, head, name):
        if head.startswith(EBML_MAGIC):
            return FileType("webm", "video/webm", "video")
        return None
