"""Registered originals' ids are never reused again, on SQLite.

``registry_assets`` is made with SQLite's AUTOINCREMENT so that an id is never given twice:
the registry's indexes reload when (count, max id) of its originals changes, and an original
removed and another registered between two looks would otherwise leave both the same. The
copy-and-move that lc0003 made of the table on SQLite (to add its columns) left
AUTOINCREMENT out; the table is made again with it. Other databases never reuse ids.
"""

from alembic import op

revision = "lc0004"
down_revision = "lc0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("registry_assets", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    """Nothing to undo: ids that are never reused suit every earlier revision."""
