"""The web app's watch jobs (``web_watches``): a live stream watched by its own process."""

import sqlalchemy as sa
from alembic import op

revision = "web0002"
down_revision = "web0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_watches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("verdict", sa.String(20)),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)))
    op.create_index("ix_web_watches_status", "web_watches", ["status"])


def downgrade() -> None:
    op.drop_table("web_watches")
