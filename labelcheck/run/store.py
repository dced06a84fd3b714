"""The results store: SQLAlchemy, a SQLite file by default, any database by URL.

Scan results are kept keyed by content hash, policy, labelcheck version and scan setup (a
digest of the policy's rules and the scan settings), one row per key: a file scanned again under
the same key replaces its row, so a batch that was killed and resumed leaves every file stored
exactly once. That key is what ``scan --resume`` looks up. A file whose bytes could not be read
at all has no content hash; its row is keyed by its path instead. The URL comes from the shell
(``--db``, else the ``LABELCHECK_DB`` environment variable), else a SQLite file in the user's
data directory.

The schema is made and upgraded by Alembic migrations (`labelcheck.run.migrations`, plus the
branches other packages add through the ``labelcheck.migrations`` entry point), run by
`connect` under a lock: processes that start on a new database at once wait for the first one's
migration instead of racing to create the tables (`migrate`). Writes that fail are retried;
a result that still cannot be stored is counted, never ignored (`ResultStore.unstored`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import date, datetime, timezone
from functools import cache
from importlib.metadata import entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import Iterable

from sqlalchemy import (Column, DateTime, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, insert, select, text, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from labelcheck.version import __version__
from labelcheck.core.model import Report, report_from_dict
from labelcheck.core.policy import policies_of
from labelcheck.core.settings import default_url
from labelcheck.sources.c2pa.trust import trust_digest

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_ENTRY_POINTS = "labelcheck.migrations"  # other packages' branches (the web app's)
SCHEMA_LOCK = 0x6C6162656C636B  # PostgreSQL advisory lock held while the schema is migrated
WRITE_ATTEMPTS = 3  # a failed write of results is tried this often before it counts as lost

metadata = MetaData()

scan_results = Table(
    "scan_results", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), index=True),
    Column("path", Text, nullable=False),
    Column("policy", String(200), nullable=False),
    Column("labelcheck_version", String(40), nullable=False),
    Column("setup", String(64), nullable=False, default=""),
    Column("verdict", String(20), nullable=False),
    Column("report", Text, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("sha256", "policy", "labelcheck_version", "setup",
                     name="uq_scan_results_key"),
    Index("uq_scan_results_unhashed", "path", "policy", "labelcheck_version", "setup",
          unique=True, sqlite_where=text("sha256 IS NULL"),
          postgresql_where=text("sha256 IS NULL")),
)
RESULT_KEY = ("sha256", "policy", "labelcheck_version", "setup")
UNHASHED_KEY = ("path", "policy", "labelcheck_version", "setup")
REPLACED = ("path", "verdict", "report", "scanned_at")


class StoreError(Exception):
    """The results store cannot be opened or written; the message is for a person."""


def connect(url: str | None = None) -> Engine:
    """An engine on the database at `url` (default `default_url`) with its schema migrated to
    the newest revision. SQLite gets WAL and a busy timeout, so that concurrent writers wait
    instead of failing. Raises `StoreError` when the database cannot be reached or migrated."""
    try:
        engine = create_engine(url or default_url())
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        migrate(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open the results store: {reason(exc)}") from None
    except ImportError as exc:  # a driver that is not installed (psycopg, ...)
        raise StoreError(f"cannot open the results store: {exc}") from None
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may have to wait
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision of every branch (Alembic ``upgrade heads``).

    A database already there costs one query. Otherwise the migration runs in one
    transaction that first takes a lock, so that processes starting together on a new
    database run it one after the other (the second finds it done): SQLite's write lock
    (``BEGIN IMMEDIATE``; its DDL is transactional), PostgreSQL's advisory transaction lock
    (its DDL is transactional too). Other databases migrate without a lock.
    """
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = _heads()
    if current == heads:
        return
    unknown = current - _revisions()
    if unknown:
        raise StoreError(f"the database was migrated by a newer labelcheck (revision "
                         f"{', '.join(sorted(unknown))}); upgrade labelcheck to use it")
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _migrate_sqlite(connection)
        else:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": SCHEMA_LOCK})
            _upgrade(connection)
            connection.commit()


