"""Which C2PA signers labelcheck trusts, and who they are.

By default a signer is trusted when its certificate chains to the official C2PA Trust List
(claim signers) bundled in ``labelcheck/data/trust`` (CC BY 4.0, with its licence), and its
time-stamp to the C2PA TSA Trust List. The user may add anchors (``--trust-anchors FILE``: PEM
certificates, or a list in the same LoTE JSON form as the official one), use only their own
(``--trust anchors``), or switch trust off (``--trust none``).

c2pa-rs judges the chain; this module says what to give it (`reader_trust`) and, once it said
"trusted", names the entity from the list that the chain leads to (`TrustList.entity_for`):
the reader's JSON names only the leaf certificate, and the list holds roots *and* issuing CAs.

A list keeps its certificates as DER bytes and parses one (with cryptography) only when asked:
every scan checks the trust setting before its first file, and a scan of files without a
manifest must not pay for a certificate library it never uses.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded by the first certificate parsed (a manifest's, or the user's)
    from cryptography import x509

OFFICIAL = "official"  # the bundled C2PA trust lists, plus the user's anchors if any
ANCHORS = "anchors"  # only the user's anchors (--trust-anchors)
NONE = "none"  # trust is not checked: a valid signature is "valid, trust not checked"
TRUST_MODES = (OFFICIAL, ANCHORS, NONE)

TRUSTED_STATUS = "http://c2pa.org/conformance/trust-list/trusted"
BUNDLED = {"claim": "C2PA-TRUST-LIST", "tsa": "C2PA-TSA-TRUST-LIST"}

# The extended key usages c2pa-rs accepts on a signer's certificate (its ``trust_config``
# setting, one OID per line). Without this list c2pa-rs 0.91 accepts only emailProtection, and a
# real signer whose certificate carries only the C2PA claim-signing EKU is reported invalid.
ALLOWED_EKUS = (("c2pa-kp-claimSigning (C2PA certificate policy)", "1.3.6.1.4.1.62558.2.1"),
                ("id-kp-emailProtection", "1.3.6.1.5.5.7.3.4"),
                ("id-kp-documentSigning", "1.3.6.1.5.5.7.3.36"),
                ("id-kp-timeStamping", "1.3.6.1.5.5.7.3.8"),
                ("id-kp-OCSPSigning", "1.3.6.1.5.5.7.3.9"),
                ("Microsoft C2PA signing", "1.3.6.1.4.1.311.76.59.1.9"))


class TrustError(ValueError):
    """A trust anchors file that cannot be used; the message is for a person."""


@dataclass(frozen=True)
class ListEntry:
    """One certificate of a trust list (`der`, its DER encoding) and the entity
    (organisation) it belongs to."""

    entity: str
    service: str
    der: bytes
    since: str = ""

    @cached_property
    def certificate(self) -> x509.Certificate:
        """The certificate, parsed on first use; raises ValueError when `der` is not one."""
        from cryptography import x509

        return x509.load_der_x509_certificate(self.der)

    @property
    def fingerprint(self) -> bytes:
        """The SHA-256 of the DER encoding (what cryptography's ``fingerprint`` gives)."""
        return hashlib.sha256(self.der).digest()


@dataclass(frozen=True)
class TrustList:
    """A list of trusted certificates: the official C2PA lists, or the user's anchors.

    `issued` and `next_update` are the list's own dates (None for a plain PEM file)."""

    name: str
    origin: str
    entries: tuple[ListEntry, ...]
    issued: dt.datetime | None = None
    next_update: dt.datetime | None = None
    operator: str = ""

    def pem(self) -> str:
        """The certificates as PEM text, as c2pa-rs reads anchors (64-column base64 lines,
        as cryptography writes them)."""
        import ssl  # its PEM writer: the reader's context is built once per process

        return "".join(ssl.DER_cert_to_PEM_cert(entry.der) for entry in self.entries)

    def entities(self) -> dict[str, list[str]]:
        """Entity name -> the names of its certificates (services), in list order."""
        out: dict[str, list[str]] = {}
        for entry in self.entries:
            out.setdefault(entry.entity, []).append(entry.service)
        return out

    def is_stale(self, now: dt.datetime | None = None) -> bool:
        """Whether the list is past its next-update date: a newer list should exist."""
        now = now or dt.datetime.now(dt.timezone.utc)
        return self.next_update is not None and now > self.next_update

    def entity_for(self, chain: list[x509.Certificate]) -> ListEntry | None:
        """The entry a signer's chain (leaf first) leads to: a certificate of the chain that
        is on the list, else a listed certificate that directly issued one of the chain's
        (names, key identifiers and the signature are checked). Leaf first, so the most
        specific entry wins (a listed issuing CA before its root)."""
        from cryptography.hazmat.primitives import hashes

        listed = {entry.fingerprint: entry for entry in self.entries}
        for cert in chain:
            hit = listed.get(cert.fingerprint(hashes.SHA256()))
            if hit:
                return hit
        for cert in chain:
            for entry in self.entries:
                if issued_by(cert, entry.certificate):
                    return entry
        return None


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` signed `cert`: issuer name, key identifiers (when both are given) and
    the signature itself."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    if cert.issuer != issuer.subject:
        return False
    authority, subject = _extension(cert, x509.AuthorityKeyIdentifier), \
        _extension(issuer, x509.SubjectKeyIdentifier)
    if authority and subject and authority.key_identifier not in (None, subject.digest):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _extension(cert: x509.Certificate, kind):
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None


# -- loading lists --------------------------------------------------------------------------

def _first(values, key: str = "value") -> str:
    return str((values or [{}])[0].get(key, "")) if isinstance(values, list) else ""


def _when(text) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_lote(text: str, origin: str) -> TrustList:
    """A trust list in the ETSI TS 119 602 "LoTE" JSON form of the C2PA lists. Only services
    whose status is "trusted" are taken; entity and service names come from the list. The
    certificates are kept as DER, not parsed (see `with_parsed_certificates`)."""
    try:
        lote = json.loads(text)["LoTE"]
        scheme = lote.get("ListAndSchemeInformation") or {}
        entries = []
        for entity in lote["TrustedEntitiesList"]:
            name = _first(entity["TrustedEntityInformation"].get("TEName"))
            for service in entity.get("TrustedEntityServices") or []:
                info = service["ServiceInformation"]
                if info.get("ServiceStatus", TRUSTED_STATUS) != TRUSTED_STATUS:
                    continue
                identity = info.get("ServiceDigitalIdentity") or {}
                for cert in identity.get("X509Certificates") or []:
                    entries.append(ListEntry(
                        name, _first(info.get("ServiceName")),
                        base64.b64decode(cert["val"]),
                        str(info.get("StatusStartingTime", ""))))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise not_lote(origin, exc) from None
    if not entries:
        raise TrustError(f"{origin} lists no trusted certificate")
    return TrustList(_first(scheme.get("SchemeName")) or "trust list", origin, tuple(entries),
                     _when(scheme.get("ListIssueDateTime")), _when(scheme.get("NextUpdate")),
                     _first(scheme.get("SchemeOperatorName")))


def not_lote(origin: str, exc: Exception) -> TrustError:
    return TrustError(f"{origin} is not a C2PA trust list in LoTE JSON form: "
                      f"{type(exc).__name__}: {exc}")


def with_parsed_certificates(trust_list: TrustList) -> TrustList:
    """`trust_list` once each of its certificates parsed: a user's list with a broken one
    stops the command before any scan (the bundled lists are checked by the tests)."""
    try:
        for entry in trust_list.entries:
            entry.certificate  # parsed now and kept: a broken one raises here
    except ValueError as exc:
        raise not_lote(trust_list.origin, exc) from None
    return trust_list


def parse_pem(data: bytes, origin: str) -> TrustList:
    """Anchors given as PEM certificates (text lines between them are allowed, as in the
    official .pem). Each is named by its organisation, else its common name."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TrustError(f"{origin} holds no readable PEM certificate ({exc})") from None
    if data.count(b"-----BEGIN CERTIFICATE-----") != len(certs):
        raise TrustError(f"{origin}: some PEM certificates could not be read")
    return TrustList("trust anchors you gave", origin,
                     tuple(ListEntry(certificate_owner(cert), certificate_name(cert),
                                     cert.public_bytes(Encoding.DER)) for cert in certs))


def certificate_name(cert: x509.Certificate) -> str:
    """A certificate as a person tells it from its siblings: its subject and serial number."""
    return f"{cert.subject.rfc4514_string()} (serial {cert.serial_number:x})"


def certificate_owner(cert: x509.Certificate) -> str:
    """Who a certificate names as its holder: its organisation, else its common name."""
    from cryptography.x509 import NameOID

    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        names = cert.subject.get_attributes_for_oid(oid)
        if names:
            return str(names[0].value)
    return cert.subject.rfc4514_string()


def load_anchors(path: str) -> TrustList:
    """The user's trust anchors file: a LoTE JSON list or PEM certificates."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise TrustError(f"cannot read trust anchors {path}: {exc.strerror}") from None
    if data.lstrip().startswith(b"{"):
        return with_parsed_certificates(parse_lote(data.decode("utf-8", "replace"), path))
    return parse_pem(data, path)


@cache
def bundled(kind: str = "claim") -> TrustList:
    """The official C2PA list bundled with labelcheck: ``claim`` signers or ``tsa``."""
    folder = resources.files("labelcheck.data").joinpath("trust")
    name = BUNDLED[kind]
    return parse_lote(folder.joinpath(f"{name}.json").read_text("utf-8"), f"{name}.json")


# -- what the reader is given ----------------------------------------------------------------

@dataclass(frozen=True)
class TrustSetup:
    """The lists in use for one trust setting: what c2pa-rs is given, and what names the
    entity of a trusted signer."""

    mode: str
    lists: tuple[TrustList, ...]

    @property
    def checked(self) -> bool:
        return self.mode != NONE

    def entity_for(self, chain: list[x509.Certificate]) -> tuple[ListEntry, TrustList] | None:
        for trust_list in self.lists:
            entry = trust_list.entity_for(chain)
            if entry:
                return entry, trust_list
        return None

    def describe(self) -> str:
        """The lists in use, in words (for findings)."""
        if not self.checked:
            return "trust not checked (--trust none)"
        return " and ".join(describe_list(trust_list) for trust_list in self.lists)

    def reader_settings(self) -> dict:
        """The ``trust`` and ``verify`` parts of the c2pa-rs settings. The allowed EKUs are
        always given (see `ALLOWED_EKUS`); without trust, chains are not judged at all."""
        trust = {"trust_config": eku_config()}
        if self.checked:
            trust["trust_anchors"] = "".join(trust_list.pem() for trust_list in self.lists)
        return {"trust": trust,
                "verify": {"verify_trust": self.checked,
                           "verify_timestamp_trust": self.checked,
                           "remote_manifest_fetch": False, "ocsp_fetch": False}}


def describe_list(trust_list: TrustList) -> str:
    """A list in words for a report: its name, date and file name (never the folder it sits
    in: reports travel, the server's paths stay on the server)."""
    issued = f" issued {trust_list.issued:%Y-%m-%d}" if trust_list.issued else ""
    return f"the {trust_list.name}{issued} (file {os.path.basename(trust_list.origin)})"


def eku_config() -> str:
    return "".join(f"// {name}\n{oid}\n" for name, oid in ALLOWED_EKUS)


@cache
def trust_setup(mode: str = OFFICIAL, anchors: str | None = None) -> TrustSetup:
    """The lists for a trust setting (`Settings.trust`, `Settings.trust_anchors`): the official
    claim-signer and TSA lists unless `mode` is ``anchors`` or ``none``, then the user's
    `anchors` file. Cached per process: the lists are parsed once."""
    if mode not in TRUST_MODES:
        raise TrustError(f"trust is {mode!r}, not one of {', '.join(TRUST_MODES)}")
    if mode == NONE:
        return TrustSetup(NONE, ())
    lists = [bundled("claim"), bundled("tsa")] if mode == OFFICIAL else []
    if anchors:
        lists.append(load_anchors(anchors))
    elif mode == ANCHORS:
        raise TrustError("--trust anchors needs a --trust-anchors file")
    return TrustSetup(mode, tuple(lists))


def trust_digest(mode: str, anchors: str | None) -> str:
    """What of the trust setting decides a report (for the results store): the mode, the
    bundled lists' dates and the user's anchors' content."""
    facts = [mode]
    if mode == OFFICIAL:
        facts += [f"{trust_list.origin}:{trust_list.issued}" for trust_list in
                  (bundled("claim"), bundled("tsa"))]
    if anchors and mode != NONE:
        with open(anchors, "rb") as handle:
            facts.append(hashlib.sha256(handle.read()).hexdigest())
    return "|".join(facts)
