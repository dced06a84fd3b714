"""Matroska and WebM (EBML): video whose tags (``SimpleTag``) and streams come from FFmpeg."""

from __future__ import annotations

from labelcheck.formats.base import FileType, Format, TextField

EBML_MAGIC = b"\x1a\x45\xdf\xa3"


class Matroska(Format):
    names = ("webm",)
    extensions = {"webm": "webm", "mkv": "webm"}

    def identify(self, head, name):
        if head.startswith(EBML_MAGIC):
            return FileType("webm", "video/webm", "video")
        return None

    def text_fields(self, media):
        for key, value in media.video_info["tags"].items():
            yield TextField(f"container tag {key}", key.split(":", 1)[-1], str(value))
