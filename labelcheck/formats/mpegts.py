"""MPEG transport streams: broadcast and capture ``.ts``, and the AVCHD / Blu-ray ``.mts`` and
``.m2ts`` that cameras write (BDAV: each 188-byte packet after a 4-byte timecode). Streams,
duration and tags (the service name and provider of the SDT) come from FFmpeg; XMP, when a
tool left a packet, is found by scanning the bytes."""

from __future__ import annotations

from labelcheck.formats.base import DemuxedVideo, FileType

SYNC = 0x47
PACKET_SIZES = ((188, 0), (192, 4))  # (packet size, offset of the sync byte in it): TS, BDAV
SYNCS = 3  # consecutive packets that must start with the sync byte


def is_transport_stream(head: bytes) -> bool:
    """Whether `head` starts with `SYNCS` transport packets of one of the `PACKET_SIZES`."""
    return any(len(head) > offset + (SYNCS - 1) * size
               and all(head[offset + i * size] == SYNC for i in range(SYNCS))
               for size, offset in PACKET_SIZES)


class MpegTs(DemuxedVideo):
    names = ("mpegts",)
    extensions = {"ts": "mpegts", "mts": "mpegts", "m2ts": "mpegts", "m2t": "mpegts"}

    def identify(self, head, name):
        if is_transport_stream(head):
            return FileType("mpegts", "video/mp2t", "video")
        return None
