"""One module per schema change of the ``labelcheck`` branch (Alembic revisions)."""
