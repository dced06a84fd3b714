"""Matching a picture or a video against the registry: candidates from the index, confirmed by
geometry and pixels; the original's badges mapped into the copy; a video's frames voting for an
original and a time offset.

The index proposes candidates (`RegistryIndex.pdq_candidates`, `vote_candidates`); a candidate
becomes a `Match` only when RANSAC finds a similarity transform (`geometry.align`) and the
copy's pixels agree with the original's thumbnail over a large enough part of it
(`references.compare`). See the package docstring for why each test is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

import numpy as np

from labelcheck.registry.features import (QUERY_FEATURES, LocalFeatures, extract_features,
                                          gray, query_hashes, video_prints)
from labelcheck.registry.geometry import (RANSAC_PX, align, fit_similarity, inside_share,
                                          map_points, mirror, rectangle)
from labelcheck.registry.index import MIN_VOTES, Candidate, RegistryIndex
from labelcheck.registry.references import Reference, compare
from labelcheck.registry.storage import BADGE_FACTS, Asset

# Pixel acceptance, after `geometry`'s: on the suite, true pairs had agreement >= 0.55 and
# shown >= 0.23 (see the package docstring).
MIN_AGREEMENT = 0.45  # band-passed correlation with the original's thumbnail
MIN_SHOWN = 0.18  # share of the original the copy shows; 25 % crops per side leave 0.25
PLAUSIBLE_AGREEMENT = 0.3  # the same check on the rougher transform of the vote pairs
VIDEO_OFFSET_WINDOW_S = 0.5  # frames agreeing on the time offset to within this vote together
MIN_VIDEO_VOTES = 3  # sampled frames of a copy that must agree on one original and offset
MIN_VIDEO_SHARE = 0.3  # ... and that share of the copy's usable sampled frames


@dataclass
class MappedBadge:
    """An original's badge seen from the copy: its quad in copy pixels, the share of it inside
    the copy, and how much the copy's pixels there still look like it (None: mostly outside).
    `facts` is what the original's scan read in it (language, phrase, rule tags)."""

    text: str
    position: str | None
    facts: dict[str, Any]
    original_box: list[int]
    quad: list[list[float]]
    inside: float
    similarity: float | None

    @property
    def box(self) -> list[int]:
        """Axis-aligned box (x, y, w, h) of the quad, clipped to nothing: it may leave the copy."""
        quad = np.asarray(self.quad)
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        return [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]


@dataclass
class Match:
    """A registered original recognised in a picture, with the evidence."""

    asset: Asset
    inliers: int
    inlier_ratio: float
    spread: float
    agreement: float  # band-passed correlation with the original's thumbnail
    pdq_distance: int | None  # None when found by local features (a crop)
    found_by: str  # "pdq" or "local features"
    flipped: bool
    matrix: list[list[float]]  # 3x3, original pixels -> copy pixels
    quad: list[list[float]]  # the original's corners in the copy
    badges: list[MappedBadge] = field(default_factory=list)

    @property
    def scale(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(np.asarray(self.matrix)[:2, :2]))))


@dataclass
class VideoMatch:
    """A registered original video recognised in a video: the copy's time t shows the
    original's time t - offset_s (a copy trimmed at the start has a negative offset)."""

    asset: Asset
    offset_s: float
    frames_matched: int
    frames_compared: int
    median_distance: int


class Query:
    """The picture being matched, with its fingerprints and features computed on demand."""

    def __init__(self, rgb: np.ndarray):
        self.rgb = np.ascontiguousarray(rgb[:, :, :3])

    @cached_property
    def grey(self) -> np.ndarray:
        return gray(self.rgb)

    @cached_property
    def hashes(self) -> np.ndarray:
        return query_hashes(self.rgb)

    @cached_property
    def features(self) -> LocalFeatures:
        return extract_features(self.grey, count=QUERY_FEATURES)

    @cached_property
    def mirrored(self) -> LocalFeatures:
        return extract_features(np.ascontiguousarray(self.grey[:, ::-1]), count=QUERY_FEATURES)

    def oriented(self, flipped: bool) -> LocalFeatures:
        return self.mirrored if flipped else self.features


