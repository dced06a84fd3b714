"""Alembic migrations of the web app's tables (``web_jobs``, ``web_job_items``), the branch
``webapp`` of labelcheck's database. `labelcheck.run.store.connect` finds this folder through the
``labelcheck.migrations`` entry point and runs it with labelcheck's own migrations."""
