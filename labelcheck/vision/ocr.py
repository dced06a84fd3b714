"""Text reading for visible labels: RapidOCR's PP-OCRv4 models, wired for speed.

Out of the box RapidOCR detects text at near full resolution and recognises every box, about
one 1080x1350 ad per second per core. Labels are at least ~2% of the picture's shorter side, so
detection runs once on a copy downscaled to `DETECT_SIDE`, and recognition runs on crops taken
from the full-resolution picture, batched, for the boxes that can hold a label: the two stages
of a `rapidocr.RapidOCR` engine (`text_det`, `text_rec`) are called one by one instead of its
whole pipeline.

The models ship inside the ``rapidocr`` wheel; nothing is downloaded. rapidocr is pinned to
3.8.4, the last release whose wheel holds PP-OCRv4 (the very files, byte for byte, of the
retired ``rapidocr-onnxruntime`` 1.4.4 that labelcheck used before); from 3.9 the wheel holds
PP-OCRv6 models and would fetch PP-OCRv4 from the network at run time. labelcheck runs them with
their per-layer arithmetic folded into the convolutions (`labelcheck.vision.ocr_models`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

DETECT_SIDE = 640  # longest side the detector sees: 2% text on a 1080x1350 ad stays ~10 px
MIN_BOX_HEIGHT_RATIO = 0.012  # boxes lower than this share of the shorter side are not labels
MAX_BOXES = 60
# Lines recognised together. A batch is padded to its widest line (RapidOCR sorts them by
# width first), so smaller batches pad less: 4 cut recognition CPU by 10-20% against 8 with
# the same verdict on all 660 generated ads (docs/BENCHMARKS.md); 1 and 2 read more texts
# differently.
REC_BATCH = 4


@dataclass
class TextLine:
    """One recognised line: its text, recognition score and axis-aligned box (x, y, w, h)."""

    text: str
    score: float
    box: tuple[int, int, int, int]


_default_threads = 0  # ONNX Runtime threads when a caller names none; 0: all cores
_engines_built = 0  # RapidOCR engines this process made (`engines_built`)
_loading = threading.Lock()  # one thread builds the models; the others wait for them


def set_threads(threads: int) -> None:
    """How many threads OCR uses in this process when a caller names none: a worker process
    of a pool owns one core, so its pool sets 1 (0: all cores, the default)."""
    global _default_threads
    _default_threads = threads


def _models(threads: int | None = None):
    """The detector and recogniser running on `threads` threads (default: `set_threads`)."""
    with _loading:
        return _loaded_models(threads or _default_threads or os.cpu_count() or 1)


@cache
def _loaded_models(threads: int):
    """RapidOCR's detector and recogniser, configured as labelcheck uses them: its models
    with their arithmetic folded (`ocr_models`), detection of boxes down to 32 px on the side
    it is given (the caller has already scaled it), and recognition in batches of
    `REC_BATCH`."""
    from rapidocr import RapidOCR

    from labelcheck.vision.ocr_models import model_paths

    global _engines_built
    _engines_built += 1
    models = model_paths()
    engine = RapidOCR(params={
        "Global.log_level": "error",
        "Det.model_path": str(models["det"]), "Rec.model_path": str(models["rec"]),
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        "Det.limit_type": "min", "Det.limit_side_len": 32, "Det.box_thresh": 0.5,
        "Det.unclip_ratio": 1.6, "Rec.rec_batch_num": REC_BATCH})
    return engine.text_det, engine.text_rec


def load_models(threads: int | None = None) -> None:
    """Load the models now (for `threads`, default `set_threads`): batch workers do it before
    their first file, so that the per-file time limit measures scanning, not start-up, and a
    watch before its stream comes."""
    _models(threads)


def load_in_background(threads: int | None = None) -> None:
    """Start loading the models (as `load_models`) on a thread of their own, for a scan that
    has other work before its first OCR: while a video's container is probed and its first
    samples decoded (FFmpeg releases the GIL), the second of imports and session building
    runs beside them instead of after them. A failure is left to the scan's own first call,
    which meets it again and reports it."""
    def load() -> None:
        try:
            _models(threads)
        except Exception:  # noqa: BLE001 - raised again by the first `read_lines`
            pass

    threading.Thread(target=load, daemon=True, name="ocr-models").start()


def read_lines(rgb: np.ndarray, threads: int | None = None) -> list[TextLine]:
    """Detect text at reduced resolution, recognise candidate boxes at full resolution.
    `threads`: ONNX Runtime threads, when the caller keeps other cores busy (a video decoder).
    The models take BGR: the picture is scaled first and only what they are given is turned
    (the scaled picture and the crops), never the whole picture."""
    import cv2

    detector, _ = _models(threads)
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_SIDE / max(height, width))
    small = cv2.resize(rgb, (round(width * scale), round(height * scale)),
                       interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    boxes = _candidate_boxes(detector(_bgr(small)).boxes, scale, width, height)
    return [TextLine(text, score, box)
            for (text, score), box in zip(recognise(rgb, boxes, threads), boxes)]


def recognise(rgb: np.ndarray, boxes, threads: int | None = None) -> list[tuple[str, float]]:
    """Text and score for each (x, y, w, h) box of an RGB picture, in one batched pass.

    A box whose text the model cannot read at all (a script outside its alphabet, such as
    Hangul) comes back as ``("", 0.0)``, so callers can look at it more closely.
    """
    if not boxes:
        return []
    from rapidocr.ch_ppocr_rec import TextRecInput

    _, recogniser = _models(threads)
    found = recogniser(TextRecInput(img=[_bgr(rgb[y:y + h, x:x + w]) for x, y, w, h in boxes]))
    return [(text.strip(), float(score)) for text, score in zip(found.txts, found.scores)]


def _bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _candidate_boxes(quads, scale: float, width: int, height: int):
    """Axis-aligned full-resolution boxes of detections tall enough to be a label."""
    if quads is None or len(quads) == 0:
        return []
    shorter = min(width, height)
    boxes = []
    for quad in quads:
        xs, ys = quad[:, 0] / scale, quad[:, 1] / scale
        x0, y0 = max(0, int(xs.min())), max(0, int(ys.min()))
        x1, y1 = min(width, int(np.ceil(xs.max()))), min(height, int(np.ceil(ys.max())))
        if y1 - y0 >= MIN_BOX_HEIGHT_RATIO * shorter and x1 - x0 >= 4:
            boxes.append((x0, y0, x1 - x0, y1 - y0))
    boxes.sort(key=lambda b: (b[1], b[0]))
    return boxes[:MAX_BOXES]


def engines_built() -> int:
    """How many OCR engines this process has built (one per thread count it asked for): a
    pool worker builds one before its first file and uses it for every file after."""
    return _engines_built
