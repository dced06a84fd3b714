"""Alembic's environment: run the migrations on the connection that `store.migrate` opened
and locked, inside its transaction (Alembic neither begins nor commits it)."""

from alembic import context

context.configure(connection=context.config.attributes["connection"])
with context.begin_transaction():
    context.run_migrations()