class Matcher:
    """Finds registered originals in pictures and videos, using an index kept current by
    the caller (`RegistryIndex.refresh`)."""

    def __init__(self, index: RegistryIndex):
        self.index = index

    def match(self, rgb: np.ndarray) -> list[Match]:
        """Registered originals that `rgb` (H x W x 3 uint8) is a copy of, best first.

        PDQ candidates are verified first; only when none is confirmed do the local-feature
        votes look for the original of a crop (first unmirrored, then mirrored)."""
        query = Query(rgb)
        found = self._confirm(query, self.index.pdq_candidates(query.hashes))
        for flipped in (False, True):
            if not found:
                found = self._confirm(query, self.index.vote_candidates(
                    query.oriented(flipped), flipped))
        return sorted(found, key=lambda match: -match.inliers)

    def match_video(self, samples: Iterable[tuple[float, np.ndarray]]) -> list[VideoMatch]:
        """Registered original videos that the sampled frames (time, RGB) of a video are a
        copy of: each frame's PDQ hash votes for (original, time offset) pairs; an original
        wins when enough frames agree on one offset, so a trimmed, re-encoded or rescaled
        copy matches and a look-alike frame here and there does not."""
        prints = video_prints(samples)
        found = []
        for asset_id, offsets in self.index.frame_votes(prints).items():
            best = best_offset(offsets)
            if best and asset_id in self.index.assets and best[1] >= max(
                    MIN_VIDEO_VOTES, MIN_VIDEO_SHARE * len(prints)):
                found.append(VideoMatch(self.index.assets[asset_id], round(best[0], 2),
                                        best[1], len(prints), best[2]))
        return sorted(found, key=lambda match: -match.frames_matched)

    def _confirm(self, query: Query, candidates: list[Candidate]) -> list[Match]:
        found = []
        for candidate in candidates:
            if candidate.asset_id not in self.index.assets:
                continue
            original, references = self.index.original(candidate.asset_id)
            if candidate.votes and not plausible(query, candidate, references[0]):
                continue
            alignment = align(query.oriented(candidate.flipped), original, candidate.flipped)
            if alignment is None:
                continue
            agreement, shown = compare(query.grey, alignment.matrix, references[0])
            if agreement >= MIN_AGREEMENT and shown >= MIN_SHOWN:
                found.append(self._describe(query, candidate, alignment, agreement, original,
                                            references[1:]))
        return found

    def _describe(self, query, candidate, alignment, agreement, original, badges) -> Match:
        asset = self.index.assets[candidate.asset_id]
        width, height = original.size
        quad = map_points(alignment.matrix, rectangle(width, height)[:, :2])
        mapped = [map_badge(query.grey, alignment.matrix, badge, reference)
                  for badge, reference in zip(asset.disclosures.get("visible", []), badges)]
        return Match(asset=asset, inliers=alignment.inliers,
                     inlier_ratio=round(alignment.inlier_ratio, 3),
                     spread=round(alignment.spread, 3), agreement=round(agreement, 3),
                     pdq_distance=candidate.pdq_distance, found_by=candidate.found_by,
                     flipped=alignment.flipped, matrix=np.round(alignment.matrix, 6).tolist(),
                     quad=np.round(quad, 1).tolist(), badges=mapped)


def plausible(query: Query, candidate: Candidate, thumb: Reference) -> bool:
    """A cheap first look at a voted candidate: the transform its vote pairs support must
    make the copy agree with the original's thumbnail. Most unrelated candidates stop here,
    before the full descriptor matching."""
    features = query.oriented(candidate.flipped)
    fitted = fit_similarity(*candidate.votes, 2 * RANSAC_PX / features.scale)
    if fitted is None or fitted[1].sum() < MIN_VOTES:
        return False
    matrix = mirror(features.size[0]) @ fitted[0] if candidate.flipped else fitted[0]
    agreement, shown = compare(query.grey, matrix, thumb)
    return agreement >= PLAUSIBLE_AGREEMENT and shown >= MIN_SHOWN


def map_badge(copy_grey: np.ndarray, matrix: np.ndarray, badge: dict, reference: Reference
              ) -> MappedBadge:
    """Where an original's badge lands in the copy, how much of it is inside, and how much
    the copy's pixels there still look like it."""
    x, y, w, h = badge["box"]
    quad = map_points(matrix, [[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
    height, width = copy_grey.shape
    inside = inside_share(quad, width, height)
    similarity, shown = compare(copy_grey, matrix, reference)
    return MappedBadge(text=badge.get("text", ""), position=badge.get("position"),
                       facts={key: badge[key] for key in BADGE_FACTS if key in badge},
                       original_box=list(badge["box"]), quad=np.round(quad, 1).tolist(),
                       inside=round(inside, 3),
                       similarity=round(similarity, 3) if shown >= 0.5 else None)


def best_offset(offsets: list[tuple[float, float, int]]) -> tuple[float, int, int] | None:
    """The time offset most sampled frames agree on, from (offset, copy time, distance)
    votes: (median offset, frames voting for it, their median PDQ distance)."""
    if not offsets:
        return None
    offsets.sort()
    best: tuple[int, int] = (0, 0)
    for first, (offset, _, _) in enumerate(offsets):
        last = first
        while last + 1 < len(offsets) and offsets[last + 1][0] - offset <= \
                2 * VIDEO_OFFSET_WINDOW_S:
            last += 1
        frames = len({time_s for _, time_s, _ in offsets[first:last + 1]})
        if frames > best[0]:
            best = (frames, first)
    frames, first = best
    window = [item for item in offsets[first:]
              if item[0] - offsets[first][0] <= 2 * VIDEO_OFFSET_WINDOW_S]
    return (float(np.median([o for o, _, _ in window])), frames,
            int(np.median([d for _, _, d in window])))
