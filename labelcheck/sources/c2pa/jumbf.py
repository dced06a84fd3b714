"""The manifest store's own boxes: each manifest's claim, assertions and signature as stored.

c2pa-rs validates the store and its Reader's JSON says what it found; two things labelcheck reads
are not in that JSON. The assertions under their own labels (the JSON shows a v1
``c2pa.actions`` as ``c2pa.actions.v2`` and leaves ingredient and hash assertions out) and the
claim (its generator, its gathered assertions) are what the declarations and the Asset Rubrics
signals read; each manifest's ``c2pa.signature`` (a COSE_Sign1) is where `chain` finds the
signer's certificates. c2pa-python's crJSON carries the first two, but making it costs 1-2.5 ms
a manifest (it reads each signature's certificates and time-stamp again), as much as the rest
of a read: the store is walked here instead, in about a tenth of that.

A store is a JUMBF superbox (ISO/IEC 19566-5) labelled ``c2pa``, holding one superbox per
manifest (the active one last); a manifest holds ``c2pa.assertions`` (one labelled superbox per
assertion: a ``cbor`` or ``json`` box, or an embedded file), ``c2pa.claim`` or
``c2pa.claim.v2`` (CBOR) and ``c2pa.signature`` (CBOR). `manifests` gives them in crJSON's shape
(active first, byte strings as ``b64'...'``), so that its readers take either; `agrees` checks
them against the Reader's JSON, since only what c2pa-rs validated may be read.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Iterator

import cbor2

from labelcheck.formats.bmff import box_header
from labelcheck.sources.c2pa.declarations import (AI_DISCLOSURE, CAWG_METADATA,
                                                  LEGACY_GENAI_ASSERTION)
from labelcheck.sources.c2pa.signals import ACTIONS_V2, ADOBE_SOURCE_TYPE

CLAIMS = {"c2pa.claim": "claim", "c2pa.claim.v2": "claim.v2"}  # box label -> crJSON key
ACTIONS = ("c2pa.actions", ACTIONS_V2)
SCALARS = frozenset({str, int, float, bool, type(None)})  # CBOR values that are JSON as they are
# assertions whose data the declarations read (besides the actions), by label prefix
DECLARING = (AI_DISCLOSURE, CAWG_METADATA, LEGACY_GENAI_ASSERTION)


class StoreError(ValueError):
    """The store's boxes are not laid out as a manifest store (crJSON is read instead)."""


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, content start, content end) of the boxes between `start` and `end`; stops at the
    first box whose length does not fit."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        found = box_header(data, pos, end)
        if found is None:
            return
        kind, header, length = found
        if length < header or pos + length > end:
            return
        yield kind, pos + header, pos + length
        pos += length


def superbox_label(data: bytes, start: int, end: int) -> tuple[str | None, int]:
    """The label of the superbox whose content is `start`..`end` (from its description box)
    and where the boxes after the description start."""
    first = next(boxes(data, start, end), None)
    if first is None or first[0] != b"jumd":
        return None, start
    _, body, body_end = first
    toggles = data[body + 16] if body + 16 < body_end else 0
    label = None
    if toggles & 0x02:
        stop = data.find(b"\0", body + 17, body_end)
        if stop > 0:
            label = data[body + 17:stop].decode("utf-8", "replace")
    return label, body_end


def labelled(data: bytes, start: int, end: int) -> Iterator[tuple[str | None, int, int]]:
    """(label, content start, end) of each superbox between `start` and `end`."""
    for kind, box_start, box_end in boxes(data, start, end):
        if kind == b"jumb":
            label, content = superbox_label(data, box_start, box_end)
            yield label, content, box_end


def manifest_boxes(store: bytes) -> Iterator[tuple[str | None, int, int]]:
    """(label, content start, end) of each manifest superbox of the ``c2pa`` store, in the
    store's order."""
    for label, start, end in labelled(store, 0, len(store)):
        if label == "c2pa":
            yield from labelled(store, start, end)


def part(store: bytes, start: int, end: int, name: str) -> tuple[int, int] | None:
    """Where the superbox labelled `name` of a manifest is (its content)."""
    return next(((s, e) for label, s, e in labelled(store, start, end) if label == name), None)


def manifests(store: bytes) -> list[dict]:
    """Every manifest of `store` as crJSON shows it (``label``, ``assertions`` by label,
    ``claim`` or ``claim.v2``), the active manifest first; raises `StoreError` for a store
    not laid out as one (a compressed manifest, a box that does not decode)."""
    found = []
    for label, start, end in manifest_boxes(store):
        if label is None:
            raise StoreError("a manifest without a label")
        manifest: dict = {"label": label, "assertions": {}}
        for name, part_start, part_end in labelled(store, start, end):
            if name == "c2pa.assertions":
                manifest["assertions"] = _assertions(store, part_start, part_end)
            elif name in CLAIMS:
                manifest[CLAIMS[name]] = _content(store, part_start, part_end)
        if not any(key in manifest for key in CLAIMS.values()):
            raise StoreError(f"manifest {label} has no claim")
        found.append(manifest)
    if not found:
        raise StoreError("no manifest")
    return found[::-1]


