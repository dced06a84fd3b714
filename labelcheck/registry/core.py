"""The registry itself: registering originals, loading the indexes, and matching pictures and
videos against them (candidates from PDQ or descriptor votes, then geometric and pixel checks)."""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Iterable

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from labelcheck.core.model import Finding, MediaError
from labelcheck.registry.features import (QUERY_FEATURES, LocalFeatures, extract_features,
                                          gray, pdq, query_hashes, video_prints)
from labelcheck.registry.geometry import (RANSAC_PX, align, fit_similarity, inside_share,
                                          map_points, mirror, rectangle)
from labelcheck.registry.index import BinaryIndex
from labelcheck.registry.references import (Reference, badge_references, compare,
                                            references_from_bytes, references_to_bytes,
                                            thumbnail)
from labelcheck.registry.tables import (RegistryError, assets, connect, fingerprints,
                                        local_features)

ORIGINAL_FEATURES = 1000  # ORB keypoints kept per original
INDEX_CODES = 256  # descriptors per original in the crop-finding index
QUERY_CODES = 256  # descriptors of a query that vote (512 ranked crops no better)
PDQ_RADIUS = 90  # unrelated pictures sit at 128 +- 16 bits; candidates are verified anyway
PDQ_TOP_K = 8
VOTE_RADIUS = 48
MIN_VOTES = 6
MAX_CANDIDATES = 2  # per stage and orientation; a crop's original ranked first in 131 of 132
# Pixel acceptance, after `geometry`'s: on the suite, true pairs had agreement >= 0.55 and
# shown >= 0.23 (see the package docstring).
MIN_AGREEMENT = 0.45  # band-passed correlation with the original's thumbnail
MIN_SHOWN = 0.18  # share of the original the copy shows; 25 % crops per side leave 0.25
PLAUSIBLE_AGREEMENT = 0.3  # the same check on the rougher transform of the vote pairs
VIDEO_OFFSET_WINDOW_S = 0.5  # frames agreeing on the time offset to within this vote together
MIN_VIDEO_VOTES = 3  # sampled frames of a copy that must agree on one original and offset
MIN_VIDEO_SHARE = 0.3  # ... and that share of the copy's usable sampled frames
CHANNELS = ("c2pa", "iptc", "aigc")
BADGE_FACTS = ("lang", "phrase", "rules")  # what a badge says, kept for copies that show it


def disclosures_of(findings: list[Finding]) -> dict[str, Any]:
    """The disclosures a scan of an original found: its intact visible badges (text, box,
    position, language, lexicon phrase and rule tags) and which machine-readable layers (C2PA,
    IPTC, AIGC) declare AI."""
    badges = [{"text": f.measurements.get("text", ""), "box": list(f.measurements["box"]),
               "position": f.measurements.get("position"), "code": f.code,
               **{key: f.measurements[key] for key in BADGE_FACTS if key in f.measurements}}
              for f in findings if f.channel == "visible" and f.is_disclosure and f.intact
              and "box" in f.measurements]
    layers = {channel: any(f.channel == channel and f.is_disclosure for f in findings)
              for channel in CHANNELS}
    return {"visible": badges, **layers}


@dataclass
class Asset:
    """One registered original."""

    id: int
    owner: str
    note: str | None
    title: str
    sha256: str
    kind: str
    media_type: str | None
    width: int | None
    height: int | None
    disclosures: dict[str, Any]
    added_at: datetime

    @property
    def label(self) -> str:
        """How a person refers to it: ``#12 "campaign.jpg" (Acme Agency: spring ad)``."""
        note = f": {self.note}" if self.note else ""
        return f'#{self.id} "{os.path.basename(self.title)}" ({self.owner}{note})'

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "note": self.note, "title": self.title,
                "sha256": self.sha256, "kind": self.kind, "media_type": self.media_type,
                "width": self.width, "height": self.height, "disclosures": self.disclosures,
                "added_at": self.added_at.isoformat()}


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


