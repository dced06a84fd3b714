"""The pixel tier's sources, registered by importing this module (`register_pixel_sources`).

They bring NumPy with them, and OpenCV, ONNX Runtime, PyAV or SQLAlchemy when they run, so a
metadata-only scan (``--no-ocr``) never imports this module; a worker pool that will read
pixels preloads it in its fork server (`labelcheck.run.pool.worker_context`).
"""

from labelcheck.sources import (  # noqa: F401 - imported for registration
    registry,
    video_frames,
    visible_label,
    watermark,
)
