"""A performer's question about an ad: "is this my avatar, and was its label removed?"

The answer is read from a scanned file's report: the registry's cross-check
(`labelcheck.sources.registry`) names each registered original the file is a copy of and what
became of each of its disclosures (a badge cropped off, covered, mirrored or still shown; a
C2PA, IPTC or AIGC declaration stripped). It is read from the report's JSON form, so the CLI
(``labelcheck registry check``), the API and the web page give the same answer from the same
report, a report the web app kept included. Boxes are in pixels of the picture they lie on:
the original's badges in the original, their places in the copy in the copy, and each
picture's outline in the other (where the copy's edges cut the original, where the original
sits in a screenshot).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from labelcheck.core.wording import channel_words, is_box

MATCHES = ("registry.match", "registry.video_match")
BADGE_STATES = {"registry.badge_removed": "removed", "registry.badge_covered": "covered",
                "registry.badge_mirrored": "mirrored", "registry.badge_present": "shown"}
OUTSIDE = 0.05  # a badge with less of it inside the copy has no place in it


@dataclass
class BadgeFate:
    """One visible badge of the original and what the copy did with it."""

    text: str
    state: str  # "removed", "covered", "mirrored" or "shown"
    original_box: list[int] | None  # [x, y, w, h] in the original's pixels
    copy_box: list[int] | None  # [x, y, w, h] in the copy's pixels; None: outside the copy
    message: str  # the finding's own words
    inside: float | None = None  # share of it inside the copy

    @property
    def words(self) -> str:
        """What happened to it, in a few words."""
        if self.state == "removed" and self.inside is None:  # a video: no frame shows it
            return f'the label "{self.text}" is no longer shown (cropped, covered or cut out)'
        if self.state == "removed" and self.copy_box:
            return (f'the badge "{self.text}" was cut by the edge of the copy (only '
                    f"{self.inside:.0%} of it is left)")
        return {"removed": f'the badge "{self.text}" was cropped off',
                "covered": f'the badge "{self.text}" was covered or painted over',
                "mirrored": f'the badge "{self.text}" is mirrored, so it no longer reads',
                "shown": f'the badge "{self.text}" is still shown'}[self.state]


@dataclass
class CopyOf:
    """A registered original found in the file, and what of its disclosure the copy lost."""

    asset_id: int
    label: str  # '#3 "spring.jpg" (Acme Agency: spring campaign)'
    owner: str
    note: str | None
    title: str  # the original's file name
    kind: str  # "image" or "video"
    how: str  # the match finding's words: how strong the match is
    original_size: list[int] | None
    copy_size: list[int] | None
    copy_outline: list[list[float]] | None = None  # the copy's edges in the original
    original_outline: list[list[float]] | None = None  # the original's corners in the copy
    badges: list[BadgeFate] = field(default_factory=list)
    layers_lost: list[str] = field(default_factory=list)  # "c2pa", "iptc", "aigc"
    registered: dict[str, Any] = field(default_factory=dict)  # what the original disclosed
    ai_basis: str = ""  # why the registry holds the original as AI-made

    @property
    def badges_lost(self) -> list[BadgeFate]:
        return [badge for badge in self.badges if badge.state != "shown"]

    @property
    def lost(self) -> list[str]:
        """Each disclosure the copy lost, in words."""
        return ([badge.words for badge in self.badges_lost]
                + [f"the {channel_words(layer)} was stripped" for layer in self.layers_lost])

    @property
    def kept(self) -> list[str]:
        """Each disclosure the copy still carries, in words."""
        layers = [layer for layer in ("c2pa", "iptc", "aigc")
                  if self.registered.get(layer) and layer not in self.layers_lost]
        return ([badge.words for badge in self.badges if badge.state == "shown"]
                + [f"the {channel_words(layer)} is still there" for layer in layers])

    @property
    def answer(self) -> str:
        """The answer to the performer's question, in one sentence."""
        copy = f"This is a copy of registered original {self.label}"
        lost, kept = "; ".join(self.lost), "; ".join(self.kept)
        if self.badges_lost:
            return f"{copy}, and its AI label was removed: {lost}."
        if self.lost and self.kept:
            return f"{copy}. It still carries an AI label ({kept}), but it lost the rest: {lost}."
        if self.lost:
            return f"{copy}, and its AI disclosure was removed: {lost}."
        if kept:
            return f"{copy}, and it still carries its AI label: {kept}."
        return f"{copy}."

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(answer=self.answer, lost=self.lost, kept=self.kept)
        for badge, fate in zip(data["badges"], self.badges):
            badge["words"] = fate.words
        return data


