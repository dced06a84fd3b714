"""What the CLI's commands share: exit codes, argument types and the settings read from the
environment."""

from __future__ import annotations

import argparse
import datetime as dt
import os

from labelcheck.core.model import Verdict

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


def add_date_and_role(parser: argparse.ArgumentParser) -> None:
    """``--as-of`` and ``--role``: which rules of the policies apply (scan and watch alike)."""
    parser.add_argument("--as-of", type=date_argument, metavar="YYYY-MM-DD",
                        help="apply the rules in force on this date (default: today)")
    parser.add_argument("--role", metavar="ROLE",
                        help="judge only the requirements that bind this role (provider, "
                             "deployer, platform, advertiser, live-room operator...; "
                             "`labelcheck policies --requirements` lists them); default: every "
                             "role")


def date_argument(text: str) -> dt.date:
    """``--as-of``: a date, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def verdicts_argument(text: str) -> frozenset[Verdict]:
    """``--fail-on``: verdicts, comma-separated."""
    try:
        return frozenset(Verdict(word.strip()) for word in text.split(",") if word.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: verdicts are {', '.join(v.value for v in Verdict)}") from None
