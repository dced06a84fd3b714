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
from functools import cached_property
from typing import BinaryIO, Iterator

from labelcheck.core.model import MediaError
from labelcheck.formats import EXTENSIONS, SNIFF_BYTES, Format, FileType, format_of, identify
from labelcheck.formats.base import Walk

MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024
CHUNK_BYTES = 1 << 20  # how much of a file read from disk is held at once


def _own_pixel_limit() -> None:
    """Replace Pillow's global bomb limit with `Media.max_pixels`, checked before decoding,
    so the refusal can name the claimed size and the limit is set per scan."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None


_own_pixel_limit()


class FileBytes:
    """A file's bytes read on demand, for the operations the walkers and sources use on
    `Media.data`: ``len``, slices, ``find`` and ``in``. At most `CHUNK_BYTES` are held at once
    (plus what a slice asks for), so memory does not grow with the file."""

    def __init__(self, path: str, size: int):
        self.path = path
        self.size = size
        self._found: dict[bytes, int] = {}

    def __len__(self) -> int:
        return self.size

    def open(self) -> BinaryIO:
        """The file, opened for reading; a file gone or unreadable since the scan began is
        a `MediaError` like any other I/O problem."""
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise MediaError(f"could not read the file: {exc.strerror or exc}") from None

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("FileBytes supports contiguous slices only")
        start, stop, _ = key.indices(self.size)
        if stop <= start:
            return b""
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

    def __contains__(self, sub: bytes) -> bool:
        return self.find(sub) >= 0

    def sha256(self) -> str:
        with self.open() as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()


class Media:
    """One file's bytes and the views of them that sources ask for.

    `data` is the bytes, or for a video opened from a path a `FileBytes` that reads them on
    demand; code that needs a file object or a decoder input asks for `stream()` or `source`.
    """

    def __init__(self, data: bytes | FileBytes, path: str = "<bytes>",
                 max_pixels: int = 120_000_000, file_type: FileType | None = None):
        self.data = data
        self.path = path
        self.max_pixels = max_pixels
        self.type = file_type or identify(data[:SNIFF_BYTES], path)

    @classmethod
    def open(cls, path: str | os.PathLike, max_pixels: int = 120_000_000,
             name: str | None = None) -> "Media":
        """Read `path` once (a video: only its first bytes, see `FileBytes`); I/O problems
        become `MediaError` with a readable reason. `name`, when given, is what the file is
        called (an upload stored under a random name): its extension is checked against the
        content instead of the stored file's."""
        path = os.fspath(path)
        name = name or path
        try:
            size = os.path.getsize(path)
            if size > MAX_FILE_BYTES:
                raise MediaError(f"file is {size / 2**30:.1f} GiB, over the 4 GiB limit")
            with open(path, "rb") as handle:
                file_type = identify(handle.read(SNIFF_BYTES), name)
                if file_type.media_kind == "video":
                    return cls(FileBytes(path, size), name, max_pixels, file_type)
                handle.seek(0)
                data = handle.read()
        except FileNotFoundError:
            raise MediaError("file not found") from None
        except IsADirectoryError:
            raise MediaError("is a directory") from None
        except PermissionError:
            raise MediaError("permission denied") from None
        except OSError as exc:
            raise MediaError(f"could not read the file: {exc.strerror or exc}") from None
        return cls(data, name, max_pixels, file_type)

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
        blob = self.file_format.exif_blob(self)
        if not blob:
            return None
        from PIL import Image

        exif = Image.Exif()
        try:
            exif.load(blob)
        except Exception:  # noqa: BLE001 - a broken EXIF block is just absent evidence
            return None
        return exif

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
        """The decoded Pillow image, refused when it would be a decompression bomb."""
        from PIL import Image

        if self.media_kind != "image":
            raise MediaError(f"{self.format} is not a still image")
        self._register_heif()
        try:
            image = Image.open(io.BytesIO(self.data))
            width, height = image.size
            if width * height > self.max_pixels:
                raise MediaError(
                    f"image claims {width}x{height} pixels ({width * height / 1e6:.0f} MP), "
                    f"over the {self.max_pixels / 1e6:.0f} MP limit: refused as a possible "
                    "decompression bomb")
            image.load()
        except MediaError:
            raise
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad data
            raise MediaError(f"the image data could not be decoded: {exc}") from None
        return image

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

    @staticmethod
    def _register_heif():
        try:
            import pillow_heif
        except ImportError:
            return
        pillow_heif.register_heif_opener()
