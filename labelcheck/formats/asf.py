"""Advanced Systems Format (ASF: Windows Media ``.wmv``): streams and tags (title, author,
``WM/EncodingSettings``...) come from FFmpeg."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

HEADER_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


class Asf(DemuxedVideo):
    names = ("asf",)
    extensions = {"wmv": "asf", "asf": "asf"}

    def identify(self, head, name):
        if head.startswith(HEADER_GUID):
            return FileType("asf", "video/x-ms-asf", "video")
        return None
