"""What a batch is given: file paths, folders and fsspec URLs, turned into files to scan.

A name from outside (a path, a URL) is opened only here, by the command that was given it, and
only when it is a regular file (`labelcheck.formats.media.open_regular`: a named pipe or a
device in a scanned folder gets an `error` report at once instead of hanging the batch);
reports carry it as a display string (`labelcheck.core.names.display_name`).
"""

from __future__ import annotations

import hashlib
import os
from typing import Iterator

from labelcheck.core.model import MediaError, Report
from labelcheck.core.names import display_name
from labelcheck.core.policy import Policy
from labelcheck.core.scanner import failed_report, scan
from labelcheck.core.settings import Settings
from labelcheck.formats import EXTENSIONS
from labelcheck.formats.media import open_regular


def iter_files(paths: list[str], missing: list[str]) -> Iterator[str]:
    """Files named directly, then media files found under directories (sorted, no symlink
    loops); fsspec URLs likewise; paths that don't exist go to `missing`."""
    for path in paths:
        if is_url(path):
            yield from _iter_url(path, missing)
        elif os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if _is_media_name(name):
                        yield os.path.join(folder, name)
        elif os.path.exists(path):
            yield path
        else:
            missing.append(path)


def _is_media_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower().lstrip(".") in EXTENSIONS


def _iter_url(url: str, missing: list[str]) -> Iterator[str]:
    """An fsspec URL: the file itself, or the media files under a "directory" of it."""
    import fsspec

    try:
        filesystem, root = fsspec.core.url_to_fs(url)
        if not filesystem.isdir(root):
            if filesystem.exists(root):
                yield url
            else:
                missing.append(url)
            return
        for name in sorted(filesystem.find(root)):
            if _is_media_name(name):
                yield filesystem.unstrip_protocol(name)
    except (OSError, ValueError, ImportError):
        missing.append(url)


def is_url(path: str) -> bool:
    return "://" in path


def open_target(path: str):
    """A binary file object for a path (a regular file only) or an fsspec URL (s3://, gs://,
    http://, memory://...)."""
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open_regular(path)


def content_sha256(path: str) -> str | None:
    """SHA-256 of a file's bytes (path or fsspec URL), read in blocks; None when unreadable
    or not a regular file (the scan then says why)."""
    try:
        with open_target(path) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except (OSError, ValueError, ImportError, MediaError):
        return None


def file_size(path: str) -> int | None:
    try:
        return None if is_url(path) else os.path.getsize(path)
    except OSError:
        return None


def scan_target(path: str, policy: Policy, settings: Settings, *, name: str | None = None,
                sha256: str | None = None) -> Report:
    """`scan` a local path, or the bytes behind an fsspec URL, reported under `name` (a
    display string; default: the path's or URL's display form). `sha256` is the content hash
    when it is known already (``--resume``)."""
    name = name or display_name(path)
    if not is_url(path):
        return scan(path, policy, settings=settings, name=name, sha256=sha256)
    try:
        with open_target(path) as handle:
            data = handle.read()
    except (OSError, ValueError, ImportError) as exc:
        return failed_report(name, policy, f"could not read the URL: {exc}")
    return scan(data, policy, settings=settings, name=name, sha256=sha256)
