"""Evidence sources: one module per disclosure layer, each one `Source` subclass.

Importing this package registers every source (see `labelcheck.sources.base` for the two stages:
layer detectors, then cross-checks). `read_frames` is a video's one sampling pass, shared by the
sources that read frames (`labelcheck.sources.video_frames`).
"""

from typing import Iterable

from labelcheck.sources.base import CrossCheck, LayerResults, Source
from labelcheck.sources.video_frames import VideoFrames, read_frames

from labelcheck.sources import (  # noqa: F401 - imported for registration
    aigc,
    c2pa,
    exif,
    png_text,
    registry,
    video_container,
    video_frames,
    visible_label,
    watermark,
    xmp_iptc,
)


def source_names() -> list[str]:
    """The names of every registered source, layer detectors first."""
    return [source_class.name for source_class in Source.known]


def active_sources(names: Iterable[str] | None = None) -> list[Source]:
    """One instance of every registered source, or of those named in `names`, in order
    (layer detectors first, then cross-checks). An unknown name is a `ValueError`."""
    if names is None:
        return [source_class() for source_class in Source.known]
    wanted = set(names)
    unknown = wanted - set(source_names())
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(source_names())}")
    return [source_class() for source_class in Source.known if source_class.name in wanted]


__all__ = ["CrossCheck", "LayerResults", "Source", "VideoFrames", "active_sources",
           "read_frames", "source_names"]
