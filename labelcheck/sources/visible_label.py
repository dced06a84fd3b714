"""Visible AI labels burned into the picture: found, read and measured.

The OCR reads text lines (`labelcheck.vision.ocr`), the lexicon decides which are AI labels
(`labelcheck.vision.lexicon`), and this module measures each label the way the rules read it: where
it sits (corner, edge, centre), how tall its text is against the picture's shorter side, and
how well it stands out (WCAG contrast ratio). A label cut by the picture's border is evidence
that the picture was cropped to remove it. Icons (the EU "AI" icon, the Content Credentials
"CR" pin) are recognised by their shape around the letters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcheck.vision import lexicon, ocr
from labelcheck.core.model import Kind
from labelcheck.sources.base import PIXELS, Source

EDGE_BAND = 0.15  # a box within this share of a side from the border is "at" that border
BORDER_TOUCH = 0.01  # within 1% of the shorter side of the border: cut by it
BARE_ICON_CONFIDENCE = 0.7  # "AI" alone on a line without an icon around it
MERGE_GAP = 0.8  # two lines this close (in line heights) may be one label split in two
UNREADABLE = "[unreadable]"  # stands for text in a script the OCR model cannot read
UNREADABLE_CONFIDENCE = 0.7
MIN_INK_SHARE = 0.4  # letters lower than this share of their line's box were not found whole
BADGE_CONTRAST = 3.0  # WCAG 2's minimum for large text
BADGE_MAX_HEIGHT = 0.2  # of the shorter side: badges are small; signs and facades are not


@dataclass
class Measure:
    """What the rules measure on a visible label."""

    box: tuple[int, int, int, int]
    position: str
    height_ratio: float
    contrast: float
    touches_border: bool


class VisibleLabelSource(Source):
    name = "visible_label"
    tier = PIXELS
    media_kinds = frozenset({"image"})
    order = 70

    def find(self, media, settings):
        rgb = media.rgb
        lines = _read_unreadable_starts(rgb, ocr.read_lines(rgb))
        labels, used = find_labels(lines)
        for label in credible(rgb, labels):
            yield self._label(rgb, label.text, label.score, label.box, label.match)
        for index, line in enumerate(lines):
            if index not in used and line.text:
                yield from self._partial_or_pin(media, rgb, line)

    def _label(self, rgb, text, score, box, match):
        """An icon form ("AI") reads as an icon only inside an icon shape; bare, it is
        still a label, held with less confidence."""
        measure = measure_label(rgb, box)
        shaped = match.icon and has_icon_shape(rgb, box)
        kind = " icon" if shaped else ""
        confidence = score if shaped or not match.icon else score * BARE_ICON_CONFIDENCE
        return self.finding(
            Kind.AI_DECLARATION, "visible.icon" if shaped else "visible.label",
            f'visible AI label{kind} "{lexicon.normalised(text)}" ({match.language}) at the '
            f"{measure.position}, text {measure.height_ratio:.1%} of the shorter side, contrast "
            f"{measure.contrast:.1f}:1",
            location=_location(rgb, measure.box), confidence=round(confidence, 3),
            channel="visible", measurements=measurements(text, match, measure))

    def _partial_or_pin(self, media, rgb, line):
        """A line that is no label may be part of one the border cut, or the "CR" pin;
        most lines are neither, and are not measured."""
        partial = lexicon.match_partial(line.text) if _touches_border(rgb, line.box) else None
        if partial:
            measure = measure_label(rgb, line.box)
            yield self.finding(
                Kind.AI_DECLARATION, "visible.partial_label",
                f'visible AI label cut by the picture\'s edge: "{lexicon.normalised(line.text)}" '
                f'is part of "{partial.phrase}", so the picture was cropped through its label',
                location=_location(rgb, measure.box), confidence=round(line.score * 0.9, 3),
                channel="visible", intact=False,
                measurements=measurements(line.text, partial, measure))
        elif lexicon.tokens(line.text) == ["cr"] and has_icon_shape(rgb, line.box):
            has_manifest = b"c2pa" in media.data
            yield self.finding(
                Kind.INFO if has_manifest else Kind.REMOVAL, "visible.cr_pin",
                "Content Credentials \"CR\" pin shown" + (
                    "" if has_manifest else " but the file carries no C2PA manifest: its "
                    "credentials were stripped"),
                location=_location(rgb, line.box), confidence=round(line.score, 3))


@dataclass
class Label:
    """A text line (or two merged lines) that the lexicon takes for an AI label."""

    text: str
    score: float
    box: tuple[int, int, int, int]
    match: lexicon.LabelMatch


def read_labels(rgb: np.ndarray, threads: int | None = None) -> list[Label]:
    """The AI labels among the text lines OCR reads in `rgb` (a whole picture), OCR running
    on `threads` threads (default: see `ocr`)."""
    lines = _read_unreadable_starts(rgb, ocr.read_lines(rgb, threads), threads)
    return credible(rgb, find_labels(lines)[0])


def credible(rgb: np.ndarray, labels: list[Label]) -> list[Label]:
    """The labels that hold as evidence: those the lexicon matched on weak words alone
    (`LabelMatch.needs_badge`) must also look like a badge (`is_badge_like`)."""
    return [label for label in labels
            if not label.match.needs_badge or is_badge_like(measure_label(rgb, label.box))]


def is_badge_like(measure: Measure) -> bool:
    """Text that stands out from what it is printed on (WCAG's 3:1 for large text) at a
    badge's size, not a sign across half the picture."""
    return measure.contrast >= BADGE_CONTRAST and measure.height_ratio <= BADGE_MAX_HEIGHT


def find_labels(lines: list[ocr.TextLine]) -> tuple[list[Label], set[int]]:
    """The lines (and pairs of neighbouring lines) the lexicon matches, and which lines
    they used."""
    labels: list[Label] = []
    used: set[int] = set()
    for index, line in enumerate(lines):
        match = lexicon.match_label(line.text)
        if match:
            used.add(index)
            labels.append(Label(line.text, line.score, line.box, match))
    for first, second in _neighbour_pairs(lines, used):
        text = f"{lines[first].text} {lines[second].text}"
        match = lexicon.match_label(text)
        if match:
            used |= {first, second}
            labels.append(Label(text, min(lines[first].score, lines[second].score),
                                _union(lines[first].box, lines[second].box), match))
    return labels, used


def measurements(text: str, match: lexicon.LabelMatch, measure: Measure) -> dict:
    """The numbers policies test on a visible label, with what it says: `text` with OCR's
    misreadings of "AI" undone ("AI generated"), `ocr_text` exactly as read ("Al generated")."""
    return {"text": lexicon.normalised(text), "ocr_text": text, "lang": match.lang,
            "language": match.language, "phrase": match.phrase, "box": list(measure.box),
            "position": measure.position, "height_ratio": round(measure.height_ratio, 4),
            "contrast": round(measure.contrast, 2), "rules": match.rules,
            "touches_border": measure.touches_border, "partial": match.partial}


def _location(rgb, box) -> dict:
    return {"box": list(box)}


def measure_label(rgb: np.ndarray, box: tuple[int, int, int, int]) -> Measure:
    """Position, text height and contrast of the letters inside `box`."""
    height, width = rgb.shape[:2]
    x, y, w, h = box
    crop = np.ascontiguousarray(rgb[y:y + h, x:x + w])
    letters = _letter_mask(crop)
    rows = np.flatnonzero(letters.any(axis=1))
    ink_height = (rows[-1] - rows[0] + 1) if rows.size else 0
    if ink_height < MIN_INK_SHARE * h:  # no letters found to measure: the box is what matched
        ink_height = h
    return Measure(
        box=box,
        position=_position(box, width, height),
        height_ratio=ink_height / min(width, height),
        contrast=_contrast(crop, letters),
        touches_border=_touches_border(rgb, box))


def _touches_border(rgb: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether `box` reaches within `BORDER_TOUCH` of the shorter side of the border."""
    height, width = rgb.shape[:2]
    x, y, w, h = box
    touch = BORDER_TOUCH * min(width, height)
    return x <= touch or y <= touch or x + w >= width - touch or y + h >= height - touch


def _letter_mask(crop: np.ndarray) -> np.ndarray:
    """Pixels of the letters: Otsu splits the crop in two; letters are the connected parts
    that don't touch the crop's edge (backgrounds, pills and shadows do), taken from whichever
    side holds more such parts. Dots and specks below a third of the tallest letter drop out."""
    import cv2

    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    best = np.zeros(gray.shape, bool)
    for mask in (dark, 255 - dark):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        inner = [i for i in range(1, count) if stats[i, 0] > 0 and stats[i, 1] > 0
                 and stats[i, 0] + stats[i, 2] < gray.shape[1]
                 and stats[i, 1] + stats[i, 3] < gray.shape[0]]
        if not inner:
            continue
        tallest = max(stats[i, 3] for i in inner)
        keep = [i for i in inner if stats[i, 3] >= tallest / 3]
        letters = np.isin(labels, keep)
        if letters.sum() > best.sum():
            best = letters
    return best


def _contrast(crop, letters) -> float:
    """WCAG 2 contrast ratio between the letters' median colour and the median colour of a
    thin ring around them (the surface they are printed on)."""
    import cv2

    if not letters.any():
        return 1.0
    ring = cv2.dilate(letters.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~letters
    if not ring.any():
        return 1.0
    text = _luminance(np.median(crop[letters], axis=0))
    back = _luminance(np.median(crop[ring], axis=0))
    light, dark = max(text, back), min(text, back)
    return (light + 0.05) / (dark + 0.05)


def _luminance(rgb) -> float:
    channels = np.asarray(rgb, dtype=float) / 255
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def _position(box, width, height) -> str:
    x, y, w, h = box
    horizontal = x <= EDGE_BAND * width or x + w >= (1 - EDGE_BAND) * width
    vertical = y <= EDGE_BAND * height or y + h >= (1 - EDGE_BAND) * height
    if horizontal and vertical:
        return "corner"
    return "edge" if horizontal or vertical else "centre"


def has_icon_shape(rgb: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether the letters in `box` sit inside an icon: a filled or outlined, roughly square
    shape that encloses them with a margin (the EU "AI" icon, the "CR" pin)."""
    import cv2

    height, width = rgb.shape[:2]
    x, y, w, h = box
    pad = max(w, h)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(width, x + w + pad), min(height, y + h + pad)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    centre = (x + w / 2 - x0, y + h / 2 - y0)
    for mask in (dark, 255 - dark):
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for left, top, cw, ch, area in stats[1:count]:
            encloses = (left < centre[0] - w / 2 and left + cw > centre[0] + w / 2 and
                        top < centre[1] - h / 2 and top + ch > centre[1] + h / 2)
            inside = left > 0 and top > 0 and left + cw < mask.shape[1] and \
                top + ch < mask.shape[0]
            if encloses and inside and 0.5 <= cw / ch <= 2.2 and area >= 0.15 * cw * ch:
                return True
    return False


def _read_unreadable_starts(rgb, lines, threads: int | None = None):
    """Lines the model could not read (empty, or a letter or two across a wide box: a script
    outside its alphabet, like Hangul) get their first half read alone: "AI 생성" then reads
    "AI", and the line becomes "AI [unreadable]", which the lexicon's Korean entry accepts."""
    blank = [index for index, line in enumerate(lines)
             if not line.text or (len(line.text) <= 2 and line.box[2] >= 2.5 * line.box[3])]
    if not blank:
        return lines
    halves = [(x, y, max(4, w // 2), h) for x, y, w, h in (lines[i].box for i in blank)]
    lines = list(lines)
    for index, (text, score) in zip(blank, ocr.recognise(rgb, halves, threads)):
        if text:
            lines[index] = ocr.TextLine(f"{text} {UNREADABLE}", score * UNREADABLE_CONFIDENCE,
                                        lines[index].box)
    return lines


def _neighbour_pairs(lines, used):
    """Pairs of lines that may be one label the OCR split in two: stacked ("AI-" above
    "generated") or side by side on one line ("Généré" | "par l'IA"), in reading order."""
    for first, a in enumerate(lines):
        for second, b in enumerate(lines):
            if first == second or first in used or second in used or not (a.text and b.text):
                continue
            if _stacked(a.box, b.box) or _side_by_side(a.box, b.box):
                yield first, second


def _stacked(upper, lower) -> bool:
    ux, uy, uw, uh = upper
    lx, ly, lw, lh = lower
    gap = ly - (uy + uh)
    overlap = min(ux + uw, lx + lw) - max(ux, lx)
    return -0.3 * uh <= gap <= MERGE_GAP * uh and overlap > 0.3 * min(uw, lw)


def _side_by_side(left, right) -> bool:
    lx, ly, lw, lh = left
    rx, ry, rw, rh = right
    gap = rx - (lx + lw)
    overlap = min(ly + lh, ry + rh) - max(ly, ry)
    return -0.6 * lh <= gap <= 1.5 * lh and overlap > 0.6 * min(lh, rh) and lx < rx


def _union(a, b):
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)
