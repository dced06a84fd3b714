"""What else a manifest says, reported and not judged: who stands behind it (CAWG identity),
what it allows (training and data mining), which watermark or fingerprint it declares (soft
bindings), and where a copy of it is kept (repository receipts).

A declared invisible watermark is a marking on the ``watermark`` channel that labelcheck cannot
decode: the finding names it, and a policy requirement for a watermark stays "not verifiable
here" (never met on a declaration, never "absent").
"""

from __future__ import annotations

from functools import cache
from itertools import islice
from typing import Iterator

from labelcheck.core.model import Finding, Kind
from labelcheck.data import load_data
from labelcheck.sources.c2pa.store import ManifestStore, base_label

MAX_LISTED = 8  # identities, entries, fields listed in one message


def assertion_findings(reading: ManifestStore) -> list[Finding]:
    out: list[Finding] = []
    for label in reading.manifests:
        for name, data in reading.assertions(label):
            base = base_label(name)
            where = f"{reading.where(label)} > {name}"
            data = data if isinstance(data, dict) else {}
            if base == "cawg.identity":
                out.append(identity(reading, where, data))
            elif base in ("cawg.training-mining", "c2pa.training-mining"):
                out.append(training_mining(reading, where, base, data))
            elif base == "c2pa.soft-binding":
                out.append(soft_binding(reading, where, data))
            elif base == "c2pa.repository-receipt":
                out.append(repository_receipt(reading, where, data))
            elif base == "cawg.metadata":
                out.append(cawg_metadata(reading, where, data))
    return out


def cawg_metadata(reading: ManifestStore, where: str, data: dict) -> Finding:
    """Signed descriptive metadata (CAWG, JSON-LD with XMP names): reported as found. Its AI
    fields and source type are also read as declarations (`declarations`)."""
    fields = {key: value for key, value in islice(_flat(data), MAX_LISTED)
              if not key.startswith("@context")}
    said = ", ".join(f"{key} {value!r}" for key, value in fields.items())
    return reading.info("c2pa.cawg_metadata", f"signed CAWG metadata: {said or 'no fields'}",
                        location=where, details={"fields": fields})


def identity(reading: ManifestStore, where: str, data: dict) -> Finding:
    """A CAWG identity assertion: who signed it and how that identity was verified (an X.509
    certificate, or an identity claims aggregator vouching for accounts it verified)."""
    kinds = data.get("type") if isinstance(data.get("type"), list) else []
    if "IdentityClaimsAggregationCredential" in kinds:
        verified = [_verified_identity(item) for item in data.get("verifiedIdentities") or []
                    if isinstance(item, dict)][:MAX_LISTED]
        message = (f"CAWG identity: named by the identity claims aggregator "
                   f"{data.get('issuer', 'unknown')}, which verified "
                   f"{'; '.join(verified) or 'no identity'}")
        how = "cawg.identity_claims_aggregation"
    else:
        payload = data.get("signer_payload") if isinstance(data.get("signer_payload"),
                                                           dict) else {}
        info = data.get("signature_info") if isinstance(data.get("signature_info"),
                                                        dict) else {}
        how = str(payload.get("sig_type", "unknown"))
        holder = " ".join(str(part) for part in (info.get("common_name"),
                                                 f"({info['issuer']})" if info.get("issuer")
                                                 else "") if part)
        message = f"CAWG identity: signed by {holder or 'an unnamed credential'} ({how})"
    status = identity_status(reading)
    if status:
        message += f"; validation: {', '.join(status)}"
    return reading.info("c2pa.cawg_identity", message, location=where,
                        details={"verified_by": how, "status": status})


def _verified_identity(item: dict) -> str:
    provider = item.get("provider") if isinstance(item.get("provider"), dict) else {}
    who = item.get("username") or item.get("name") or item.get("uri") or "someone"
    when = str(item.get("verifiedAt", ""))[:10]
    return (f"{provider.get('name', 'a provider')} {who} ({item.get('type', 'identity')}"
            f"{', verified ' + when if when else ''})")


