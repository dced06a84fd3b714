"""The reference registry: disclosed originals, recognised again in copies that lost their label.

Performers, agencies and brands register the disclosed originals of their AI content. For each
original the registry keeps what it disclosed, as `labelcheck.scan` reads it (visible badges
with their boxes; C2PA, IPTC and AIGC layers), and what it takes to recognise it again:

- PDQ hashes of the picture and of its mirror image, searched exhaustively in a `BinaryIndex`
  (a few milliseconds per query hash at a million fingerprints). PDQ survives metadata strips,
  re-encoding, rescaling and small overlays, and padding or screenshot frames once the query's
  borders are trimmed. It does not survive crops: 5 % off each side already moves a hash about
  80 of 256 bits, as far as an unrelated picture (bench/registry.py measures it).
- ORB keypoints and descriptors, with the badges masked out so that two pictures sharing a badge
  never match on it. A spread-out subset of each original's descriptors sits in a second
  `BinaryIndex`; their votes find the original of a crop when PDQ has no candidate.

A candidate is confirmed by RANSAC on a similarity transform (rotation, scale, translation, and
a mirror when the copy is flipped) over ratio-tested ORB matches, and then by the pixels. Ads
share words in the same fonts, and one shared word gives a hundred consistent inliers, so a
match needs all of: enough inliers, a high inlier share, inliers spread over the part of the
original that the copy shows, and the copy's pixels agreeing with a small stored thumbnail of
the original over a large enough part of it (band-passed, so similar backgrounds do not
count). On the generated suite the geometric tests alone let none of 8,370 false candidate
pairs (400 look-alikes) through; over 1,000 look-alikes one got through them (a price tag in
the same font, the copy showing 8 % of the original), and the pixel tests stop it. Voted
candidates get the pixel test first, on the transform their vote pairs support, which spares
most unrelated pictures the full descriptor matching. The transform maps the original's badge
boxes into the copy, where `labelcheck.sources.registry` checks whether each badge is still
there.

Videos are kept as the PDQ hashes of their sampled frames (`labelcheck.video`), each with its
time (``registry_fingerprints.time_s``), plus the features of one representative frame. A video
copy's sampled frames vote for (original, time offset) pairs (`Registry.match_video`): a trim
shifts every frame by the same offset, so the true original collects the votes of most frames
at one offset while chance PDQ neighbours scatter.
"""

from __future__ import annotations

import io
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any, Iterable

import numpy as np
from sqlalchemy import (JSON, Column, DateTime, Float, ForeignKey, Integer, LargeBinary, String,
                        Table, Text, UniqueConstraint, delete, func, insert, select)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from labelcheck import store
from labelcheck.model import Finding, MediaError

