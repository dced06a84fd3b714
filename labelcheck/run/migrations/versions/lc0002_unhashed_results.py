"""One row per file whose bytes could not be read at all (no content hash): such results are
keyed by path, policy, version and setup, so that scanning the same unreadable file again
replaces its row instead of adding one (a unique index over the rows without a hash)."""

import sqlalchemy as sa
from alembic import op

revision = "lc0002"
down_revision = "lc0001"
branch_labels = None
depends_on = None

UNHASHED = sa.text("sha256 IS NULL")


def upgrade() -> None:
    _keep_newest_unhashed_rows()
    op.create_index("uq_scan_results_unhashed", "scan_results",
                    ["path", "policy", "labelcheck_version", "setup"], unique=True,
                    sqlite_where=UNHASHED, postgresql_where=UNHASHED)


def downgrade() -> None:
    op.drop_index("uq_scan_results_unhashed", "scan_results")


def _keep_newest_unhashed_rows() -> None:
    """Earlier versions added a row on every scan of such a file: keep the newest of each."""
    op.execute("DELETE FROM scan_results WHERE sha256 IS NULL AND id NOT IN ("
               "SELECT MAX(id) FROM scan_results WHERE sha256 IS NULL "
               "GROUP BY path, policy, labelcheck_version, setup)")
