"""Evidence sources: one module per disclosure layer, each one `Source` subclass.

Importing this package registers every source (see `labelcheck.sources.base`).
"""

from labelcheck.sources.base import Source

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


def active_sources() -> list[Source]:
    """One instance of every registered source, in order."""
    return [source_class() for source_class in Source.known]
