"""C2PA Content Credentials, read and validated by c2pa-python.

The whole manifest store is examined, not only the active manifest: ChatGPT and Photoshop
files declare generative AI in an *ingredient's* manifest while the active one says only
"opened". Validation failures are reported code by code and sorted into what they mean:
content changed after signing, manifest altered, signer problems, structure problems.

c2pa-python is imported by the functions that read a manifest, not with this module: most files
carry none (`C2paSource.applies`), and a scan of them starts without loading the native library.
"""

from __future__ import annotations

import io
import json
from functools import cache
from typing import TYPE_CHECKING, BinaryIO

from labelcheck.sources import terms
from labelcheck.core.model import Finding, Kind
from labelcheck.core.plain import plain
from labelcheck.sources.base import Source

# Failure codes sorted by meaning (C2PA spec, validation status codes).
CONTENT_CHANGED = {"assertion.dataHash.mismatch", "assertion.bmffHash.mismatch",
                   "assertion.boxesHash.mismatch", "assertion.collectionHash.mismatch"}
MANIFEST_ALTERED = {"claimSignature.mismatch", "assertion.hashedURI.mismatch",
                    "assertion.missing", "claim.missing", "assertion.multipleHardBindings",
                    "assertion.undeclared"}
SIGNER_PREFIXES = ("signingCredential.", "claimSignature.", "timeStamp.")
OFFLINE_SUFFIXES = ("_unavailable", ".inaccessible")
LEGACY_GENAI_ASSERTION = "com.adobe.generative-ai"
MANIFEST_MARKERS = (b"c2pa", b"provenance")

if TYPE_CHECKING:
    import c2pa


@cache
def _context(trust_anchors: str | None) -> c2pa.Context:
    """A reader context; with anchors, an untrusted signer becomes a real failure. One per
    process and trust setting, kept open for every read (building it parses the anchors)."""
    import c2pa

    settings = {"verify": {"remote_manifest_fetch": False}}
    if trust_anchors:
        with open(trust_anchors, encoding="utf-8") as handle:
            settings["trust"] = {"user_anchors": handle.read()}
    return c2pa.Context(c2pa.Settings.from_dict(settings))


def read_store(stream: BinaryIO, media_type: str, trust_anchors: str | None = None) -> dict:
    """The manifest store of the file in `stream`, as the Reader's JSON (a dict); raises
    `c2pa.C2paError`. The Reader holds native memory and is closed as soon as its JSON is
    read; it borrows `stream`, which the caller closes."""
    import c2pa

    with c2pa.Reader(media_type, stream, context=_context(trust_anchors)) as reader:
        return json.loads(reader.json())


def is_remote_only(exc: c2pa.C2paError) -> bool:
    """Whether the reader stopped at a manifest kept at a URL (not fetched: labelcheck works
    offline). c2pa-python 0.38.1 raises the base `C2paError` for it, with a message that
    starts ``Remote:`` (the native library's prefix for this case), not its
    `C2paError.RemoteManifest`: the prefix is the only way to tell. The typed error is
    accepted too, for releases that raise it."""
    import c2pa

    return isinstance(exc, c2pa.C2paError.RemoteManifest) or str(exc).startswith("Remote:")


def read_fragmented_store(media, fragments, trust_anchors: str | None = None) -> dict:
    """The manifest store of a fragmented MP4 given as one file: its manifest sits in the
    initialisation segment and hashes that segment and each media segment apart, so the
    reader gets the initialisation segment, then each media segment as a fragment (read
    whole, the file would fail its own hash)."""
    import c2pa

    init = media.data[:fragments.init_end]
    reader = c2pa.Reader(media.media_type, io.BytesIO(init), context=_context(trust_anchors))
    for start, stop in fragments.segments:
        reader.with_fragment(media.media_type, io.BytesIO(init),
                             io.BytesIO(media.data[start:stop]))
    return json.loads(reader.json())


def read_crjson(stream: BinaryIO, media_type: str, trust_anchors: str | None = None) -> str:
    """The manifest store of the file in `stream` as c2pa-python reads and validates it, in
    crJSON (the C2PA JSON serialisation, with its validation results): what an evidence pack
    keeps for someone else to read. Raises `c2pa.C2paError`."""
    import c2pa

    with c2pa.Reader(media_type, stream, context=_context(trust_anchors)) as reader:
        return reader.crjson()


