"""Geometric verification: the similarity transform that ORB matches support between an original
and a copy, and whether that support is strong and spread enough to be the same picture."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelcheck.registry.features import LocalFeatures

RATIO = 0.8  # Lowe's ratio test
RANSAC_SEED = 20250904
RANSAC_PX = 4.0  # reprojection tolerance, in pixels of the copy's ORB image
# Acceptance. On the suite, true pairs had >= 82 inliers, inlier ratio >= 0.52, spread >= 0.035
# (1st percentile 0.155); the pixel tests in `matcher` add agreement and shown (see the package
# docstring).
MIN_INLIERS = 40
MIN_INLIER_RATIO = 0.35
MIN_SPREAD = 0.1  # inliers' hull over the area of the original that the copy shows


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
        matrix = mirror(query.size[0]) @ matrix
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


def mirror(width: int) -> np.ndarray:
    """The matrix that flips a picture `width` pixels wide left to right."""
    return np.array([[-1.0, 0, width - 1], [0, 1, 0], [0, 0, 1]])


def _spread(points: np.ndarray, matrix: np.ndarray, original_size, copy_size) -> float:
    """Area of the inliers' convex hull over the area of the original that the copy shows."""
    import cv2

    if len(points) < 3:
        return 0.0
    hull = cv2.contourArea(cv2.convexHull(points.astype(np.float32)))
    shown = rectangle(*copy_size) @ np.linalg.inv(matrix).T
    overlap, _ = cv2.intersectConvexConvex(rectangle(*original_size)[:, :2].astype(np.float32),
                                           shown[:, :2].astype(np.float32))
    return float(hull / overlap) if overlap > 0 else 0.0


def rectangle(width: float, height: float) -> np.ndarray:
    """Corners of a width x height picture, homogeneous, clockwise."""
    return np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], float)


def map_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (n, 2) through a 3x3 matrix."""
    points = np.asarray(points, float)
    return (np.hstack([points, np.ones((len(points), 1))]) @ np.asarray(matrix).T)[:, :2]


def inside_share(quad: np.ndarray, width: int, height: int) -> float:
    """Share of the quad's area that lies inside a width x height picture."""
    import cv2

    area = cv2.contourArea(quad.astype(np.float32))
    if area <= 0:
        return 0.0
    overlap, _ = cv2.intersectConvexConvex(quad.astype(np.float32),
                                           rectangle(width, height)[:, :2].astype(np.float32))
    return float(min(1.0, max(0.0, overlap / area)))
