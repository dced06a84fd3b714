"""PNG: chunks to IEND (text chunks after IDAT included). Text in tEXt/zTXt/iTXt (generator
parameters, AIGC labels), XMP in the iTXt ``XML:com.adobe.xmp`` chunk, EXIF in eXIf, C2PA in
caBX (read by the C2PA library)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from labelcheck.formats.base import FileType, Format, Packet, TextField, Walk, type_name

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_INFLATED_TEXT = 8 * 1024 * 1024  # zTXt/iTXt bigger than this are zip bombs, not metadata
XMP_KEYWORD = "XML:com.adobe.xmp"


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
    pos = len(SIGNATURE)
    seen_idat = False
    while pos + 12 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            walk.damage = (f"PNG truncated: chunk {type_name(ctype)} at byte {pos} runs past "
                           "the end")
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


class Png(Format):
    names = ("png",)
    extensions = {"png": "png"}
    c2pa = True

    def identify(self, head, name):
        if head.startswith(SIGNATURE):
            return FileType("png", "image/png", "image")
        return None

    def walk(self, data):
        return walk_png(data)

    def xmp_packets(self, media):
        for chunk in media.png_chunks:
            if chunk.text and chunk.text[0] == XMP_KEYWORD:
                yield Packet(f"PNG {chunk.type} {XMP_KEYWORD} @{chunk.offset}", chunk.text[1])

    def exif_blob(self, media):
        return next((chunk.data for chunk in media.png_chunks if chunk.type == "eXIf"), None)

    def text_fields(self, media):
        for chunk in media.png_chunks:
            if chunk.text and chunk.text[0] != XMP_KEYWORD:
                yield TextField(f"PNG {chunk.type} chunk {chunk.text[0]!r} @{chunk.offset}",
                                *chunk.text)
