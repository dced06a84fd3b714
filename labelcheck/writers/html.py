"""The HTML report of a batch: one self-contained file a person can open, filter and forward.

Summary counts and charts (inline SVG), the policy, and a filterable table (a few lines of
inline JavaScript) with, per file, a thumbnail with the evidence boxes drawn on it, the verdict,
the summary, the findings and the policy's requirements. Nothing is fetched: styles, charts and
thumbnails (``data:`` URIs) are all inside the file.

Every string that comes from a file (paths, metadata, OCR text) is attacker-controlled and is
HTML-escaped. Rows are streamed to a temporary file as reports arrive and the document is
assembled at `close`, so a batch of any size keeps only counters in memory.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections import Counter
from datetime import datetime, timezone
from html import escape

from labelcheck.version import __version__
from labelcheck.core.model import STATUS_WORDS, VERDICT_TEXT, Report, Status, Verdict
from labelcheck.core.settings import Display
from labelcheck.core.wording import describe_location
from labelcheck.writers.base import Writer
from labelcheck.writers.evidence import is_box

STATUS_CLASSES = {Status.MET: "met", Status.NOT_MET: "unmet"}  # the rest are shown neutrally
COLOURS = {Verdict.DISCLOSED: "#2e7d32", Verdict.UNDISCLOSED: "#ef6c00",
           Verdict.STRIPPED: "#c62828", Verdict.NO_AI_SIGNAL: "#78909c",
           Verdict.ERROR: "#6a1b9a"}


class HtmlWriter(Writer):
    """Writes the HTML report; rows go to a temporary file until `close`."""

    display = Display(side=240)  # the scans make each file's 240 px picture

    def __init__(self, stream):
        super().__init__(stream)
        self.rows = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.detectors: Counter = Counter()  # files with evidence from each detector
        self.policies: dict[str, list[tuple[str, str]]] = {}  # name -> requirements

    def _write(self, report: Report) -> None:
        self.detectors.update({f.detector for f in report.findings})
        for regime in report.verdicts or [report]:  # each policy of a scan under several
            self.policies.setdefault(regime.policy, [(r.id, r.description)
                                                     for r in regime.requirements])
        self.rows.write(file_row(report, sum(self.counts.values())))

    def write(self, report: Report) -> None:
        """Count and queue a row; nothing reaches the output stream before `close`."""
        self.counts[report.verdict] += 1
        self._write(report)

    def close(self) -> None:
        total = sum(self.counts.values())
        self.stream.write(_head(total))
        self.stream.write(_summary(self.counts, total, self.detectors))
        self.stream.write(_policies(self.policies))
        self.stream.write(_table_start(total))
        self.rows.seek(0)
        shutil.copyfileobj(self.rows, self.stream)
        self.rows.close()
        self.stream.write(_TAIL)
        self.stream.flush()


# -- one file -----------------------------------------------------------------------------------

def file_row(report: Report, number: int) -> str:
    """The table row of one report and its evidence."""
    verdict = report.verdict.value
    searchable = " ".join([report.path, verdict, report.summary, report.error or "",
                           *(f"{f.detector} {f.code}" for f in report.findings)]).lower()
    return (f'<tr class="file" data-verdict="{verdict}" data-text="{escape(searchable)}">'
            f'<td class="num">{number}</td><td class="thumb">{thumbnail(report)}</td>'
            f'<td><div class="path">{escape(report.path)}</div>'
            f'<div class="meta">{escape(report.media_type or "")} '
            f'{_size(report.size)}</div></td>'
            f'<td><span class="verdict v-{verdict}">{verdict}</span></td>'
            f'<td>{escape(report.summary)}{_timeline(report)}{_evidence(report)}</td></tr>\n')


def _size(size: int | None) -> str:
    return "" if size is None else f"{size / 1024:,.1f} KiB"


def _evidence(report: Report) -> str:
    """Findings (detector, kind, what, where, confidence) and requirements, folded."""
    findings = "".join(
        f"<tr><td>{escape(f.detector)}</td><td>{escape(f.kind.value)}</td>"
        f"<td><code>{escape(f.code)}</code> {escape(f.message)}</td>"
        f"<td>{escape(describe_location(f.location))}</td><td>{f.confidence:.2f}</td></tr>"
        for f in report.findings)
    requirements = "".join(
        f'<li class="{STATUS_CLASSES.get(r.status, "neutral")}">{escape(r.id)}: '
        f"{STATUS_WORDS[r.status]}"
        f'{" by " + escape("; ".join(r.satisfied_by)) if r.satisfied else ": " + escape(r.missing)}'
        f"</li>" for r in report.requirements)
    error = f'<p class="error">{escape(report.error)}</p>' if report.error else ""
    return (f"<details><summary>{len(report.findings)} finding(s), policy "
            f"{escape(report.policy)}</summary>{error}"
            + (f'<table class="findings"><tr><th>detector</th><th>kind</th><th>what</th>'
               f"<th>where</th><th>conf.</th></tr>{findings}</table>" if findings else "")
            + (f"<ul>{requirements}</ul>" if requirements else "") + "</details>")


def _timeline(report: Report) -> str:
    """A bar over a video's duration: where a label was on screen."""
    timeline = report.to_dict().get("timeline")
    if not timeline or not timeline.get("duration_s"):
        return ""
    duration = float(timeline["duration_s"])
    spans = "".join(
        f'<rect x="{100 * float(i["start_s"]) / duration:.2f}" y="0" '
        f'width="{max(0.5, 100 * (float(i["end_s"]) - float(i["start_s"])) / duration):.2f}" '
        f'height="10" class="label-span"><title>{escape(str(i.get("text", "")))} '
        f'{float(i["start_s"]):.1f}-{float(i["end_s"]):.1f} s</title></rect>'
        for i in timeline.get("intervals", []))
    coverage = timeline.get("coverage")
    note = f"label on screen {100 * float(coverage):.0f}% of {duration:.1f} s" \
        if coverage is not None else f"{duration:.1f} s"
    return (f'<div class="timeline"><svg viewBox="0 0 100 10" preserveAspectRatio="none">'
            f'<rect x="0" y="0" width="100" height="10" class="track"/>{spans}</svg>'
            f"<span>{escape(note)}</span></div>")


