"""Uploaded files onto disk, safely: content sniffing, random names, guarded zip extraction.

Uploads are stored under random names in the upload folder (outside the web root; nothing
there is ever served by a path a user gave). A file is accepted when its bytes are an image,
video or PDF that labelcheck reads, whatever its name says; the scanner then reports a name
that lies about the content. A campaign zip is checked from its central directory (entry
count, total size, compression ratio, names, symlinks, encryption) and the same limits are
enforced again while extracting, since header sizes can lie.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from labelcheck.formats import SNIFF_BYTES, identify
from labelcheck.core.model import MediaError

CHUNK = 1 << 16
RATIO_FLOOR = 1 << 20  # entries smaller than this may compress as well as they like
DRIVE = re.compile(r"^[A-Za-z]:")
JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")
MEDIA_HINT = ("Choose the picture or video file itself (JPEG, PNG, WebP, HEIC, AVIF, TIFF, GIF, "
              "MP4, MOV, WebM), not a page, a document or an archive.")


class Refusal(Exception):
    """A request refused (an upload, a token, an id), with an HTTP status, a message for a
    person and, where there is one, a `hint`: what to do about it. The app turns it into a
    page or a JSON error."""

    def __init__(self, message: str, status: int = 400, hint: str = ""):
        super().__init__(message)
        self.status = status
        self.hint = hint


@dataclass(frozen=True)
class ZipLimits:
    entries: int = 1000
    total_bytes: int = 2 << 30
    ratio: int = 100


def new_name() -> str:
    return secrets.token_hex(16)


def save_media(stream: BinaryIO, name: str, folder: str) -> str:
    """Store one uploaded file under a random name; returns that name. Refuses (415) bytes
    that are not media labelcheck reads."""
    head = stream.read(SNIFF_BYTES)
    try:
        identify(head, name)
    except MediaError as exc:
        raise Refusal(f"{name or 'the file'}: not an image, video or PDF that labelcheck "
                      f"reads ({exc})", 415, MEDIA_HINT) from None
    stored = new_name()
    target = os.path.join(folder, stored)
    try:
        with open(target, "xb") as out:
            out.write(head)
            shutil.copyfileobj(stream, out, CHUNK)
    except OSError as exc:
        remove(folder, [stored])
        raise cannot_store(exc) from None
    return stored


def cannot_store(exc: OSError) -> Refusal:
    """The server could not keep an upload (a full disk): said without the server's path."""
    return Refusal(f"the server could not store the upload ({exc.strerror or 'I/O error'}); "
                   "try again later", 507)


def remove(folder: str, names: list[str]) -> None:
    for name in names:
        try:
            os.remove(os.path.join(folder, name))
        except FileNotFoundError:
            pass


def extract_zip(stream: BinaryIO, folder: str, limits: ZipLimits) -> list[tuple[str, str]]:
    """Extract a campaign zip's files under random names; returns (name in the zip, stored
    name) pairs. Any hostile sign refuses the whole zip and leaves nothing behind."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError):
        raise Refusal("not a readable zip file") from None
    with archive:
        members = _checked_members(archive, limits)
        extracted: list[tuple[str, str]] = []
        try:
            budget = limits.total_bytes
            for info in members:
                stored = new_name()
                extracted.append((info.filename, stored))
                budget -= _extract_one(archive, info, os.path.join(folder, stored), budget,
                                       limits.ratio)
        except Refusal:
            remove(folder, [stored for _, stored in extracted])
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError,
                NotImplementedError) as exc:  # bad CRC, broken deflate, unknown method
            remove(folder, [stored for _, stored in extracted])
            raise Refusal(f"the zip file is damaged: {exc}") from None
        except OSError as exc:  # writing the extracted file: its message names our path
            remove(folder, [stored for _, stored in extracted])
            raise cannot_store(exc) from None
    if not extracted:
        raise Refusal("the zip file holds no files")
    return extracted


def _checked_members(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The files to extract, after checking what the central directory declares."""
    members = [info for info in archive.infolist()
               if not info.is_dir() and not any(part in info.filename for part in JUNK)]
    if len(members) > limits.entries:
        raise Refusal(f"the zip holds {len(members)} files, over the limit of "
                          f"{limits.entries}", 413)
    declared = 0
    for info in members:
        _check_name(info)
        declared += info.file_size
        if _too_compressed(info.file_size, info.compress_size, limits.ratio):
            ratio = info.file_size // max(1, info.compress_size)
            raise Refusal(f"{info.filename!r} expands {ratio} times, over the limit of "
                          f"{limits.ratio}: refused as a possible zip bomb", 413)
    if declared > limits.total_bytes:
        raise Refusal(f"the zip expands to {declared / 2**20:.0f} MiB, over the limit of "
                          f"{limits.total_bytes / 2**20:.0f} MiB: refused as a possible zip "
                          "bomb", 413)
    return members


def _check_name(info: zipfile.ZipInfo) -> None:
    """No absolute paths, drive letters, parent references, NULs, symlinks or encryption."""
    name = info.filename.replace("\\", "/")
    if (name.startswith("/") or DRIVE.match(name) or "\0" in name
            or ".." in name.split("/")):
        raise Refusal(f"{info.filename!r}: a path that leaves the archive (absolute, drive "
                          "letter or '..'): zip refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise Refusal(f"{info.filename!r} is a symbolic link: zip refused")
    if info.flag_bits & 0x1:
        raise Refusal(f"{info.filename!r} is encrypted: zip refused")


def _too_compressed(size: int, compressed: int, ratio: int) -> bool:
    return size > RATIO_FLOOR and size > ratio * max(1, compressed)


def _extract_one(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, budget: int,
                 ratio: int) -> int:
    """Copy one entry, counting the bytes that really come out; returns how many."""
    written = 0
    with archive.open(info) as source, open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise Refusal(f"{info.filename!r} expands past the size its header declares "
                              "or the zip's total limit: refused as a zip bomb", 413)
            if _too_compressed(written, info.compress_size, ratio):
                raise Refusal(f"{info.filename!r} expands over {ratio} times: refused as a "
                              "zip bomb", 413)
            out.write(chunk)
    return written
