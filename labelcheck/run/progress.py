"""Batch progress on stderr: a tqdm bar on a terminal, plain periodic lines in logs.

Both show files done out of the total, files/s, the time left and the count of each verdict.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO

from labelcheck.core.model import Report, Verdict


class Progress:
    """Counts finished reports; subclasses decide how to show them."""

    def __init__(self, total: int, stream: TextIO):
        self.total = total
        self.stream = stream
        self.done = 0
        self.counts: Counter = Counter()
        self.started = time.monotonic()

    def update(self, report: Report) -> None:
        self.done += 1
        self.counts[report.verdict] += 1
        self._show()

    def verdicts(self) -> str:
        return ", ".join(f"{verdict.value} {self.counts[verdict]}" for verdict in Verdict
                         if self.counts[verdict])

    def _show(self) -> None:
        """Called after every report."""

    def close(self) -> None:
        """The last word, once the batch is over."""


class SilentProgress(Progress):
    """``--quiet``."""


class LineProgress(Progress):
    """One line every `every` seconds and one at the end, for logs and CI (stderr is not a
    terminal): ``labelcheck: 120/500 files (24%), 14.2 files/s, 27 s left; disclosed 3, ...``"""

    def __init__(self, total: int, stream: TextIO, every: float = 10.0):
        super().__init__(total, stream)
        self.every = every
        self.shown = self.started

    def _show(self) -> None:
        now = time.monotonic()
        if now - self.shown >= self.every:
            self.shown = now
            self._line()

    def _line(self, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        if final:
            timing = f"in {elapsed:.1f} s"
        else:
            left = (self.total - self.done) / rate if rate else float("inf")
            timing = f"{left:.0f} s left" if left != float("inf") else "time left unknown"
        print(f"labelcheck: {self.done}/{self.total} files{share}, {rate:.1f} files/s, "
              f"{timing}; {self.verdicts() or 'no verdicts yet'}", file=self.stream, flush=True)

    def close(self) -> None:
        self._line(final=True)


class BarProgress(Progress):
    """A tqdm bar (rate and time left are tqdm's) with the verdict counts after it."""

    def __init__(self, total: int, stream: TextIO):
        from tqdm import tqdm

        super().__init__(total, stream)
        self.bar = tqdm(total=total, file=stream, unit="file", dynamic_ncols=True,
                        desc="labelcheck")

    def _show(self) -> None:
        self.bar.update(1)
        self.bar.set_postfix_str(self.verdicts(), refresh=False)

    def close(self) -> None:
        self.bar.close()


def progress_for(total: int, quiet: bool = False, stream: TextIO | None = None) -> Progress:
    """The right display for `stream` (default stderr): nothing, a bar, or lines."""
    stream = stream or sys.stderr
    if quiet:
        return SilentProgress(total, stream)
    if stream.isatty():
        return BarProgress(total, stream)
    return LineProgress(total, stream)
