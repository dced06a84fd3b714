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


def decode_xmp(raw: bytes) -> str:
    """An XMP packet's bytes as text: UTF-8, or UTF-16 when it starts with a byte-order mark."""
    raw = raw[:MAX_PACKET_BYTES]
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return raw.decode("utf-16", "replace")
    return raw.decode("utf-8", "replace")


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
    reader reads manifests embedded in it. The views take the file's `Media` (which calls
    them, and caches what they return).
    """

    names: ClassVar[tuple[str, ...]] = ()
    extensions: ClassVar[dict[str, str]] = {}
    c2pa: ClassVar[bool] = False

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

    def text_fields(self, media) -> Iterator[TextField]:
        """Text metadata kept under keys: PNG text chunks, QuickTime keys, container tags."""
        return iter(())

    def video_info(self, media) -> dict:
        """Streams, duration and tags of a video (``{"tags", "streams", "duration"}``), from
        FFmpeg's demuxer without decoding a frame; formats with a walker override this."""
        return ffmpeg_video_info(media)

    def fragments(self, media):
        """How a fragmented file splits into an initialisation segment and media segments
        (`labelcheck.formats.bmff.Fragmented`, for C2PA's per-fragment hashes), or None."""
        return None


class DemuxedVideo(Format):
    """A video container whose streams, duration and tags FFmpeg's demuxer reads (Matroska
    ``SimpleTag``, FLV ``onMetaData``, the MPEG-TS service description...): the tags are its
    text fields. `probe` is how much FFmpeg may read to find the streams."""

    probe: ClassVar[dict[str, str]] = PROBE_ONLY

    def text_fields(self, media):
        return container_tags(media)

    def video_info(self, media):
        return ffmpeg_video_info(media, self.probe)


def container_tags(media) -> Iterator[TextField]:
    """A video's container tags as FFmpeg reads them, as text fields."""
    for key, value in media.video_info["tags"].items():
        yield TextField(f"container tag {key}", key.split(":", 1)[-1], str(value))


def ffmpeg_reason(exc) -> str:
    """What FFmpeg said about `exc`, without the file name it adds (a path is never shown)."""
    return getattr(exc, "strerror", None) or type(exc).__name__


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
        raise MediaError("the video container could not be opened: "
                         f"{ffmpeg_reason(exc)}") from None
    return {"tags": tags, "streams": streams, "duration": duration}
