"""The evidence folder of a watch: a small JPEG of the frame behind each label event, with the
label's box drawn on it, and at the end the report (``report.json``).

Events name their picture (``0003-label_missing-42.0s.jpg``) instead of carrying it, so the
event stream stays small however long the watch. A label that comes and goes all day could
still fill a disk, so at most `MAX_PICTURES` are written; the events after that say so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from labelcheck.core.model import Picture
from labelcheck.writers.evidence import jpeg

MAX_PICTURES = 1000
SIDE = 640  # longer side of the pictures, px
SHOWN = (40, 220, 90)  # the box of a label on screen
MISSING = (230, 50, 40)  # where a missing label was last seen
LINE = 3


class EvidenceFolder:
    """Writes the pictures of one watch into `folder` (made if needed)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.written = 0
        self.first: Picture | None = None  # the first label's picture, for the report

    def picture(self, seq: int, kind: str, stream_s: float, rgb: np.ndarray,
                box: list[int] | None, missing: bool = False) -> str | None:
        """Write the frame `rgb` with `box` drawn (red when the label is missing from it);
        returns its file name, or None once `MAX_PICTURES` were written."""
        if self.written >= MAX_PICTURES:
            return None
        image = framed(rgb, box, MISSING if missing else SHOWN)
        data = jpeg(image, SIDE)
        name = f"{seq:04d}-{kind}-{stream_s:.1f}s.jpg"
        (self.folder / name).write_bytes(data)
        self.written += 1
        if self.first is None and box and not missing:
            self.first = Picture(data, image.size, round(stream_s, 3), True, list(box))
        return name

    def write_report(self, report: dict) -> Path:
        """The final report as ``report.json`` (written whole, then renamed into place)."""
        path = self.folder / "report.json"
        part = path.with_suffix(".json.part")
        part.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        part.replace(path)
        return path


def framed(rgb: np.ndarray, box: list[int] | None, colour: tuple[int, int, int]):
    """The frame as a Pillow image with `box` outlined in `colour`."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(rgb)
    if box:
        x, y, w, h = box
        scale = max(1, round(max(image.size) / SIDE))
        ImageDraw.Draw(image).rectangle((x - LINE, y - LINE, x + w + LINE, y + h + LINE),
                                        outline=colour, width=LINE * scale)
    return image
