"""The HTML report of a batch: one self-contained file a person can open, sort, filter and
forward.

On top, one sentence per regime ("3 of 7 files fail China GB 45438-2025: 2 lack the implicit
AIGC label, 1 shows a label under 5%"), the counts per verdict and of tampered credentials
(each a filter), and charts; then the audit table (`labelcheck.writers.audit`): per file a
thumbnail with the evidence boxes drawn on it, the verdict under each regime, and one cell per
requirement with the measured value against the rule; findings and every requirement folded
under the file's name. Nothing is fetched: styles, script, charts and thumbnails (``data:``
URIs) are all inside the file. The page is made from the same Jinja templates as the web app's
(`labelcheck.writers.view`).

Every string that comes from a file (paths, metadata, OCR text) is attacker-controlled and is
HTML-escaped by the templates. Rows are streamed to a temporary file as reports arrive and put
in order at `close` (input order, or the most severe first): a batch of any size keeps only
counters and one (key, offset) pair per file in memory.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import datetime, timezone

from labelcheck.core.model import Report
from labelcheck.core.settings import Display
from labelcheck.version import __version__
from labelcheck.writers import audit
from labelcheck.writers.base import Writer, WriterOptions

SORTS = ("input", "severity")


class HtmlWriter(Writer):
    """Writes the HTML report; rows go to a temporary file until `close`."""

    display = Display(side=240)  # the scans make each file's 240 px picture

    def __init__(self, stream, options: WriterOptions | None = None):
        super().__init__(stream, options)
        from labelcheck.writers.view import environment  # Jinja2: only for HTML reports

        self.template = environment().get_template("batch/report.html").module
        self.rows = tempfile.TemporaryFile("w+b")
        self.order: list[tuple[tuple, int, int]] = []  # (sort key, offset, length) per row
        self.detectors: Counter = Counter()  # files with evidence from each detector
        self.policies = list(self.options.policies)
        self.regimes: list[audit.Regime] | None = None
        self.tally: audit.Tally | None = None

    def write(self, report: Report, position: int | None = None) -> None:
        """Count and queue a row; nothing reaches the output stream before `close`.
        `position` is the file's place in the input (default: the order of arrival)."""
        from labelcheck.writers.view import row_filters

        self.counts[report.verdict] += 1
        data = report.to_dict()
        if self.regimes is None:
            self._start(data)
        self.detectors.update({f.detector for f in report.findings})
        number = len(self.order) + 1 if position is None else position + 1
        row = audit.audit_row(data, self.regimes, number)
        self.tally.add(row)
        html = str(self.template.file_row(row, self.regimes, report.evidence,
                                          row_filters(row, self.regimes))).encode("utf-8")
        key = (row.rank, number) if self.options.sort == "severity" else (number,)
        self.order.append((key, self.rows.tell(), len(html)))
        self.rows.write(html)

    def _start(self, first: dict) -> None:
        """The columns: the policies given, else those the first report was judged under."""
        self.regimes = (audit.regimes_for(self.policies) if self.policies
                        else audit.regimes_of_report(first))
        self.tally = audit.Tally(self.regimes, self.options.noun)

    def close(self) -> None:
        if self.regimes is None:
            self._start({"policy": self.policies[0].name if self.policies else "default"})
        total = len(self.order)
        made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        policies = self.policies or _loaded(self.regimes)
        self.stream.write(str(self.template.document_start(
            total, made, __version__, self.tally, self.regimes, policies,
            self.detectors.most_common(), "rank" if self.options.sort == "severity"
            else "position")))
        for _, offset, length in sorted(self.order):
            self.rows.seek(offset)
            self.stream.write(self.rows.read(length).decode("utf-8"))
        self.rows.close()
        self.stream.write(str(self.template.document_end()))
        self.stream.flush()


def _loaded(regimes: list[audit.Regime]) -> list:
    """The bundled policies behind `regimes`, for the report's policy section."""
    from labelcheck.core.policy import Policy, PolicyError

    found = []
    for regime in regimes:
        try:
            found.append(Policy.load(regime.name))
        except PolicyError:
            continue
    return found
