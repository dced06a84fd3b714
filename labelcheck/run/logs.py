"""What labelcheck says on stderr when a detector fails: one line by default, the traceback
with ``--debug``.

A detector that fails (a bug) costs its layer, never the file: the report carries a `problem`
finding and the summary names the layer (`labelcheck.sources.base.Source.run`). The log line is
for the person running the command: which detector, which file, the error in one line. The CLI
sets this up in its own process (`Settings.debug`), and the guarded pool in each worker, which
a fork server starts without the parent's logging setup.
"""

from __future__ import annotations

import logging
import sys

HANDLER_NAME = "labelcheck-stderr"


class OneLine(logging.Formatter):
    """``labelcheck: MESSAGE: ErrorType: what it said`` on one line, no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        message = f"labelcheck: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            said = " ".join(str(error).split())
            message += f": {type(error).__name__}{': ' + said if said else ''}"
            message += " (--debug shows the traceback)"
        return message


def configure(debug: bool) -> None:
    """Send labelcheck's log records to stderr: one line each, or with ``debug`` the full
    record with its traceback. Calling it again replaces the earlier setup."""
    logger = logging.getLogger("labelcheck")
    for handler in [h for h in logger.handlers if h.get_name() == HANDLER_NAME]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(logging.Formatter("labelcheck: %(message)s") if debug else OneLine())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger.propagate = False