def _migrate_sqlite(connection: Connection) -> None:
    """The migration inside ``BEGIN IMMEDIATE ... COMMIT``, which the Python driver would not
    emit around DDL by itself: the driver is put in autocommit mode and the transaction is
    driven by hand."""
    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        _upgrade(connection)
    except BaseException:
        connection.exec_driver_sql("ROLLBACK")
        raise
    connection.exec_driver_sql("COMMIT")


def _upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.util import CommandError

    config = _alembic_config()
    config.attributes["connection"] = connection
    try:
        command.upgrade(config, "heads")
    except CommandError as exc:
        raise StoreError(f"cannot migrate the results store: {exc}") from None


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _escaped(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(
        _escaped(location) for location in _version_locations()))
    return config


def _escaped(path: Path | str) -> str:
    return str(path).replace("%", "%%")  # Alembic's options go through ConfigParser


@cache
def _version_locations() -> tuple[str, ...]:
    """labelcheck's migrations, then the folder of each ``labelcheck.migrations`` entry point:
    a package (``webapp.migrations``) whose folder holds that package's revisions. The folder
    is found without importing anything (the web app's package imports Flask)."""
    found = [str(MIGRATIONS / "versions")]
    for entry in entry_points(group=MIGRATION_ENTRY_POINTS):
        top, *inner = entry.value.split(".")
        spec = find_spec(top)
        if spec is None or not spec.submodule_search_locations:
            raise StoreError(f"the migrations of {entry.value} are not installed")
        found.append(os.path.join(list(spec.submodule_search_locations)[0], *inner))
    return tuple(found)


@cache
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


def _heads() -> set[str]:
    return set(_script().get_heads())


def _revisions() -> set[str]:
    return {revision.revision for revision in _script().walk_revisions()}


def reason(exc: Exception) -> str:
    """The first line of a database error's own message, without SQLAlchemy's wrapping."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def setup_digest(policy, settings) -> str:
    """What besides the bytes decides a report: the policy's rules (not only its name: a
    policy file can be edited), the scan settings (``--no-ocr``; the C2PA trust setting, the
    bundled lists' dates and the trust anchors' content)
    and which requirements are in force on the date the policies are applied at.
    A stored result is reused only under the same digest."""
    anchors = trust_digest(settings.trust, settings.trust_anchors)
    in_force = [regime.in_force_on(settings.as_of or date.today())
                for regime in policies_of(policy)]
    facts = repr((policy, settings.pixels, settings.max_pixels, anchors, in_force,
                  settings.role))
    return hashlib.sha256(facts.encode("utf-8")).hexdigest()[:32]


def save_report(engine: Engine, report: Report, setup: str = "") -> None:
    """Store one report (replacing the row of the same file, policy, version and setup)."""
    save_reports(engine, [report], setup)


def save_reports(engine: Engine, reports: Iterable[Report], setup: str = "") -> None:
    """Store reports in one transaction, one row per key (the last report of a key wins): the
    content hash, or the path for a file whose bytes could not be read."""
    rows = {}
    for report in reports:
        row = _row(report, setup)
        key = RESULT_KEY if row["sha256"] else UNHASHED_KEY
        rows[(key, *(row[column] for column in key))] = row
    if not rows:
        return
    with engine.begin() as connection:
        _upsert(connection, [row for row in rows.values() if row["sha256"]], RESULT_KEY)
        _upsert(connection, [row for row in rows.values() if not row["sha256"]],
                UNHASHED_KEY)


def _row(report: Report, setup: str) -> dict:
    return {"sha256": report.sha256, "path": report.path, "policy": report.policy,
            "labelcheck_version": report.labelcheck_version, "setup": setup,
            "verdict": report.verdict.value,
            "report": json.dumps(report.to_dict(), ensure_ascii=False),
            "scanned_at": datetime.now(timezone.utc)}


def _upsert(connection, rows: list[dict], key: tuple[str, ...]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE on the unique `key` where the database has it (SQLite,
    PostgreSQL), else insert and update the existing row on a unique-key clash."""
    if not rows:
        return
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(connection.dialect.name)
    if dialect is not None:
        statement = dialect.insert(scan_results)
        unhashed = scan_results.c.sha256.is_(None) if key == UNHASHED_KEY else None
        connection.execute(statement.on_conflict_do_update(
            index_elements=list(key), index_where=unhashed,
            set_={column: statement.excluded[column] for column in REPLACED}), rows)
        return
    for row in rows:
        try:
            with connection.begin_nested():
                connection.execute(insert(scan_results).values(**row))
        except IntegrityError:
            connection.execute(update(scan_results).where(
                *(scan_results.c[column] == row[column] for column in key)).values(
                **{column: row[column] for column in REPLACED}))


