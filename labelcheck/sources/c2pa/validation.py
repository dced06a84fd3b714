"""What validation says: the signer's state and each failure, sorted by what it means.

Three signer states are kept apart (README, "Report format"):

- **trusted**: the signature and hashes hold and the certificate chains to a trust list in use;
  the entity is named from the list (`labelcheck.sources.c2pa.trust`);
- **valid but untrusted**: integrity holds, the signer is not on any list in use. Informational:
  anyone can sign, so an unknown signer says nothing about the file;
- **invalid**: a signature, certificate or hash failure of the active manifest. An expired or
  revoked certificate is named as such: it is a signer problem, not tampering.

Only the active manifest's signer is judged. Identity assertions (CAWG) and ingredients have
findings of their own, so an ingredient's broken manifest never makes the signer invalid, and
time-stamp problems are informational (as c2pa-rs reports them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from labelcheck.core.model import Finding, Kind
from labelcheck.sources.c2pa.store import ManifestStore
from labelcheck.sources.c2pa.trust import TrustSetup, describe_list

if TYPE_CHECKING:  # the chains are parsed (and cryptography loaded) only for a trusted signer
    from cryptography import x509

TRUSTED, VALID_UNTRUSTED, INVALID = "trusted", "valid_untrusted", "invalid"
STATE_WORDS = {TRUSTED: "trusted", VALID_UNTRUSTED: "valid but untrusted", INVALID: "invalid"}
SIGNER_CODES = ("c2pa.signer_trusted", "c2pa.signer_untrusted", "c2pa.signer_invalid")

# Failure codes sorted by meaning (C2PA specification, validation status codes).
CONTENT_CHANGED = {"assertion.dataHash.mismatch", "assertion.bmffHash.mismatch",
                   "assertion.boxesHash.mismatch", "assertion.collectionHash.mismatch"}
MANIFEST_ALTERED = {"claimSignature.mismatch", "assertion.hashedURI.mismatch",
                    "assertion.missing", "claim.missing", "assertion.multipleHardBindings",
                    "assertion.undeclared"}
EXPIRED = {"signingCredential.expired"}
REVOKED = {"signingCredential.ocsp.revoked", "signingCredential.revoked"}
UNTRUSTED = "signingCredential.untrusted"
TRUSTED_CODE = "signingCredential.trusted"
SIGNER_PREFIXES = ("signingCredential.", "claimSignature.")
OFFLINE_SUFFIXES = ("_unavailable", ".inaccessible")
INGREDIENT_TAMPER = ("; labelcheck counts it as tampering with the file's provenance chain (read "
                     "wider than the Asset Rubrics, whose signals do not look at ingredients' "
                     "validation)")


@dataclass
class Results:
    """The validation codes of one manifest: failure, success and informational."""

    failure: list[dict] = field(default_factory=list)
    success: set[str] = field(default_factory=set)
    informational: set[str] = field(default_factory=set)

    @classmethod
    def active(cls, store: dict) -> "Results":
        """The active manifest's codes; very old readers give a flat list of failures."""
        results = (store.get("validation_results") or {}).get("activeManifest")
        if results is None:
            return cls([s for s in store.get("validation_status") or [] if isinstance(s, dict)])
        return cls([s for s in results.get("failure") or [] if isinstance(s, dict)],
                   {s.get("code", "") for s in results.get("success") or []
                    if isinstance(s, dict)},
                   {s.get("code", "") for s in results.get("informational") or []
                    if isinstance(s, dict)})

    def codes(self) -> list[str]:
        return [str(status.get("code", "")) for status in self.failure]


def judges_signer(code: str) -> bool:
    """Whether a failure code says the active manifest's signature, certificate or binding
    failed (not: an unknown signer, an identity assertion, a check that needs the network,
    a time-stamp)."""
    return not (code == UNTRUSTED or code.startswith(("cawg.", "timeStamp."))
                or code.endswith(OFFLINE_SUFFIXES))