WORK_SIDE = 1024  # ORB runs on the picture scaled down to this longer side
PDQ_SIDE = 512  # pictures are hashed at this longer side: 4x faster than full size (34 ms)
ORIGINAL_FEATURES = 1000  # ORB keypoints kept per original
QUERY_FEATURES = 2000  # ORB keypoints kept per picture being matched
FAST_THRESHOLD = 12  # lower than ORB's 20: ads have large smooth areas
MIN_SIDE = 64  # pictures smaller than this have no usable keypoints (ORB's pyramid fails)
INDEX_CODES = 256  # descriptors per original in the crop-finding index
QUERY_CODES = 256  # descriptors of a query that vote (512 ranked crops no better)
GRID = 4  # descriptors are picked round-robin from a GRID x GRID layout, for spread
PDQ_RADIUS = 90  # unrelated pictures sit at 128 +- 16 bits; candidates are verified anyway
PDQ_TOP_K = 8
MIN_PDQ_QUALITY = 50  # PDQ's own advice: flatter pictures give unreliable hashes
VOTE_RADIUS = 48
MIN_VOTES = 6
MAX_CANDIDATES = 2  # per stage and orientation; a crop's original ranked first in 131 of 132
RATIO = 0.8  # Lowe's ratio test
RANSAC_SEED = 20250904
RANSAC_PX = 4.0  # reprojection tolerance, in pixels of the copy's ORB image
# Acceptance. On the suite, true pairs had >= 82 inliers, inlier ratio >= 0.52, spread >= 0.035
# (1st percentile 0.155), agreement >= 0.55 and shown >= 0.23 (see the module docstring).
MIN_INLIERS = 40
MIN_INLIER_RATIO = 0.35
MIN_SPREAD = 0.1  # inliers' hull over the area of the original that the copy shows
MIN_AGREEMENT = 0.45  # band-passed correlation with the original's thumbnail
MIN_SHOWN = 0.18  # share of the original the copy shows; 25 % crops per side leave 0.25
PLAUSIBLE_AGREEMENT = 0.3  # the same check on the rougher transform of the vote pairs
THUMBNAIL_SIDE = 128
BADGE_MARGIN = 0.5  # badge references keep this share of the badge height around it
BADGE_TEXT_PX = 24  # badge references are stored with their text this tall (or smaller)
VIDEO_OFFSET_WINDOW_S = 0.5  # frames agreeing on the time offset to within this vote together
MIN_VIDEO_VOTES = 3  # sampled frames of a copy that must agree on one original and offset
MIN_VIDEO_SHARE = 0.3  # ... and that share of the copy's usable sampled frames
CHANNELS = ("c2pa", "iptc", "aigc")
BADGE_FACTS = ("lang", "phrase", "rules")  # what a badge says, kept for copies that show it

