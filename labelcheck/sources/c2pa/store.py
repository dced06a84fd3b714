"""One validated manifest store, as the parts of the c2pa source read it.

`ManifestStore` wraps the Reader's JSON of one file and its manifests as stored (crJSON's
shape, see `reading`) with what every part needs:
which manifest is active, how to say where a manifest sits (active or ingredient), who signed
it, and the source that makes findings. The parts (validation, declarations, signals,
assertions) are functions of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from labelcheck.core.model import Finding, Kind


@dataclass
class ManifestStore:
    """The store of one file: `store` (Reader JSON), `stored_manifests` (as stored, active
    first, in crJSON's shape, each with its ``label``) and `make`, the source's finding factory
    (``Source.finding``)."""

    store: dict
    stored_manifests: list[dict]
    make: Callable[..., Finding]
    intact: bool = True  # the content still matches the active manifest's hash
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> str | None:
        return self.store.get("active_manifest")

    @property
    def manifests(self) -> dict:
        manifests = self.store.get("manifests")
        return manifests if isinstance(manifests, dict) else {}

    def role(self, label: str) -> str:
        return "active manifest" if label == self.active else "ingredient manifest"

    def where(self, label: str) -> str:
        """Where a manifest is, in words a person can find it by (its role and label)."""
        return f"C2PA {self.role(label)} {label}"

    def signer(self, label: str) -> str:
        """Who signed a manifest, from its certificate: the common name and organisation."""
        info = (self.manifests.get(label) or {}).get("signature_info") or {}
        name, organisation = info.get("common_name"), info.get("issuer")
        if name and organisation and name != organisation:
            return f"{name} ({organisation})"
        return str(name or organisation or "an unknown signer")

    def assertions(self, label: str):
        """(label, data) of each assertion of a manifest, in the Reader JSON's order."""
        for assertion in (self.manifests.get(label) or {}).get("assertions") or []:
            if isinstance(assertion, dict):
                yield str(assertion.get("label", "")), assertion.get("data")

    def info(self, code: str, message: str, **fields) -> Finding:
        return self.make(Kind.INFO, code, message, **fields)


def base_label(label: str) -> str:
    """An assertion label without its instance suffix (``c2pa.soft-binding__1``)."""
    return label.split("__", 1)[0]


def generator_info(manifest: dict) -> str:
    """The names and versions in a manifest's ``claim_generator_info`` (a list in the Reader's
    JSON and v1 claims, one map in v2 claims)."""
    infos = manifest.get("claim_generator_info") or []
    infos = [infos] if isinstance(infos, dict) else infos
    return " ".join(f"{info.get('name', '')} {info.get('version', '')}".strip()
                    for info in infos if isinstance(info, dict))