def failure_findings(reading: ManifestStore) -> list[Finding]:
    """One finding per failure of the active manifest, by what it means."""
    return [finding for status in Results.active(reading.store).failure
            if (finding := classify(reading, status)) is not None]


def classify(reading: ManifestStore, status: dict) -> Finding | None:
    code = str(status.get("code", ""))
    explanation = str(status.get("explanation", ""))
    fields = {"location": status.get("url") or "C2PA active manifest",
              "details": {"status_code": code, "explanation": explanation}}
    said = f"{code} ({explanation})"
    if code == UNTRUSTED:
        return None  # the signer state says it (valid but untrusted)
    if code in CONTENT_CHANGED:
        return reading.make(Kind.TAMPER, "c2pa.content_changed",
                            f"content changed after signing: {said}", **fields)
    if code in MANIFEST_ALTERED:
        return reading.make(Kind.TAMPER, "c2pa.manifest_altered",
                            f"manifest altered or signature broken: {said}", **fields)
    if code in EXPIRED:
        return reading.make(Kind.PROBLEM, "c2pa.certificate_expired",
                            f"the signing certificate had expired: {said}; a signer problem, "
                            "not evidence of tampering", **fields)
    if code in REVOKED:
        return reading.make(Kind.PROBLEM, "c2pa.certificate_revoked",
                            f"the signing certificate was revoked: {said}; a signer problem, "
                            "not evidence of tampering", **fields)
    if code.endswith(OFFLINE_SUFFIXES):
        return reading.info("c2pa.offline_check", f"could not be checked offline: {said}",
                            **fields)
    if code.startswith("cawg."):
        return _identity(reading, code, said, fields)
    if code.startswith(SIGNER_PREFIXES):
        return reading.make(Kind.PROBLEM, "c2pa.signer_problem",
                            f"signer or signature problem: {said}", **fields)
    if code.startswith("timeStamp."):
        return reading.info("c2pa.timestamp_problem", f"time-stamp problem: {said}", **fields)
    return reading.make(Kind.PROBLEM, "c2pa.structure_problem",
                        f"manifest structure problem: {said}", **fields)


def _identity(reading: ManifestStore, code: str, said: str, fields: dict) -> Finding:
    """CAWG identity assertion codes: an identity whose credential is not on a list is
    informational, like an untrusted signer; a broken one is a problem."""
    if code.endswith(".untrusted") or code.endswith(".untrusted_issuer"):
        return reading.info("c2pa.identity_untrusted",
                            f"identity credential not on a trust list in use: {said}", **fields)
    return reading.make(Kind.PROBLEM, "c2pa.identity_problem",
                        f"identity assertion problem: {said}", **fields)


def ingredient_failures(reading: ManifestStore) -> list[Finding]:
    """Failures recorded for ingredients: an altered ingredient manifest breaks the
    provenance chain (tampering); anything else is history worth showing. An ingredient's
    unknown signer is not a failure."""
    out = []
    for delta in (reading.store.get("validation_results") or {}).get("ingredientDeltas") or []:
        uri = delta.get("ingredientAssertionURI", "ingredient")
        for status in (delta.get("validationDeltas") or {}).get("failure") or []:
            code = status.get("code", "")
            if code == UNTRUSTED:
                continue
            altered = code in MANIFEST_ALTERED
            out.append(reading.make(
                Kind.TAMPER if altered else Kind.PROBLEM,
                "c2pa.ingredient_manifest_altered" if altered else "c2pa.ingredient_failure",
                f"ingredient manifest fails validation: {code} "
                f"({status.get('explanation', '')})" + (INGREDIENT_TAMPER if altered else ""),
                location=uri, details={"status_code": code}))
    return out


