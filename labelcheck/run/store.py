"""The results store: SQLAlchemy, a SQLite file by default, any database by URL.

Scan results are kept keyed by content hash, policy, labelcheck version and scan setup (a
digest of the policy's rules and the scan settings), one row per key: a file scanned again under
the same key replaces its row, so a batch that was killed and resumed leaves every file stored
exactly once. That key is what ``scan --resume`` looks up. The URL comes from ``--db``, else the
``LABELCHECK_DB`` environment variable, else a SQLite file in the user's data directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from datetime import date, datetime, timezone
from typing import Iterable

from platformdirs import user_data_dir
from sqlalchemy import (Column, DateTime, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, insert, inspect, select, text,
                        update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from labelcheck.version import __version__
from labelcheck.core.model import Report, report_from_dict
from labelcheck.core.policy import policies_of

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
)
RESULT_KEY = ("sha256", "policy", "labelcheck_version", "setup")


def default_url() -> str:
    """``sqlite:///<user data dir>/labelcheck.db``: the database when a shell names none."""
    folder = user_data_dir("labelcheck", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    return f"sqlite:///{os.path.join(folder, 'labelcheck.db')}"


def connect(url: str | None = None) -> Engine:
    """An engine with the schema in place; SQLite gets WAL and a busy timeout so that
    concurrent writers wait instead of failing."""
    engine = create_engine(url or default_url())
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    _set_aside_unkeyed_results(engine)
    metadata.create_all(engine)
    return engine


def _set_aside_unkeyed_results(engine: Engine) -> None:
    """A `scan_results` table made by labelcheck before results were keyed (no `setup`
    column, no unique key) is renamed, not dropped, so that an upgrade loses no stored result
    and the new table can be created beside it."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    if "scan_results" not in tables or \
            "setup" in {column["name"] for column in inspector.get_columns("scan_results")}:
        return
    number = 0
    while f"scan_results_unkeyed_{number}" in tables:
        number += 1
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE scan_results RENAME TO scan_results_unkeyed_{number}"))
        # index names are schema-wide: the old one would block the new table's index
        connection.execute(text("DROP INDEX IF EXISTS ix_scan_results_sha256"))


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def setup_digest(policy, settings) -> str:
    """What besides the bytes decides a report: the policy's rules (not only its name: a
    policy file can be edited), the scan settings (``--no-ocr``, the trust anchors' content)
    and which requirements are in force on the date the policies are applied at.
    A stored result is reused only under the same digest."""
    anchors = ""
    if settings.trust_anchors:
        with open(settings.trust_anchors, "rb") as handle:
            anchors = hashlib.sha256(handle.read()).hexdigest()
    in_force = [regime.in_force_on(settings.as_of or date.today())
                for regime in policies_of(policy)]
    facts = repr((policy, settings.pixels, settings.max_pixels, anchors, in_force,
                  settings.role))
    return hashlib.sha256(facts.encode("utf-8")).hexdigest()[:32]


def save_report(engine: Engine, report: Report, setup: str = "") -> None:
    """Store one report (replacing the row of the same file, policy, version and setup)."""
    save_reports(engine, [report], setup)


def save_reports(engine: Engine, reports: Iterable[Report], setup: str = "") -> None:
    """Store reports in one transaction, one row per key (the last report of a key wins)."""
    rows = {}
    for number, report in enumerate(reports):
        row = _row(report, setup)
        key = tuple(row[column] for column in RESULT_KEY)
        rows[key if row["sha256"] else ("unkeyed", number)] = row
    if not rows:
        return
    with engine.begin() as connection:
        _upsert(connection, list(rows.values()))


def _row(report: Report, setup: str) -> dict:
    return {"sha256": report.sha256, "path": report.path, "policy": report.policy,
            "labelcheck_version": report.labelcheck_version, "setup": setup,
            "verdict": report.verdict.value,
            "report": json.dumps(report.to_dict(), ensure_ascii=False),
            "scanned_at": datetime.now(timezone.utc)}


def _upsert(connection, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE where the database has it (SQLite, PostgreSQL), else
    insert and update the existing row on a unique-key clash."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(connection.dialect.name)
    if dialect is not None:
        statement = dialect.insert(scan_results)
        replaced = {column: statement.excluded[column]
                    for column in ("path", "verdict", "report", "scanned_at")}
        connection.execute(statement.on_conflict_do_update(index_elements=list(RESULT_KEY),
                                                           set_=replaced), rows)
        return
    for row in rows:
        try:
            with connection.begin_nested():
                connection.execute(insert(scan_results).values(**row))
        except IntegrityError:
            connection.execute(update(scan_results).where(
                *(scan_results.c[column] == row[column] for column in RESULT_KEY)).values(
                **{column: row[column] for column in ("path", "verdict", "report",
                                                      "scanned_at")}))


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
    file would cap a fast batch at the disk's sync rate), and looked up for ``--resume``."""

    BATCH = 64
    SECONDS = 2.0

    def __init__(self, engine: Engine, policy, settings):
        self.engine = engine
        self.policy_name = policy.name
        self.setup = setup_digest(policy, settings)
        self._pending: list[Report] = []
        self._flushed = time.monotonic()

    def lookup(self, sha256s: Iterable[str]) -> dict[str, dict]:
        return stored_reports(self.engine, sha256s, self.policy_name, self.setup)

    def add(self, report: Report) -> None:
        """Queue a report; written once enough are queued or enough time has passed."""
        self._pending.append(report)
        if len(self._pending) >= self.BATCH or time.monotonic() - self._flushed > self.SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the queued reports. A database problem is reported on stderr and the batch
        goes on: the reports were already written to the output."""
        pending, self._pending = self._pending, []
        self._flushed = time.monotonic()
        try:
            save_reports(self.engine, pending, self.setup)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            print(f"labelcheck: could not store {len(pending)} result(s): {reason}",
                  file=sys.stderr)