class C2paSource(Source):
    name = "c2pa"
    order = 10

    def applies(self, media, settings) -> bool:
        """Only files that can hold a manifest: every embedded store carries the JUMBF label
        ``c2pa`` and a remote one an XMP ``provenance`` link, so files with neither skip the
        reader (most uploads), which keeps the metadata tier near one read of the bytes."""
        if not media.file_format.c2pa or not super().applies(media, settings):
            return False
        return media.format == "pdf" or any(marker in media.data for marker in MANIFEST_MARKERS)

    def find(self, media, settings):
        import c2pa

        try:
            fragments = media.file_format.fragments(media)
            if fragments is not None:
                store = read_fragmented_store(media, fragments, settings.trust_anchors)
            else:
                with media.stream() as stream:
                    store = read_store(stream, media.media_type, settings.trust_anchors)
        except c2pa.C2paError as exc:
            yield from self._reader_error(exc)
            return
        media.c2pa_store = store  # read once: the display tree is made from this reading
        yield from StoreReading(self, store, bool(settings.trust_anchors)).findings()

    def _reader_error(self, exc: c2pa.C2paError):
        import c2pa

        if isinstance(exc, c2pa.C2paError.ManifestNotFound):
            return
        message = plain(str(exc))
        if is_remote_only(exc):
            url = message.rsplit(" ", 1)[-1] if "http" in message else None
            yield self.finding(
                Kind.PROBLEM, "c2pa.remote_unreachable",
                "the file points to a remote C2PA manifest that cannot be fetched here "
                "(offline); its content is unknown", location=url or "C2PA remote reference",
                details={"reader_message": message})
            return
        yield self.finding(Kind.PROBLEM, "c2pa.unreadable",
                           f"a C2PA manifest is present but could not be read: {message}",
                           location="C2PA manifest store", details={"reader_message": message})