@dataclass
class SignerState:
    """The active manifest's signer: its state, why, and who it is."""

    state: str
    signer: str
    reasons: list[str] = field(default_factory=list)
    entity: str | None = None
    service: str | None = None
    trust_list: str | None = None
    timestamp: str = ""

    def details(self) -> dict:
        data = {"signer_state": self.state, "signer": self.signer, "reasons": self.reasons,
                "entity": self.entity, "entity_certificate": self.service,
                "trust_list": self.trust_list, "timestamp": self.timestamp}
        return {key: value for key, value in data.items() if value not in (None, "", [])}


def signer_state(reading: ManifestStore, setup: TrustSetup,
                 chains: Callable[[], dict[str, list[x509.Certificate]]]) -> SignerState:
    """The state of the active manifest's signer. `chains` reads the signers' certificate
    chains from the file; it is called only for a trusted signer, to name its entity."""
    results = Results.active(reading.store)
    signer = reading.signer(reading.active or "")
    timestamp = _timestamp(results)
    hard = [code for code in results.codes() if judges_signer(code)]
    if hard:
        return SignerState(INVALID, signer, hard, timestamp=timestamp)
    if not setup.checked:
        return SignerState(VALID_UNTRUSTED, signer, ["trust is not checked (--trust none)"],
                           timestamp=timestamp)
    if TRUSTED_CODE not in results.success or UNTRUSTED in results.codes():
        return SignerState(VALID_UNTRUSTED, signer,
                           [f"the signer is on no trust list in use: {setup.describe()}"],
                           timestamp=timestamp)
    hit = setup.entity_for(chains().get(reading.active or "") or [])
    if hit is None:
        return SignerState(TRUSTED, signer, ["its entity could not be named (the certificate "
                                             "chain could not be read from this file)"],
                           timestamp=timestamp)
    entry, trust_list = hit
    return SignerState(TRUSTED, signer, [], entry.entity, entry.service,
                       describe_list(trust_list), timestamp)


def _timestamp(results: Results) -> str:
    if "timeStamp.trusted" in results.success:
        return "time-stamped by a trusted time-stamp authority"
    if "timeStamp.untrusted" in results.informational:
        return "time-stamped by an authority not on the TSA trust list in use"
    if any(code.startswith("timeStamp.") for code in results.success | results.informational):
        return "time-stamped"
    return "no time-stamp"


def state_finding(reading: ManifestStore, state: SignerState) -> Finding:
    """The signer state as one finding people read first (code ``c2pa.signer_<state>``)."""
    where = f"C2PA active manifest {reading.active} > signature"
    details = state.details()
    if state.state == TRUSTED:
        named = (f"{state.entity}, listed in {state.trust_list}" if state.entity
                 else f"an anchor in use; {state.reasons[0]}")
        return reading.info("c2pa.signer_trusted",
                            f"signer trusted: {state.signer}, whose certificate chains to "
                            f"{named}", location=where, details=details)
    if state.state == VALID_UNTRUSTED:
        return reading.info("c2pa.signer_untrusted",
                            f"signer valid but untrusted: the signature and hashes of "
                            f"{state.signer} hold, but {state.reasons[0]} (informational: "
                            "anyone can sign)", location=where, details=details)
    causes = "; ".join(dict.fromkeys(failure_words(code) for code in state.reasons))
    return reading.make(Kind.PROBLEM, "c2pa.signer_invalid",
                        f"signer invalid: {causes} ({', '.join(state.reasons)}); the manifest "
                        f"signed by {state.signer} does not validate", location=where,
                        details=details)


def failure_words(code: str) -> str:
    """What a failure code that makes the signer invalid means, in words."""
    if code in CONTENT_CHANGED:
        return "the content changed after signing"
    if code in MANIFEST_ALTERED:
        return "the manifest was altered or its signature broken"
    if code in EXPIRED:
        return "the signing certificate had expired (not tampering)"
    if code in REVOKED:
        return "the signing certificate was revoked (not tampering)"
    if code.startswith(SIGNER_PREFIXES):
        return "the signing certificate or signature is not valid"
    return "the manifest's structure does not validate"
