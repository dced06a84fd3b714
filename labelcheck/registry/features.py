"""What a picture is recognised by: PDQ hashes (whole picture, content box, video frames) and ORB
keypoints with their descriptors."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Iterable

import numpy as np

WORK_SIDE = 1024  # ORB runs on the picture scaled down to this longer side
PDQ_SIDE = 512  # pictures are hashed at this longer side: 4x faster than full size (34 ms)
QUERY_FEATURES = 2000  # ORB keypoints kept per picture being matched
FAST_THRESHOLD = 12  # lower than ORB's 20: ads have large smooth areas
MIN_SIDE = 64  # pictures smaller than this have no usable keypoints (ORB's pyramid fails)
GRID = 4  # descriptors are picked round-robin from a GRID x GRID layout, for spread
MIN_PDQ_QUALITY = 50  # PDQ's own advice: flatter pictures give unreliable hashes


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


def video_prints(samples: Iterable[tuple[float, np.ndarray]]) -> list[tuple[float, bytes]]:
    """(time, PDQ hash) of each sampled frame (time, RGB) whose hash is reliable."""
    prints = []
    for time_s, rgb in samples:
        code, quality = pdq(rgb)
        if quality >= MIN_PDQ_QUALITY:
            prints.append((time_s, code))
    return prints
