"""One file, read once: its bytes, what it really is, and lazily decoded views of it.

Sources never open files themselves. They ask `Media` for the view they need (JPEG segments,
PNG chunks, BMFF boxes, XMP packets, EXIF, pixels); each view is computed on first use and
shared, so the metadata tier costs one read of the bytes and one walk of the container.

A video opened from a path is not read into memory (a 10-minute 1080p clip is hundreds of MB,
and its frames are decoded from the file anyway): its `data` is a `FileBytes`, which reads the
byte ranges that the box walk and the byte searches ask for, and its hash is computed in chunks.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from contextlib import contextmanager
from functools import cached_property
from typing import BinaryIO, Iterator

from labelcheck.core.model import MediaError, PixelsUnavailable
from labelcheck.formats import EXTENSIONS, SNIFF_BYTES, Format, FileType, format_of, identify
from labelcheck.formats.base import Walk

MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024
CHUNK_BYTES = 1 << 20  # how much of a file read from disk is held at once
WINDOW_BYTES = 1 << 16  # what a small slice of a file read from disk reads around it


NOT_REGULAR = ((stat.S_ISDIR, "is a directory"),
               (stat.S_ISFIFO, "not a regular file (a named pipe)"),
               (stat.S_ISSOCK, "not a regular file (a socket)"),
               (stat.S_ISCHR, "not a regular file (a device)"),
               (stat.S_ISBLK, "not a regular file (a device)"))


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """`path` opened for reading when it is a regular file (symbolic links followed); anything
    else is refused with a `MediaError` before it is opened: opening a named pipe waits for a
    writer forever, and a device never ends. Other I/O problems raise `OSError`."""
    _check_regular(os.stat(path).st_mode)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        _check_regular(os.fstat(descriptor).st_mode)  # swapped for something else meanwhile
    except MediaError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def _check_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise MediaError(next((reason for test, reason in NOT_REGULAR if test(mode)),
                              "not a regular file"))


def read_error(exc: OSError) -> MediaError:
    """An I/O problem as a `MediaError` with a reason a person understands (no path)."""
    if isinstance(exc, FileNotFoundError):
        return MediaError("file not found")
    if isinstance(exc, IsADirectoryError):
        return MediaError("is a directory")
    if isinstance(exc, PermissionError):
        return MediaError("permission denied")
    return MediaError(f"could not read the file: {exc.strerror or exc}")


class FileBytes:
    """A file's bytes read on demand, for the operations the walkers and sources use on
    `Media.data`: ``len``, slices, ``find`` and ``in``. At most `CHUNK_BYTES` are held at once
    (plus what a slice asks for), so memory does not grow with the file. A small slice reads
    `WINDOW_BYTES` from its start and keeps them: a box walk asks for dozens of headers a few
    bytes apart, which then cost one read, not one open each.

    The byte strings the scan will search the whole file for are announced with `expect`:
    the first read (for the SHA-256, or the first search) then finds all of them at once, so
    a large video is read once for its hash and every marker instead of once each."""

    def __init__(self, path: str, size: int):
        self.path = path
        self.size = size
        self._found: dict[bytes, int] = {}
        self._window: tuple[int, bytes] = (0, b"")  # (offset, bytes) of the last small read
        self._expected: set[bytes] = set()
        self._digest: str | None = None

    def expect(self, subs) -> None:
        """Byte strings that will be searched for from the start (see the class docstring)."""
        self._expected.update(subs)

    def __len__(self) -> int:
        return self.size

    def open(self) -> BinaryIO:
        """The file, opened for reading; a file gone or unreadable since the scan began is
        a `MediaError` like any other I/O problem."""
        try:
            return open_regular(self.path)
        except OSError as exc:
            raise MediaError(f"could not read the file: {exc.strerror or exc}") from None

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("FileBytes supports contiguous slices only")
        start, stop, _ = key.indices(self.size)
        if stop <= start:
            return b""
        if stop - start > WINDOW_BYTES:
            return self._read(start, stop)
        offset, window = self._window
        if not offset <= start or stop > offset + len(window):
            offset, window = self._window = start, self._read(start, start + WINDOW_BYTES)
        return window[start - offset:stop - offset]

    def _read(self, start: int, stop: int) -> bytes:
        with self.open() as handle:
            handle.seek(start)
            return handle.read(stop - start)

    def chunks(self, start: int = 0, overlap: int = 0) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) of consecutive chunks from `start`; each repeats the last `overlap`
        bytes of the one before, so that a pattern across a boundary is seen whole."""
        with self.open() as handle:
            handle.seek(start)
            tail = b""
            while block := handle.read(CHUNK_BYTES):
                yield start - len(tail), tail + block
                start += len(block)
                tail = block[-overlap:] if overlap else b""

    def find(self, sub: bytes, start: int = 0) -> int:
        """The offset of the first `sub` at or after `start`, or -1 (like `bytes.find`)."""
        if start == 0 and sub in self._expected and self._digest is None:
            self._index()
        if start == 0 and sub in self._found:
            return self._found[sub]
        found = -1
        for offset, chunk in self.chunks(start, overlap=len(sub) - 1):
            index = chunk.find(sub)
            if index >= 0:
                found = offset + index
                break
        if start == 0:
            self._found[sub] = found
        return found

    def find_any(self, subs: tuple[bytes, ...], start: int = 0) -> tuple[int, bytes | None]:
        """The offset of the first of `subs` at or after `start` and which one it is, or
        (-1, None), reading the file once for all of them."""
        if start == 0 and all(sub in self._expected for sub in subs):
            hits = sorted((offset, sub) for sub in subs if (offset := self.find(sub)) >= 0)
            return hits[0] if hits else (-1, None)
        overlap = max(len(sub) for sub in subs) - 1
        for offset, chunk in self.chunks(start, overlap=overlap):
            hits = [(index, sub) for sub in subs if (index := chunk.find(sub)) >= 0]
            if hits:
                index, sub = min(hits)
                return offset + index, sub
        return -1, None

    def __contains__(self, sub: bytes) -> bool:
        return self.find(sub) >= 0

    def sha256(self) -> str:
        if self._digest is None:
            self._index()
        return self._digest

    def _index(self) -> None:
        """One read of the file: its SHA-256 and the first offset of each expected string."""
        digest = hashlib.sha256()
        wanted = self._expected - self._found.keys()
        found = dict.fromkeys(wanted, -1)
        overlap = max((len(sub) for sub in wanted), default=1) - 1
        hashed = 0
        for offset, chunk in self.chunks(overlap=overlap):
            digest.update(chunk[hashed - offset:])  # a chunk repeats the end of the one before
            hashed = offset + len(chunk)
            for sub in [sub for sub in wanted if found[sub] < 0]:
                index = chunk.find(sub)
                if index >= 0:
                    found[sub] = offset + index
        self._found.update(found)
        self._digest = digest.hexdigest()


