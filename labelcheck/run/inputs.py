"""What a batch is given: file paths, folders and fsspec URLs, turned into files to scan.

A name from outside (a path, a URL) is opened only here, by the command that was given it, and
only when it is a regular file (`labelcheck.formats.media.open_regular`: a named pipe or a
device in a scanned folder gets an `error` report at once instead of hanging the batch);
reports carry it as a display string (`labelcheck.core.names.display_name`).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Iterator
from urllib.parse import urlsplit

from labelcheck.core.model import MediaError, Report
from labelcheck.core.network import SCHEMES
from labelcheck.core.names import display_name
from labelcheck.core.policy import Policy
from labelcheck.core.scanner import failed_report, scan
from labelcheck.core.settings import Settings
from labelcheck.formats import EXTENSIONS, SNIFF_BYTES, identify
from labelcheck.formats.media import open_regular

DOWNLOAD_TIMEOUT_S = 600.0  # a download's limit when scans have no time limit


def iter_files(paths: list[str], missing: list[str],
               skipped: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """Files named directly, then the media files found under directories (sorted, no symlink
    loops); fsspec URLs likewise (an http(s) URL is one file); paths that don't exist go to
    `missing`.

    Under a directory a file is media when its extension is one labelcheck reads or, whatever
    its name (hash-named uploads have none), when its first bytes are (`identify`); the rest
    go to `skipped` as (path, reason), so that the caller can say what was not scanned."""
    skipped = [] if skipped is None else skipped
    for path in paths:
        if is_web_url(path):  # one file; its scan downloads it (or says why)
            yield path
        elif is_url(path):
            yield from _iter_url(path, missing, skipped)
        elif os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    found = os.path.join(folder, name)
                    if _is_media(found, lambda: _local_head(found), skipped):
                        yield found
        elif os.path.exists(path):
            yield path
        else:
            missing.append(path)


def _is_media(path: str, read_head, skipped: list[tuple[str, str]]) -> bool:
    """Whether a file found under a directory is to be scanned: a media extension, or media
    content (`read_head` gives its first bytes); otherwise it is added to `skipped`."""
    if os.path.splitext(path)[1].lower().lstrip(".") in EXTENSIONS:
        return True
    try:
        identify(read_head(), path)
    except MediaError as exc:
        skipped.append((path, f"{exc}"))
        return False
    except (OSError, ValueError, ImportError) as exc:
        skipped.append((path, f"could not be read ({getattr(exc, 'strerror', None) or exc})"))
        return False
    return True


def _local_head(path: str) -> bytes:
    """The first bytes of a regular file (a FIFO or device found in a folder would block or
    never end: it is not opened, `open_regular`)."""
    with open_regular(path) as handle:
        return handle.read(SNIFF_BYTES)


def _iter_url(url: str, missing: list[str], skipped: list[tuple[str, str]]) -> Iterator[str]:
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
            found = filesystem.unstrip_protocol(name)
            if _is_media(found, lambda: _url_head(filesystem, name), skipped):
                yield found
    except FileNotFoundError:
        missing.append(url)
    except (OSError, ValueError, ImportError) as exc:
        skipped.append((url, url_problem(url, exc)))


FSSPEC_DRIVERS = {"s3": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
                  "sftp": "paramiko", "hf": "huggingface_hub"}


def url_problem(url: str, exc: Exception) -> str:
    """Why a URL cannot be read, and what to do: a missing fsspec driver names the package
    to install (a URL without its driver used to read as "no such file")."""
    scheme = url.split("://", 1)[0].lower()
    if isinstance(exc, ImportError):
        package = FSSPEC_DRIVERS.get(scheme)
        hint = f": pip install {package}" if package else ""
        return f"cannot read {scheme}:// URLs without their fsspec driver ({exc}){hint}"
    if isinstance(exc, ValueError):
        return f"not a URL labelcheck can read ({exc})"
    return f"could not be read ({getattr(exc, 'strerror', None) or exc})"


def _url_head(filesystem, name: str) -> bytes:
    with filesystem.open(name, "rb") as handle:
        return handle.read(SNIFF_BYTES)


def is_url(path: str) -> bool:
    return "://" in path


def is_web_url(path: str) -> bool:
    """An http(s) URL: fetched by `labelcheck.run.fetch` (the network rules), not fsspec."""
    return urlsplit(path).scheme in SCHEMES


def open_target(path: str):
    """A binary file object for a path (a regular file only) or an fsspec URL (s3://, gs://,
    http://, memory://...)."""
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb").open()
    return open_regular(path)


def content_sha256(path: str) -> str | None:
    """SHA-256 of a file's bytes (path or fsspec URL), read in blocks; None when unreadable
    or not a regular file (the scan then says why; a FIFO is never opened), and for an http(s)
    URL: only its scan downloads it, within the network rules."""
    if is_web_url(path):
        return None
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
                sha256: str | None = None, found_on: str | None = None) -> Report:
    """`scan` a local path, an http(s) URL (downloaded to a temporary file within the network
    rules and the download limit, `labelcheck.run.fetch`) or the bytes behind another fsspec
    URL, reported under `name` (a display string; default: the path's or URL's display form).
    `sha256` is the content hash when it is known already (``--resume``); `found_on` the page
    a crawl found the file on."""
    name = name or display_name(path)
    if is_web_url(path):
        report = _scan_download(path, policy, settings, name)
    elif not is_url(path):
        report = _hashed(scan(path, policy, settings=settings, name=name, sha256=sha256),
                         lambda: content_sha256(path))
    else:
        report = _scan_fsspec(path, policy, settings, name, sha256)
    report.found_on = found_on
    return report


def _scan_download(url: str, policy: Policy, settings: Settings, name: str) -> Report:
    """Download `url` to a temporary file (a video is then read from disk, never held) and
    scan it; a download that fails is an `error` report saying why. The HTTP client is
    imported here: a scan of local files does not pay for it at start-up."""
    from labelcheck.run.fetch import FetchError, download

    limits = settings.limits
    with tempfile.NamedTemporaryFile(prefix="labelcheck-", suffix=".download") as out:
        try:
            download(url, out, settings.network, limits.download_mb * 2**20,
                     limits.timeout_s or DOWNLOAD_TIMEOUT_S)
            out.flush()
        except FetchError as exc:
            return failed_report(name, policy, f"could not download it: {exc}")
        return _hashed(scan(out.name, policy, settings=settings, name=name),
                       lambda: content_sha256(out.name))


def _scan_fsspec(path: str, policy: Policy, settings: Settings, name: str,
                 sha256: str | None) -> Report:
    try:
        with open_target(path) as handle:
            data = handle.read()
    except (OSError, ValueError, ImportError) as exc:
        return failed_report(name, policy, f"could not read the URL: {exc}")
    return _hashed(scan(data, policy, settings=settings, name=name, sha256=sha256),
                   lambda: hashlib.sha256(data).hexdigest())


def _hashed(report: Report, digest) -> Report:
    """`report` with the content hash of its file even when the scan could not read the file
    as media (no known format, empty): results are stored and resumed by content, so a file
    that is no media format gets one row like any other. The bytes are read again only in
    that case; a file that cannot be read at all keeps no hash."""
    if report.sha256 is None:
        report.sha256 = digest()
    return report
