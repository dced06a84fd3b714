"""The registry's rows: what is kept of each original in the database, read and written.

One original is one row of ``registry_assets`` (who registered it and what it disclosed), its
PDQ fingerprints in ``registry_fingerprints`` and its local features, crop-finding descriptors
and pixel references in ``registry_features`` (`tables`). `Storage` reads and writes them and
knows nothing of matching; `labelcheck.registry.index` loads what it needs from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from labelcheck.core.model import Finding
from labelcheck.registry.features import LocalFeatures
from labelcheck.registry.references import (Reference, references_from_bytes,
                                            references_to_bytes)
from labelcheck.registry.tables import RegistryError, assets, fingerprints, local_features

CHANNELS = ("c2pa", "iptc", "aigc")
BADGE_FACTS = ("lang", "phrase", "rules")  # what a badge says, kept for copies that show it


def disclosures_of(findings: list[Finding]) -> dict[str, Any]:
    """The disclosures a scan of an original found: its intact visible badges (text, box,
    position, language, lexicon phrase and rule tags) and which machine-readable layers (C2PA,
    IPTC, AIGC) declare AI."""
    badges = [{"text": f.measurements.get("text", ""), "box": list(f.measurements["box"]),
               "position": f.measurements.get("position"), "code": f.code,
               **{key: f.measurements[key] for key in BADGE_FACTS if key in f.measurements}}
              for f in findings if f.channel == "visible" and f.is_disclosure and f.intact
              and "box" in f.measurements]
    layers = {channel: any(f.channel == channel and f.is_disclosure for f in findings)
              for channel in CHANNELS}
    return {"visible": badges, **layers}


@dataclass
class Asset:
    """One registered original."""

    id: int
    owner: str
    note: str | None
    title: str
    sha256: str
    kind: str
    media_type: str | None
    width: int | None
    height: int | None
    disclosures: dict[str, Any]
    added_at: datetime
    declared_ai: bool = False
    ai_evidence: list[str] | None = None

    @property
    def ai_made(self) -> bool:
        """Whether the registry holds it as AI-made: declared so by its owner, or AI evidence
        found by its scan (originals registered before this was recorded may have neither)."""
        return bool(self.declared_ai or self.ai_evidence)

    @property
    def ai_basis(self) -> str:
        """Why it is held as AI-made, in words."""
        evidence = self.ai_evidence or []
        more = f" (and {len(evidence) - 1} more)" if len(evidence) > 1 else ""
        reasons = (["its owner declared it AI-made"] if self.declared_ai else []) + (
            [f"its scan found {evidence[0]}{more}"] if evidence else [])
        return " and ".join(reasons) or "nothing: neither declared AI-made nor AI evidence found"

    @property
    def label(self) -> str:
        """How a person refers to it: ``#12 "campaign.jpg" (Acme Agency: spring ad)``."""
        note = f": {self.note}" if self.note else ""
        return f'#{self.id} "{os.path.basename(self.title)}" ({self.owner}{note})'

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "note": self.note, "title": self.title,
                "sha256": self.sha256, "kind": self.kind, "media_type": self.media_type,
                "width": self.width, "height": self.height, "disclosures": self.disclosures,
                "declared_ai": self.declared_ai, "ai_evidence": self.ai_evidence or [],
                "ai_made": self.ai_made, "added_at": self.added_at.isoformat()}


@dataclass
class Original:
    """Everything stored for one original before it has an id: its asset row (without id),
    its fingerprints as (variant, time_s, PDQ hash, quality), its local features, the
    descriptors and points it puts in the crop-finding index, its pixel references
    (thumbnail first, then one per badge) and its preview (JPEG, for people)."""

    row: dict[str, Any]
    prints: list[tuple[str, float | None, bytes, int]]
    features: LocalFeatures
    index_codes: np.ndarray
    index_points: np.ndarray
    references: list[Reference]
    preview: bytes | None = None


