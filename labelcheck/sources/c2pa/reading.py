"""Reading and validating a manifest store with c2pa-python, under a trust setting.

One Reader per file gives the Reader's JSON (manifests by label, validation results, decoded
identity assertions), which the findings and the display tree read. Beside it the manifests are
read as stored, in crJSON's shape (a list, active first, assertions by their own labels, the
claim with its created and gathered assertions), which is what the C2PA Asset Rubrics'
expressions are written against: walked from the store's boxes (`jumbf.manifests`) when they
agree with the JSON, else taken from the Reader's crJSON, which costs more than the rest of the
read (see `jumbf`). crJSON itself is asked for only when a scan shows the store as read (an
evidence pack).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, BinaryIO, Iterable

from labelcheck.sources.c2pa import jumbf
from labelcheck.sources.c2pa.trust import TrustSetup, trust_setup

if TYPE_CHECKING:  # c2pa-python is loaded by the first file that carries a manifest
    import c2pa


@dataclass
class StoreViews:
    """One store: the Reader's JSON (`store`), its manifests as stored (`manifests`, crJSON's
    shape), the store's bytes as embedded (`stored`, where the signers' chains are read) and,
    when asked for, the Reader's crJSON."""

    store: dict
    manifests: list[dict]
    stored: bytes | None = None
    crjson: dict | None = None


@cache
def _context(mode: str, anchors: str | None) -> c2pa.Context:
    """A reader context for a trust setting, built once per process and setting (building it
    parses the anchors) and kept open for every read."""
    import c2pa

    return c2pa.Context.from_dict(reader_settings(trust_setup(mode, anchors)))


def reader_settings(setup: TrustSetup) -> dict:
    """c2pa-rs settings: the trust lists and allowed EKUs of `setup`; nothing is fetched
    (remote manifests and OCSP answers stay offline)."""
    return {"version": 1, **setup.reader_settings()}


def read_store(stream: BinaryIO, media_type: str, mode: str = "official",
               anchors: str | None = None,
               fragments: Iterable[tuple[BinaryIO, BinaryIO]] = (), *,
               stored: bytes | None = None, crjson: bool = False) -> StoreViews:
    """The manifest store of the file in `stream`, validated under the trust setting; raises
    `c2pa.C2paError`. A fragmented MP4's `stream` is its initialisation segment and
    `fragments` gives (initialisation segment, media segment) for each segment it hashes.
    `stored` is the store's bytes as embedded (the container's `c2pa_jumbf`), walked for the
    manifests; `crjson` asks for the Reader's crJSON too, and its manifests are then used
    instead of walking. The Reader holds native memory and
    is closed as soon as the views are read; it borrows the streams, which the caller
    closes."""
    import c2pa

    with c2pa.Reader(media_type, stream, context=_context(mode, anchors)) as reader:
        for init, fragment in fragments:
            reader.with_fragment(media_type, init, fragment)
        store = json.loads(reader.json())
        full = json.loads(reader.crjson()) if crjson else None
        manifests = None if full else _walked(store, stored)
        if manifests is None:
            full = full or json.loads(reader.crjson())
            manifests = [manifest for manifest in full.get("manifests") or []
                         if isinstance(manifest, dict) and manifest.get("label")]
        return StoreViews(store, manifests, stored, full)


def _walked(store: dict, stored: bytes | None) -> list[dict] | None:
    """The manifests walked from `stored`, if they are the store the Reader validated."""
    if not stored:
        return None
    try:
        manifests = jumbf.manifests(stored)
    except jumbf.StoreError:
        return None
    return manifests if jumbf.agrees(store, manifests) else None


def read_media_store(media, mode: str, anchors: str | None,
                     crjson: bool = False) -> StoreViews:
    """The manifest store of `media` (see `read_store`). A fragmented MP4 given as one file
    keeps its manifest in the initialisation segment, which hashes that segment and each
    media segment apart: the reader gets the initialisation segment, then each media segment
    as a fragment (read whole, the file would fail its own hash); one segment is held at a
    time."""
    stored = media.file_format.c2pa_jumbf(media)
    fragments = media.file_format.fragments(media)
    if fragments is None:
        with media.stream() as stream:
            return read_store(stream, media.media_type, mode, anchors, stored=stored,
                              crjson=crjson)
    init = media.data[:fragments.init_end]
    segments = ((io.BytesIO(init), io.BytesIO(media.data[start:stop]))
                for start, stop in fragments.segments)
    return read_store(io.BytesIO(init), media.media_type, mode, anchors, segments,
                      stored=stored, crjson=crjson)


def is_remote_only(exc: c2pa.C2paError) -> bool:
    """Whether the reader stopped at a manifest kept at a URL (not fetched: labelcheck works
    offline). c2pa-python 0.38.1 raises the base `C2paError` for it, with a message that
    starts ``Remote:`` (the native library's prefix for this case), not its
    `C2paError.RemoteManifest`: the prefix is the only way to tell. The typed error is
    accepted too, for releases that raise it."""
    import c2pa

    return isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith("Remote:")
