"""Why a registered original is held as AI-made, and its preview.

Registering a camera photo used to make it, and every copy of it, "AI-made": the registry
took whatever it was given. An original is now held as AI-made because its owner declared it
(``declared_ai``) or because its scan found AI evidence (``ai_evidence``: what was found).
Originals registered before keep the disclosures their scan found as their evidence; one that
disclosed nothing has neither, and its copies are no longer called AI-made.

``registry_features.preview`` keeps a JPEG of the original made from the scanned pixels, for
the pages that show it (the registry list, a performer's check of a copy); originals
registered before have none.
"""

import sqlalchemy as sa
from alembic import op

revision = "lc0003"
down_revision = "lc0002"
branch_labels = None
depends_on = None

LAYER_WORDS = {"c2pa": "a C2PA manifest", "iptc": "an IPTC Digital Source Type",
               "aigc": "a GB 45438 AIGC label"}


def upgrade() -> None:
    with op.batch_alter_table("registry_assets") as batch:
        batch.add_column(sa.Column("declared_ai", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("ai_evidence", sa.JSON))
    with op.batch_alter_table("registry_features") as batch:
        batch.add_column(sa.Column("preview", sa.LargeBinary))
    _evidence_of_earlier_originals()


def downgrade() -> None:
    with op.batch_alter_table("registry_features") as batch:
        batch.drop_column("preview")
    with op.batch_alter_table("registry_assets") as batch:
        batch.drop_column("ai_evidence")
        batch.drop_column("declared_ai")


def _evidence_of_earlier_originals() -> None:
    """Originals registered before this revision: the disclosures their scan found (badges,
    C2PA, IPTC, AIGC) are AI evidence; none leaves the evidence empty."""
    assets = sa.table("registry_assets", sa.column("id", sa.Integer),
                      sa.column("disclosures", sa.JSON), sa.column("ai_evidence", sa.JSON))
    connection = op.get_bind()
    for asset_id, disclosures in connection.execute(
            sa.select(assets.c.id, assets.c.disclosures)).all():
        connection.execute(sa.update(assets).where(assets.c.id == asset_id).values(
            ai_evidence=_disclosed(disclosures or {})))


def _disclosed(disclosures: dict) -> list[str]:
    found = [f'visible AI label "{badge.get("text", "")}"'
             for badge in disclosures.get("visible") or [] if isinstance(badge, dict)]
    found += [f"AI declared in {words}" for layer, words in LAYER_WORDS.items()
              if disclosures.get(layer)]
    return found
