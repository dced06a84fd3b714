"""How a watch runs: its sampling rate, grace period, patience with a failing source, and how
FFmpeg is told to open each kind of source.

One `WatchOptions` is made by the shell that starts the watch (the ``watch`` command, the web
app) and passed down, like `labelcheck.core.settings.Settings` for scans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from labelcheck.core.network import NetworkRules

# FFmpeg protocols each kind of source may use: nothing a playlist or a server names can make
# FFmpeg read a local file (``file:``) or speak another protocol.
PROTOCOLS = {
    "file": "file",
    "http": "http,https,tcp,tls,crypto,httpproxy",
    "dash": "http,https,tcp,tls,crypto,httpproxy",
    "rtmp": "rtmp,rtmps,rtmpt,rtmpts,ffrtmphttp,tcp,tls,http,https",
    "rtsp": "rtsp,rtsps,rtp,srtp,tcp,udp,tls",
    "srt": "srt,udp",
}
# DASH: the FFmpeg inside PyAV's wheel has no DASH demuxer (it needs libxml2), so a DASH
# source is read by FFmpeg's command (Debian's ffmpeg), which passes the video on as MPEG-TS
# (`labelcheck.live.source.Remux`).
DASH_SUFFIX = ".mpd"
SCHEMES = {"http": "http", "https": "http", "rtmp": "rtmp", "rtmps": "rtmp", "rtmpt": "rtmp",
           "rtmpts": "rtmp", "rtsp": "rtsp", "rtsps": "rtsp", "srt": "srt"}
# Read what there is quickly: a live source has no end to probe, and a growing file is not
# seekable to its end (FFmpeg's duration estimate would wait there for data that is not yet
# written).
PROBE_OPTIONS = {"analyzeduration": "2000000"}
KIND_OPTIONS = {
    "file": {"follow": "1", "seekable": "0"},  # a file still being written: keep reading it
    "rtsp": {"rtsp_transport": "tcp"},  # one TCP connection: no UDP ports, no lost packets
}


class SourceError(ValueError):
    """A source that cannot be watched as given; the message is for a person."""


def source_kind(source: str) -> str:
    """``file``, ``dash`` (an ``.mpd`` over HTTP), ``http`` (HLS, HTTP-FLV, HTTP-TS),
    ``rtmp``, ``rtsp`` or ``srt``."""
    parts = urlsplit(source)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        return "file"
    if scheme not in SCHEMES:
        raise SourceError(f"cannot watch {scheme}: URLs; give an HLS (.m3u8) or DASH (.mpd) "
                          "URL over HTTP(S), an RTMP, RTSP or SRT URL, or a file path")
    if SCHEMES[scheme] == "http" and parts.path.lower().endswith(DASH_SUFFIX):
        return "dash"
    return SCHEMES[scheme]


@dataclass(frozen=True)
class WatchOptions:
    """`rate`: samples per second. `grace_s`: how long the label may be absent before
    ``label_missing`` (and the longest gap the continuous-label policies allow). `stall_s`: no
    new frame for this long is a stall (the connection is dropped and made again; for a file,
    the file stopped growing). `give_up_s`: how long reconnecting may fail before the watch
    ends. `max_duration_s`: the watch stops by itself after this long (wall clock). `open_s`:
    how long opening may take. `progress_s`: a ``progress`` event this often (None: never).
    `allow`: when set, every address FFmpeg connects to for this watch must pass it (a URL
    from someone else). `ffmpeg`: extra FFmpeg options (a user's own watch only)."""

    rate: float = 1.0
    grace_s: float = 2.0
    stall_s: float = 10.0
    give_up_s: float = 60.0
    max_duration_s: float | None = None
    open_s: float = 20.0
    progress_s: float | None = 30.0
    allow: NetworkRules | None = None
    ffmpeg: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if not self.rate > 0 or self.rate > 30:
            raise SourceError("the sampling rate must be above 0 and at most 30 per second")
        if self.grace_s < 0 or self.stall_s <= 0 or self.give_up_s < 0 or self.open_s <= 0:
            raise SourceError("grace, stall, give-up and open times must be positive")

    def ffmpeg_options(self, kind: str) -> dict[str, str]:
        """The FFmpeg options to open a source of `kind` with (the user's own last)."""
        return {**PROBE_OPTIONS, **KIND_OPTIONS.get(kind, {}),
                "protocol_whitelist": PROTOCOLS[kind], **self.ffmpeg}
