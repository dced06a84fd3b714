"""How findings and rules are put in words for people: locations, disclosure channels, the
measurements rules test. Every shell (text, HTML, web pages, summaries) words them here, so
no page shows a raw dict, a list or an internal key where a person reads.
"""

from __future__ import annotations

from typing import Any, Callable

CHANNEL_WORDS = {"visible": "visible AI label", "c2pa": "C2PA declaration",
                 "iptc": "IPTC/XMP declaration", "aigc": "GB 45438 AIGC label",
                 "watermark": "invisible watermark"}
RULE_WORDS = {"gb45438": "the wording GB 45438 requires (AI or 人工智能 together with 生成 or "
                         "合成)"}
POSITION_WORDS = {"corner": "a corner", "edge": "an edge", "centre": "the centre"}
JUMBF_SELF = "self#jumbf="
SAME_TIME_S = 0.5  # video offsets below this are sampling jitter, not a trim


def _percent(value: float) -> str:
    return f"{100 * value:.1f}".rstrip("0").rstrip(".") + "%"


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") + " s"


def _ratio(value: float) -> str:
    return f"{value:.1f}:1"


# name -> (what is measured, how a value is shown, what follows the value)
MEASURES: dict[str, tuple[str, Callable[[float], str], str]] = {
    "height_ratio": ("text height", _percent, " of the shorter side"),
    "contrast": ("contrast", _ratio, ""),
    "opening_s": ("shown from the first frame for", _seconds, ""),
    "first_label_s": ("first shown at", _seconds, ""),
    "longest_gap_s": ("off screen for up to", _seconds, ""),
    "coverage": ("shown for", _percent, " of the video"),
    "duration_s": ("shown for", _seconds, ""),
}


def channel_words(channel: str | None) -> str:
    """A disclosure channel in words: ``c2pa`` -> "C2PA declaration"."""
    return CHANNEL_WORDS.get(channel or "", f"{channel} disclosure")


def channel_list(channels, conjunction: str = "or") -> str:
    """Channels in a sentence: "a visible AI label, a C2PA declaration or ..."."""
    words = [channel_words(channel) for channel in channels]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def measure(name: str, value: Any) -> str:
    """A measured value as the rules read it: ``height_ratio 0.031`` -> "text height 3.1% of
    the shorter side"."""
    what, show, suffix = MEASURES.get(name, (name.replace("_", " "), _plain, ""))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return f"{what} not measured"
    return f"{what} {show(value)}{suffix}"


def limit(name: str, value: Any) -> str:
    """A rule's threshold in the unit of its measurement ("5%", "2 s", "3.0:1")."""
    _, show, _ = MEASURES.get(name, (name, _plain, ""))
    return show(value) if isinstance(value, (int, float)) else str(value)


def _plain(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def allowed_words(name: str, allowed) -> str:
    """What a rule allows for `name`, in words ("a corner or an edge")."""
    if name == "position":
        words = [POSITION_WORDS.get(value, value) for value in allowed]
    else:
        words = [str(value) for value in allowed]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def describe_location(location: Any) -> str:
    """Where a finding is, in words a person can check: pixel boxes, frame times and C2PA
    references spelled out; internal geometry (quads, sizes) left to the details."""
    if location is None:
        return ""
    if isinstance(location, str):
        return _jumbf_words(location) if location.startswith(JUMBF_SELF) else location
    if not isinstance(location, dict):
        return str(location)
    parts = []
    start, end = location.get("start_s"), location.get("end_s")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        parts.append(f"from {_seconds(start)} to {_seconds(end)}")
    elif isinstance(location.get("time_s"), (int, float)):
        parts.append(f"the frame at {_seconds(location['time_s'])}")
    if is_box(location.get("box")):
        parts.append(box_words(location["box"]))
    if is_box(location.get("original_box")):
        parts.append(f"the original's {box_words(location['original_box'])}")
    if isinstance(location.get("offset_s"), (int, float)):
        parts.append(offset_words(location["offset_s"]))
    return ", ".join(parts) or "in the file"


def offset_words(offset_s: float) -> str:
    """How a video copy's time maps to its original's (`offset_s`: copy time minus original
    time): a trimmed copy starts into the original, a copy with something added before it
    shows the original later."""
    if abs(offset_s) < SAME_TIME_S:
        return "the copy runs in step with the original"
    if offset_s < 0:
        return f"the copy starts {_seconds(-offset_s)} into the original"
    return f"the original starts {_seconds(offset_s)} into the copy"


def box_words(box) -> str:
    """A pixel box [x, y, w, h]: "pixels x 12, y 30, 200 × 40"."""
    x, y, w, h = (round(value) for value in box)
    return f"pixels x {x}, y {y}, {w} × {h}"


def is_box(value: Any) -> bool:
    """Whether `value` is a pixel box [x, y, w, h] in numbers (boxes come from files)."""
    return isinstance(value, (list, tuple)) and len(value) == 4 and all(
        isinstance(item, (int, float)) and not isinstance(item, bool) for item in value)


def _jumbf_words(reference: str) -> str:
    """A JUMBF URI inside this file's own C2PA store (``self#jumbf=/c2pa/urn:.../c2pa.
    signature``) as a path a person reads: "C2PA manifest urn:... > c2pa.signature". It is a
    place in this file, never a remote manifest."""
    path = [part for part in reference[len(JUMBF_SELF):].split("/") if part]
    if path and path[0] == "c2pa":
        path = path[1:]
    if not path:
        return "this file's C2PA manifest store"
    return " > ".join([f"C2PA manifest {path[0]}", *path[1:]])
