"""Report writers for the CLI: text for people, JSON/JSONL/CSV for machines, a self-contained
HTML report (`labelcheck.writers.html`) for people who audit a whole batch.

Writers stream: each report is written as soon as it is ready, so a long scan never holds
its output in memory and an interrupted scan keeps what it already printed.
"""

from __future__ import annotations

import csv
import json

from labelcheck.writers.html import HtmlWriter
from labelcheck.core.model import STATUS_WORDS, VERDICT_TEXT, Kind, Status, Verdict
from labelcheck.core.names import one_line
from labelcheck.core.wording import describe_location
from labelcheck.writers.base import Writer

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula
CSV_COLUMNS = ["path", "sha256", "media_type", "kind", "verdict", "ai_generated", "tampered",
               "visible_disclosure", "machine_readable_disclosure", "policy", "evidence",
               "missing", "error", "summary"]


class JsonLinesWriter(Writer):
    def _write(self, report):
        self.stream.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")


class JsonWriter(Writer):
    """A JSON array, written element by element."""

    def _write(self, report):
        prefix = "[\n" if sum(self.counts.values()) == 1 else ",\n"
        self.stream.write(prefix + json.dumps(report.to_dict(), ensure_ascii=False, indent=2))

    def close(self):
        self.stream.write("\n]\n" if self.counts else "[]\n")


class CsvWriter(Writer):
    """One row per file; scanned under several policies, one ``verdict:<policy>`` column per
    regime after ``verdict`` (the header is written with the first row, which names them)."""

    def __init__(self, stream, options=None):
        super().__init__(stream, options)
        self.csv: csv.DictWriter | None = None

    def _start(self, report) -> None:
        regimes = [f"verdict:{regime.policy}" for regime in report.verdicts]
        at = CSV_COLUMNS.index("verdict") + 1
        self.csv = csv.DictWriter(self.stream, fieldnames=CSV_COLUMNS[:at] + regimes
                                  + CSV_COLUMNS[at:], extrasaction="ignore")
        self.csv.writeheader()

    def _write(self, report):
        if self.csv is None:
            self._start(report)
        row = {column: getattr(report, column, "") for column in CSV_COLUMNS}
        row["verdict"] = report.verdict.value
        row.update({f"verdict:{regime.policy}": regime.verdict.value
                    for regime in report.verdicts})
        row["kind"] = report.media_kind or ""
        row["evidence"] = "; ".join(f"{f.detector}:{f.code}" for f in report.findings
                                    if f.kind is not Kind.INFO)
        row["missing"] = "; ".join(f"{r.id}: {r.missing}" for r in report.requirements
                                   if r.status is Status.NOT_MET)
        row["error"] = report.error or ""
        self.csv.writerow({column: inert(value) for column, value in row.items()})

    def close(self):
        if self.csv is None:
            self.csv = csv.DictWriter(self.stream, fieldnames=CSV_COLUMNS)
            self.csv.writeheader()


def inert(value):
    """A CSV cell that a spreadsheet shows as text, never runs: text starting with ``=``,
    ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'`` (OWASP's advice on CSV
    injection); file names and metadata values are attacker-controlled."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


KIND_MARKS = {Kind.AI_DECLARATION: "AI", Kind.AI_TRACE: "AI", Kind.POSSIBLE_AI: "AI?",
              Kind.TAMPER: "!!", Kind.REMOVAL: "!!", Kind.PROBLEM: "! ",
              Kind.NOT_AI_DECLARATION: "--", Kind.INFO: "  "}


def _timeline_line(timeline: dict) -> str:
    """A video's label timeline in one line: the intervals, first appearance, coverage."""
    spans = ", ".join(f'{i["start_s"]:.1f}-{i["end_s"]:.1f} s "{i["text"]}"'
                      for i in timeline["intervals"])
    if not spans:
        return f"  timeline ({timeline['duration_s']:.1f} s): no visible AI label in any frame"
    return (f"  timeline ({timeline['duration_s']:.1f} s): label {spans}; first at "
            f"{timeline['first_label_s']:.1f} s, shown {timeline['coverage']:.0%} of the time")


def _detail(report, result) -> str:
    """What met a requirement, or why it is not met or does not bind this file."""
    if result.satisfied:
        return result.satisfied_by[0]
    if result.status is Status.NOT_APPLICABLE and not report.ai_generated:
        return "no AI evidence, so nothing to disclose"
    return result.missing


class TextWriter(Writer):
    """A readable block per file and a tally at the end. A file's block starts with its path
    at the start of a line, and every other line is indented: strings from the file
    (metadata, OCR text, the name itself) are put on one line (`one_line`), so no file can
    forge another file's record."""

    def _write(self, report):
        out = [report.path, f"  {report.verdict.value.upper()}: {report.summary}"]
        if report.verdict is not Verdict.ERROR:
            for result in report.requirements:
                out.append(f"  policy {report.policy} / {result.id}: "
                           f"{STATUS_WORDS[result.status]} ({_detail(report, result)})")
        if report.timeline:
            out.append(_timeline_line(report.timeline))
        for finding in report.findings:
            out.append(f"  [{KIND_MARKS[finding.kind]}] {finding.detector}: {finding.message}")
            where = describe_location(finding.location)
            if where:
                out.append(f"       at {where}  (confidence {finding.confidence:.2f})")
        self.stream.write("\n".join(one_line(line) for line in out) + "\n\n")

    def close(self):
        total = sum(self.counts.values())
        tally = ", ".join(f"{self.counts[v]} {v.value}" for v in Verdict if self.counts[v])
        self.stream.write(f"{total} file(s): {tally or 'nothing scanned'}\n")
        if self.counts[Verdict.NO_AI_SIGNAL]:
            self.stream.write(f"no_ai_signal: {VERDICT_TEXT[Verdict.NO_AI_SIGNAL].explanation}\n")


WRITERS = {"text": TextWriter, "json": JsonWriter, "jsonl": JsonLinesWriter, "csv": CsvWriter,
           "html": HtmlWriter}
