"""Pixel references: a small thumbnail of each original and a patch of each of its badges, kept to
check that a copy's pixels still look like them (band-passed correlation)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

THUMBNAIL_SIDE = 128
PREVIEW_SIDE = 640  # longer side of the picture of an original that people see
PREVIEW_QUALITY = 82
BADGE_MARGIN = 0.5  # badge references keep this share of the badge height around it
BADGE_TEXT_PX = 24  # badge references are stored with their text this tall (or smaller)


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


def preview_jpeg(rgb: np.ndarray) -> bytes:
    """The original as people see it on the registry's pages: its pixels as scanned (an image,
    or a video's representative frame), scaled to PREVIEW_SIDE, as JPEG. Made at registration
    from the scanned bytes, so no page ever opens the file it came from."""
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, PREVIEW_SIDE / max(height, width))
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                         interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
    if not ok:
        raise ValueError("the preview could not be encoded")
    return encoded.tobytes()


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


def references_to_bytes(references: list[Reference]) -> bytes:
    buffer = io.BytesIO()
    arrays = {f"pixels{i}": ref.pixels for i, ref in enumerate(references)}
    arrays.update({f"box{i}": np.asarray(ref.box) for i, ref in enumerate(references)})
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def references_from_bytes(blob: bytes) -> list[Reference]:
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
