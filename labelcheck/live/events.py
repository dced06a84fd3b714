"""A watch's events, and how they are written: JSON lines for machines, one line of text each
for a person at a terminal.

Every event has a sequence number (`seq`, from 1), its kind (``event``), the stream time it
is about (``stream_s``: seconds from the first frame watched, continued across reconnections;
for an event about the connection, the last moment watched; None before any) and a wall-clock
time (``wall``, UTC, ISO 8601): for a label event, when this machine received that moment of
the stream; for a connection event, when it happened. Then the fields of its kind:

- ``started``: the source opened (``container``, ``codec``, ``size``);
- ``label_shown``: a label seen for the first time (``text``, ``lang``, ``box`` [x, y, w, h],
  ``height_px``, ``height_ratio``, ``position``, ``evidence``);
- ``label_missing``: no label has been seen for longer than the grace period (``stream_s`` is
  when it went missing; ``absent_s`` how long it had been absent when this was written,
  ``last_box`` where it was last seen, ``evidence``);
- ``label_back``: a label is shown again after ``label_missing`` (the fields of
  ``label_shown`` and ``gap_s``);
- ``progress``: now and then, the numbers so far (``coverage``, ``longest_gap_s``, and
  ``lag_s``: how far the analysis is behind the stream as it arrives);
- ``stalled``: no new frame for the stall time (``reason``);
- ``reconnected``: frames again after a lost connection (``unwatched_s``);
- ``error``: a connection attempt or a read failed (``reason``, ``retry_in_s``);
- ``ended``: the watch is over (``reason``); the report follows.

``evidence`` names a JPEG in the evidence folder (the frame with the label's box), never the
picture itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from labelcheck.core.names import one_line

STARTED = "started"
LABEL_SHOWN = "label_shown"
LABEL_MISSING = "label_missing"
LABEL_BACK = "label_back"
PROGRESS = "progress"
STALLED = "stalled"
RECONNECTED = "reconnected"
ERROR = "error"
ENDED = "ended"
KINDS = (STARTED, LABEL_SHOWN, LABEL_MISSING, LABEL_BACK, PROGRESS, STALLED, RECONNECTED, ERROR,
         ENDED)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Event:
    """One thing that happened during a watch (see the module docstring)."""

    kind: str
    stream_s: float | None = None
    wall: datetime = field(default_factory=utc_now)
    fields: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "event": self.kind,
                "stream_s": None if self.stream_s is None else round(self.stream_s, 3),
                "wall": self.wall.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                **self.fields}

    def line(self) -> str:
        """The event in one line of text for a person (strings from the stream on one line)."""
        when = self.wall.astimezone().strftime("%H:%M:%S")
        at = "" if self.stream_s is None else f" {self.stream_s:8.1f} s"
        return one_line(f"{when}{at:>11}  {self.kind:<13} {describe(self)}")


def describe(event: Event) -> str:
    """What the event says, in words."""
    data = event.fields
    if event.kind in (LABEL_SHOWN, LABEL_BACK):
        after = f" after {data['gap_s']:.1f} s without one" if "gap_s" in data else ""
        return (f'"{data.get("text", "")}" ({data.get("lang", "")}) at the '
                f'{data.get("position", "?")}, {data.get("height_px", "?")} px high{after}'
                + _evidence(data))
    if event.kind == LABEL_MISSING:
        return f"no AI label for {data.get('absent_s', 0):.1f} s" + _evidence(data)
    if event.kind == PROGRESS:
        gap = data.get("longest_gap_s")
        return (f"label shown {data.get('coverage', 0):.0%} of the time, longest gap "
                f"{'-' if gap is None else f'{gap:.1f} s'}, {data.get('lag_s', 0):.1f} s "
                "behind the stream")
    if event.kind == STARTED:
        return (f"{data.get('container', '?')} {data.get('codec', '?')} "
                f"{'x'.join(str(v) for v in data.get('size', []))}")
    if event.kind == RECONNECTED:
        return f"watching again after {data.get('unwatched_s', 0):.1f} s unwatched"
    if event.kind == ERROR:
        retry = data.get("retry_in_s")
        return data.get("reason", "") + (f"; retrying in {retry:g} s" if retry else "")
    return data.get("reason", "")


def _evidence(data: dict) -> str:
    return f" [{data['evidence']}]" if data.get("evidence") else ""


class EventWriter:
    """Writes each event as it comes, flushed (a reader follows the stream live)."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, event: Event) -> None:
        self.stream.write(self.format(event) + "\n")
        self.stream.flush()

    def format(self, event: Event) -> str:
        raise NotImplementedError


class JsonLinesEvents(EventWriter):
    def format(self, event: Event) -> str:
        return json.dumps(event.to_dict(), ensure_ascii=False)


class TextEvents(EventWriter):
    def format(self, event: Event) -> str:
        return event.line()


EVENT_WRITERS = {"jsonl": JsonLinesEvents, "text": TextEvents}