class Storage:
    """The registry tables of one database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, original: Original) -> int:
        """Store an original; its id, or the existing id when its owner already registered
        the same bytes (the unique key on sha256 and owner)."""
        try:
            return self._insert(original)
        except IntegrityError:
            existing = self._find(original.row["sha256"], original.row["owner"])
            if existing is None:
                raise
            return existing

    def _insert(self, original: Original) -> int:
        """One transaction that starts with a write, so that a concurrent SQLite writer makes
        it wait (busy timeout) instead of failing on a stale read snapshot."""
        with self.engine.begin() as connection:
            asset_id = connection.execute(
                insert(assets).values(**original.row)).inserted_primary_key[0]
            connection.execute(insert(fingerprints), [
                {"asset_id": asset_id, "variant": variant, "time_s": time_s, "pdq": code,
                 "quality": quality} for variant, time_s, code, quality in original.prints])
            connection.execute(insert(local_features).values(
                asset_id=asset_id, keypoints=original.features.to_bytes(),
                index_codes=original.index_codes.tobytes(),
                index_points=original.index_points.astype(np.float32).tobytes(),
                references=references_to_bytes(original.references), preview=original.preview))
        return int(asset_id)

    def _find(self, sha256: str, owner: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.execute(select(assets.c.id).where(
                assets.c.sha256 == sha256, assets.c.owner == owner)).scalar()

    def remove(self, asset_id: int) -> bool:
        """Delete an original and everything stored for it; False when there is no such id."""
        with self.engine.begin() as connection:
            connection.execute(delete(local_features).where(
                local_features.c.asset_id == asset_id))
            connection.execute(delete(fingerprints).where(fingerprints.c.asset_id == asset_id))
            return connection.execute(delete(assets).where(assets.c.id == asset_id)).rowcount > 0

    def list(self) -> list[Asset]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(assets).order_by(assets.c.id)).mappings().all()
        return [Asset(**row) for row in rows]

    def get(self, asset_id: int) -> Asset:
        with self.engine.connect() as connection:
            row = connection.execute(select(assets).where(assets.c.id == asset_id)) \
                .mappings().first()
        if row is None:
            raise RegistryError(f"no registered asset #{asset_id}")
        return Asset(**row)

    def signature(self) -> tuple | None:
        """(count, max id) of the assets, or None when the registry tables do not exist. Ids
        are never reused, so any addition or removal changes it."""
        try:
            with self.engine.connect() as connection:
                return tuple(connection.execute(
                    select(func.count(assets.c.id), func.max(assets.c.id))).one())
        except DBAPIError:
            return None

    def index_rows(self) -> tuple[list[tuple], list[tuple]]:
        """What the in-memory indexes are built from, read in one connection: every
        fingerprint as (id, asset id, variant, PDQ hash, time_s) by id, and every original's
        crop-finding descriptors as (asset id, codes, points), raw."""
        with self.engine.connect() as connection:
            prints = connection.execute(select(
                fingerprints.c.id, fingerprints.c.asset_id, fingerprints.c.variant,
                fingerprints.c.pdq, fingerprints.c.time_s).order_by(fingerprints.c.id)).all()
            coded = connection.execute(select(
                local_features.c.asset_id, local_features.c.index_codes,
                local_features.c.index_points)).all()
        return [tuple(row) for row in prints], [tuple(row) for row in coded]

    def with_preview(self) -> set[int]:
        """The ids of the originals that have a preview, in one query."""
        with self.engine.connect() as connection:
            return set(connection.execute(select(local_features.c.asset_id).where(
                local_features.c.preview.is_not(None))).scalars())

    def preview(self, asset_id: int) -> bytes | None:
        """The JPEG of an original made at registration (None: registered before previews
        were kept, or no such id)."""
        with self.engine.connect() as connection:
            blob = connection.execute(select(local_features.c.preview).where(
                local_features.c.asset_id == asset_id)).scalar()
        return bytes(blob) if blob is not None else None

    def local(self, asset_id: int) -> tuple[LocalFeatures, list[Reference]]:
        """An original's local features and pixel references, thumbnail first."""
        with self.engine.connect() as connection:
            row = connection.execute(select(
                local_features.c.keypoints, local_features.c.references).where(
                local_features.c.asset_id == asset_id)).one()
        return LocalFeatures.from_bytes(bytes(row[0])), references_from_bytes(bytes(row[1]))