assets = Table(
    "registry_assets", store.metadata,
    Column("id", Integer, primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("note", Text),
    Column("title", Text, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("media_type", String(60)),
    Column("width", Integer),
    Column("height", Integer),
    Column("disclosures", JSON, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("sha256", "owner", name="uq_registry_assets_sha256_owner"),
    sqlite_autoincrement=True,  # ids are never reused, so (count, max id) detects any change
)

fingerprints = Table(
    "registry_fingerprints", store.metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", Integer, ForeignKey("registry_assets.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("variant", String(20), nullable=False),  # "full" or "flip"
    Column("time_s", Float),  # keyframe time of a video fingerprint; None for images
    Column("pdq", LargeBinary(32), nullable=False),
    Column("quality", Integer, nullable=False),
    sqlite_autoincrement=True,
)

local_features = Table(
    "registry_features", store.metadata,
    Column("asset_id", Integer, ForeignKey("registry_assets.id", ondelete="CASCADE"),
           primary_key=True),
    Column("keypoints", LargeBinary, nullable=False),  # npz: points, descriptors, size
    Column("index_codes", LargeBinary, nullable=False),  # (INDEX_CODES, 32) uint8, raw
    Column("index_points", LargeBinary, nullable=False),  # their (x, y), float32, raw
    Column("references", LargeBinary, nullable=False),  # npz: thumbnail and badge patches
)


class RegistryError(Exception):
    """A file that cannot be registered, or an id that does not exist; for a person."""


def connect(url: str | None = None) -> Engine:
    """The store's engine with the registry tables in place (they share `store.metadata`).

    Two processes creating the schema of a fresh database at once race between "does the table
    exist" and "create it"; the loser gets an error, so creation is retried.
    """
    attempt = 0
    while True:
        try:
            return store.connect(url)
        except DBAPIError:
            attempt += 1
            if attempt == 5:
                raise
            time.sleep(0.2 * attempt)


# ---------------------------------------------------------------------------------------------
# The binary index
# ---------------------------------------------------------------------------------------------

class BinaryIndex:
    """Exhaustive Hamming search over 256-bit codes (PDQ hashes, ORB descriptors).

    Codes are kept as four uint64 columns, so one query is four XOR + popcount passes over
    contiguous memory (numpy's `bitwise_count`), in blocks that stay in cache: about 3.5 ms per
    query per million codes on one core. The interface (add with ids, remove by id, the k
    nearest within a radius) is what FAISS's ``IndexBinaryIDMap`` over ``IndexBinaryFlat`` or
    ``IndexBinaryHNSW`` offers (``add_with_ids``, ``remove_ids``, ``range_search``), so a larger
    registry can swap this class for one of those without touching its callers.
    """

    BLOCK = 65536

    def __init__(self) -> None:
        self._columns = np.empty((4, 0), np.uint64)
        self._ids = np.empty(0, np.int64)

    def __len__(self) -> int:
        return int(self._ids.size)

    def add(self, ids: Iterable[int], codes: np.ndarray) -> None:
        """Add codes ((n, 32) uint8) under the given ids (several codes may share an id)."""
        codes = np.ascontiguousarray(codes, np.uint8).reshape(-1, 32)
        ids = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), np.int64)
        if ids.size != len(codes):
            raise ValueError(f"{ids.size} ids for {len(codes)} codes")
        self._columns = np.concatenate([self._columns, codes.view(np.uint64).T], axis=1)
        self._ids = np.concatenate([self._ids, ids])

    def remove(self, ids: Iterable[int]) -> None:
        """Drop every code stored under one of `ids`."""
        keep = ~np.isin(self._ids, np.asarray(list(ids), np.int64))
        self._columns = np.ascontiguousarray(self._columns[:, keep])
        self._ids = self._ids[keep]

    def distances(self, code: np.ndarray) -> np.ndarray:
        """Hamming distance from one code ((32,) uint8) to every stored code, as uint16."""
        query = np.ascontiguousarray(code, np.uint8).view(np.uint64)
        total = len(self)
        out = np.empty(total, np.uint16)
        word = np.empty(min(total, self.BLOCK), np.uint64)
        bits = np.empty(min(total, self.BLOCK), np.uint8)
        for start in range(0, total, self.BLOCK):
            stop = min(total, start + self.BLOCK)
            size = stop - start
            for column in range(4):
                np.bitwise_xor(self._columns[column, start:stop], query[column], out=word[:size])
                np.bitwise_count(word[:size], out=bits[:size])
                if column == 0:
                    np.copyto(out[start:stop], bits[:size])
                else:
                    np.add(out[start:stop], bits[:size], out=out[start:stop])
        return out

    def search(self, queries: np.ndarray, k: int, radius: int) -> list[list[tuple[int, int]]]:
        """For each query code, up to `k` (id, distance) pairs within `radius`, nearest first."""
        results = []
        for code in np.ascontiguousarray(queries, np.uint8).reshape(-1, 32):
            dist = self.distances(code)
            rows = np.flatnonzero(dist <= radius)
            if rows.size > k:
                rows = rows[np.argpartition(dist[rows], k - 1)[:k]]
            rows = rows[np.argsort(dist[rows], kind="stable")]
            results.append(list(zip(self._ids[rows].tolist(), dist[rows].tolist())))
        return results


# ---------------------------------------------------------------------------------------------
# Fingerprints and local features
# ---------------------------------------------------------------------------------------------

def pdq(rgb: np.ndarray) -> tuple[bytes, int]:
    """The PDQ hash (32 bytes) and quality (0-100) of an RGB picture."""
    import cv2
    import pdqhash

    height, width = rgb.shape[:2]
    scale = PDQ_SIDE / max(height, width)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


def content_box(rgb: np.ndarray, tolerance: int = 16,
                border_share: float = 0.6) -> tuple[int, int, int, int] | None:
    """The picture inside padding, letterbox bars or a screenshot's app chrome (x0, y0, x1, y1),
    or None when there is nothing to trim.

    A row or column is "frame" when most of its pixels have the colour of the outer ring; the
    content is the longest run of rows that are not frame, then the longest run of columns
    within it. App chrome (status bar, account name, buttons) is mostly background, so it
    counts as frame too.
    """
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, 256 / max(height, width))
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
                       (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA).astype(np.int16)
    ring = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    near = np.abs(small - int(np.median(ring))) <= tolerance
    h, w = small.shape
    top, bottom = _longest_run(near.mean(axis=1) < border_share)
    if bottom - top < 0.2 * h:
        return None
    left, right = _longest_run(near[top:bottom].mean(axis=0) < border_share)
    if right - left < 0.2 * w:
        return None
    if bottom - top > 0.97 * h and right - left > 0.97 * w:
        return None
    return (round(left / scale), round(top / scale), min(width, round(right / scale)),
            min(height, round(bottom / scale)))


