"""What every container format module provides, and the shapes they share.

A format module (``jpeg``, ``png``, ``riff``, ``bmff``, ...) holds all that labelcheck knows
about one container: how to recognise its bytes, its media type and file extensions, how to
walk its structure, and where it keeps the metadata layers the sources read (XMP, EXIF, text
fields, container tags). `Media` asks the file's format for each view; the sources never need
to know which format they are looking at. Adding a format is adding one module with one
`Format` subclass (and one line in ``formats/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Iterator

from labelcheck.core.model import MediaError

PROBE_ONLY = {"probesize": "4096", "analyzeduration": "0"}  # tags and streams, no frame probing
MAX_PACKET_BYTES = 16 * 1024 * 1024
MAX_JUMBF_BYTES = 64 * 1024 * 1024  # a C2PA store larger than this is not read for its chain
# The description box of a C2PA manifest store: type 'jumd', then the store's UUID
# (``c2pa`` 0011-0010-8000-00AA00389B71, C2PA specification, "JUMBF" section).
C2PA_STORE_DESCRIPTION = b"jumdc2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71"


@dataclass(frozen=True)
class FileType:
    """What the bytes say the file is."""

    format: str  # jpeg, png, webp, tiff, heif, avif, gif, mp4, mov, webm, avi, pdf, ...
    media_type: str
    media_kind: str  # image, video, document


@dataclass
class Walk:
    """What a walker read, and where the structure broke (if it did)."""

    items: list = field(default_factory=list)
    damage: str | None = None


@dataclass
class Packet:
    """One XMP packet: where it sat in the file and its text."""

    where: str
    text: str


# Byte-order marks, longest first (UTF-32-LE's starts like UTF-16-LE's).
BYTE_ORDER_MARKS = ((b"\xff\xfe\0\0", "utf-32-le"), (b"\0\0\xfe\xff", "utf-32-be"),
                    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"),
                    (b"\xfe\xff", "utf-16-be"))
# Where the zero bytes of ASCII markup fall in each wide encoding (by position modulo 4).
ZERO_PATTERNS = (("utf-32-le", (1, 2, 3)), ("utf-32-be", (0, 1, 2)), ("utf-16-le", (1, 3)),
                 ("utf-16-be", (0, 2)))


def xmp_encoding(raw: bytes) -> str:
    """The encoding of an XMP packet's bytes. XMP may be UTF-8, UTF-16 or UTF-32 in either
    byte order (exiftool writes all five); the packet wrapper's byte-order mark sits inside
    its ``begin`` attribute, not at the start, so a packet that does not start with a mark is
    told by where the zero bytes of its ASCII markup fall (XML's own autodetection)."""
    for mark, codec in BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            return codec
    sample = raw[:256]
    sample = sample[:len(sample) - len(sample) % 4]
    if not sample or sample.count(0) < len(sample) // 4:
        return "utf-8"
    zeros = [sample[k::4].count(0) / (len(sample) // 4) for k in range(4)]
    for codec, positions in ZERO_PATTERNS:
        if all(zeros[k] >= 0.75 for k in positions) and \
                all(zeros[k] < 0.5 for k in range(4) if k not in positions):
            return codec
    return "utf-8"


def decode_xmp(raw: bytes) -> str:
    """An XMP packet's bytes as text, in whichever encoding it was written (`xmp_encoding`)."""
    raw = raw[:MAX_PACKET_BYTES]
    return raw.decode(xmp_encoding(raw), "replace").lstrip("\ufeff")


def type_name(raw: bytes) -> str:
    """A chunk's or box's four-character type as a person reads it: ``'IDAT'``, or "a
    chunk of unreadable type" when damage left bytes that are no type at all."""
    text = raw.decode("latin-1")
    if text.isascii() and text.isprintable():
        return repr(text)
    return "of unreadable type"


@dataclass(frozen=True)
class TextField:
    """A text value the container keeps under a key (a PNG text chunk, a QuickTime key, a
    container tag): where it is, its key and its value."""

    where: str
    key: str
    value: str


class Format:
    """One container format. Subclasses set the class attributes and override what applies.

    `names` are the format names this module identifies (``riff`` is both ``webp`` and
    ``avi``); `extensions` map file extensions to one of them; `c2pa` says whether the C2PA
    reader reads manifests embedded in it; `pixels_not_decoded`, when set, says why the
    format is read for its metadata only (raw camera data, SVG). The views take the file's
    `Media` (which calls them, and caches what they return).
    """

    names: ClassVar[tuple[str, ...]] = ()
    extensions: ClassVar[dict[str, str]] = {}
    c2pa: ClassVar[bool] = False
    pixels_not_decoded: ClassVar[str] = ""  # why labelcheck never decodes this format's pixels

    def register_decoder(self) -> None:
        """Make the Pillow plugin that decodes this format's pixels available (formats that
        Pillow reads without a plugin need nothing)."""

    def identify(self, head: bytes, name: str) -> FileType | None:
        """The file type when `head` (the file's first bytes) is this format, else None."""
        raise NotImplementedError

    def walk(self, data) -> Walk:
        """The container's structure (segments, chunks, boxes), read leniently: stop at the
        first damage, say so, keep what was read. `data` is bytes or a `FileBytes`."""
        return Walk()

    def xmp_packets(self, media) -> Iterable[Packet]:
        """The XMP packets at the places this format keeps them (none: the bytes are
        scanned for a packet instead)."""
        return ()

    def exif_blob(self, media) -> bytes | None:
        """The EXIF block (TIFF structure, with or without the ``Exif\\0\\0`` header)."""
        return None

    def exif(self, media):
        """The EXIF as a Pillow `Image.Exif` (None when absent or broken), read from
        `exif_blob` without decoding pixels."""
        blob = self.exif_blob(media)
        if not blob:
            return None
        from PIL import Image

        exif = Image.Exif()
        try:
            exif.load(blob)
        except Exception:  # noqa: BLE001 - a broken EXIF block is just absent evidence
            return None
        return exif

    def text_fields(self, media) -> Iterator[TextField]:
        """Text metadata kept under keys: PNG text chunks, QuickTime keys, container tags."""
        return iter(())

    def c2pa_jumbf(self, media) -> bytes | None:
        """The C2PA manifest store as embedded (its JUMBF superbox), for what the C2PA library
        does not return (the signers' certificate chains). Most containers keep the store in
        one piece (PNG caBX, BMFF uuid, WebP, TIFF, JPEG XL): it is found by its description
        box. Containers that split it override this (JPEG APP11)."""
        return contiguous_jumbf(media.data)

    def video_info(self, media) -> dict:
        """Streams, duration and tags of a video (``{"tags", "streams", "duration"}``), from
        FFmpeg's demuxer without decoding a frame; formats with a walker override this."""
        return ffmpeg_video_info(media)

    def fragments(self, media):
        """How a fragmented file splits into an initialisation segment and media segments
        (`labelcheck.formats.bmff.Fragmented`, for C2PA's per-fragment hashes), or None."""
        return None

def contiguous_jumbf(data) -> bytes | None:
    """The first C2PA manifest store kept in one piece in `data` (bytes or `FileBytes`), found
    by its description box; None when there is none or its length is implausible."""
    at = data.find(C2PA_STORE_DESCRIPTION)
    start = at - 12  # the superbox header (LBox, 'jumb') and the description box's LBox
    if at < 0 or start < 0 or data[start + 4:start + 8] != b"jumb":
        return None
    length = int.from_bytes(data[start:start + 4], "big")
    if length < 8 or length > MAX_JUMBF_BYTES or start + length > len(data):
        return None
    return data[start:start + length]


class DemuxedVideo(Format):
    """A video container whose streams, duration and tags FFmpeg's demuxer reads (Matroska
    ``SimpleTag``, FLV ``onMetaData``, the MPEG-TS service description...): the tags are its
    text fields. `probe` is how much FFmpeg may read to find the streams."""

    probe: ClassVar[dict[str, str]] = PROBE_ONLY
    tag_place: ClassVar[str] = "container tag"  # where the format keeps its tags, in words

    def text_fields(self, media):
        return container_tags(media, self.tag_place)

    def video_info(self, media):
        return ffmpeg_video_info(media, self.probe)


def container_tags(media, place: str = "container tag") -> Iterator[TextField]:
    """A video's container tags as FFmpeg reads them, as text fields. A file-level tag is
    located by the `place` its format keeps it in (``FLV onMetaData AIGC``), a stream's by
    its stream (``container tag stream0:title``)."""
    for key, value in media.video_info["tags"].items():
        scope, _, tag = key.partition(":")
        where = f"{place} {tag}" if scope == "format" else f"container tag {key}"
        yield TextField(where, tag, str(value))


def ffmpeg_video_info(media, probe: dict[str, str] = PROBE_ONLY) -> dict:
    import av

    try:
        with media.stream() as stream, av.open(stream, mode="r",
                                               options=probe) as container:
            tags = {f"format:{k}": v for k, v in container.metadata.items()}
            streams = []
            for stream in container.streams:
                tags.update({f"stream{stream.index}:{k}": v for k, v in stream.metadata.items()})
                streams.append({"index": stream.index, "type": stream.type,
                                "codec": stream.codec_context.name if stream.codec_context
                                else None})
            duration = container.duration / 1e6 if container.duration else None
    except av.error.FFmpegError as exc:
        raise MediaError(f"the video container could not be opened: {ffmpeg_reason(exc)}") \
            from None
    return {"tags": tags, "streams": streams, "duration": duration}


def ffmpeg_reason(exc) -> str:
    """What an FFmpeg (PyAV) error says about the file, without the path, errno or address
    that its text carries: FFmpeg's own short description of the error code."""
    import av

    if isinstance(exc, av.error.EOFError):
        return "the file ends early (truncated)"
    if isinstance(exc, av.error.InvalidDataError):
        return "the data is damaged or not in a form FFmpeg reads"
    return (getattr(exc, "strerror", None) or type(exc).__name__).strip().rstrip(".")