def copies_of(report: dict) -> list[CopyOf]:
    """The registered originals a report's file is a copy of (README "Report format": the
    report's JSON form), each with what became of its disclosures, in the report's order."""
    findings = [f for f in report.get("findings") or [] if isinstance(f, dict)]
    found: dict[int, CopyOf] = {}
    for finding in findings:
        if finding.get("code") in MATCHES:
            copy = _copy(finding)
            found.setdefault(copy.asset_id, copy)
    for finding in findings:
        copy = found.get((finding.get("details") or {}).get("asset_id"))
        if copy is None:
            continue
        if finding.get("code") in BADGE_STATES:
            copy.badges.append(_badge(finding))
        elif finding.get("code") == "registry.metadata_removed":
            copy.layers_lost.append(finding.get("channel") or "")
    return list(found.values())


def answer(report: dict, copies: list[CopyOf]) -> str:
    """The page's headline: the answer for the first original found, or why there is none."""
    if report.get("verdict") == "error":
        return f"The file could not be checked: {report.get('error') or 'unreadable'}."
    if not copies:
        return ("No registered original was found in this file: it is not a copy of any "
                "original in this registry (or too little of one is left to recognise).")
    more = f" It also copies {len(copies) - 1} other registered original(s)." \
        if len(copies) > 1 else ""
    return copies[0].answer + more


def _copy(finding: dict) -> CopyOf:
    details = finding.get("details") or {}
    matrix = details.get("matrix")
    original_size, copy_size = details.get("size"), details.get("copy_size")
    return CopyOf(
        asset_id=int(details["asset_id"]),
        label=details.get("label") or f"#{details['asset_id']}",
        owner=details.get("owner") or "", note=details.get("note"),
        title=os.path.basename(details.get("title") or ""),
        kind="video" if finding.get("code") == "registry.video_match" else "image",
        how=_how(finding.get("message") or "", details.get("label") or ""),
        original_size=_pair(original_size),
        copy_size=_pair(copy_size),
        copy_outline=_outline(np.linalg.inv(matrix), copy_size) if _invertible(matrix)
        and _pair(copy_size) else None,
        original_outline=details.get("quad"),
        registered=details.get("registered_disclosures") or {},
        ai_basis=details.get("ai_basis") or "")


def _how(message: str, label: str) -> str:
    """The match's strength from its message, without the original's name said before it."""
    return message.split(f"{label}: ", 1)[-1] if label else message


def _badge(finding: dict) -> BadgeFate:
    measured = finding.get("measurements") or {}
    location = finding.get("location") if isinstance(finding.get("location"), dict) else {}
    inside = measured.get("inside")
    box = location.get("box")
    shown_box = box if is_box(box) and box[2] > 0 and box[3] > 0 and (
        not isinstance(inside, (int, float)) or inside >= OUTSIDE) else None
    original = measured.get("original_box")
    return BadgeFate(text=str(measured.get("text") or ""), state=BADGE_STATES[finding["code"]],
                     original_box=original if is_box(original) else None, copy_box=shown_box,
                     message=finding.get("message") or "",
                     inside=float(inside) if isinstance(inside, (int, float)) else None)


def _outline(matrix: np.ndarray, size) -> list[list[float]]:
    """The corners of a `size` (width, height) picture through `matrix`."""
    width, height = size
    corners = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], float)
    mapped = corners @ np.asarray(matrix, float).T
    return np.round(mapped[:, :2], 1).tolist()


def _invertible(matrix) -> bool:
    try:
        return abs(float(np.linalg.det(np.asarray(matrix, float)))) > 1e-9
    except (TypeError, ValueError, np.linalg.LinAlgError):
        return False


def _pair(value) -> list[int] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(item, (int, float)) and item > 0 for item in value):
        return [int(item) for item in value]
    return None