def query_hashes(rgb: np.ndarray) -> np.ndarray:
    """The PDQ hashes a picture is looked up by ((n, 32) uint8): the picture and its content
    box (padding or app chrome trimmed), without the hashes of too flat pictures."""
    views = [rgb]
    box = content_box(rgb)
    if box:
        views.append(rgb[box[1]:box[3], box[0]:box[2]])
    codes = [code for code, quality in map(pdq, views) if quality >= MIN_PDQ_QUALITY]
    return np.frombuffer(b"".join(codes), np.uint8).reshape(-1, 32)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """Start and end (exclusive) of the longest run of True in `flags`."""
    best, start = (0, 0), None
    for index, flag in enumerate(list(flags) + [False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start > best[1] - best[0]:
                best = (start, index)
            start = None
    return best


@dataclass
class LocalFeatures:
    """ORB keypoints of one picture: positions in its full-resolution pixels and descriptors
    ((n, 32) uint8), in `spread_order`; `scale` is the ORB image's size over the picture's."""

    points: np.ndarray
    descriptors: np.ndarray
    scale: float
    size: tuple[int, int]  # width, height of the full-resolution picture

    def spread_order(self) -> np.ndarray:
        """Indices of the keypoints taken round-robin from a GRID x GRID layout, strongest
        first in each cell, so that any part of the picture keeps some of them."""
        width, height = self.size
        cells = (np.minimum(GRID - 1, (self.points[:, 0] * GRID / width).astype(int)) * GRID
                 + np.minimum(GRID - 1, (self.points[:, 1] * GRID / height).astype(int)))
        rank = np.zeros(len(cells), np.int64)
        seen: dict[int, int] = {}
        for index, cell in enumerate(cells.tolist()):
            rank[index] = seen.get(cell, 0)
            seen[cell] = rank[index] + 1
        return np.lexsort((np.arange(len(cells)), rank))

    def subset(self, rows: np.ndarray) -> "LocalFeatures":
        return LocalFeatures(self.points[rows], self.descriptors[rows], self.scale, self.size)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, points=self.points, descriptors=self.descriptors,
                            scale=np.float64(self.scale), size=np.asarray(self.size))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "LocalFeatures":
        with np.load(io.BytesIO(blob)) as data:
            return cls(data["points"], data["descriptors"], float(data["scale"]),
                       tuple(int(v) for v in data["size"]))


def gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def extract_features(grey: np.ndarray, exclude: Iterable[Iterable[int]] = (),
                     count: int = QUERY_FEATURES) -> LocalFeatures:
    """ORB on the picture scaled to WORK_SIDE, skipping the boxes in `exclude` (x, y, w, h,
    full-resolution pixels, grown by their height) so that badges never make a match.

    ORB keeps its strongest corners, and big overlaid captions would take them all, so it
    detects three times `count` and keeps `count` spread over the picture."""
    import cv2

    height, width = grey.shape
    scale = min(1.0, WORK_SIDE / max(height, width))
    work = grey if scale == 1 else cv2.resize(
        grey, (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA)
    none = LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), scale,
                         (width, height))
    if min(work.shape) < MIN_SIDE:
        return none
    mask = np.full(work.shape, 255, np.uint8)
    for x, y, w, h in exclude:
        x0, y0 = int((x - h) * scale), int((y - h) * scale)
        mask[max(0, y0):max(0, int((y + 2 * h) * scale)),
             max(0, x0):max(0, int((x + w + h) * scale))] = 0
    orb = cv2.ORB_create(nfeatures=3 * count, fastThreshold=FAST_THRESHOLD)
    keypoints, descriptors = orb.detectAndCompute(work, mask)
    if descriptors is None or not keypoints:
        return none
    order = np.argsort([-kp.response for kp in keypoints], kind="stable")
    points = np.array([keypoints[i].pt for i in order], np.float32) / scale
    found = LocalFeatures(points, descriptors[order], scale, (width, height))
    return found.subset(found.spread_order()[:count])


