"""Material Exchange Format (MXF: broadcast cameras and editors, e.g. XDCAM, Avid, ARRI):
streams and the identification set (company, product, version of the writing tool) come from
FFmpeg."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

PARTITION_PACK = bytes.fromhex("060e2b34020501010d01020101")  # a header partition's key


class Mxf(DemuxedVideo):
    names = ("mxf",)
    extensions = {"mxf": "mxf"}

    def identify(self, head, name):
        if head.startswith(PARTITION_PACK):
            return FileType("mxf", "application/mxf", "video")
        return None
