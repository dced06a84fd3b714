"""Flash Video (FLV): its ``onMetaData`` script tag (encoder, creator, custom keys) and
streams come from FFmpeg."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

SIGNATURE = b"FLV\x01"


class Flv(DemuxedVideo):
    names = ("flv",)
    extensions = {"flv": "flv"}
    tag_place = "FLV onMetaData"

    def identify(self, head, name):
        if head.startswith(SIGNATURE):
            return FileType("flv", "video/x-flv", "video")
        return None