# ---------------------------------------------------------------------------------------------
# Geometric verification
# ---------------------------------------------------------------------------------------------

@dataclass
class Alignment:
    """How an original sits in a copy: `matrix` maps original pixels to copy pixels."""

    matrix: np.ndarray
    inliers: int
    matches: int
    spread: float
    flipped: bool

    @property
    def inlier_ratio(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0


def align(query: LocalFeatures, original: LocalFeatures, flipped: bool = False
          ) -> Alignment | None:
    """The similarity transform from `original` to `query` that ORB matches support, or None
    when the support is too thin (few inliers, low inlier share, or inliers bunched in one
    spot: a shared logo or word is not the same picture). `flipped`: `query` holds the
    features of the mirrored copy; the result still maps into the unmirrored copy."""
    import cv2

    if len(query.descriptors) < 2 or len(original.descriptors) < 2:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query.descriptors, original.descriptors,
                                                     k=2)
    good = [(m.queryIdx, m.trainIdx) for m, *rest in (p for p in pairs if p)
            if not rest or m.distance < RATIO * rest[0].distance]
    if len(good) < MIN_INLIERS:
        return None
    index = np.array(good)
    src, dst = original.points[index[:, 1]], query.points[index[:, 0]]
    fitted = fit_similarity(src, dst, RANSAC_PX / query.scale)
    if fitted is None:
        return None
    matrix, inliers = fitted
    spread = _spread(src[inliers], matrix, original.size, query.size)
    if flipped:
        matrix = _mirror(query.size[0]) @ matrix
    found = Alignment(matrix, int(inliers.sum()), len(good), spread, flipped)
    if (found.inliers < MIN_INLIERS or found.inlier_ratio < MIN_INLIER_RATIO
            or spread < MIN_SPREAD):
        return None
    return found


def fit_similarity(src: np.ndarray, dst: np.ndarray, tolerance: float
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """RANSAC fit of a similarity transform (3x3) taking `src` points to `dst`, and the inlier
    mask; None when there is none or its scale is absurd."""
    import cv2

    if len(src) < 3:
        return None
    cv2.setRNGSeed(RANSAC_SEED)  # the same pictures always give the same answer
    model, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=tolerance, maxIters=4000,
        confidence=0.999, refineIters=10)
    if model is None:
        return None
    matrix = np.vstack([model, [0, 0, 1]])
    if not 0.05 <= float(np.sqrt(abs(np.linalg.det(matrix[:2, :2])))) <= 20:
        return None
    return matrix, mask.ravel().astype(bool)


def _mirror(width: int) -> np.ndarray:
    return np.array([[-1.0, 0, width - 1], [0, 1, 0], [0, 0, 1]])


def _spread(points: np.ndarray, matrix: np.ndarray, original_size, copy_size) -> float:
    """Area of the inliers' convex hull over the area of the original that the copy shows."""
    import cv2

    if len(points) < 3:
        return 0.0
    hull = cv2.contourArea(cv2.convexHull(points.astype(np.float32)))
    shown = _rectangle(*copy_size) @ np.linalg.inv(matrix).T
    overlap, _ = cv2.intersectConvexConvex(_rectangle(*original_size)[:, :2].astype(np.float32),
                                           shown[:, :2].astype(np.float32))
    return float(hull / overlap) if overlap > 0 else 0.0


