"""The results store: SQLAlchemy, a SQLite file by default, any database by URL.

Scan results are kept keyed by content hash, policy and labelcheck version, which is what
batch resumption and the registry build on. The URL comes from ``--db``, else the
``LABELCHECK_DB`` environment variable, else a SQLite file in the user's data directory.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from platformdirs import user_data_dir
from sqlalchemy import (Column, DateTime, Integer, MetaData, String, Table, Text,
                        create_engine, event, insert)
from sqlalchemy.engine import Engine

from labelcheck.model import Report

metadata = MetaData()

scan_results = Table(
    "scan_results", metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), index=True),
    Column("path", Text, nullable=False),
    Column("policy", String(200), nullable=False),
    Column("labelcheck_version", String(40), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("report", Text, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)


def default_url() -> str:
    """``LABELCHECK_DB`` if set, else ``sqlite:///<user data dir>/labelcheck.db``."""
    if os.environ.get("LABELCHECK_DB"):
        return os.environ["LABELCHECK_DB"]
    folder = user_data_dir("labelcheck", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    return f"sqlite:///{os.path.join(folder, 'labelcheck.db')}"


def connect(url: str | None = None) -> Engine:
    """An engine with the schema in place; SQLite gets WAL and a busy timeout so that
    concurrent writers wait instead of failing."""
    engine = create_engine(url or default_url())
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def save_report(engine: Engine, report: Report) -> None:
    """Store one report."""
    with engine.begin() as connection:
        connection.execute(insert(scan_results).values(
            sha256=report.sha256, path=report.path, policy=report.policy,
            labelcheck_version=report.labelcheck_version, verdict=report.verdict.value,
            report=json.dumps(report.to_dict(), ensure_ascii=False),
            scanned_at=datetime.now(timezone.utc)))
