"""Reading and validating a manifest store with c2pa-python, under a trust setting.

One Reader per file gives two views of the same validated store: the Reader's JSON (manifests
by label, validation results, decoded identity assertions), which the findings and the display
tree read, and crJSON (manifests as a list, active first, assertions by label, ``claim.v2``
with its created and gathered assertions), which is what the C2PA Asset Rubrics' expressions
are written against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import BinaryIO

import c2pa

from labelcheck.sources.c2pa.trust import TrustSetup, trust_setup


@dataclass
class StoreViews:
    """One store, as the Reader's JSON (`store`) and as crJSON (`crjson`)."""

    store: dict
    crjson: dict


@cache
def _context(mode: str, anchors: str | None) -> c2pa.Context:
    """A reader context for a trust setting, built once per process and setting (building it
    parses the anchors) and kept open for every read."""
    return c2pa.Context.from_dict(reader_settings(trust_setup(mode, anchors)))


def reader_settings(setup: TrustSetup) -> dict:
    """c2pa-rs settings: the trust lists and allowed EKUs of `setup`; nothing is fetched
    (remote manifests and OCSP answers stay offline)."""
    return {"version": 1, **setup.reader_settings()}


def read_store(stream: BinaryIO, media_type: str, mode: str = "official",
               anchors: str | None = None) -> StoreViews:
    """The manifest store of the file in `stream`, validated under the trust setting; raises
    `c2pa.C2paError`. The Reader holds native memory and is closed as soon as both views are
    read; it borrows `stream`, which the caller closes."""
    with c2pa.Reader(media_type, stream, context=_context(mode, anchors)) as reader:
        return StoreViews(json.loads(reader.json()), json.loads(reader.crjson()))


def is_remote_only(exc: c2pa.C2paError) -> bool:
    """Whether the reader stopped at a manifest kept at a URL (not fetched: labelcheck works
    offline). c2pa-python 0.38.1 raises the base `C2paError` for it, with a message that
    starts ``Remote:`` (the native library's prefix for this case), not its
    `C2paError.RemoteManifest`: the prefix is the only way to tell. The typed error is
    accepted too, for releases that raise it."""
    return isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith("Remote:")
