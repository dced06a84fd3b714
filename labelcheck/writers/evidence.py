"""Display evidence: the pictures and the C2PA tree people look at, made inside the scan.

The HTML report and the web page show a file's picture with its evidence boxes, a video's
frames and the C2PA manifest tree. They are made here, by the scan that read the file
(`labelcheck.core.scanner.scan` with `Settings.display`), from the bytes that were scanned and
under the scan worker's time and memory limits, and they travel with the `Report`. A report's
`path` is only a display string: nothing that shows a report ever opens a file or a URL.
"""

from __future__ import annotations

import io
import json

from labelcheck.core.model import Evidence, Picture, Report
from labelcheck.core.settings import Display, Settings
from labelcheck.core.wording import is_box
from labelcheck.formats.media import Media
from labelcheck.writers.c2pa_tree import store_tree

JPEG_QUALITY = 80
FRAME_PX = 480  # longer side of a video's timeline frames (the page shows them small)


def gather(media: Media, report: Report, settings: Settings) -> Evidence:
    """The evidence of one scanned file (`settings.display` says what to make); a picture that
    cannot be made is left out (the report says why the file could not be read, when it
    could not)."""
    display = settings.display
    evidence = Evidence(c2pa_tree=store_tree(media.c2pa_store) if media.c2pa_store else None)
    if display.manifest_store and media.c2pa_crjson:
        evidence.c2pa_store = json.dumps(media.c2pa_crjson, ensure_ascii=False, indent=1)
    try:
        if report.media_kind == "image":
            image, shown = media.image, {}  # decoded once, for the scan and the picture
        elif report.media_kind == "video":
            image, shown, evidence.frames = video_frames(media, report.timeline or {}, display)
        else:
            return evidence
        evidence.picture = picture(image, display.side, shown)
        if display.thumbnail:
            evidence.thumbnail = picture(image, display.thumbnail, shown)
    except Exception:  # noqa: BLE001 - undecodable pixels just get no picture
        evidence.picture = evidence.thumbnail = None
    return evidence


def picture(image, side: int, frame: dict) -> Picture:
    """`image` as a `Picture` of at most `side` px; `frame` is its timeline entry (a video)."""
    time_s = frame.get("time_s")
    return Picture(jpeg(image, side), image.size,
                   None if time_s is None else float(time_s), bool(frame.get("label_seen")),
                   frame.get("box") if is_box(frame.get("box")) else None)


def video_frames(media: Media, timeline: dict, display: Display):
    """(image, timeline entry) of the frame to show (where a label was first seen, else the
    first frame listed, else the first frame) and the `Picture`s of up to `display.frames`
    of the timeline's frames; each time is decoded once."""
    from labelcheck.vision.video import frame_at

    listed = [frame for frame in timeline.get("frames") or [] if _is_frame(frame)]
    shown = _picture_frame(listed, timeline.get("first_label_s"))
    decoded: dict[float, object] = {}

    def decode(frame: dict):
        time_s = float(frame["time_s"])
        if time_s not in decoded:
            decoded[time_s] = frame_at(media.source, time_s)
        return decoded[time_s]

    frames = [picture(decode(frame), min(display.side, FRAME_PX), frame)
              for frame in listed[:display.frames]]
    return decode(shown), shown, frames


def _picture_frame(frames: list[dict], first_label_s) -> dict:
    seen = [frame for frame in frames if frame.get("label_seen") and is_box(frame.get("box"))]
    if seen:
        target = float(first_label_s or 0.0)
        return min(seen, key=lambda frame: abs(float(frame["time_s"]) - target))
    return frames[0] if frames else {"time_s": 0.0}


def _is_frame(frame) -> bool:
    return isinstance(frame, dict) and isinstance(frame.get("time_s"), (int, float))


def jpeg(image, side: int) -> bytes:
    """`image` scaled to fit `side` (never enlarged) as JPEG; transparency shown on white."""
    width, height = image.size
    scale = min(1.0, side / max(width, height, 1))
    if scale < 1.0:
        image = image.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                             reducing_gap=2.0)
    if image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = _on_white(rgba)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _on_white(rgba):
    from PIL import Image

    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
