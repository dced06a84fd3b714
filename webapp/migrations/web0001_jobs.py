"""The web app's jobs and their items. Databases made before labelcheck used migrations may
already hold them (created from the table declarations): existing tables are kept."""

import sqlalchemy as sa
from alembic import op

revision = "web0001"
down_revision = None
branch_labels = ("webapp",)
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "web_jobs" not in existing:
        op.create_table(
            "web_jobs",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("kind", sa.String(10), nullable=False),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("policy", sa.String(200), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
    if "web_job_items" not in existing:
        op.create_table(
            "web_job_items",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("job_id", sa.String(32),
                      sa.ForeignKey("web_jobs.id", ondelete="CASCADE"), nullable=False),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("stored", sa.String(64), nullable=False),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("verdict", sa.String(20)),
            sa.Column("report", sa.Text),
            sa.Column("extras", sa.JSON),
            sa.Column("error", sa.Text),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))
        op.create_index("ix_web_job_items_job_id", "web_job_items", ["job_id"])
        op.create_index("ix_web_job_items_status", "web_job_items", ["status"])


def downgrade() -> None:
    op.drop_table("web_job_items")
    op.drop_table("web_jobs")
