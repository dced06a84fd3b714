"""The signers' certificate chains, read from the manifest store itself.

c2pa-python validates each signer's chain but returns only the leaf's names, and a trust list
entry is often the root or an issuing CA above the leaf. To name the entity a trusted signer
chains to, the chain is taken from the store: each manifest's ``c2pa.signature`` box
(`jumbf.signatures`) is a COSE_Sign1 structure (RFC 9052, decoded with cbor2) whose
``x5chain`` header (label 33, RFC 9360; the text key ``x5chain`` in C2PA 1.x) holds the
certificates, leaf first. Read only after c2pa-rs said "trusted": this names, it never judges.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import cbor2

from labelcheck.sources.c2pa.jumbf import signatures

if TYPE_CHECKING:  # loaded by the first manifest read (not by a scan of files without one)
    from cryptography import x509

X5CHAIN = 33


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
