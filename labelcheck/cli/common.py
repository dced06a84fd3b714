"""What the CLI's commands share: exit codes and the settings read from the environment."""

from __future__ import annotations

import os

EXIT_OK, EXIT_MATCHED, EXIT_USAGE = 0, 1, 2


def database_url(given: str | None) -> str | None:
    """The results store's and the registry's database: ``--db``, else ``LABELCHECK_DB``,
    else None (the SQLite file in the user data directory)."""
    return given or os.environ.get("LABELCHECK_DB") or None


def add_debug_flag(parser) -> None:
    """``--debug``: a detector that fails prints its traceback (default: one line)."""
    parser.add_argument("--debug", action="store_true",
                        help="print the traceback of a detector that fails (default: one "
                             "line on stderr; the report says which layer was not read)")
