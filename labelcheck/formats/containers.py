"""Byte-level walkers for the containers that carry disclosures.

They read structure only (segments, chunks, boxes), never pixels, and they are lenient: a
walker stops at the first damaged structure and says so in `damage`, keeping everything it
read before it. Sources share the walk through `Media`, so a file's bytes are walked once.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_INFLATED_TEXT = 8 * 1024 * 1024  # zTXt/iTXt bigger than this are zip bombs, not metadata


@dataclass
class Segment:
    """A JPEG marker segment (APPn, COM) before the first scan."""

    marker: int
    offset: int
    payload: bytes

    @property
    def name(self) -> str:
        if 0xE0 <= self.marker <= 0xEF:
            return f"APP{self.marker - 0xE0}"
        return {0xFE: "COM"}.get(self.marker, f"0x{self.marker:02X}")


@dataclass
class Walk:
    """What a walker read, and where the structure broke (if it did)."""

    items: list = field(default_factory=list)
    damage: str | None = None


def walk_jpeg(data: bytes) -> Walk:
    """Collect APPn and COM segments up to the first SOS; check the image ends with EOI."""
    walk = Walk()
    pos = 2
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            walk.damage = f"JPEG structure broken at byte {pos} (expected a marker)"
            return walk
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            return walk
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            walk.damage = f"JPEG truncated: segment at byte {pos} runs past the end of the file"
            return walk
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:
            walk.items.append(Segment(marker, pos, data[pos + 4:end]))
        if marker == 0xDA:  # start of scan: entropy-coded data follows until EOI
            if data.rfind(b"\xff\xd9", end) < 0:
                walk.damage = "JPEG truncated: image data has no end-of-image marker"
            return walk
        pos = end
    walk.damage = "JPEG truncated: no image data"
    return walk


@dataclass
class Chunk:
    """A PNG chunk; `text` is the decoded keyword/value of tEXt, zTXt and iTXt chunks."""

    type: str
    offset: int
    data: bytes
    after_idat: bool = False
    text: tuple[str, str] | None = None


def walk_png(data: bytes) -> Walk:
    """Walk every chunk to IEND, text chunks after IDAT included."""
    walk = Walk()
    pos = len(PNG_SIGNATURE)
    seen_idat = False
    while pos + 12 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            walk.damage = f"PNG truncated: chunk {ctype!r} at byte {pos} runs past the end"
            return walk
        name = ctype.decode("latin-1")
        chunk = Chunk(name, pos, data[pos + 8:pos + 8 + length], after_idat=seen_idat)
        if name in ("tEXt", "zTXt", "iTXt"):
            chunk.text = _png_text(name, chunk.data)
        walk.items.append(chunk)
        if name == "IDAT":
            seen_idat = True
        if name == "IEND":
            return walk
        pos = end
    walk.damage = "PNG truncated: no IEND chunk"
    return walk


def _png_text(ctype: str, body: bytes) -> tuple[str, str] | None:
    """Decode a PNG text chunk into (keyword, text); None when it is malformed."""
    keyword, sep, rest = body.partition(b"\0")
    if not sep:
        return None
    key = keyword.decode("latin-1", "replace")
    if ctype == "tEXt":
        return key, rest.decode("latin-1", "replace")
    if ctype == "zTXt":
        return key, bounded_inflate(rest[1:]).decode("latin-1", "replace")
    if len(rest) < 2:
        return None
    compressed = rest[0]  # rest[1] is the compression method, always zlib
    _lang, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    if compressed:
        text = bounded_inflate(text)
    return key, text.decode("utf-8", "replace")


def bounded_inflate(blob: bytes, limit: int = MAX_INFLATED_TEXT, gzip: bool = False) -> bytes:
    """Inflate at most `limit` bytes (zlib, or gzip), so compressed text can't be a zip bomb."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(blob, limit)
    except zlib.error:
        return b""
    return out


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


# Boxes whose payload is a list of boxes; `meta` is a full box (4 bytes of version/flags) in
# ISO files but a plain container in QuickTime files, which `_children_start` tells apart.
CONTAINER_BOXES = {"moov", "udta", "meta", "trak", "mdia", "minf", "stbl", "ilst", "iprp",
                   "ipco"}
MAX_BOX_DEPTH = 12


def walk_bmff(data: bytes) -> Walk:
    """Walk top-level boxes and the containers that hold metadata."""
    walk = Walk()
    walk.items, walk.damage = _walk_boxes(data, 0, len(data), "", 0)
    return walk


def _walk_boxes(data: bytes, start: int, stop: int, parent: str, depth: int):
    boxes: list[Box] = []
    pos = start
    while pos + 8 <= stop:
        size, btype = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > stop:
                return boxes, f"BMFF truncated: box header at byte {pos}"
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
            header = 16
        elif size == 0:
            size = stop - pos
        name = btype.decode("latin-1")
        if size < header:
            return boxes, f"BMFF structure broken: box {name!r} at byte {pos} has size {size}"
        if pos + size > stop:
            return boxes, (f"BMFF truncated: box {name!r} at byte {pos} needs {size} bytes, "
                           f"{stop - pos} left")
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
            walk.damage = f"RIFF truncated: chunk {fourcc!r} at byte {pos} runs past the end"
            return walk
        walk.items.append(RiffChunk(fourcc.decode("latin-1"), pos, data[pos + 8:end]))
        pos = end + (length & 1)
    return walk


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


ITUNES_TAGS = {"\xa9too": "encoder", "\xa9swr": "software", "\xa9nam": "title",
               "\xa9cmt": "comment", "\xa9des": "description", "\xa9ART": "artist",
               "\xa9day": "date", "desc": "description", "ldes": "description"}


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