class StoreReading:
    """Turns one manifest store (the Reader's JSON) into findings."""

    def __init__(self, source: C2paSource, store: dict, trust_configured: bool):
        self.source = source
        self.store = store
        self.trust_configured = trust_configured
        self.active = store.get("active_manifest")
        self.manifests: dict = store.get("manifests") or {}
        results = store.get("validation_results") or {}
        self.active_failures = (results.get("activeManifest") or {}).get("failure")
        if self.active_failures is None:
            self.active_failures = store.get("validation_status") or []
        self.ingredient_deltas = results.get("ingredientDeltas") or []

    def findings(self) -> list[Finding]:
        integrity = list(self._active_failures())
        intact = not any(f.kind is Kind.TAMPER and f.code == "c2pa.content_changed"
                         for f in integrity)
        out = [self._summary()]
        for label, manifest in self.manifests.items():
            out.extend(self._declarations(label, manifest, intact))
            out.extend(self._soft_bindings(label, manifest))
        out.extend(integrity)
        out.extend(self._ingredient_failures())
        return out

    def _role(self, label: str) -> str:
        return "active manifest" if label == self.active else "ingredient manifest"

    def _summary(self) -> Finding:
        manifest = self.manifests.get(self.active) or {}
        signature = manifest.get("signature_info") or {}
        signer = signature.get("common_name") or signature.get("issuer") or "unknown signer"
        state = self.store.get("validation_state", "unknown")
        return self.source.finding(
            Kind.INFO, "c2pa.present",
            f"C2PA manifest store with {len(self.manifests)} manifest(s); active manifest made "
            f"by {manifest.get('claim_generator') or generator_info(manifest) or 'unknown'}, "
            f"signed by {signer}; validation state {state}",
            location=f"C2PA active manifest {self.active}",
            details={"validation_state": state, "manifests": len(self.manifests),
                     "signer": signer, "signed_at": signature.get("time"),
                     "active_manifest": self.active})

    def _declarations(self, label: str, manifest: dict, intact: bool):
        """AI declarations: source types, vendor parameters, legacy assertion, generators."""
        where = f"C2PA {self._role(label)} {label}"
        for assertion in manifest.get("assertions") or []:
            name = assertion.get("label", "")
            if name.startswith(LEGACY_GENAI_ASSERTION):
                yield self._ai(f"{where} > {name}", "c2pa.legacy_genai_assertion",
                               f"legacy Adobe generative-AI assertion ({name})", intact, 0.95)
            if not name.startswith("c2pa.actions"):
                continue
            actions = (assertion.get("data") or {}).get("actions") or []
            for index, action in enumerate(actions):
                yield from self._action(f"{where} > {name} > actions[{index}]", action, intact)
        generator = terms.match_generator(
            f"{manifest.get('claim_generator', '')} {generator_info(manifest)}")
        if generator:
            yield self._ai(f"{where} > claim_generator", "c2pa.ai_generator",
                           f"manifest written by a generative-AI tool: {generator}", intact, 0.9)

    def _action(self, where: str, action: dict, intact: bool):
        parameters = action.get("parameters") or {}
        for field, value in (("digitalSourceType", action.get("digitalSourceType")),
                             ("parameters.com.adobe.digitalSourceType",
                              parameters.get("com.adobe.digitalSourceType"))):
            if not isinstance(value, str):
                continue
            category = terms.classify_source_type(value)
            term = terms.source_type_term(value)
            if category == terms.AI:
                yield self._ai(f"{where}.{field}", "c2pa.ai_source_type",
                               f"{action.get('action', 'action')} with digital source type "
                               f"{term}", intact, 1.0)
            elif category == terms.POSSIBLE_AI:
                yield self.source.finding(
                    Kind.POSSIBLE_AI, "c2pa.possible_ai_source_type",
                    f"digital source type {term} (may or may not involve AI)",
                    location=f"{where}.{field}", confidence=0.5)
        agent = action.get("softwareAgent")
        agent_name = agent.get("name", "") if isinstance(agent, dict) else str(agent or "")
        texts = " ".join(str(t) for t in (agent_name, action.get("description"),
                                          parameters.get("description")) if t)
        generator = terms.match_generator(texts)
        if generator:
            tool = agent_name if agent_name and generator.startswith(agent_name) else (
                f"{agent_name or texts} ({generator})")
            yield self._ai(f"{where}.softwareAgent", "c2pa.ai_generator",
                           f"{action.get('action', 'action')} by the generative-AI tool {tool}",
                           intact, 0.9)

    def _ai(self, location: str, code: str, message: str, intact: bool,
            confidence: float) -> Finding:
        suffix = "" if intact else " (but the content no longer matches the signed hash)"
        return self.source.finding(Kind.AI_DECLARATION, code, message + suffix,
                                   location=location, confidence=confidence, channel="c2pa",
                                   intact=intact)

    def _soft_bindings(self, label: str, manifest: dict):
        for assertion in manifest.get("assertions") or []:
            if assertion.get("label", "").startswith("c2pa.soft-binding"):
                alg = (assertion.get("data") or {}).get("alg", "unknown")
                yield self.source.finding(
                    Kind.INFO, "c2pa.soft_binding",
                    f"declares an invisible watermark or fingerprint ({alg}) that can re-link "
                    "stripped copies to this manifest", location=f"C2PA {self._role(label)} "
                    f"{label} > {assertion['label']}", details={"alg": alg})

    def _active_failures(self):
        for status in self.active_failures:
            finding = self._classify(status, "active manifest")
            if finding:
                yield finding

    def _ingredient_failures(self):
        """Failures recorded for ingredients: an altered ingredient manifest breaks the
        provenance chain (tampering); anything else is history worth showing."""
        for delta in self.ingredient_deltas:
            uri = delta.get("ingredientAssertionURI", "ingredient")
            for status in (delta.get("validationDeltas") or {}).get("failure") or []:
                code = status.get("code", "")
                if code == "signingCredential.untrusted" and not self.trust_configured:
                    continue
                altered = code in MANIFEST_ALTERED
                yield self.source.finding(
                    Kind.TAMPER if altered else Kind.PROBLEM,
                    "c2pa.ingredient_manifest_altered" if altered else "c2pa.ingredient_failure",
                    f"ingredient manifest fails validation: {code} "
                    f"({status.get('explanation', '')})", location=uri,
                    details={"status_code": code})

    def _classify(self, status: dict, scope: str) -> Finding | None:
        code = status.get("code", "")
        explanation = status.get("explanation", "")
        location = status.get("url") or f"C2PA {scope}"
        details = {"status_code": code, "explanation": explanation}
        if code in CONTENT_CHANGED:
            return self.source.finding(
                Kind.TAMPER, "c2pa.content_changed",
                f"content changed after signing: {code} ({explanation})",
                location=location, details=details)
        if code in MANIFEST_ALTERED:
            return self.source.finding(
                Kind.TAMPER, "c2pa.manifest_altered",
                f"manifest altered or signature broken: {code} ({explanation})",
                location=location, details=details)
        if code == "signingCredential.untrusted" and not self.trust_configured:
            return self.source.finding(
                Kind.INFO, "c2pa.signer_untrusted",
                "signer is not on a trust list (no trust anchors configured: informational)",
                location=location, details=details)
        if code.endswith(OFFLINE_SUFFIXES):
            return self.source.finding(
                Kind.INFO, "c2pa.offline_check",
                f"could not be checked offline: {code} ({explanation})",
                location=location, details=details)
        if code.startswith(SIGNER_PREFIXES):
            return self.source.finding(Kind.PROBLEM, "c2pa.signer_problem",
                                       f"signer or signature problem: {code} ({explanation})",
                                       location=location, details=details)
        if code.startswith("cawg."):
            return self.source.finding(Kind.PROBLEM, "c2pa.identity_problem",
                                       f"identity assertion problem: {code} ({explanation})",
                                       location=location, details=details)
        return self.source.finding(Kind.PROBLEM, "c2pa.structure_problem",
                                   f"manifest structure problem: {code} ({explanation})",
                                   location=location, details=details)


def generator_info(manifest: dict) -> str:
    """The names and versions in a manifest's ``claim_generator_info``."""
    infos = manifest.get("claim_generator_info") or []
    return " ".join(f"{info.get('name', '')} {info.get('version', '')}".strip()
                    for info in infos if isinstance(info, dict))