def stored_reports(engine: Engine, sha256s: Iterable[str], policy_name: str, setup: str,
                   version: str = __version__) -> dict[str, dict]:
    """The stored JSON reports of these contents under this policy, setup and version, by
    content hash."""
    wanted = list(dict.fromkeys(sha256s))
    found: dict[str, dict] = {}
    with engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            rows = connection.execute(select(scan_results.c.sha256, scan_results.c.report).where(
                scan_results.c.sha256.in_(wanted[start:start + 500]),
                scan_results.c.policy == policy_name, scan_results.c.setup == setup,
                scan_results.c.labelcheck_version == version))
            found.update((sha256, json.loads(report)) for sha256, report in rows)
    return found


class StoredReport(Report):
    """A report read back from the store. Its JSON form is the stored one (with the path it has
    now), so a resumed batch prints exactly what the first run printed, including fields that
    this version's `Report` does not have."""

    def __init__(self, data: dict, path: str):
        super().__init__(**vars(report_from_dict({**data, "path": path})))
        self._stored = {**data, "path": path}

    def to_dict(self):
        return dict(self._stored)


class ResultStore:
    """Results of one batch going into the store: saved in small transactions (a commit per
    file would cap a fast batch at the disk's sync rate), and looked up for ``--resume``.

    A write that fails is tried `WRITE_ATTEMPTS` times; when it still fails, the store stops
    writing for the rest of the batch and counts what it could not store (`unstored`, with
    the `error`), so that the shell can end the batch with an error: the reports themselves
    were already written to the output, so nothing is dropped."""

    BATCH = 64
    SECONDS = 2.0
    RETRY_S = 0.5  # the first wait before a write is tried again; doubled every time

    def __init__(self, engine: Engine, policy, settings):
        self.engine = engine
        self.policy_name = policy.name
        self.setup = setup_digest(policy, settings)
        self.added = 0  # reports given to the store
        self.unstored = 0  # of which could not be written
        self.error: str | None = None
        self._pending: list[Report] = []
        self._flushed = time.monotonic()

    def lookup(self, sha256s: Iterable[str]) -> dict[str, dict]:
        """The stored reports of these contents (``--resume``); `StoreError` when the store
        cannot be read."""
        try:
            return stored_reports(self.engine, sha256s, self.policy_name, self.setup)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the results store: {reason(exc)}") from None

    def add(self, report: Report) -> None:
        """Queue a report; written once enough are queued or enough time has passed."""
        self.added += 1
        self._pending.append(report)
        if len(self._pending) >= self.BATCH or time.monotonic() - self._flushed > self.SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the queued reports, retrying a failed write; what cannot be written is
        counted in `unstored`."""
        pending, self._pending = self._pending, []
        self._flushed = time.monotonic()
        if not pending:
            return
        if self.error is None:
            self.error = self._save(pending)
        if self.error is not None:
            self.unstored += len(pending)

    def _save(self, reports: list[Report]) -> str | None:
        """None when the reports were stored, else why they could not be."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                save_reports(self.engine, reports, self.setup)
                return None
            except SQLAlchemyError as exc:
                failure = reason(exc)
            if attempt + 1 < WRITE_ATTEMPTS:
                time.sleep(self.RETRY_S * 2 ** attempt)
        return failure
