"""The schema of labelcheck 0.1: results keyed by content, policy, version and setup, and the
three registry tables.

Databases made before labelcheck used migrations already hold some of these tables (they were
created from the table declarations): those are kept as they are, and only the missing ones are
created. A ``scan_results`` table from before results were keyed (no ``setup`` column, no unique
key) is renamed ``scan_results_unkeyed_N``, not dropped, so that an upgrade loses no stored
result.
"""

import sqlalchemy as sa
from alembic import op

revision = "lc0001"
down_revision = None
branch_labels = ("labelcheck",)
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "scan_results" in existing and not _keyed():
        _set_aside_unkeyed_results(existing)
        existing.discard("scan_results")
    for name, create in (("scan_results", _scan_results),
                         ("registry_assets", _registry_assets),
                         ("registry_fingerprints", _registry_fingerprints),
                         ("registry_features", _registry_features)):
        if name not in existing:
            create()


def downgrade() -> None:
    for name in ("registry_features", "registry_fingerprints", "registry_assets",
                 "scan_results"):
        op.drop_table(name)


def _keyed() -> bool:
    columns = sa.inspect(op.get_bind()).get_columns("scan_results")
    return "setup" in {column["name"] for column in columns}


def _set_aside_unkeyed_results(existing: set[str]) -> None:
    number = 0
    while f"scan_results_unkeyed_{number}" in existing:
        number += 1
    op.rename_table("scan_results", f"scan_results_unkeyed_{number}")
    # index names are schema-wide: the old one would block the new table's index
    op.execute("DROP INDEX IF EXISTS ix_scan_results_sha256")


def _scan_results() -> None:
    op.create_table(
        "scan_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64)),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("labelcheck_version", sa.String(40), nullable=False),
        sa.Column("setup", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sha256", "policy", "labelcheck_version", "setup",
                            name="uq_scan_results_key"))
    op.create_index("ix_scan_results_sha256", "scan_results", ["sha256"])


def _registry_assets() -> None:
    op.create_table(
        "registry_assets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("media_type", sa.String(60)),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("disclosures", sa.JSON, nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sha256", "owner", name="uq_registry_assets_sha256_owner"),
        sqlite_autoincrement=True)
    op.create_index("ix_registry_assets_sha256", "registry_assets", ["sha256"])


def _registry_fingerprints() -> None:
    op.create_table(
        "registry_fingerprints",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("asset_id", sa.Integer,
                  sa.ForeignKey("registry_assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("variant", sa.String(20), nullable=False),
        sa.Column("time_s", sa.Float),
        sa.Column("pdq", sa.LargeBinary(32), nullable=False),
        sa.Column("quality", sa.Integer, nullable=False),
        sqlite_autoincrement=True)
    op.create_index("ix_registry_fingerprints_asset_id", "registry_fingerprints",
                    ["asset_id"])


def _registry_features() -> None:
    op.create_table(
        "registry_features",
        sa.Column("asset_id", sa.Integer,
                  sa.ForeignKey("registry_assets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("keypoints", sa.LargeBinary, nullable=False),
        sa.Column("index_codes", sa.LargeBinary, nullable=False),
        sa.Column("index_points", sa.LargeBinary, nullable=False),
        sa.Column("references", sa.LargeBinary, nullable=False))
