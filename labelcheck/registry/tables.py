"""Where the registry lives: its three tables in the results store's database, and `connect`.

The tables are declared here for queries; the migrations in `labelcheck.run.migrations`
create them.

``registry_assets`` holds one row per original (what it disclosed, and why it is held as
AI-made: declared by its owner, AI evidence found by its scan, or both),
``registry_fingerprints`` its PDQ hashes (one per sampled frame for a video),
``registry_features`` its ORB features, the descriptors of its crop-finding index, its pixel
references and the preview people see (a JPEG made from the scanned pixels at registration).
"""

from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, LargeBinary,
                        String, Table, Text, UniqueConstraint, false)
from sqlalchemy.engine import Engine

from labelcheck.core.settings import REGISTRY_TABLE
from labelcheck.run import store

assets = Table(
    REGISTRY_TABLE, store.metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("note", Text),
    Column("title", Text, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("media_type", String(60)),
    Column("width", Integer),
    Column("height", Integer),
    Column("disclosures", JSON, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    # Why the registry holds it as AI-made: its owner said so, and/or what the scan found.
    Column("declared_ai", Boolean, nullable=False, server_default=false()),
    Column("ai_evidence", JSON),  # the AI evidence its scan found (finding messages)
    UniqueConstraint("sha256", "owner", name="uq_registry_assets_sha256_owner"),
    sqlite_autoincrement=True,  # ids are never reused, so (count, max id) detects any change
)

fingerprints = Table(
    "registry_fingerprints", store.metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", Integer, ForeignKey("registry_assets.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("variant", String(20), nullable=False),  # "full" or "flip"
    Column("time_s", Float),  # keyframe time of a video fingerprint; None for images
    Column("pdq", LargeBinary(32), nullable=False),
    Column("quality", Integer, nullable=False),
    sqlite_autoincrement=True,
)

local_features = Table(
    "registry_features", store.metadata,
    Column("asset_id", Integer, ForeignKey("registry_assets.id", ondelete="CASCADE"),
           primary_key=True),
    Column("keypoints", LargeBinary, nullable=False),  # npz: points, descriptors, size
    Column("index_codes", LargeBinary, nullable=False),  # (INDEX_CODES, 32) uint8, raw
    Column("index_points", LargeBinary, nullable=False),  # their (x, y), float32, raw
    Column("references", LargeBinary, nullable=False),  # npz: thumbnail and badge patches
    Column("preview", LargeBinary),  # JPEG of the original as scanned, for people
)


class RegistryError(Exception):
    """A file that cannot be registered, or an id that does not exist; for a person."""


class NotAiMade(RegistryError):
    """An original that its owner did not declare AI-made and whose scan found no AI evidence:
    the registry holds AI-made originals only, since every copy of one is reported AI-made.
    Each shell says how to declare it (a flag, a checkbox, an API field)."""


def connect(url: str | None = None) -> Engine:
    """The database at `url` with its schema in place: the results store's `connect`, whose
    migrations create the registry tables too (under a lock, so that processes starting on a
    new database at once do not race)."""
    return store.connect(url)
