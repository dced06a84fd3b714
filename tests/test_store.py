"""The results store's database: migrations, processes racing on a new database, writes that
fail, and the rows of files that could not be read."""

import hashlib
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, func, select, text

from conftest import ROOT, empty_database, small_jpeg
from labelcheck.core.model import Report
from labelcheck.run import store

PROCESSES = 4
FILES_PER_PROCESS = 3


def distinct_files(folder, count):
    """`count` small JPEGs with different bytes."""
    paths = []
    for number in range(count):
        path = folder / f"picture {number}.jpg"
        path.write_bytes(small_jpeg((40 + number, 30)))
        paths.append(path)
    return paths


def scan_process(files, url, *extra):
    """A `labelcheck scan` in its own process, metadata only, writing JSONL."""
    return subprocess.Popen(
        [sys.executable, "-m", "labelcheck.cli.main", "scan", *map(str, files), "--db", url,
         "--no-ocr", "--quiet", "--workers", "1", "--format", "jsonl", *extra],
        cwd=ROOT, env={**os.environ, "LABELCHECK_DB": ""}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def stored_rows(url) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(store.scan_results)).scalar()
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path):
    """The URL of a database that does not exist yet: a SQLite file, and PostgreSQL when the
    tests have a server."""
    return empty_database(request, tmp_path)


@pytest.mark.slow
def test_parallel_scans_on_a_new_database_lose_nothing(tmp_path, new_database):
    """Four scans start together on a database that does not exist yet: every one exits 0,
    prints every file, and stores every file (before migrations ran under a lock, the
    processes raced to create the tables and the losers stored nothing)."""
    files = distinct_files(tmp_path, PROCESSES * FILES_PER_PROCESS)
    groups = [files[n::PROCESSES] for n in range(PROCESSES)]
    processes = [scan_process(group, new_database) for group in groups]
    for process, group in zip(processes, groups):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "store" not in err, err
        assert len(out.splitlines()) == len(group)
    assert stored_rows(new_database) == len(files)


def test_migrations_build_the_tables_the_code_uses(new_database):
    """What the migrations create is what the table declarations say (every table of
    labelcheck and of the web app), so neither can change without the other."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import labelcheck.registry.tables  # noqa: F401 - declares the registry tables
    import webapp.jobs  # noqa: F401 - declares the web app's tables

    engine = store.connect(new_database)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), store.metadata)
        tables = set(connection.dialect.get_table_names(connection))
    assert differences == []
    assert tables == {table.name for table in store.metadata.sorted_tables} | {
        "alembic_version"}


def test_a_registered_originals_id_is_never_given_again(new_database):
    """The registry reloads its indexes when (count, max id) of its originals changes: an
    original removed and another registered between two looks must change it, so an id is
    never reused (on SQLite, AUTOINCREMENT, which the migrations must keep)."""
    import labelcheck.registry.tables as tables

    engine = store.connect(new_database)
    row = {"owner": "o", "title": "t", "kind": "image", "disclosures": {},
           "added_at": func.now()}
    with engine.begin() as connection:
        first = connection.execute(tables.assets.insert().values(sha256="a", **row))
        first = first.inserted_primary_key[0]
        connection.execute(tables.assets.delete().where(tables.assets.c.id == first))
        second = connection.execute(tables.assets.insert().values(sha256="b", **row))
    assert second.inserted_primary_key[0] > first


def test_database_from_before_migrations_keeps_its_rows(tmp_path):
    """A database whose tables were created by an earlier labelcheck from the declarations
    (no migration history) is taken over as it is: its rows stay, the schema is completed."""
    import labelcheck.registry.tables  # noqa: F401

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    store.metadata.create_all(old, tables=[store.scan_results])
    with old.begin() as connection:
        connection.execute(text("DROP INDEX uq_scan_results_unhashed"))
        for _ in range(2):  # earlier versions added a row per scan of an unreadable file
            connection.execute(store.scan_results.insert().values(
                sha256=None, path="gone.jpg", policy="default", labelcheck_version="0.1.0",
                setup="s", verdict="error", report="{}", scanned_at=func.now()))
    engine = store.connect(url)
    with engine.connect() as connection:
        paths = connection.execute(select(store.scan_results.c.path)).scalars().all()
        tables = set(connection.dialect.get_table_names(connection))
    assert paths == ["gone.jpg"]
    assert {"registry_assets", "web_jobs", "alembic_version"} <= tables


@pytest.mark.slow
def test_an_unreadable_file_keeps_one_row_keyed_by_its_content(tmp_path):
    """Bytes that are no media format still have a content hash: scanned twice, one row."""
    garbage, empty = tmp_path / "notes.jpg", tmp_path / "empty.jpg"
    garbage.write_bytes(b"not a picture at all\n" * 20)
    empty.write_bytes(b"")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    for _ in range(2):
        process = scan_process([garbage, empty], url)
        process.communicate(timeout=120)
        assert process.returncode == 0
    with create_engine(url).connect() as connection:
        rows = connection.execute(select(store.scan_results.c.sha256,
                                         store.scan_results.c.verdict)).all()
    assert sorted(rows) == sorted([
        (hashlib.sha256(garbage.read_bytes()).hexdigest(), "error"),
        (hashlib.sha256(b"").hexdigest(), "error")])


def test_a_file_without_a_content_hash_keeps_one_row_keyed_by_its_path(tmp_path):
    engine = store.connect(f"sqlite:///{tmp_path / 'store.db'}")
    gone = Report(path="gone.jpg", policy="default", labelcheck_version="0.1.0",
                  error="file not found")
    for _ in range(2):
        store.save_reports(engine, [gone, gone], setup="s")
    store.save_report(engine, Report(path="other.jpg", policy="default",
                                     labelcheck_version="0.1.0", error="file not found"), "s")
    with engine.connect() as connection:
        paths = connection.execute(select(store.scan_results.c.path)).scalars().all()
    assert sorted(paths) == ["gone.jpg", "other.jpg"]


def failing_writes(url):
    """Make every write of a result fail inside the database, as a full disk would."""
    store.connect(url)
    with create_engine(url).begin() as connection:
        connection.execute(text(
            "CREATE TRIGGER refuse BEFORE INSERT ON scan_results "
            "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"))


@pytest.mark.slow
def test_a_store_that_cannot_be_written_exits_2_and_keeps_the_output(tmp_path):
    files = distinct_files(tmp_path, 3)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    failing_writes(url)
    process = scan_process(files, url)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert len(out.splitlines()) == 3  # every report was still written
    assert err.strip().splitlines() == [
        "labelcheck: could not store 3 of 3 results in the results store (disk I/O error); "
        "the reports in the output are complete"]
    assert stored_rows(url) == 0


@pytest.mark.slow
@pytest.mark.parametrize("url", ["sqlite:///{tmp}/a-file/store.db",
                                 "postgresql+psycopg://nobody@127.0.0.1:1/none"])
def test_a_store_that_cannot_be_opened_exits_2_before_scanning(tmp_path, url):
    (tmp_path / "a-file").write_text("a file where a folder should be")
    process = scan_process(distinct_files(tmp_path, 1), url.format(tmp=tmp_path))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2 and out == ""
    assert err.startswith("labelcheck: cannot open the results store: ")
    assert err.rstrip().endswith("(use --no-store to scan without it)")
    assert len(err.strip().splitlines()) == 1
