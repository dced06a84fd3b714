"""What the HTML report and the web app's pages share: one Jinja setup and its helpers.

The shared templates live in ``labelcheck/writers/templates/shared/`` (package data): macros
for what both show (a verdict badge, a picture with numbered evidence boxes, the requirement
list with statuses, a video's label timeline, the audit table) and the stylesheet and script
they need. The CLI's report inlines the stylesheet and the script (one self-contained file);
the web app loads the same folder into its Jinja loader (`install` adds the same helpers) and
serves the two files from its own address (its Content-Security-Policy allows no inline code).

The helpers take a report's JSON form (README "Report format"): every shell has it, and it is
what the web app keeps. Every string from a file is escaped by the templates (autoescape).
"""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup, escape

from labelcheck.core.model import STATUS_WORDS, VERDICT_TEXT, Status
from labelcheck.writers import audit
from labelcheck.core.wording import channel_words, describe_location, is_box

TEMPLATES = "templates"
ASSETS = ("audit.css", "audit.js")  # served or inlined as they are
BREAKS_AFTER = "/\\_-."  # where a long file name may wrap (never inside a word)


@cache
def environment() -> jinja2.Environment:
    """The Jinja environment of labelcheck's own documents (the HTML report)."""
    env = jinja2.Environment(loader=loader(), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True)
    install(env)
    return env


def loader() -> jinja2.BaseLoader:
    """The loader of the shared templates (the web app chains it after its own)."""
    return jinja2.PackageLoader("labelcheck.writers", TEMPLATES)


def install(env: jinja2.Environment) -> None:
    """Add the helpers the shared templates use to `env`."""
    env.globals.update(verdict_text=verdict_text, status_words=status_words,
                       evidence_boxes=evidence_boxes, frame_boxes=frame_boxes,
                       box_number=box_number, location_text=describe_location,
                       channel_words=channel_words, asset=asset,
                       picture_boxes=picture_boxes, judged=audit.judged,
                       row_filters=row_filters)
    env.filters["breakable"] = breakable
    env.filters["lowerfirst"] = lambda text: text[:1].lower() + text[1:]
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")


def asset(name: str) -> Markup:
    """A shared stylesheet or script, to inline in a self-contained page (our own file)."""
    if name not in ASSETS:
        raise ValueError(f"no shared asset {name!r}")
    return Markup(asset_text(name))


@cache
def asset_text(name: str) -> str:
    return resources.files("labelcheck.writers").joinpath(TEMPLATES, "shared", name) \
        .read_text("utf-8")


def verdict_text(verdict: str):
    """How a verdict is worded (`VERDICT_TEXT`), by its JSON value."""
    return VERDICT_TEXT[_verdicts()[verdict]] if verdict in _verdicts() else None


@cache
def _verdicts() -> dict:
    return {verdict.value: verdict for verdict in VERDICT_TEXT}


def status_words(status: str) -> str:
    """A requirement status in words ("not applicable"), by its JSON value."""
    return STATUS_WORDS[Status(status)]


def requirement_status(item: dict) -> str:
    """The status of a requirement result (one stored before statuses existed: met or not)."""
    return item.get("status") or ("met" if item.get("satisfied") else "not_met")


def breakable(text: str) -> Markup:
    """`text` escaped, with a line-break opportunity after each separator of a file name or
    URL (``/``, ``_``, ``-``, ``.``), so that a long name wraps between its parts on a narrow
    screen instead of mid-word."""
    parts, current = [], []
    for char in str(text):
        current.append(char)
        if char in BREAKS_AFTER:
            parts.append("".join(current))
            current = []
    parts.append("".join(current))
    return Markup("<wbr>").join(escape(part) for part in parts if part)


def evidence_boxes(report: dict[str, Any]) -> list[tuple[int, dict, list[float]]]:
    """(number, finding, [x, y, w, h]) for each finding located by a pixel box, numbered in
    the order of the findings list, for the picture overlay."""
    boxes = []
    for finding in report.get("findings") or []:
        location = finding.get("location")
        box = location.get("box") if isinstance(location, dict) else None
        if is_box(box):
            boxes.append((len(boxes) + 1, finding, box))
    return boxes


def frame_boxes(facts: dict[str, Any]) -> list[tuple[int, dict, list]]:
    """The label box of a video frame (the frame's facts from the scan), for the overlay."""
    box = facts.get("box")
    return [(1, {"kind": "ai_declaration", "message": f"label at {facts.get('time_s', 0):.1f} s"},
             box)] if facts.get("label_seen") and is_box(box) else []


def picture_boxes(report: dict[str, Any], facts: dict[str, Any]) -> list:
    """The boxes to draw on a picture: a video frame's label, or a still's located findings."""
    return frame_boxes(facts) if facts.get("time_s") is not None else evidence_boxes(report)


def box_number(boxes: list, finding: dict) -> int | None:
    return next((number for number, boxed, _ in boxes if boxed is finding), None)


def row_filters(row: audit.Row, regimes: list[audit.Regime]) -> dict[str, str]:
    """The data attributes that the audit table's script sorts and filters a row by."""
    report = row.report
    text = " ".join([report.get("path") or "", report.get("verdict") or "",
                     report.get("summary") or "", report.get("error") or "",
                     *(f"{f.get('detector')} {f.get('code')}"
                       for f in report.get("findings") or [])])
    return {"data-position": str(row.position), "data-rank": str(row.rank),
            "data-verdict": report.get("verdict") or "error",
            "data-tampered": "1" if row.tampered else "0",
            "data-unmet": " ".join(row.unmet(regimes)),
            "data-name": (report.get("path") or "").lower(), "data-text": text.lower()}
