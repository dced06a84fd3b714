"""Evidence sources: one module per disclosure layer, each one `Source` subclass.

Importing this package registers the metadata sources; the pixel sources (watermark, visible
labels, a video's frames, the reference registry), which bring NumPy and, when they run,
OpenCV, ONNX Runtime, PyAV and SQLAlchemy, are registered the first time a scan with pixels
asks for its sources, so that a metadata-only scan (``--no-ocr``) starts without them. See
`labelcheck.sources.base` for the two stages: layer detectors, then cross-checks. A video's
one sampling pass, shared by the sources that read frames, is
`labelcheck.sources.video_frames.read_frames`.
"""

from typing import Iterable

from labelcheck.sources.base import CrossCheck, LayerResults, Source

from labelcheck.sources import (  # noqa: F401 - imported for registration
    aigc,
    c2pa,
    exif,
    png_text,
    video_container,
    xmp_iptc,
)


def register_pixel_sources() -> None:
    """Register the pixel tier's sources (`labelcheck.sources.pixels`; imported once, later
    calls cost nothing)."""
    from labelcheck.sources import pixels  # noqa: F401 - imported for registration


def source_names() -> list[str]:
    """The names of every source, layer detectors first."""
    register_pixel_sources()
    return [source_class.name for source_class in Source.known]


def active_sources(names: Iterable[str] | None = None, pixels: bool = True) -> list[Source]:
    """One instance of every source, or of those named in `names`, in order (layer detectors
    first, then cross-checks); without `pixels` the pixel sources are left unregistered when
    no scan has needed them yet (`Source.applies` skips them anyway). An unknown name is a
    `ValueError`."""
    if pixels or names is not None:
        register_pixel_sources()
    if names is None:
        return [source_class() for source_class in Source.known]
    wanted = set(names)
    unknown = wanted - set(source_names())
    if unknown:
        raise ValueError(f"unknown source(s) {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(source_names())}")
    return [source_class() for source_class in Source.known if source_class.name in wanted]


__all__ = ["CrossCheck", "LayerResults", "Source", "active_sources", "register_pixel_sources",
           "source_names"]
