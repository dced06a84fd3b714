"""Alembic migrations of labelcheck's database: the results store and the registry tables.

`labelcheck.run.store.connect` runs them (``upgrade heads``) on every new connection to a
database that is not at the newest revision, under a lock, so that two processes starting on a
new database at once never race (see `labelcheck.run.store.migrate`). `env.py` is Alembic's
environment; `versions/` holds one module per schema change, in the branch ``labelcheck``.
Other installed packages add their own branch through the ``labelcheck.migrations`` entry
point (the web app's job tables: `webapp.migrations`).

A schema change is a new module in `versions/` whose ``down_revision`` is the current head;
the test ``tests/test_store.py::test_migrations_build_the_tables_the_code_uses`` fails until
the migrations and the tables declared in the code agree.
"""
