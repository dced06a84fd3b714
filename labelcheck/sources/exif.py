"""EXIF: generator names in Software/Artist/Make/Model/ImageDescription, A1111 UserComment.

EXIF is read by Pillow from the raw block (no pixel decode). UserComment carries an 8-byte
character-set prefix; A1111 writes ``UNICODE`` followed by UTF-16, other tools plain ASCII.
"""

from __future__ import annotations

from labelcheck.sources import generator_traces
from labelcheck.core.model import Kind
from labelcheck.sources.base import Source

EXIF_IFD = 0x8769
TEXT_TAGS = {0x0131: "Software", 0x013B: "Artist", 0x010F: "Make", 0x0110: "Model",
             0x010E: "ImageDescription"}
USER_COMMENT = 0x9286


def exif_texts(media) -> dict[str, str]:
    """The EXIF text fields labelcheck reads, decoded; empty when there is no EXIF."""
    exif = media.exif
    if exif is None:
        return {}
    texts = {}
    for tag, name in TEXT_TAGS.items():
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str) and value.strip("\0 "):
            texts[name] = value.strip("\0 ")
    try:
        comment = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
    except Exception:  # noqa: BLE001 - a broken sub-IFD only means no UserComment
        comment = None
    decoded = decode_user_comment(comment)
    if decoded:
        texts["UserComment"] = decoded
    return texts


def decode_user_comment(value) -> str | None:
    """Decode an EXIF UserComment with its character-set prefix (ASCII, UNICODE, JIS)."""
    if isinstance(value, str):
        return value.strip("\0 ") or None
    if not isinstance(value, bytes) or not value:
        return None
    prefix, body = value[:8], value[8:]
    if prefix.startswith(b"UNICODE"):
        text = min((body.decode(codec, "replace") for codec in ("utf-16-be", "utf-16-le")),
                   key=_oddness)
    elif prefix.startswith((b"ASCII", b"\0\0\0\0\0\0\0\0", b"JIS")):
        text = body.decode("utf-8", "replace")
    else:
        text = value.decode("utf-8", "replace")
    return text.strip("\0 ") or None


def _oddness(text: str) -> int:
    """How many characters look like a wrong UTF-16 byte order (CJK soup, controls)."""
    return sum(1 for ch in text if ord(ch) > 0x2FFF or (ord(ch) < 32 and ch not in "\n\r\t"))


class ExifSource(Source):
    name = "exif"
    media_kinds = frozenset({"image"})
    order = 40

    def find(self, media, settings):
        texts = exif_texts(media)
        for name, text in texts.items():
            trace = generator_traces.recognise(name, text)
            if trace:
                yield generator_traces.as_finding(self, trace, f"EXIF {name}", text)
        camera = " ".join(texts[name] for name in ("Make", "Model") if name in texts)
        if camera and not generator_traces.recognise("make", camera):
            yield self.finding(Kind.INFO, "exif.camera", f"camera recorded in EXIF: {camera}",
                               location="EXIF Make/Model")
