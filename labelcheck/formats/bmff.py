"""ISO base media files: MP4, MOV (QuickTime), HEIF/HEIC and AVIF.

Boxes are walked from the top and into the containers that hold metadata. XMP sits in a
``uuid`` box (BMFF) or an ``XMP_`` box (QuickTime); EXIF in a HEIF item; custom keys such as
GB 45438's ``AIGC`` in ``moov/udta/meta`` keys+ilst (where ffmpeg's ``-movflags
use_metadata_tags`` puts them); C2PA in a ``uuid`` box (read by the C2PA library). A video's
streams, duration and tags come from the box tree, without a demuxer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from labelcheck.core.model import MediaError
from labelcheck.formats.base import (FileType, Format, Packet, TextField, Walk, decode_xmp,
                                     type_name)

IMAGE_BRANDS = {
    b"heic": ("heif", "image/heic"), b"heix": ("heif", "image/heic"),
    b"heim": ("heif", "image/heic"), b"heis": ("heif", "image/heic"),
    b"mif1": ("heif", "image/heif"), b"msf1": ("heif", "image/heif"),
    b"avif": ("avif", "image/avif"), b"avis": ("avif", "image/avif"),
}
QUICKTIME_FIRST_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
SEGMENT_FIRST_BOXES = (b"styp", b"moof", b"sidx")
JOIN_SEGMENTS = ("scan the initialisation segment and its media segments joined into one file, "
                 "in order (cat init.mp4 segment-*.m4s > video.mp4)")
XMP_UUID = "be7acfcb97a942e89c71999491e3afac"
# Boxes whose payload is a list of boxes; `meta` is a full box (4 bytes of version/flags) in
# ISO files but a plain container in QuickTime files, which `_children_start` tells apart.
CONTAINER_BOXES = {"moov", "udta", "meta", "trak", "mdia", "minf", "stbl", "ilst", "iprp",
                   "ipco"}
MAX_BOX_DEPTH = 12
ITUNES_TAGS = {"\xa9too": "encoder", "\xa9swr": "software", "\xa9nam": "title",
               "\xa9cmt": "comment", "\xa9des": "description", "\xa9ART": "artist",
               "\xa9day": "date", "desc": "description", "ldes": "description"}


@dataclass
class Box:
    """An ISO BMFF box (MP4, MOV, HEIF, AVIF). `path` is like ``moov/udta/meta``."""

    type: str
    path: str
    offset: int
    header: int
    size: int
    children: list["Box"] = field(default_factory=list)

    def payload(self, data: bytes) -> bytes:
        return data[self.offset + self.header:self.offset + self.size]


def identify_bmff(head: bytes) -> FileType | None:
    box = head[4:8]
    if box == b"ftyp":
        brands = [head[8:12]] + [head[i:i + 4] for i in range(16, min(len(head), 40), 4)]
        for brand in brands:
            if brand in IMAGE_BRANDS:
                fmt, mime = IMAGE_BRANDS[brand]
                return FileType(fmt, mime, "image")
        if head[8:12] == b"qt  ":
            return FileType("mov", "video/quicktime", "video")
        return FileType("mp4", "video/mp4", "video")
    if box in QUICKTIME_FIRST_BOXES:
        return FileType("mov", "video/quicktime", "video")
    if box in SEGMENT_FIRST_BOXES:
        raise MediaError("a media segment of a streamed video (DASH/fMP4): it cannot be read "
                         f"without its initialisation segment; {JOIN_SEGMENTS}")
    return None


@dataclass(frozen=True)
class Fragmented:
    """A fragmented MP4 given as one file (an initialisation segment followed by its media
    segments, as DASH and HLS serve them): the bytes up to `init_end` are the initialisation
    segment; `segments` are the byte ranges of the media segments, each from its ``styp`` (or,
    in a file without them, its ``moof`` or the ``sidx`` before it)."""

    init_end: int
    segments: list[tuple[int, int]]


def fragmented(boxes: list[Box]) -> Fragmented | None:
    """The segments of a fragmented MP4 from its top-level boxes; None when it is not one."""
    first = next((i for i, box in enumerate(boxes) if box.type in ("styp", "sidx", "moof")),
                 None)
    if first is None or not any(box.type == "moov" for box in boxes[:first]):
        return None
    tail = boxes[first:]
    by_styp = any(box.type == "styp" for box in tail)
    starts = [box.offset for i, box in enumerate(tail)
              if (box.type == "styp" if by_styp else
                  box.type == "sidx" or (box.type == "moof"
                                         and (i == 0 or tail[i - 1].type != "sidx")))]
    end = tail[-1].offset + tail[-1].size
    return Fragmented(starts[0], list(zip(starts, starts[1:] + [end])))


def initialisation_only(boxes: list[Box]) -> bool:
    """Whether the file is a fragmented MP4's initialisation segment alone: its ``moov``
    announces fragments (``mvex``) and none follows."""
    moov = next((box for box in boxes if box.type == "moov"), None)
    return (moov is not None and any(child.type == "mvex" for child in moov.children)
            and not any(box.type == "moof" for box in boxes))


def walk_bmff(data: bytes) -> Walk:
    """Walk top-level boxes and the containers that hold metadata."""
    walk = Walk()
    walk.items, walk.damage = _walk_boxes(data, 0, len(data), "", 0)
    return walk


def box_header(data: bytes, pos: int, stop: int) -> tuple[bytes, int, int] | None:
    """(type, header length, box length) of the box at `pos` (ISO/IEC 14496-12's header, also
    JPEG 2000's, JPEG XL's and JUMBF's): a 64-bit length after the type when the 32-bit one
    is 1, to `stop` when it is 0; None when the 64-bit length runs past `stop`. The caller
    checks that the box fits."""
    size, btype = struct.unpack(">I4s", data[pos:pos + 8])
    if size == 1:
        if pos + 16 > stop:
            return None
        return btype, 16, struct.unpack(">Q", data[pos + 8:pos + 16])[0]
    return btype, 8, stop - pos if size == 0 else size


def _walk_boxes(data: bytes, start: int, stop: int, parent: str, depth: int):
    boxes: list[Box] = []
    pos = start
    while pos + 8 <= stop:
        found = box_header(data, pos, stop)
        if found is None:
            return boxes, f"BMFF truncated: box header at byte {pos}"
        btype, header, size = found
        name = btype.decode("latin-1")
        if size < header:
            return boxes, (f"BMFF structure broken: box {type_name(btype)} at byte {pos} has "
                           f"size {size}")
        if pos + size > stop:
            return boxes, (f"BMFF truncated: box {type_name(btype)} at byte {pos} needs {size} "
                           f"bytes, {stop - pos} left")
        if name == "uuid":
            header += 16
        path = f"{parent}/{name}" if parent else name
        box = Box(name, path, pos, header, size)
        if name in CONTAINER_BOXES and depth < MAX_BOX_DEPTH:
            child_start = _children_start(data, box)
            box.children, damage = _walk_boxes(data, child_start, pos + size, path, depth + 1)
            if damage:
                boxes.append(box)
                return boxes, damage
        boxes.append(box)
        pos += size
    return boxes, None


def _children_start(data: bytes, box: Box) -> int:
    start = box.offset + box.header
    if box.type == "meta" and data[start + 4:start + 8] in (b"hdlr", b"keys", b"ilst"):
        return start  # QuickTime meta: no version/flags
    if box.type == "meta":
        return start + 4
    return start


def iter_boxes(boxes: list[Box]):
    """Every box in the tree, depth first."""
    for box in boxes:
        yield box
        yield from iter_boxes(box.children)


def uuid_of(box: Box, data: bytes) -> str:
    """The extended type of a ``uuid`` box, as lowercase hex."""
    start = box.offset + box.header - 16
    return data[start:start + 16].hex()


def quicktime_metadata(data: bytes, boxes: list[Box]) -> list[tuple[str, str, str]]:
    """(box path, key, text value) of every ``mdta`` key+ilst item in ``moov/udta/meta``.

    This is where ffmpeg's ``-movflags use_metadata_tags`` puts custom keys such as GB 45438's
    ``AIGC``, and where Apple tools put ``com.apple.quicktime.*`` items.
    """
    items = []
    for meta in (box for box in iter_boxes(boxes) if box.type == "meta"):
        keys_box = next((c for c in meta.children if c.type == "keys"), None)
        ilst = next((c for c in meta.children if c.type == "ilst"), None)
        if keys_box is None or ilst is None:
            continue
        keys = _mdta_keys(keys_box.payload(data))
        for entry in ilst.children:
            index = int.from_bytes(entry.type.encode("latin-1"), "big")
            if 1 <= index <= len(keys):
                value = _ilst_text(entry.payload(data))
                if value is not None:
                    items.append((f"{meta.path}/keys+ilst", keys[index - 1], value))
    return items


def _mdta_keys(payload: bytes) -> list[str]:
    keys = []
    pos = 8  # version/flags, entry count
    while pos + 8 <= len(payload):
        size = int.from_bytes(payload[pos:pos + 4], "big")
        if size < 8 or pos + size > len(payload):
            break
        keys.append(payload[pos + 8:pos + size].decode("utf-8", "replace"))
        pos += size
    return keys


def _ilst_text(payload: bytes) -> str | None:
    """The value of the first ``data`` atom of an ilst item, when it is text."""
    if len(payload) < 16 or payload[4:8] != b"data":
        return None
    size = int.from_bytes(payload[:4], "big")
    type_indicator = int.from_bytes(payload[9:12], "big")
    if type_indicator not in (1, 2):  # UTF-8, UTF-16
        return None
    raw = payload[16:size]
    return raw.decode("utf-16-be" if type_indicator == 2 else "utf-8", "replace")


def bmff_video_info(data: bytes, boxes: list[Box]) -> dict:
    """Streams, duration and text tags of an MP4/MOV from its box tree, without a demuxer.

    Same shape as FFmpeg's view (`Media.video_info`): ``{"tags", "streams", "duration"}``.
    """
    tags: dict[str, str] = {}
    streams = []
    duration = None
    for box in iter_boxes(boxes):
        payload_start = box.offset + box.header
        if box.type == "mvhd":
            duration = _mvhd_duration(box.payload(data))
        elif box.type == "hdlr" and box.path.endswith("mdia/hdlr"):
            handler = data[payload_start + 8:payload_start + 12].decode("latin-1")
            kind = {"vide": "video", "soun": "audio"}.get(handler, handler)
            streams.append({"index": len(streams), "type": kind, "codec": None})
        elif box.type == "stsd" and streams:
            streams[-1]["codec"] = data[payload_start + 12:payload_start + 16].decode(
                "latin-1").strip()
        elif box.path.endswith("ilst/" + box.type) and box.type in ITUNES_TAGS:
            text = _ilst_text(box.payload(data))
            if text:
                tags[f"format:{ITUNES_TAGS[box.type]}"] = text
        elif box.path.startswith("moov/udta/\xa9"):
            raw = box.payload(data)
            tags[f"format:{box.type}"] = raw[4:4 + int.from_bytes(raw[:2], "big")].decode(
                "utf-8", "replace")
    for _path, key, value in quicktime_metadata(data, boxes):
        tags[f"format:{key}"] = value
    return {"tags": tags, "streams": streams, "duration": duration}


def _mvhd_duration(payload: bytes) -> float | None:
    if payload[:1] == b"\x01" and len(payload) >= 32:
        timescale, length = int.from_bytes(payload[20:24], "big"), payload[24:32]
    elif len(payload) >= 20:
        timescale, length = int.from_bytes(payload[12:16], "big"), payload[16:20]
    else:
        return None
    return int.from_bytes(length, "big") / timescale if timescale else None


class Bmff(Format):
    names = ("mp4", "mov", "heif", "avif")
    extensions = {"mp4": "mp4", "m4v": "mp4", "m4s": "mp4", "mov": "mov", "qt": "mov",
                  "heic": "heif", "heif": "heif", "avif": "avif"}
    c2pa = True

    def identify(self, head, name):
        return identify_bmff(head)

    def walk(self, data):
        return walk_bmff(data)

    def register_decoder(self):
        import pillow_heif

        pillow_heif.register_heif_opener()

    def xmp_packets(self, media):
        for box in iter_boxes(media.boxes):
            if box.type == "uuid" and uuid_of(box, media.data) == XMP_UUID:
                yield Packet(f"BMFF uuid XMP box @{box.offset}",
                             decode_xmp(box.payload(media.data)))
            elif box.type == "XMP_":
                yield Packet(f"QuickTime {box.path} @{box.offset}",
                             decode_xmp(box.payload(media.data)))

    def exif_blob(self, media):
        if media.media_kind != "image":
            return None
        start = media.data.find(b"Exif\0\0")
        return media.data[start:] if start >= 0 else None

    def text_fields(self, media):
        for path, key, value in quicktime_metadata(media.data, media.boxes):
            yield TextField(f"{path} key {key!r}", key, value)

    def video_info(self, media):
        if initialisation_only(media.boxes):
            raise MediaError("an initialisation segment of a streamed video (DASH/fMP4): it "
                             f"holds no frames; {JOIN_SEGMENTS}")
        return bmff_video_info(media.data, media.boxes)

    def fragments(self, media):
        return fragmented(media.boxes)
