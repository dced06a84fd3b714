"""Watching live streams: is an AI host's label on screen, all the time?

`labelcheck watch SOURCE` (`labelcheck.cli.watch`) and the web app's watch jobs run a `Watch`
(`watch.py`) over a `LiveSource` (`source.py`): an HLS, DASH, RTMP, RTSP or SRT stream, or a
file still being written, read by FFmpeg in real time, sampled at a set rate by the file
scan's sampler (`labelcheck.vision.video.Sampler`), its labels followed by the file scan's
tracker (`labelcheck.sources.video_frames.LabelTimeline`). The watch writes `Event`s as they
happen (`events.py`: a label shown, missing for longer than the grace period, back; the
connection stalled, reconnected, ended), each with a thumbnail of the frame and the label's box
in an evidence folder (`evidence.py`), and at the end a `Report` like a video's: the timeline,
coverage, longest gap, first appearance, and a verdict under the chosen policies.

A URL from someone else (a web user) is fetched by this machine: `guard.py` makes every
connection FFmpeg makes for it, redirects and playlist entries included, pass the allow-list
(`labelcheck.core.network.NetworkRules`, the web page audit's rules too).
"""

from labelcheck.live.events import Event
from labelcheck.live.options import WatchOptions

__all__ = ["Event", "Watch", "WatchOptions"]


def __getattr__(name: str):
    """`Watch` is imported when first asked for: it brings the frame pass (NumPy), which the
    CLI's other commands, importing `labelcheck.live.events` for the watch command's options,
    must not pay for."""
    if name == "Watch":
        from labelcheck.live.watch import Watch

        return Watch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