# -- thumbnails -----------------------------------------------------------------------------

def thumbnail(report: Report) -> str:
    """An inline SVG: the picture the scan made (`Report.evidence`; a video: the frame where a
    label was first seen) as a data: URI with the evidence boxes drawn at their pixel
    positions; a placeholder when the scan made none (unreadable, or a stored report)."""
    picture = report.evidence.picture if report.evidence else None
    if picture is None:
        return f'<div class="nothumb">{escape(report.media_kind or "file")}</div>'
    width, height = picture.size
    uri = "data:image/jpeg;base64," + base64.b64encode(picture.jpeg).decode("ascii")
    rects = "".join(
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" class="box">'
        f"<title>{escape(title)}</title></rect>" for (x, y, w, h), title in _boxes(report))
    return (f'<svg class="pic" viewBox="0 0 {width} {height}" role="img">'
            f'<image href="{uri}" width="{width}" height="{height}"/>{rects}</svg>')


def _boxes(report: Report) -> list[tuple[list, str]]:
    """The boxes to draw: a still's located findings; a video frame's label box."""
    picture = report.evidence.picture
    if picture.time_s is not None:
        return [(picture.box, f"label at {picture.time_s:.1f} s")] if picture.box else []
    return [(f.location["box"], f"{f.detector}: {f.message}") for f in report.findings
            if isinstance(f.location, dict) and is_box(f.location.get("box"))]


# -- the document ---------------------------------------------------------------------------

def _head(total: int) -> str:
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>labelcheck report: {total} file(s)</title><style>{_STYLE}</style></head>"
            f'<body><header><h1>labelcheck report</h1><p class="meta">{total} file(s), made '
            f"{made} by labelcheck {escape(__version__)}</p></header>\n")


def _summary(counts: Counter, total: int, detectors: Counter) -> str:
    cards = "".join(
        f'<button class="card" data-filter="{v.value}" '
        f'title="{escape(VERDICT_TEXT[v].explanation)}"'
        f' style="border-color:{COLOURS[v]}"><b>{counts[v]}</b> {v.value}</button>'
        for v in Verdict)
    verdict_chart = _bar_chart("Verdicts", [(v.value, counts[v], COLOURS[v]) for v in Verdict],
                               total)
    detector_chart = _bar_chart("Files with evidence, by detector",
                                [(name, n, "#455a64") for name, n in detectors.most_common()],
                                total)
    return (f'<section class="summary"><div class="cards">{cards}</div>'
            f'<div class="charts">{verdict_chart}{detector_chart}</div></section>\n')