def _assertions(store: bytes, start: int, end: int) -> dict:
    """Label -> data of each assertion of an assertion store."""
    found = {}
    for label, box_start, box_end in labelled(store, start, end):
        if label is None:
            raise StoreError("an assertion without a label")
        found[label] = _content(store, box_start, box_end)
    return found


def _content(store: bytes, start: int, end: int):
    """The data of a labelled box: its CBOR or JSON decoded, an embedded file as its format."""
    for kind, box_start, box_end in boxes(store, start, end):
        try:
            if kind == b"cbor":
                return _plain(cbor2.loads(store[box_start:box_end]))
            if kind == b"json":
                return json.loads(store[box_start:box_end])
        except (cbor2.CBORDecodeError, ValueError, RecursionError) as exc:
            raise StoreError(f"an assertion does not decode: {exc}") from None
        if kind == b"bfdb":  # an embedded file's description: toggles, then its media type
            return {"format": store[box_start + 1:box_end].split(b"\0")[0].decode(
                "utf-8", "replace")}
        if kind == b"brob":
            raise StoreError("a compressed box")
    return {}


def _plain(value):
    """CBOR data as JSON data, the way crJSON writes it (byte strings as ``b64'...'``, times
    in ISO 8601, tags by their content)."""
    kind = type(value)
    if kind in SCALARS:
        return value
    if kind is dict:
        return {key if type(key) is str else str(key): _plain(item)
                for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_plain(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "b64'" + base64.b64encode(bytes(value)).decode("ascii") + "'"
    if isinstance(value, cbor2.CBORTag):
        return _plain(value.value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return _plain(dict(value))
    if value is cbor2.undefined or isinstance(value, cbor2.CBORSimpleValue):
        return None
    return value


def signatures(store: bytes) -> dict[str, bytes]:
    """Each manifest's label -> its COSE_Sign1 bytes."""
    found: dict[str, bytes] = {}
    for label, start, end in manifest_boxes(store):
        where = part(store, start, end, "c2pa.signature")
        if label is None or where is None:
            continue
        for kind, box_start, box_end in boxes(store, *where):
            if kind == b"cbor":
                found[label] = store[box_start:box_end]
    return found


def agrees(store: dict, stored: list[dict]) -> bool:
    """Whether `stored` (`manifests`) is the store c2pa-rs validated, as far as its Reader
    JSON `store` shows: the same manifests, the same one active, and in each the same claim
    (instance and generator), every assertion the JSON shows, and the same data in those the
    declarations read (`DECLARING`; the JSON rewrites the others: JSON-LD reordered, byte
    strings as numbers). A file holding a second, unvalidated store where the walk looked
    fails here and is read through crJSON."""
    shown = store.get("manifests")
    if not isinstance(shown, dict) or sorted(m["label"] for m in stored) != sorted(shown):
        return False
    if stored[0]["label"] != store.get("active_manifest"):
        return False
    return all(_same_manifest(shown[manifest["label"]], manifest) for manifest in stored)


def _same_manifest(shown: dict, stored: dict) -> bool:
    claim = stored.get("claim.v2") or stored.get("claim")
    if not isinstance(claim, dict):
        return False
    if shown.get("instance_id") != claim.get("instanceID"):
        return False
    if shown.get("claim_generator") not in (None, claim.get("claim_generator")):
        return False
    for assertion in shown.get("assertions") or []:
        label = str(assertion.get("label"))
        data = _stored_assertion(stored["assertions"], label)
        base = label.split("__")[0]
        if data is None:
            return False
        if base in ACTIONS and _actions(assertion.get("data")) != _actions(data):
            return False
        if base.startswith(DECLARING) and _unwrapped(assertion.get("data")) != _unwrapped(data):
            return False
    return True


def _stored_assertion(assertions: dict, label: str):
    """The stored assertion the JSON shows as `label` (a v1 ``c2pa.actions`` is shown as
    ``c2pa.actions.v2``)."""
    if label in assertions:
        return assertions[label]
    base, _, instance = label.partition("__")
    if base == ACTIONS_V2:
        return assertions.get("c2pa.actions" + ("__" + instance if instance else ""))
    return None


def _actions(data) -> list[tuple]:
    """What the declarations read of an actions assertion: each action's name and source
    types."""
    actions = data.get("actions") if isinstance(data, dict) else None
    return [(action.get("action"), action.get("digitalSourceType"),
             (action.get("parameters") or {}).get(ADOBE_SOURCE_TYPE)
             if isinstance(action.get("parameters"), dict) else None)
            for action in actions or [] if isinstance(action, dict)]


def _unwrapped(value):
    """`value` with crJSON's ``b64'...'`` byte strings written as the Reader's JSON writes
    them (plain base64), for comparing the two."""
    if isinstance(value, dict):
        return {key: _unwrapped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrapped(item) for item in value]
    if isinstance(value, str) and value.startswith("b64'") and value.endswith("'"):
        return value[4:-1]
    return value
