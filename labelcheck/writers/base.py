"""The base of every report writer (`labelcheck.writers.WRITERS`)."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar, TextIO

from labelcheck.core.model import Report
from labelcheck.core.settings import Display


class Writer:
    """Base writer: `write` one report at a time, `close` once at the end. A writer that shows
    pictures names the `display` evidence the scans must make for it (it opens no file)."""

    display: ClassVar[Display | None] = None

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.counts: Counter = Counter()

    def write(self, report: Report) -> None:
        self.counts[report.verdict] += 1
        self._write(report)
        self.stream.flush()

    def _write(self, report: Report) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the document (closing brackets, totals)."""
