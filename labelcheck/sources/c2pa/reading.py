"""Reading and validating a manifest store with c2pa-python, under a trust setting.

One Reader per file gives two views of the same validated store: the Reader's JSON (manifests
by label, validation results, decoded identity assertions), which the findings and the display
tree read, and crJSON (manifests as a list, active first, assertions by label, ``claim.v2``
with its created and gathered assertions), which is what the C2PA Asset Rubrics' expressions
are written against.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, BinaryIO, Iterable

from labelcheck.sources.c2pa.trust import TrustSetup, trust_setup

if TYPE_CHECKING:  # c2pa-python is loaded by the first file that carries a manifest
    import c2pa


@dataclass
class StoreViews:
    """One store, as the Reader's JSON (`store`) and as crJSON (`crjson`)."""

    store: dict
    crjson: dict


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
               fragments: Iterable[tuple[BinaryIO, BinaryIO]] = ()) -> StoreViews:
    """The manifest store of the file in `stream`, validated under the trust setting; raises
    `c2pa.C2paError`. A fragmented MP4's `stream` is its initialisation segment and
    `fragments` gives (initialisation segment, media segment) for each segment it hashes.
    The Reader holds native memory and is closed as soon as both views are read; it borrows
    the streams, which the caller closes."""
    import c2pa

    with c2pa.Reader(media_type, stream, context=_context(mode, anchors)) as reader:
        for init, fragment in fragments:
            reader.with_fragment(media_type, init, fragment)
        return StoreViews(json.loads(reader.json()), json.loads(reader.crjson()))


def read_media_store(media, mode: str, anchors: str | None) -> StoreViews:
    """The manifest store of `media`. A fragmented MP4 given as one file keeps its manifest in
    the initialisation segment, which hashes that segment and each media segment apart: the
    reader gets the initialisation segment, then each media segment as a fragment (read
    whole, the file would fail its own hash); one segment is held at a time."""
    fragments = media.file_format.fragments(media)
    if fragments is None:
        with media.stream() as stream:
            return read_store(stream, media.media_type, mode, anchors)
    init = media.data[:fragments.init_end]
    segments = ((io.BytesIO(init), io.BytesIO(media.data[start:stop]))
                for start, stop in fragments.segments)
    return read_store(io.BytesIO(init), media.media_type, mode, anchors, segments)


def is_remote_only(exc: c2pa.C2paError) -> bool:
    """Whether the reader stopped at a manifest kept at a URL (not fetched: labelcheck works
    offline). c2pa-python 0.38.1 raises the base `C2paError` for it, with a message that
    starts ``Remote:`` (the native library's prefix for this case), not its
    `C2paError.RemoteManifest`: the prefix is the only way to tell. The typed error is
    accepted too, for releases that raise it."""
    import c2pa

    return isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith("Remote:")