def _bar_chart(title: str, bars: list[tuple[str, int, str]], total: int) -> str:
    """A horizontal bar chart as inline SVG."""
    row, label_w, bar_w = 22, 150, 260
    height = row * max(1, len(bars)) + 26
    body = "".join(
        f'<g transform="translate(0,{26 + i * row})" data-bar="{escape(name)}">'
        f'<text x="{label_w - 6}" y="14" text-anchor="end">{escape(name)}</text>'
        f'<rect x="{label_w}" y="3" height="14" '
        f'width="{bar_w * count / total if total else 0:.1f}" fill="{colour}"/>'
        f'<text x="{label_w + 6 + (bar_w * count / total if total else 0):.1f}" y="14">'
        f"{count}</text></g>" for i, (name, count, colour) in enumerate(bars))
    return (f'<svg class="chart" viewBox="0 0 {label_w + bar_w + 60} {height}" '
            f'width="{label_w + bar_w + 60}" height="{height}" role="img" '
            f'aria-label="{escape(title)}"><text x="0" y="16" class="title">{escape(title)}'
            f"</text>{body}</svg>")


def _policies(policies: dict[str, list[tuple[str, str]]]) -> str:
    from labelcheck.core.policy import Policy, PolicyError

    parts = []
    for name, requirements in policies.items():
        try:
            policy = Policy.load(name)
            about = f"{escape(policy.title)}: {escape(policy.description)}"
        except PolicyError:
            about = ""
        items = "".join(f"<li><b>{escape(rid)}</b>: {escape(text)}</li>"
                        for rid, text in requirements)
        parts.append(f"<h2>Policy {escape(name)}</h2><p>{about}</p><ul>{items}</ul>")
    return f'<section class="policy">{"".join(parts)}</section>\n'


def _table_start(total: int) -> str:
    options = "".join(f'<option value="{v.value}">{v.value}</option>' for v in Verdict)
    return ('<section><div class="filters"><input id="q" type="search" '
            'placeholder="filter: path, summary, detector..." aria-label="filter">'
            f'<select id="verdict" aria-label="verdict"><option value="">all verdicts</option>'
            f'{options}</select> <span id="shown">{total}</span> shown</div>'
            '<table id="files"><thead><tr><th>#</th><th>picture</th><th>file</th>'
            "<th>verdict</th><th>evidence</th></tr></thead><tbody>\n")


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{margin:0}.meta{color:#666;font-size:12px}
.cards{display:flex;gap:.5em;flex-wrap:wrap;margin:1em 0}
.card{border:2px solid;border-radius:6px;padding:.4em .8em;background:#fff;cursor:pointer}
.card b{font-size:20px}.charts{display:flex;gap:2em;flex-wrap:wrap}
.chart text{font-size:12px}.chart .title{font-weight:bold}
.filters{margin:1em 0;display:flex;gap:.5em;align-items:center}#q{width:24em;padding:.3em}
table#files{border-collapse:collapse;width:100%}
#files>tbody>tr>td,#files>thead>tr>th{border-top:1px solid #ddd;padding:6px;vertical-align:top;
text-align:left}
.num{color:#999}.thumb{width:170px}.pic{width:160px;height:auto;max-height:160px;display:block}
.box{fill:none;stroke:#ff1744;stroke-width:3;vector-effect:non-scaling-stroke}
.nothumb{width:160px;height:60px;background:#eceff1;color:#78909c;display:flex;
align-items:center;justify-content:center}
.path{font-family:monospace;word-break:break-all}
.verdict{color:#fff;border-radius:4px;padding:2px 6px;font-weight:bold;white-space:nowrap}
.v-disclosed{background:#2e7d32}.v-undisclosed{background:#ef6c00}.v-stripped{background:#c62828}
.v-no_ai_signal{background:#78909c}.v-error{background:#6a1b9a}
table.findings{border-collapse:collapse;margin:.4em 0;font-size:12px}
table.findings td,table.findings th{border:1px solid #e0e0e0;padding:2px 4px;text-align:left}
li.met{color:#2e7d32}li.unmet{color:#c62828}li.neutral{color:#546e7a}.error{color:#6a1b9a}
.timeline{display:flex;gap:.5em;align-items:center;margin:.3em 0}
.timeline svg{width:240px;height:10px}.track{fill:#eceff1}.label-span{fill:#2e7d32}
"""

_TAIL = """</tbody></table></section>
<script>
(function () {
  var q = document.getElementById('q'), v = document.getElementById('verdict');
  var rows = document.querySelectorAll('#files tr.file');
  function apply() {
    var text = q.value.toLowerCase(), want = v.value, shown = 0;
    rows.forEach(function (row) {
      var ok = (!want || row.dataset.verdict === want) && row.dataset.text.indexOf(text) >= 0;
      row.hidden = !ok; if (ok) shown++;
    });
    document.getElementById('shown').textContent = shown;
  }
  q.addEventListener('input', apply); v.addEventListener('change', apply);
  document.querySelectorAll('[data-filter]').forEach(function (card) {
    card.addEventListener('click', function () {
      v.value = v.value === card.dataset.filter ? '' : card.dataset.filter; apply();
    });
  });
})();
</script></body></html>
"""