def _best_offset(offsets: list[tuple[float, float, int]]) -> tuple[float, int, int] | None:
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


@dataclass
class _Candidate:
    asset_id: int
    flipped: bool
    pdq_distance: int | None
    found_by: str
    votes: tuple[np.ndarray, np.ndarray] | None = None  # (original, query) points that voted


class _Query:
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


class Registry:
    """Registered originals in a database, and the in-memory indexes to recognise them.

    The indexes load on the first `match` and reload when the assets table changes (another
    process added or removed an original), which `refresh` checks with one cheap query.
    """

    CACHE = 256  # originals' local features kept in memory

    def __init__(self, engine: Engine):
        self.engine = engine
        self._signature: tuple | None = None
        self._assets: dict[int, Asset] = {}
        self._pdq = BinaryIndex()
        self._fp_ids = np.empty(0, np.int64)  # fingerprint ids, ascending
        self._fp_assets = np.empty(0, np.int64)
        self._fp_flipped = np.empty(0, bool)
        self._fp_times = np.empty(0, float)  # NaN for images
        self._codes = BinaryIndex()  # ids are rows of the two arrays below
        self._code_assets = np.empty(0, np.int64)
        self._code_points = np.empty((0, 2), np.float32)
        self._local_cache: OrderedDict[int, tuple[LocalFeatures, list[Reference]]] = \
            OrderedDict()

    @classmethod
    def open(cls, url: str | None = None) -> "Registry":
        """The registry in the database at `url` (default: the results store's URL)."""
        return cls(connect(url))

    # -- writing -------------------------------------------------------------------------------

    def add(self, media, report, owner: str, note: str | None = None, frames=None) -> int:
        """Register an original, opened as `media` and scanned into `report` by the caller
        (`labelcheck.registry.enrol.register_file` does both); returns its id (the existing
        id when this owner already registered the same bytes). A video needs `frames`, the
        scan's sampling pass (`labelcheck.sources.VideoFrames`). Raises `RegistryError` when
        the file cannot be registered."""
        if not owner or not owner.strip():
            raise RegistryError("an owner is required")
        path = media.path
        try:
            if media.media_kind not in ("image", "video"):
                raise RegistryError(f"{path}: only images and videos can be registered "
                                    f"(this is a {media.media_kind})")
            if media.media_kind == "video":
                if report.error:
                    raise MediaError(report.error)
                rgb, prints = self._video_original(media, report, frames)
            else:
                rgb = media.rgb
                prints = [("full", None, *pdq(rgb)),
                          ("flip", None, *pdq(np.ascontiguousarray(rgb[:, ::-1])))]
        except MediaError as exc:
            raise RegistryError(f"{path}: {exc}") from None
        disclosures = disclosures_of(report.findings)
        grey = gray(rgb)
        boxes = [badge["box"] for badge in disclosures["visible"]]
        features = extract_features(grey, boxes, ORIGINAL_FEATURES)
        row = {"owner": owner.strip(), "note": note, "title": path, "sha256": media.sha256,
               "kind": media.media_kind, "media_type": media.media_type, "width": rgb.shape[1],
               "height": rgb.shape[0], "disclosures": disclosures,
               "added_at": datetime.now(timezone.utc)}
        try:
            references = [thumbnail(grey)] + badge_references(grey, disclosures["visible"])
            return self._insert(row, prints, features, references)
        except IntegrityError:
            existing = self._find(media.sha256, owner.strip())
            if existing is None:
                raise
            return existing

    @staticmethod
    def _video_original(media, report, frames) -> tuple[np.ndarray, list[tuple]]:
        """A registered video's representative frame (where its label was first seen, else
        its first frame) and the PDQ of every sampled frame of the scan's pass, with its
        time."""
        from labelcheck.vision import video

        if frames is None or not frames.kept or report.timeline is None:
            raise MediaError("its frames were not read (pixel analysis is needed to register "
                             "a video)")
        prints = [("full", time_s, code, 100) for time_s, code in video_prints(
            (kept.time_s, kept.rgb) for kept in frames.kept)]
        seen = [frame["time_s"] for frame in report.timeline["frames"] if frame["label_seen"]]
        frame = video.frame_at(media.source, seen[0] if seen else 0.0)
        return np.asarray(frame.convert("RGB")), prints

    def _insert(self, row, prints, features: LocalFeatures, references) -> int:
        """One transaction that starts with a write, so that a concurrent SQLite writer makes
        it wait (busy timeout) instead of failing on a stale read snapshot."""
        spread = features.spread_order()[:INDEX_CODES]
        with self.engine.begin() as connection:
            asset_id = connection.execute(insert(assets).values(**row)).inserted_primary_key[0]
            connection.execute(insert(fingerprints), [
                {"asset_id": asset_id, "variant": variant, "time_s": time_s, "pdq": code,
                 "quality": quality} for variant, time_s, code, quality in prints])
            connection.execute(insert(local_features).values(
                asset_id=asset_id, keypoints=features.to_bytes(),
                index_codes=features.descriptors[spread].tobytes(),
                index_points=features.points[spread].astype(np.float32).tobytes(),
                references=references_to_bytes(references)))
        return int(asset_id)

    def _find(self, sha256: str, owner: str) -> int | None:
        with self.engine.connect() as connection:
            return connection.execute(select(assets.c.id).where(
                assets.c.sha256 == sha256, assets.c.owner == owner)).scalar()

    def remove(self, asset_id: int) -> bool:
        """Unregister an original; False when there is no such id."""
        with self.engine.begin() as connection:
            connection.execute(delete(local_features).where(
                local_features.c.asset_id == asset_id))
            connection.execute(delete(fingerprints).where(fingerprints.c.asset_id == asset_id))
            return connection.execute(delete(assets).where(assets.c.id == asset_id)).rowcount > 0

    # -- reading -------------------------------------------------------------------------------

    def list(self) -> list[Asset]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(assets).order_by(assets.c.id)).mappings().all()
        return [Asset(**row) for row in rows]

    def get(self, asset_id: int) -> Asset:
        with self.engine.connect() as connection:
            row = connection.execute(select(assets).where(assets.c.id == asset_id)) \
                .mappings().first()
        if row is None:
            raise RegistryError(f"no registered asset #{asset_id}")
        return Asset(**row)

    def signature(self) -> tuple | None:
        """(count, max id) of the assets, or None when the registry tables do not exist."""
        try:
            with self.engine.connect() as connection:
                return tuple(connection.execute(
                    select(func.count(assets.c.id), func.max(assets.c.id))).one())
        except DBAPIError:
            return None

    def refresh(self) -> bool:
        """Reload the indexes if the assets changed; whether any asset is registered."""
        signature = self.signature()
        if signature != self._signature:
            self._load(bool(signature and signature[0]))
            self._signature = signature
        return bool(self._assets)

    def _load(self, any_assets: bool) -> None:
        self._assets = {asset.id: asset for asset in self.list()} if any_assets else {}
        with self.engine.connect() as connection:
            prints = connection.execute(select(
                fingerprints.c.id, fingerprints.c.asset_id, fingerprints.c.variant,
                fingerprints.c.pdq, fingerprints.c.time_s).order_by(fingerprints.c.id)
            ).all() if any_assets else []
            coded = connection.execute(select(
                local_features.c.asset_id, local_features.c.index_codes,
                local_features.c.index_points)).all() if any_assets else []
        self._fp_ids = np.array([r[0] for r in prints], np.int64)
        self._fp_assets = np.array([r[1] for r in prints], np.int64)
        self._fp_flipped = np.array([r[2] == "flip" for r in prints], bool)
        self._fp_times = np.array([np.nan if r[4] is None else r[4] for r in prints], float)
        self._pdq = BinaryIndex()
        self._pdq.add(self._fp_ids,
                      np.frombuffer(b"".join(bytes(r[3]) for r in prints), np.uint8))
        codes = np.frombuffer(b"".join(bytes(r[1]) for r in coded), np.uint8).reshape(-1, 32)
        self._code_points = np.frombuffer(b"".join(bytes(r[2]) for r in coded),
                                          np.float32).reshape(-1, 2)
        self._code_assets = np.repeat(np.array([r[0] for r in coded], np.int64),
                                      [len(r[1]) // 32 for r in coded])
        self._codes = BinaryIndex()
        self._codes.add(np.arange(len(codes)), codes)
        self._local_cache.clear()

    def _local(self, asset_id: int) -> tuple[LocalFeatures, list[Reference]]:
        """An original's features and pixel references, thumbnail first (read from the
        database, then cached)."""
        if asset_id in self._local_cache:
            self._local_cache.move_to_end(asset_id)
            return self._local_cache[asset_id]
        with self.engine.connect() as connection:
            row = connection.execute(select(
                local_features.c.keypoints, local_features.c.references).where(
                local_features.c.asset_id == asset_id)).one()
        entry = (LocalFeatures.from_bytes(bytes(row[0])),
                 references_from_bytes(bytes(row[1])))
        self._local_cache[asset_id] = entry
        if len(self._local_cache) > self.CACHE:
            self._local_cache.popitem(last=False)
        return entry

    # -- matching ------------------------------------------------------------------------------

    def match(self, rgb: np.ndarray) -> list[Match]:
        """Registered originals that `rgb` (H x W x 3 uint8) is a copy of, best first.

        PDQ candidates are verified first; only when none is confirmed do the local-feature
        votes look for the original of a crop (first unmirrored, then mirrored)."""
        if not self.refresh():
            return []
        query = _Query(rgb)
        found = self._confirm(query, self._pdq_candidates(query))
        for flipped in (False, True):
            if not found:
                found = self._confirm(query, self._vote_candidates(query, flipped))
        return sorted(found, key=lambda match: -match.inliers)

    def match_video(self, samples: Iterable[tuple[float, np.ndarray]]) -> list[VideoMatch]:
        """Registered original videos that the sampled frames (time, RGB) of a video are a
        copy of: each frame's PDQ hash votes for (original, time offset) pairs; an original
        wins when enough frames agree on one offset, so a trimmed, re-encoded or rescaled
        copy matches and a look-alike frame here and there does not."""
        if not self.refresh():
            return []
        prints = video_prints(samples)
        votes: dict[int, list[tuple[float, float, int]]] = {}
        for (time_s, _), hits in zip(prints, self.pdq_search(
                np.frombuffer(b"".join(code for _, code in prints), np.uint8).reshape(-1, 32))):
            for fp_id, distance in hits:
                row = int(np.searchsorted(self._fp_ids, fp_id))
                original_s = self._fp_times[row]
                if not np.isnan(original_s):
                    votes.setdefault(int(self._fp_assets[row]), []).append(
                        (time_s - original_s, time_s, distance))
        found = []
        for asset_id, offsets in votes.items():
            best = _best_offset(offsets)
            if best and asset_id in self._assets and best[1] >= max(
                    MIN_VIDEO_VOTES, MIN_VIDEO_SHARE * len(prints)):
                found.append(VideoMatch(self._assets[asset_id], round(best[0], 2), best[1],
                                        len(prints), best[2]))
        return sorted(found, key=lambda match: -match.frames_matched)

    def pdq_search(self, hashes: np.ndarray) -> list[list[tuple[int, int]]]:
        """The PDQ stage alone: nearest fingerprint ids per query hash (timed by the bench)."""
        return self._pdq.search(hashes, PDQ_TOP_K, PDQ_RADIUS)

    def _pdq_candidates(self, query: _Query) -> list[_Candidate]:
        best: dict[tuple[int, bool], int] = {}
        for hits in self.pdq_search(query.hashes):
            for fp_id, distance in hits:
                row = int(np.searchsorted(self._fp_ids, fp_id))
                key = (int(self._fp_assets[row]), bool(self._fp_flipped[row]))
                best[key] = min(distance, best.get(key, 256))
        ranked = sorted(best.items(), key=lambda item: item[1])[:MAX_CANDIDATES]
        return [_Candidate(asset_id, flipped, distance, "pdq")
                for (asset_id, flipped), distance in ranked]

    def _vote_candidates(self, query: _Query, flipped: bool) -> list[_Candidate]:
        """Originals whose indexed descriptors the query's descriptors hit most; each query
        descriptor votes once per original, with its nearest hit there as a point pair."""
        features = query.oriented(flipped)
        order = features.spread_order()[:QUERY_CODES]
        pairs: dict[int, list[tuple[int, int]]] = {}
        for row, hits in zip(order, self._codes.search(features.descriptors[order], 4,
                                                       VOTE_RADIUS)):
            seen = set()
            for code, _distance in hits:
                asset_id = int(self._code_assets[code])
                if asset_id not in seen:
                    seen.add(asset_id)
                    pairs.setdefault(asset_id, []).append((code, int(row)))
        ranked = sorted(pairs.items(), key=lambda item: -len(item[1]))
        return [_Candidate(asset_id, flipped, None, "local features",
                           (self._code_points[[c for c, _ in hit]],
                            features.points[[r for _, r in hit]]))
                for asset_id, hit in ranked[:MAX_CANDIDATES] if len(hit) >= MIN_VOTES]

    def _confirm(self, query: _Query, candidates: list[_Candidate]) -> list[Match]:
        found = []
        for candidate in candidates:
            if candidate.asset_id not in self._assets:
                continue
            original, references = self._local(candidate.asset_id)
            if candidate.votes and not self._plausible(query, candidate, references[0]):
                continue
            alignment = align(query.oriented(candidate.flipped), original, candidate.flipped)
            if alignment is None:
                continue
            agreement, shown = compare(query.grey, alignment.matrix, references[0])
            if agreement >= MIN_AGREEMENT and shown >= MIN_SHOWN:
                found.append(self._describe(query, candidate, alignment, agreement, original,
                                            references[1:]))
        return found

    @staticmethod
    def _plausible(query: _Query, candidate: _Candidate, thumb: Reference) -> bool:
        """A cheap first look at a voted candidate: the transform its vote pairs support must
        make the copy agree with the original's thumbnail. Most unrelated candidates stop
        here, before the full descriptor matching."""
        features = query.oriented(candidate.flipped)
        fitted = fit_similarity(*candidate.votes, 2 * RANSAC_PX / features.scale)
        if fitted is None or fitted[1].sum() < MIN_VOTES:
            return False
        matrix = mirror(features.size[0]) @ fitted[0] if candidate.flipped else fitted[0]
        agreement, shown = compare(query.grey, matrix, thumb)
        return agreement >= PLAUSIBLE_AGREEMENT and shown >= MIN_SHOWN

    def _describe(self, query, candidate, alignment, agreement, original, badges) -> Match:
        asset = self._assets[candidate.asset_id]
        width, height = original.size
        quad = map_points(alignment.matrix, rectangle(width, height)[:, :2])
        mapped = [_map_badge(query.grey, alignment.matrix, badge, reference)
                  for badge, reference in zip(asset.disclosures.get("visible", []), badges)]
        return Match(asset=asset, inliers=alignment.inliers,
                     inlier_ratio=round(alignment.inlier_ratio, 3),
                     spread=round(alignment.spread, 3), agreement=round(agreement, 3),
                     pdq_distance=candidate.pdq_distance, found_by=candidate.found_by,
                     flipped=alignment.flipped, matrix=np.round(alignment.matrix, 6).tolist(),
                     quad=np.round(quad, 1).tolist(), badges=mapped)


def _map_badge(copy_grey: np.ndarray, matrix: np.ndarray, badge: dict, reference: Reference
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
