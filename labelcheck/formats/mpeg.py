"""MPEG-1/2 program streams (``.mpg``, ``.mpeg``, ``.vob``: DVDs, older cameras and editors)
and MPEG-1/2 video elementary streams (``.m2v``, ``.m1v``: an editor's or encoder's raw video).
Neither keeps metadata under keys; streams and duration come from FFmpeg. A program stream
may open with navigation packets (a DVD's), so FFmpeg is let read further to find the video."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

PACK_START = b"\0\0\1\xba"  # a program stream's pack header
SEQUENCE_HEADER = b"\0\0\1\xb3"  # a video elementary stream's sequence header
PROGRAM_PROBE = {"probesize": str(1 << 20), "analyzeduration": "0"}


class MpegProgram(DemuxedVideo):
    names = ("mpeg",)
    extensions = {"mpg": "mpeg", "mpeg": "mpeg", "vob": "mpeg", "m2p": "mpeg", "mpe": "mpeg"}
    probe = PROGRAM_PROBE

    def identify(self, head, name):
        if head.startswith(PACK_START):
            return FileType("mpeg", "video/mpeg", "video")
        return None


class MpegVideo(DemuxedVideo):
    names = ("m2v",)
    extensions = {"m2v": "m2v", "m1v": "m2v", "mpv": "m2v"}

    def identify(self, head, name):
        if head.startswith(SEQUENCE_HEADER):
            return FileType("m2v", "video/mpv", "video")
        return None
