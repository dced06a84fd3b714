"""Video container metadata: encoder and tool tags, custom keys, stream facts.

C2PA in BMFF, XMP boxes and the AIGC key are read by their own sources; this one reports
what FFmpeg sees in the container's tags, where generators and editors sign their names.
"""

from __future__ import annotations

from labelcheck.sources import generator_traces
from labelcheck.core.model import Kind
from labelcheck.sources.base import Source


class VideoContainerSource(Source):
    name = "video_container"
    media_kinds = frozenset({"video"})
    order = 50

    def find(self, media, settings):
        info = media.video_info
        video = next(s for s in info["streams"] if s["type"] == "video")
        duration = f"{info['duration']:.2f} s" if info["duration"] else "unknown duration"
        yield self.finding(Kind.INFO, "video.container",
                           f"{media.format.upper()} video, {video['codec']}, {duration}, "
                           f"{len(info['streams'])} stream(s)", location="container",
                           details={"streams": info["streams"], "tags": info["tags"]})
        for key, value in info["tags"].items():
            tag = key.split(":", 1)[1]
            trace = generator_traces.recognise(_tag_role(tag), str(value))
            if trace:
                yield generator_traces.as_finding(self, trace, f"container tag {key}", str(value))


def _tag_role(tag: str) -> str:
    """Map FFmpeg tag names onto the field roles generator recognition knows."""
    lowered = tag.lower()
    if lowered in ("encoder", "encoded_by", "handler_name", "software", "tool", "creation_tool",
                   "com.apple.quicktime.software"):
        return "software"
    if lowered in ("comment", "description", "title", "artist", "author"):
        return lowered
    return "comment"
