"""What a batch is given: file paths, folders and fsspec URLs, turned into files to scan.

A name from outside (a path, a URL) is opened only here, by the command that was given it;
reports carry it as a display string.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Iterator

from labelcheck.core.model import Report
from labelcheck.core.policy import Policy
from labelcheck.core.scanner import failed_report, scan
from labelcheck.core.settings import Settings
from labelcheck.formats import EXTENSIONS


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
    """A binary file object for a path or an fsspec URL (s3://, gs://, http://, memory://...)."""
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open(path, "rb")


def content_sha256(path: str) -> str | None:
    """SHA-256 of a file's bytes (path or fsspec URL), read in blocks; None when unreadable
    (the scan then says why) or not a regular file (a FIFO would block the reader forever)."""
    digest = hashlib.sha256()
    try:
        if not is_url(path) and not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open_target(path) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, ValueError, ImportError):
        return None
    return digest.hexdigest()


def file_size(path: str) -> int | None:
    try:
        return None if is_url(path) else os.path.getsize(path)
    except OSError:
        return None


def scan_target(path: str, policy: Policy, settings: Settings) -> Report:
    """`scan` a local path, or the bytes behind an fsspec URL (reported under the URL)."""
    if not is_url(path):
        return _hashed(scan(path, policy, settings=settings), lambda: content_sha256(path))
    try:
        with open_target(path) as handle:
            data = handle.read()
    except (OSError, ValueError, ImportError) as exc:
        return failed_report(path, policy, f"could not read {path}: {exc}")
    return _hashed(scan(data, policy, settings=settings, name=path),
                   lambda: hashlib.sha256(data).hexdigest())


def _hashed(report: Report, digest) -> Report:
    """`report` with the content hash of its file even when the scan could not read the file
    as media (no known format, empty): results are stored and resumed by content, so a file
    that is no media format gets one row like any other. The bytes are read again only in
    that case; a file that cannot be read at all keeps no hash."""
    if report.sha256 is None:
        report.sha256 = digest()
    return report