class Media:
    """One file's bytes and the views of them that sources ask for.

    `data` is the bytes, or for a video opened from a path a `FileBytes` that reads them on
    demand; code that needs a file object or a decoder input asks for `stream()` or `source`.
    """

    def __init__(self, data: bytes | FileBytes, path: str = "<bytes>",
                 max_pixels: int = 120_000_000, file_type: FileType | None = None,
                 sha256: str | None = None):
        self.data = data
        self.path = path
        self.max_pixels = max_pixels
        self.type = file_type or identify(data[:SNIFF_BYTES], path)
        self.pixels_problem: PixelsUnavailable | None = None  # why `image` has no pixels
        self.c2pa_store: dict | None = None  # the manifest store the c2pa source read
        self.c2pa_crjson: dict | None = None  # the same store in crJSON (for evidence packs)
        if sha256:
            self.sha256 = sha256  # hashed already (``--resume``): the bytes are hashed once

    @classmethod
    def open(cls, path: str | os.PathLike, max_pixels: int = 120_000_000,
             name: str | None = None, sha256: str | None = None) -> "Media":
        """Read `path` once (a video: only its first bytes, see `FileBytes`); only a regular
        file is opened (`open_regular`), and I/O problems become `MediaError` with a readable
        reason. `name`, when given, is what the file is called (an upload stored under a
        random name): its extension is checked against the content instead of the stored
        file's. `sha256` is the content hash when the caller computed it already."""
        path = os.fspath(path)
        name = name or path
        try:
            with open_regular(path) as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > MAX_FILE_BYTES:
                    raise MediaError(f"file is {size / 2**30:.1f} GiB, over the 4 GiB limit")
                file_type = identify(handle.read(SNIFF_BYTES), name)
                if file_type.media_kind == "video":
                    return cls(FileBytes(path, size), name, max_pixels, file_type, sha256)
                handle.seek(0)
                data = handle.read()
        except OSError as exc:
            raise read_error(exc) from None
        return cls(data, name, max_pixels, file_type, sha256)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def source(self) -> str | bytes:
        """What a decoder (PyAV) opens: the path of a file read from disk, else the bytes."""
        return self.data.path if isinstance(self.data, FileBytes) else self.data

    def stream(self) -> BinaryIO:
        """A new file object over the bytes (for readers that take a stream: C2PA, FFmpeg)."""
        if isinstance(self.data, FileBytes):
            return self.data.open()
        return io.BytesIO(self.data)

    @property
    def format(self) -> str:
        return self.type.format

    @property
    def media_kind(self) -> str:
        return self.type.media_kind

    @property
    def media_type(self) -> str:
        return self.type.media_type

    def expect(self, subs) -> None:
        """Byte strings the scan will search the whole file for (`FileBytes.expect`), with
        the XMP packet markers every scan looks for."""
        if isinstance(self.data, FileBytes):
            from labelcheck.formats import xmp

            self.data.expect((*subs, *xmp.PMETA.values()))

    @cached_property
    def sha256(self) -> str:
        if isinstance(self.data, FileBytes):
            return self.data.sha256()
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def extension_mismatch(self) -> str | None:
        """The extension's claim when it contradicts the content (a mislabelled file)."""
        ext = os.path.splitext(self.path)[1].lower().lstrip(".")
        claimed = EXTENSIONS.get(ext)
        if claimed and claimed != self.format and not {claimed, self.format} <= {"mp4", "mov"}:
            return claimed
        return None

    # -- container walks -------------------------------------------------------------------

    @property
    def file_format(self) -> Format:
        """The module that knows this file's container format (`labelcheck.formats`)."""
        return format_of(self.format)

    @cached_property
    def structure(self) -> Walk:
        """The container walk for this format (segments, chunks or boxes)."""
        return self.file_format.walk(self.data)

    @property
    def damage(self) -> str | None:
        """Why the container is broken (truncated, corrupt), or None."""
        return self.structure.damage

    @property
    def jpeg_segments(self) -> list:
        return self.structure.items if self.format == "jpeg" else []

    @property
    def png_chunks(self) -> list:
        return self.structure.items if self.format == "png" else []

    @property
    def riff_chunks(self) -> list:
        return self.structure.items if self.format in ("webp", "avi") else []

    @property
    def boxes(self) -> list:
        return self.structure.items if self.format in ("mp4", "mov", "heif", "avif") else []

    @cached_property
    def text_fields(self) -> list:
        """Text the container keeps under keys (`labelcheck.formats.base.TextField`)."""
        return list(self.file_format.text_fields(self))

    @cached_property
    def xmp(self) -> list:
        """Every XMP packet in the file, parsed safely (see `labelcheck.formats.xmp`)."""
        from labelcheck.formats import xmp

        packets = list(self.file_format.xmp_packets(self)) or list(xmp.scan_packets(self.data))
        return [xmp.parse(packet) for packet in packets]

    @cached_property
    def exif(self):
        """The EXIF block as a Pillow `Image.Exif`, or None; read without decoding pixels."""
        return self.file_format.exif(self)

    @cached_property
    def video_info(self) -> dict:
        """Container tags and stream facts of a video, without decoding frames: MP4/MOV from
        the box walk already made, other containers through FFmpeg (PyAV).

        Raises `MediaError` when the container cannot be opened or has no video stream.
        """
        info = self.file_format.video_info(self)
        if not any(s["type"] == "video" for s in info["streams"]):
            raise MediaError("the file has no video stream")
        return info

    # -- pixels ------------------------------------------------------------------------------

    @cached_property
    def image(self):
        """The decoded Pillow image. Raises `PixelsUnavailable` (remembered in
        `pixels_problem`, so every pixel source meets the same failure without decoding
        again) when the pixels cannot be had: refused as a decompression bomb, rejected by the
        decoder, or of a format whose pixels labelcheck does not decode."""
        if self.media_kind != "image":
            raise MediaError(f"{self.format} is not a still image")
        if self.pixels_problem is not None:
            raise self.pixels_problem
        try:
            return self._decode()
        except PixelsUnavailable as exc:
            self.pixels_problem = exc
            raise

    def _decode(self):
        from PIL import Image

        reason = self.file_format.pixels_not_decoded
        if reason:
            raise PixelsUnavailable(reason, by_design=True)
        self.file_format.register_decoder()
        try:
            with _pillow_pixel_limit(None):  # the header's claim is checked here, by name
                image = Image.open(io.BytesIO(self.data))
            self._refuse_bomb(*image.size)
            with _pillow_pixel_limit(self.max_pixels // 2):  # Pillow refuses past twice it
                image.load()
        except PixelsUnavailable:
            raise
        except Image.DecompressionBombError:
            raise PixelsUnavailable(self._bomb_reason("")) from None
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad data
            raise PixelsUnavailable(decode_reason(exc)) from None
        return image

    def _refuse_bomb(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise PixelsUnavailable(self._bomb_reason(
                f" claims {width}x{height} pixels ({width * height / 1e6:.0f} MP),"))

    def _bomb_reason(self, claim: str) -> str:
        return (f"image{claim or ' claims pixels'} over the {self.max_pixels / 1e6:.0f} MP "
                "limit: refused as a possible decompression bomb")

    @cached_property
    def rgb(self):
        """Pixels as an H x W x 3 uint8 NumPy array (first frame)."""
        import numpy as np

        return np.asarray(self.image.convert("RGB"))

    @cached_property
    def alpha(self):
        """The alpha channel as an H x W uint8 array, or None when the image has none."""
        import numpy as np

        image = self.image
        if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
            return None
        return np.asarray(image.convert("RGBA"))[:, :, 3]


# What a decoder's exception means, in words that stay the same from one library version and
# one file to the next (Pillow's own messages carry object addresses, byte counts and internal
# names). The first pattern found in the exception's type name and message wins.
DECODE_REASONS = (
    (("MemoryError",), "the image is too large to decode in the memory available"),
    (("UnidentifiedImageError",),
     "the image header is damaged or describes a variant the decoder does not support"),
    (("MAX_TEXT_CHUNK",), "a compressed text chunk expands past the safety limit: refused as "
                          "a possible decompression bomb"),
    (("truncated", "Truncated", "EOFError", "not enough", "Expected to read", "end of file",
      "Unexpected end"), "the image data is truncated: the file ends before the picture does"),
)
CORRUPT_REASON = "the image data is corrupt or in a variant the decoder does not support"


def decode_reason(exc: BaseException) -> str:
    """The stable, plain reason for a decoder's exception (see `DECODE_REASONS`)."""
    text = f"{type(exc).__name__}: {exc}"
    for patterns, reason in DECODE_REASONS:
        if any(pattern in text for pattern in patterns):
            return reason
    return CORRUPT_REASON


@contextmanager
def _pillow_pixel_limit(limit: int | None):
    """Pillow's own bomb check set to `limit` (None: off) for one step of one image. labelcheck
    checks the size an image's header claims itself, to name it; Pillow's check then catches
    sizes that appear only while decoding (an ICNS or ICO entry larger than the header said)."""
    from PIL import Image

    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous
