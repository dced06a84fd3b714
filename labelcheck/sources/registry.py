"""Registered originals recognised in the picture: proof that a copy lost its disclosure.

This is a cross-check (`labelcheck.sources.base.CrossCheck`): it runs after the layer
detectors and reads what they found, so it never runs a detector again.

Videos are matched by the PDQ hashes of their sampled frames and a vote on the time offset
(`Registry.match_video`). The frames are those of the scan's one sampling pass
(`LayerResults.frames`: every sample's fingerprint square), not decoded again.
``registry.video_match`` names the original and the time mapping, a ``registry.badge_removed``
says that the original showed a label in its frames and no frame of the copy does, and
``registry.metadata_removed`` as for pictures.

When the reference registry (`labelcheck.registry`) holds the disclosed original of this
picture, a `registry.match` finding names it (id, owner, note) and how strong the match is,
and every disclosure of the original that the copy lacks becomes a `removal` finding:

- ``registry.badge_removed``: the original's badge maps outside the copy, or is cut by its
  border (cropped off);
- ``registry.badge_covered``: it maps inside, but the copy's pixels there no longer look like
  the badge (band-passed correlation below `BADGE_PRESENT`) and OCR reads no AI label there
  (painted over, inpainted, blurred, a sticker on it);
- ``registry.badge_mirrored``: it is still there, but the copy is flipped, so the label reads
  backwards;
- ``registry.metadata_removed``: the original declared AI in C2PA, IPTC or a GB 45438 AIGC
  label and the copy carries no such layer: C2PA by its JUMBF label ``c2pa`` anywhere in the
  bytes; IPTC and AIGC by the findings of the XMP/IPTC and AIGC detectors (a layer whose
  detector did not run is not called removed).

A badge still in place (and not mirrored) is a visible disclosure, ``registry.badge_present``,
measured in the copy by the visible-label source's `measure_label` (position, text height,
contrast) and carrying what the original's badge said (language, phrase, rule tags), so
policies judge it like any visible label. This matters for copies downscaled until OCR no
longer reads the badge (0.4x): the badge is there, and the copy must not be called stripped.

The registry lives in the results store's database (`labelcheck.core.settings.default_url`). It is
loaded once per process and URL and reloaded when its assets change. Without a registry the
source costs an ``os.path.exists`` (SQLite) or one count query, and never creates a database.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from labelcheck.vision import lexicon, ocr
from labelcheck.core.model import Kind
from labelcheck.core.settings import default_url, may_hold_originals
from labelcheck.core.wording import offset_words
from labelcheck.sources.aigc import AigcSource
from labelcheck.sources.base import PIXELS, CrossCheck, LayerResults
from labelcheck.sources.visible_label import measure_label
from labelcheck.sources.xmp_iptc import XmpIptcSource

BADGE_INSIDE = 0.9  # a badge less inside than this was cut by the border
BADGE_PRESENT = 0.5  # kept badges correlate >= 0.85 on the suite, covered ones <= 0.08
OCR_TEXT_PX = 32  # the badge crop is enlarged so its text is about this tall for OCR
LAYER_NAMES = {"c2pa": "a C2PA manifest", "iptc": "an IPTC Digital Source Type",
               "aigc": "a GB 45438 AIGC label"}
LAYER_DETECTORS = {"iptc": XmpIptcSource.name, "aigc": AigcSource.name}  # C2PA: bytes

if TYPE_CHECKING:  # the registry (SQLAlchemy, OpenCV) is imported when a scan first needs it
    from labelcheck.registry import MappedBadge, Match, Registry

_registries: dict[str, Registry] = {}


def registry_for(url: str) -> Registry | None:
    """The registry at `url`, cached per process; None when there is no database there or
    it holds no original."""
    if not may_hold_originals(url):
        return None
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from labelcheck.registry import Registry

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:" \
                or not os.path.exists(parsed.database):
            return None
    if url not in _registries:
        connect_args = {"timeout": 30} if parsed.get_backend_name() == "sqlite" else {}
        _registries[url] = Registry(create_engine(url, connect_args=connect_args))
    return _registries[url]


class RegistrySource(CrossCheck):
    name = "registry"
    tier = PIXELS
    media_kinds = frozenset({"image", "video"})
    order = 80
    reads_frames = True  # a video's samples, from the scan's sampling pass

    def check(self, media, settings, layers: LayerResults):
        registry = registry_for(settings.db_url or default_url())
        if registry is None or not registry.refresh():
            return
        if media.media_kind == "video":
            yield from self._video(media, layers, registry)
            return
        for match in registry.match(media.rgb):
            if not match.asset.ai_made:
                yield self._not_ai(match.asset, _location(media, match.quad))
                continue
            yield self._match(media, match)
            for badge in match.badges:
                yield self._badge(media, match, badge)
            yield from self._layers(media, layers, match)

    def _video(self, media, layers: LayerResults, registry):
        """A video copy: its sampled frames matched to registered original videos, the time
        mapping, and the disclosures the copy lost (metadata layers; a label the original
        shows in its frames and the copy shows in none)."""
        frames = layers.frames
        if frames is None:  # no frame could be read: the scan's error says why
            return
        frames.raise_failure()
        for match in registry.match_video((kept.time_s, kept.rgb) for kept in frames.kept):
            asset = match.asset
            if not asset.ai_made:
                yield self._not_ai(asset, {"offset_s": match.offset_s})
                continue
            trimmed = offset_words(match.offset_s)
            yield self.finding(
                Kind.AI_TRACE, "registry.video_match",
                f"copy of registered AI original video {asset.label}: {match.frames_matched} "
                f"of {match.frames_compared} sampled frames match it (median PDQ distance "
                f"{match.median_distance}/256), {trimmed}",
                location={"offset_s": match.offset_s},
                confidence=round(match.frames_matched / match.frames_compared, 3),
                details={**_asset_details(asset), "offset_s": match.offset_s,
                         "frames_matched": match.frames_matched,
                         "frames_compared": match.frames_compared})
            yield from self._video_badges(layers, match)
            yield from self._layers(media, layers, match)

    def _not_ai(self, asset, location):
        """A copy of an original that the registry does not hold as AI-made (registered
        before it recorded why; `Asset.ai_made`): worth knowing, never AI evidence."""
        return self.finding(
            Kind.INFO, "registry.match_not_ai",
            f"copy of registered original {asset.label}, which is not recorded as AI-made "
            "(neither declared so by its owner nor found AI-made by its scan): not evidence "
            "that this file is AI-made", location=location,
            details={"asset_id": asset.id, "owner": asset.owner, "title": asset.title})

    def _video_badges(self, layers: LayerResults, match):
        """The original's visible labels, when no frame of the copy shows any (known only when
        the labels were followed through the frames)."""
        if layers.frames.labels is None or layers.disclosed("visible"):
            return
        for badge in match.asset.disclosures.get("visible", []):
            yield self.finding(
                Kind.REMOVAL, "registry.badge_removed",
                f'registered original video {match.asset.label} shows the AI label '
                f'"{badge["text"]}" in its frames; no frame of this copy shows a visible AI '
                "label: it was cropped, covered or cut out", channel="visible", intact=False,
                location={"original_box": badge["box"]},
                measurements={"text": badge["text"], "original_box": badge["box"]},
                details={"asset_id": match.asset.id})

    def _match(self, media, match: Match):
        from labelcheck.registry import MIN_INLIERS

        asset = match.asset
        how = (f"PDQ distance {match.pdq_distance}/256" if match.pdq_distance is not None
               else "found by local features (the copy is cropped or reframed)")
        mirrored = ", mirrored" if match.flipped else ""
        return self.finding(
            Kind.AI_TRACE, "registry.match",
            f"copy of registered AI original {asset.label}: {match.inliers} matching keypoints "
            f"({match.inlier_ratio:.0%} of ratio-tested matches), pixel agreement "
            f"{match.agreement:.2f}, {how}{mirrored}, shown at {match.scale:.2f}x",
            location=_location(media, match.quad),
            confidence=round(1 - 0.5 ** (match.inliers / MIN_INLIERS), 3),
            details={**_asset_details(asset), "copy_size": _size(media),
                     "inliers": match.inliers,
                     "inlier_ratio": match.inlier_ratio, "spread": match.spread,
                     "agreement": match.agreement, "pdq_distance": match.pdq_distance,
                     "found_by": match.found_by, "flipped": match.flipped,
                     "matrix": match.matrix, "quad": match.quad})

    def _badge(self, media, match: Match, badge: MappedBadge):
        where = f'the badge "{badge.text}" of registered original {match.asset.label}'
        fields = {"location": _location(media, badge.quad), "channel": "visible",
                  "details": {"asset_id": match.asset.id}}
        facts = {"text": badge.text, "inside": badge.inside, "similarity": badge.similarity,
                 "original_box": badge.original_box, "quad": badge.quad}
        if badge.inside < BADGE_INSIDE:
            cut = ("lies outside this copy: the badge was cropped off" if badge.inside < 0.05
                   else f"is cut by this copy's border (only {badge.inside:.0%} of it is "
                        "inside): the copy was cropped through the badge")
            return self.finding(Kind.REMOVAL, "registry.badge_removed", f"{where} {cut}",
                                intact=False, measurements=facts, **fields)
        similar = badge.similarity is not None and badge.similarity >= BADGE_PRESENT
        read = not similar and reads_label(media.rgb, badge.box)
        if not (similar or read):
            return self.finding(
                Kind.REMOVAL, "registry.badge_covered",
                f"{where} should be here, but the pixels no longer show it (agreement "
                f"{_show(badge.similarity)}) and no AI label reads there: it was painted over, "
                "blurred or covered", intact=False, measurements=facts, **fields)
        if match.flipped and not read:
            return self.finding(
                Kind.REMOVAL, "registry.badge_mirrored",
                f"{where} is still here but mirrored (the copy is flipped), so it no longer "
                "reads as a label", intact=False, measurements=facts, **fields)
        return self._badge_shown(media, badge, where, read, facts, fields)

    def _badge_shown(self, media, badge, where, read, facts, fields):
        """The badge is still in place: a visible disclosure, measured in the copy, so that a
        label too small for OCR after downscaling still counts."""
        clipped = _location(media, badge.quad)["box"]
        measure = measure_label(media.rgb, tuple(clipped))
        how = ("its text reads as an AI label" if read
               else f"pixel agreement {badge.similarity:.2f} with the registered badge")
        return self.finding(
            Kind.AI_DECLARATION, "registry.badge_present",
            f"{where} is still in place ({how}), at the {measure.position}, text "
            f"{measure.height_ratio:.1%} of the shorter side",
            confidence=0.8 if read else round(badge.similarity, 3),
            measurements={**facts, **badge.facts, "box": clipped, "position": measure.position,
                          "height_ratio": round(measure.height_ratio, 4),
                          "contrast": round(measure.contrast, 2),
                          "touches_border": measure.touches_border, "partial": False},
            **fields)

    def _layers(self, media, layers: LayerResults, match: Match):
        for layer in ("c2pa", "iptc", "aigc"):
            if match.asset.disclosures.get(layer) and _lost(media, layers, layer):
                yield self.finding(
                    Kind.REMOVAL, "registry.metadata_removed",
                    f"registered original {match.asset.label} declares AI in "
                    f"{LAYER_NAMES[layer]}; this copy carries none: its metadata was stripped",
                    channel=layer, intact=False, location=f"file metadata ({layer})",
                    details={"asset_id": match.asset.id})


def _asset_details(asset) -> dict:
    """What a match says of the registered original, for reports read without the registry
    (`labelcheck.registry.copies`)."""
    return {"asset_id": asset.id, "label": asset.label, "owner": asset.owner,
            "note": asset.note, "title": asset.title, "sha256": asset.sha256,
            "kind": asset.kind, "size": [asset.width, asset.height],
            "registered_disclosures": asset.disclosures, "ai_basis": asset.ai_basis}


def _lost(media, layers: LayerResults, layer: str) -> bool:
    """Whether the copy is known to lack the AI declaration on `layer` (see the module
    docstring)."""
    if layer == "c2pa":
        return b"c2pa" not in media.data
    return LAYER_DETECTORS[layer] in layers.ran and not layers.disclosed(layer)


def reads_label(rgb: np.ndarray, box: list[int]) -> bool:
    """Whether OCR reads an AI label in `box` (x, y, w, h) of `rgb`, with a margin, enlarged
    so that small text reads."""
    import cv2

    x, y, w, h = box
    margin = max(4, h // 2)
    height, width = rgb.shape[:2]
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return False
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    factor = min(4.0, OCR_TEXT_PX / max(h, 1))
    if factor > 1:
        crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    lines = ocr.read_lines(crop)
    texts = [line.text for line in lines] + [" ".join(line.text for line in lines)]
    return any(lexicon.match_label(text) for text in texts)


def _location(media, quad) -> dict:
    """Where a quad of the copy (an original or a badge mapped into it) lies, as the pixel
    box of its part inside the copy; the quad itself goes in the finding's details."""
    height, width = media.rgb.shape[:2]
    points = np.asarray(quad)
    x0, y0 = np.clip(np.floor(points.min(axis=0)), 0, [width, height]).astype(int)
    x1, y1 = np.clip(np.ceil(points.max(axis=0)), 0, [width, height]).astype(int)
    return {"box": [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]}


def _size(media) -> list[int]:
    height, width = media.rgb.shape[:2]
    return [int(width), int(height)]


def _show(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"
