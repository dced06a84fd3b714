"""The signers' certificate chains, read from the manifest store itself.

c2pa-python validates each signer's chain but returns only the leaf's names, and a trust list
entry is often the root or an issuing CA above the leaf. To name the entity a trusted signer
chains to, the chain is taken from the store: the JUMBF boxes (ISO/IEC 19566-5) lead to each
manifest's ``c2pa.signature`` box, a COSE_Sign1 structure (RFC 9052, decoded with cbor2) whose
``x5chain`` header (label 33, RFC 9360; the text key ``x5chain`` in C2PA 1.x) holds the
certificates, leaf first. Read only after c2pa-rs said "trusted": this names, it never judges.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Iterator

import cbor2

if TYPE_CHECKING:  # loaded by the first manifest read (not by a scan of files without one)
    from cryptography import x509

X5CHAIN = 33


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, content start, content end) of the boxes between `start` and `end`; stops at the
    first box whose length does not fit."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if length == 1 and pos + 16 <= end:
            length, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif length == 0:
            length = end - pos
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


def signatures(store: bytes) -> dict[str, bytes]:
    """Each manifest's label -> its COSE_Sign1 bytes, for the store `store` (a JUMBF
    superbox labelled ``c2pa``)."""
    found: dict[str, bytes] = {}
    for kind, start, end in boxes(store):
        label, content = superbox_label(store, start, end) if kind == b"jumb" else (None, 0)
        if label != "c2pa":
            continue
        for manifest_kind, m_start, m_end in boxes(store, content, end):
            if manifest_kind != b"jumb":
                continue
            manifest, m_content = superbox_label(store, m_start, m_end)
            for part_kind, p_start, p_end in boxes(store, m_content, m_end):
                if part_kind != b"jumb":
                    continue
                part, p_content = superbox_label(store, p_start, p_end)
                if part != "c2pa.signature" or manifest is None:
                    continue
                for box_kind, c_start, c_end in boxes(store, p_content, p_end):
                    if box_kind == b"cbor":
                        found[manifest] = store[c_start:c_end]
    return found


def cose_chain(cose: bytes) -> list[x509.Certificate]:
    """The certificates of a COSE_Sign1 signature's ``x5chain`` header, leaf first; empty
    when the structure has none or cannot be decoded."""
    from cryptography import x509

    try:
        message = cbor2.loads(cose)
        if isinstance(message, cbor2.CBORTag):
            message = message.value
        protected = cbor2.loads(message[0]) if message[0] else {}
        unprotected = message[1] or {}
        chain = next((header[key] for header in (protected, unprotected)
                      if isinstance(header, Mapping)
                      for key in (X5CHAIN, "x5chain") if header.get(key)), [])
        if isinstance(chain, bytes):
            chain = [chain]
        if not isinstance(chain, (list, tuple)):
            return []
        return [x509.load_der_x509_certificate(bytes(cert)) for cert in chain]
    except (cbor2.CBORDecodeError, ValueError, TypeError, IndexError, KeyError):
        return []


def signer_chains(store: bytes | None) -> dict[str, list[x509.Certificate]]:
    """Manifest label -> its signer's certificate chain (leaf first), for every manifest of
    the store whose chain can be read."""
    if not store:
        return {}
    chains = {label: cose_chain(cose) for label, cose in signatures(store).items()}
    return {label: chain for label, chain in chains.items() if chain}
