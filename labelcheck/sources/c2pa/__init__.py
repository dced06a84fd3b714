"""C2PA Content Credentials, read and validated by c2pa-python against the C2PA trust list.

The package's parts, each a function of one validated store (`store.ManifestStore`):

- `reading`: the Reader under a trust setting (`trust`: the bundled official lists, the user's
  anchors, the allowed EKUs), giving the Reader's JSON, and the manifests as stored (`jumbf`
  walks the store's boxes);
- `validation`: the signer's state (trusted, valid but untrusted, invalid) and each failure by
  what it means; `chain` reads the signers' certificate chains to name a trusted entity;
- `declarations`: AI declarations in every manifest (the verdict's evidence);
- `signals`: the C2PA Asset Rubrics 1.0 signals per manifest, under their official names;
- `assertions`: CAWG identity, training and mining, soft bindings, repository receipts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelcheck.core.model import Finding, Kind
from labelcheck.core.plain import plain
from labelcheck.sources.base import Source
from labelcheck.sources.c2pa.assertions import assertion_findings, remote_finding
from labelcheck.sources.c2pa.chain import signer_chains
from labelcheck.sources.c2pa.declarations import declaration_findings
from labelcheck.sources.c2pa.reading import is_remote_only, read_media_store
from labelcheck.sources.c2pa.signals import signal_findings
from labelcheck.sources.c2pa.store import ManifestStore, generator_info
from labelcheck.sources.c2pa.trust import trust_setup
if TYPE_CHECKING:  # c2pa-python is loaded by the first file that carries a manifest
    import c2pa

from labelcheck.sources.c2pa.validation import (STATE_WORDS, failure_findings,
                                                ingredient_failures, signer_state,
                                                state_finding)

MANIFEST_MARKERS = (b"c2pa", b"provenance")

__all__ = ["C2paSource", "generator_info"]


class C2paSource(Source):
    name = "c2pa"
    order = 10
    markers = MANIFEST_MARKERS

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
            views = read_media_store(media, settings.trust, settings.trust_anchors,
                                     crjson=bool(settings.display and
                                                 settings.display.manifest_store))
        except c2pa.C2paError as exc:
            yield from self._reader_error(exc)
            return
        # read once: the display tree and an evidence pack's store are made from this reading
        media.c2pa_store, media.c2pa_crjson = views.store, views.crjson
        reading = ManifestStore(views.store, views.manifests, self.finding)
        yield from store_findings(reading, settings, lambda: signer_chains(views.stored))

    def _reader_error(self, exc: c2pa.C2paError):
        import c2pa

        if isinstance(exc, c2pa.C2paError.ManifestNotFound):
            return
        message = plain(str(exc))
        if is_remote_only(exc):
            yield remote_finding(self.finding, message)
            return
        yield self.finding(Kind.PROBLEM, "c2pa.unreadable",
                           f"a C2PA manifest is present but could not be read: {message}",
                           location="C2PA manifest store", details={"reader_message": message})


def store_findings(reading: ManifestStore, settings, chains) -> list[Finding]:
    """Every finding of one validated store: the summary and signer state first, then the
    declarations, signals and other assertions, then the failures."""
    failures = failure_findings(reading)
    reading.intact = not any(f.code == "c2pa.content_changed" for f in failures)
    state = signer_state(reading, trust_setup(settings.trust, settings.trust_anchors), chains)
    return [summary(reading, state.state), state_finding(reading, state),
            *declaration_findings(reading), *signal_findings(reading),
            *assertion_findings(reading), *failures, *ingredient_failures(reading)]


def summary(reading: ManifestStore, state: str) -> Finding:
    manifest = reading.manifests.get(reading.active) or {}
    signature = manifest.get("signature_info") or {}
    validation = reading.store.get("validation_state", "unknown")
    made_by = manifest.get("claim_generator") or generator_info(manifest) or "unknown"
    return reading.info(
        "c2pa.present",
        f"C2PA manifest store with {len(reading.manifests)} manifest(s); active manifest made "
        f"by {made_by}, signed by {reading.signer(reading.active or '')}: signer "
        f"{STATE_WORDS[state]} (validation state {validation})",
        location=f"C2PA active manifest {reading.active}",
        details={"validation_state": validation, "signer_state": state,
                 "manifests": len(reading.manifests),
                 "signer": reading.signer(reading.active or ''),
                 "signed_at": signature.get("time"), "active_manifest": reading.active})