def identity_status(reading: ManifestStore) -> list[str]:
    """The CAWG codes of the active manifest's validation (success, informational, failure)."""
    results = (reading.store.get("validation_results") or {}).get("activeManifest") or {}
    return [str(status.get("code")) for key in ("failure", "informational", "success")
            for status in results.get(key) or []
            if isinstance(status, dict) and str(status.get("code", "")).startswith("cawg.")]


def training_mining(reading: ManifestStore, where: str, label: str, data: dict) -> Finding:
    entries = data.get("entries") if isinstance(data.get("entries"), dict) else {}
    uses = {str(name): str((entry or {}).get("use", "?")) if isinstance(entry, dict) else "?"
            for name, entry in list(entries.items())[:MAX_LISTED]}
    said = ", ".join(f"{name} {use}" for name, use in uses.items()) or "no entries"
    return reading.info("c2pa.training_mining",
                        f"training and data mining ({label}): {said}", location=where,
                        details={"entries": uses})


@cache
def _bindings() -> tuple[dict, ...]:
    return tuple(load_data("soft_bindings.toml")["binding"])


def soft_binding(reading: ManifestStore, where: str, data: dict) -> Finding:
    """A declared watermark or fingerprint. A watermark is put on the ``watermark`` channel
    as information (not a marking found: labelcheck cannot decode it)."""
    alg = str(data.get("alg", "unknown"))
    known = next((b for b in _bindings() if alg.startswith(b["prefix"])), None)
    details = {"alg": alg, "kind": known["kind"] if known else "unknown"}
    if known is None:
        return reading.info("c2pa.soft_binding",
                            f"declares a soft binding {alg} (a watermark or fingerprint that "
                            "can re-link stripped copies to this manifest)", location=where,
                            details=details)
    name = f"{known['name']} ({alg})"
    if known["kind"] != "watermark":
        return reading.info("c2pa.soft_binding",
                            f"declares a {known['kind']}: {name}, which can re-link stripped "
                            "copies to this manifest", location=where, details=details)
    return reading.info("c2pa.soft_binding",
                        f"declares an invisible watermark: {name}; labelcheck cannot decode "
                        "it, so its presence in the pixels is not verified here",
                        location=where, channel="watermark", details=details)


def repository_receipt(reading: ManifestStore, where: str, data: dict) -> Finding:
    """C2PA 2.4's receipt of a manifest repository (durable content credentials): reported
    with what it says; any address in it is shown, never opened."""
    fields = dict(islice(_flat(data), MAX_LISTED))
    said = ", ".join(f"{key} {value}" for key, value in fields.items())
    return reading.info("c2pa.repository_receipt",
                        f"a manifest repository holds a copy of this manifest"
                        f"{': ' + said if said else ''} (not contacted: offline)",
                        location=where, details={"fields": fields})


def _flat(data: dict, prefix: str = "", depth: int = 4) -> Iterator[tuple[str, str]]:
    """The scalar fields of nested maps as ``a.b`` keys (lists left out; no deeper than
    `depth`: an assertion's data comes from the file)."""
    for key, value in data.items():
        if isinstance(value, dict) and depth:
            yield from _flat(value, f"{prefix}{key}.", depth - 1)
        elif not isinstance(value, (dict, list)):
            yield f"{prefix}{key}", str(value)


def remote_finding(make, message: str) -> Finding:
    """A manifest kept at a URL: reported, never fetched."""
    url = message.rsplit(" ", 1)[-1] if "http" in message else None
    return make(Kind.PROBLEM, "c2pa.remote_unreachable",
                "the file points to a remote C2PA manifest that cannot be fetched here "
                "(offline); its content is unknown", location=url or "C2PA remote reference",
                details={"reader_message": message})