def _rectangle(width: float, height: float) -> np.ndarray:
    """Corners of a width x height picture, homogeneous, clockwise."""
    return np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], float)


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, float)
    return (np.hstack([points, np.ones((len(points), 1))]) @ np.asarray(matrix).T)[:, :2]


# ---------------------------------------------------------------------------------------------
# Pixel references: the original's thumbnail and its badges
# ---------------------------------------------------------------------------------------------

@dataclass
class Reference:
    """Grey pixels of a region of an original, possibly downscaled, and that region (x0, y0,
    x1, y1 in original pixels)."""

    pixels: np.ndarray
    box: tuple[int, int, int, int]


def _reference(grey: np.ndarray, box, scale: float) -> Reference:
    import cv2

    x0, y0, x1, y1 = box
    crop = grey[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    pixels = crop if scale >= 1 else cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    return Reference(np.ascontiguousarray(pixels), (x0, y0, x1, y1))


def thumbnail(grey: np.ndarray) -> Reference:
    height, width = grey.shape
    return _reference(grey, (0, 0, width, height), THUMBNAIL_SIDE / max(height, width))


def badge_references(grey: np.ndarray, badges: list[dict]) -> list[Reference]:
    """Each badge with a margin around it, its text scaled to BADGE_TEXT_PX at most."""
    height, width = grey.shape
    found = []
    for badge in badges:
        x, y, w, h = badge["box"]
        margin = round(BADGE_MARGIN * h)
        box = (max(0, x - margin), max(0, y - margin), min(width, x + w + margin),
               min(height, y + h + margin))
        found.append(_reference(grey, box, min(1.0, BADGE_TEXT_PX / max(h, 1))))
    return found


def _references_to_bytes(references: list[Reference]) -> bytes:
    buffer = io.BytesIO()
    arrays = {f"pixels{i}": ref.pixels for i, ref in enumerate(references)}
    arrays.update({f"box{i}": np.asarray(ref.box) for i, ref in enumerate(references)})
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _references_from_bytes(blob: bytes) -> list[Reference]:
    with np.load(io.BytesIO(blob)) as data:
        count = sum(1 for name in data.files if name.startswith("pixels"))
        return [Reference(data[f"pixels{i}"], tuple(int(v) for v in data[f"box{i}"]))
                for i in range(count)]


def compare(copy_grey: np.ndarray, matrix: np.ndarray, reference: Reference
            ) -> tuple[float, float]:
    """How much the copy, seen through `matrix` (original -> copy pixels), looks like the
    reference: the normalised cross-correlation of band-passed pixels over the part of the
    reference that the copy shows, and that part's share of the reference.

    The copy is resampled onto the reference's pixel grid (shrunk first when it is finer, so
    the warp does not alias). Band-passing drops brightness, contrast and smooth gradients:
    two unrelated ads with similar backgrounds do not agree, a re-encoded copy does.
    """
    import cv2

    x0, y0, x1, y1 = reference.box
    height, width = reference.pixels.shape
    to_copy = np.asarray(matrix, float) @ np.array(
        [[(x1 - x0) / width, 0, x0], [0, (y1 - y0) / height, y0], [0, 0, 1]])
    source = copy_grey.astype(np.float32)
    step = float(np.sqrt(abs(np.linalg.det(to_copy[:2, :2]))))
    if step > 1.5:
        size = (max(1, round(source.shape[1] / step)), max(1, round(source.shape[0] / step)))
        to_copy = np.diag([size[0] / source.shape[1], size[1] / source.shape[0], 1]) @ to_copy
        source = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
    flags = cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(source, to_copy[:2], (width, height), flags=flags | cv2.INTER_LINEAR)
    valid = cv2.warpAffine(np.ones(source.shape, np.uint8), to_copy[:2], (width, height),
                           flags=flags | cv2.INTER_NEAREST)
    valid = cv2.erode(valid, np.ones((3, 3), np.uint8)).astype(bool)
    shown = float(valid.mean())
    if valid.sum() < 50:
        return 0.0, shown
    a = _bandpass(reference.pixels.astype(np.float32))[valid]
    b = _bandpass(warped)[valid]
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return (float((a * b).sum() / norm) if norm > 0 else 0.0), shown


def _bandpass(pixels: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(pixels, (0, 0), 0.7) - cv2.GaussianBlur(pixels, (0, 0), 2.5)


# ---------------------------------------------------------------------------------------------
# What an original disclosed
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

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


def video_prints(samples: Iterable[tuple[float, np.ndarray]]) -> list[tuple[float, bytes]]:
    """(time, PDQ hash) of each sampled frame (time, RGB) whose hash is reliable."""
    prints = []
    for time_s, rgb in samples:
        code, quality = pdq(rgb)
        if quality >= MIN_PDQ_QUALITY:
            prints.append((time_s, code))
    return prints


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


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------

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

    def add(self, path: str | os.PathLike, owner: str, note: str | None = None) -> int:
        """Register an original; returns its id (the existing id when this owner already
        registered the same bytes). Raises `RegistryError` when the file cannot be read."""
        from labelcheck.media import Media
        from labelcheck.scanner import scan

        if not owner or not owner.strip():
            raise RegistryError("an owner is required")
        path = os.fspath(path)
        try:
            media = Media.open(path)
            if media.kind not in ("image", "video"):
                raise RegistryError(f"{path}: only images and videos can be registered "
                                    f"(this is a {media.kind})")
            report = scan(media.data, name=path)
            if media.kind == "video":
                if report.error:
                    raise MediaError(report.error)
                rgb, prints = self._video_original(media, report)
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
               "kind": media.kind, "media_type": media.media_type, "width": rgb.shape[1],
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
    def _video_original(media, report) -> tuple[np.ndarray, list[tuple]]:
        """A registered video's representative frame (where its label was first seen, else
        its first frame) and the PDQ of every sampled frame, with its time."""
        from labelcheck import video

        prints = [("full", time_s, code, 100) for time_s, code in video_prints(
            (sample.time_s, sample.rgb) for sample in video.Sampler(media.data))]
        seen = [frame["time_s"] for frame in report.timeline["frames"] if frame["label_seen"]]
        frame = video.frame_at(media.data, seen[0] if seen else 0.0)
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
                references=_references_to_bytes(references)))
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
                 _references_from_bytes(bytes(row[1])))
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
        matrix = _mirror(features.size[0]) @ fitted[0] if candidate.flipped else fitted[0]
        agreement, shown = compare(query.grey, matrix, thumb)
        return agreement >= PLAUSIBLE_AGREEMENT and shown >= MIN_SHOWN

    def _describe(self, query, candidate, alignment, agreement, original, badges) -> Match:
        asset = self._assets[candidate.asset_id]
        width, height = original.size
        quad = map_points(alignment.matrix, _rectangle(width, height)[:, :2])
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
    inside = _inside_share(quad, width, height)
    similarity, shown = compare(copy_grey, matrix, reference)
    return MappedBadge(text=badge.get("text", ""), position=badge.get("position"),
                       facts={key: badge[key] for key in BADGE_FACTS if key in badge},
                       original_box=list(badge["box"]), quad=np.round(quad, 1).tolist(),
                       inside=round(inside, 3),
                       similarity=round(similarity, 3) if shown >= 0.5 else None)


def _inside_share(quad: np.ndarray, width: int, height: int) -> float:
    """Share of the quad's area that lies inside a width x height picture."""
    import cv2

    area = cv2.contourArea(quad.astype(np.float32))
    if area <= 0:
        return 0.0
    overlap, _ = cv2.intersectConvexConvex(quad.astype(np.float32),
                                           _rectangle(width, height)[:, :2].astype(np.float32))
    return float(min(1.0, max(0.0, overlap / area)))
