"""The base of every report writer (`labelcheck.writers.WRITERS`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import ClassVar, TextIO

from labelcheck.core.model import Report
from labelcheck.core.policy import Policy
from labelcheck.core.settings import Display


@dataclass(frozen=True)
class WriterOptions:
    """What a writer may use besides the reports: the `policies` applied (the HTML report's
    columns, one per requirement), how its rows are ordered (`sort`: ``input``, or
    ``severity``: the most severe first), and what its files are called in sentences
    (`noun`: "files", a campaign's "creatives")."""

    policies: tuple[Policy, ...] = ()
    sort: str = "input"
    noun: str = "files"


class Writer:
    """Base writer: `write` one report at a time, `close` once at the end. A writer that shows
    pictures names the `display` evidence the scans must make for it (it opens no file)."""

    display: ClassVar[Display | None] = None

    def __init__(self, stream: TextIO, options: WriterOptions | None = None):
        self.stream = stream
        self.options = options or WriterOptions()
        self.counts: Counter = Counter()

    def write(self, report: Report, position: int | None = None) -> None:
        """Write one report; `position` is its file's place in the input, for the writers
        that order their output (streaming ones write as reports come)."""
        self.counts[report.verdict] += 1
        self._write(report)
        self.stream.flush()

    def _write(self, report: Report) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the document (closing brackets, totals)."""
