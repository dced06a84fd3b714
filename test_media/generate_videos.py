#!/usr/bin/env python3
"""Deterministic test videos with and without a visible AI label, for the video-frame checks.

Run ``python test_media/generate_videos.py [--out DIR]`` (default ``test_media/generated/videos``)
or import it: tests call :func:`build_clip` / :func:`ensure_clips`, the benchmark calls
:func:`write_clip` for its 1080p clips. Each clip is a moving advert-like picture (a wide
:func:`generate.make_scene` panned under the frame, a bouncing disc, optional hard cuts between
scenes) with a badge drawn on the frames of its schedule. `CLIPS` names every clip and its truth:
the label text, the intervals in seconds (``[start, end)`` in frame time), the box it is drawn
at, and the container metadata.

Encoded with PyAV (FFmpeg's libx264, libx265, libvpx-vp9, libsvtav1 inside the wheel), so tests
need no Debian ffmpeg. x264 runs single-threaded with ``+bitexact``: the generated clips are the
same bytes every run; the registry's re-encoded copies (`transcode`) were seen to differ in a few
encoded bits between runs, never in what they show.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import generate_labels  # noqa: E402

DEFAULT_OUT = HERE / "generated" / "videos"


@dataclass(frozen=True)
class Badge:
    """A label: its text, font, cap height in pixels and corner (``tl``, ``tr``, ``bl``, ``br``)."""

    text: str = "AI generated"
    font: str = "DejaVuSans-Bold"
    size: int = 22
    corner: str = "tr"


@dataclass(frozen=True)
class Clip:
    """One test video: its truth is `intervals` (seconds, ``[start, end)``) of `badge`."""

    name: str
    intervals: tuple[tuple[float, float], ...] = ()
    badge: Badge = Badge()
    seconds: float = 8.0
    width: int = 480
    height: int = 270
    fps: int = 10
    codec: str = "libx264"
    container: str = "mp4"
    moving: bool = False  # the badge slides across the frame instead of staying in its corner
    cut_every_s: float | None = None  # hard cuts between scenes this often
    metadata: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)  # encoder options added to ENCODER_OPTIONS
    seed: int = 4242  # the scenery

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.container}"

    def truth(self) -> dict:
        return {"file": self.filename, "text": self.badge.text, "intervals": self.intervals,
                "duration_s": self.seconds, "moving": self.moving}


AIGC_VIDEO = generate.AIGC_JSON
CLIPS = [
    Clip("label_throughout", ((0.0, 8.0),)),
    Clip("label_after_5s", ((5.0, 8.0),)),
    Clip("label_first_2s", ((0.0, 2.0),)),
    Clip("label_moving", ((0.0, 8.0),), moving=True),
    Clip("no_label"),
    Clip("label_zh_aigc", ((0.0, 3.0),), Badge("AI生成", "NotoSansCJK-Bold[SC]", 24, "bl"),
         metadata={"AIGC": AIGC_VIDEO}, options={"movflags": "use_metadata_tags"}),
    Clip("label_zh_late_aigc", ((4.0, 8.0),), Badge("AI生成", "NotoSansCJK-Bold[SC]", 24, "bl"),
         metadata={"AIGC": AIGC_VIDEO}, options={"movflags": "use_metadata_tags"}),
    Clip("scene_cuts", ((2.0, 6.0),), cut_every_s=0.4),
    Clip("label_twice", ((1.0, 2.5), (5.0, 6.5))),
    Clip("label_mov", ((0.0, 4.0),), seconds=4.0, container="mov"),
    Clip("label_vp9", ((0.0, 4.0),), seconds=4.0, codec="libvpx-vp9", container="webm"),
    Clip("label_hevc", ((0.0, 4.0),), seconds=4.0, codec="libx265", container="mkv"),
    Clip("label_av1", ((0.0, 4.0),), seconds=4.0, codec="libsvtav1", container="mkv"),
    # long groups of pictures (a keyframe every 6 s, as x264 and phones write them): the
    # keyframe-first sampler sees frames seconds apart and places the starts and ends between
    Clip("label_long_gop", ((0.0, 6.0), (14.0, 22.0)), seconds=30.0,
         encoder={"g": "60", "sc_threshold": "0"}),
]
BY_NAME = {clip.name: clip for clip in CLIPS}

# The registry's original (a label throughout and AIGC metadata, its own scenery) and the same
# pictures without the label, from which `registry_copies` makes reposted copies.
REGISTRY_CLIPS = [
    Clip("registry_original", ((0.0, 8.0),), metadata={"AIGC": AIGC_VIDEO},
         options={"movflags": "use_metadata_tags"}, seed=777),
    Clip("registry_unlabelled", seed=777),
]

ENCODER_OPTIONS = {
    "libx264": {"preset": "medium", "crf": "26", "threads": "1"},
    "libx265": {"preset": "fast", "crf": "28", "x265-params": "log-level=error:pools=1"},
    "libvpx-vp9": {"crf": "34", "b": "0", "deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "12", "crf": "40"},
}


@cache
def badge_patch(badge: Badge) -> np.ndarray:
    """The badge as an RGBA array: white text on a dark rounded pill."""
    from PIL import Image, ImageDraw

    font = generate_labels.get_font(badge.font, badge.size)
    left, top, right, bottom = font.getbbox(badge.text)
    pad = badge.size // 2
    image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=pad,
                           fill=(20, 20, 28, 215))
    draw.text((pad - left, pad - top), badge.text, font=font, fill=(255, 255, 255, 255))
    return np.asarray(image)


def badge_origin(clip_width: int, clip_height: int, patch: np.ndarray, corner: str,
                 progress: float | None = None) -> tuple[int, int]:
    """Top-left of the badge: in its corner with a 4% margin, or sliding along the top edge
    (``progress`` 0..1) for a moving badge."""
    margin = round(0.04 * min(clip_width, clip_height))
    height, width = patch.shape[:2]
    y = margin if corner[0] == "t" else clip_height - height - margin
    if progress is not None:
        return round(margin + progress * (clip_width - width - 2 * margin)), y
    x = margin if corner[1] == "l" else clip_width - width - margin
    return x, y


def draw_badge(frame: np.ndarray, patch: np.ndarray, origin: tuple[int, int]) -> None:
    """Alpha-blend `patch` onto `frame` in place at `origin`."""
    x, y = origin
    height, width = patch.shape[:2]
    region = frame[y:y + height, x:x + width].astype(np.float32)
    alpha = patch[:, :, 3:4].astype(np.float32) / 255
    frame[y:y + height, x:x + width] = (region * (1 - alpha) + patch[:, :, :3] * alpha
                                        + 0.5).astype(np.uint8)


class Scenery:
    """Moving pictures: wide scenes panned under the frame, a bouncing disc, hard cuts."""

    def __init__(self, width: int, height: int, seed: int, scenes: int = 1):
        self.width, self.height = width, height
        self.pan = width // 2
        self.scenes = [generate.make_scene(width + self.pan, height, seed=seed + i, grain=1.5)
                       for i in range(scenes)]

    def frame(self, t: float, seconds: float, scene: int = 0) -> np.ndarray:
        wide = self.scenes[scene % len(self.scenes)]
        offset = round((t / max(seconds, 1e-6)) * self.pan) % (self.pan + 1)
        frame = np.ascontiguousarray(wide[:, offset:offset + self.width])
        radius = max(4, self.height // 12)
        cx = round((0.2 + 0.6 * abs(np.sin(t * 1.3))) * self.width)
        cy = round((0.35 + 0.3 * abs(np.cos(t * 0.9))) * self.height)
        yy, xx = np.ogrid[:self.height, :self.width]
        frame[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = (240, 200, 60)
        return frame


def write_clip(path: Path, *, width: int, height: int, fps: int, seconds: float,
               label_at: Callable[[float], tuple[int, int] | None], patch: np.ndarray | None,
               codec: str = "libx264", container: str | None = None, cut_every_s=None,
               metadata: dict | None = None, options: dict | None = None,
               encoder_options: dict | None = None, seed: int = 4242, threads: int = 1) -> Path:
    """Encode a clip frame by frame (nothing held but one frame); `label_at(t)` says where
    the badge is drawn at time `t` (None: not shown). One encoder thread keeps x264's output
    the same on every machine."""
    import av

    scenery = Scenery(width, height, seed, scenes=4 if cut_every_s else 1)
    muxer_options = {"fflags": "+bitexact", **(options or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), mode="w", format=container or path.suffix.lstrip(".").replace(
            "mkv", "matroska"), options=muxer_options) as output:
        for key, value in (metadata or {}).items():
            output.metadata[key] = value
        stream = output.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = dict(encoder_options or ENCODER_OPTIONS[codec])
        if codec == "libx264":
            stream.codec_context.thread_count = threads

        def frames():
            for n in range(round(seconds * fps)):
                t = n / fps
                frame = scenery.frame(t, seconds, int(t // cut_every_s) if cut_every_s else 0)
                origin = label_at(t)
                if origin is not None and patch is not None:
                    draw_badge(frame, patch, origin)
                yield frame

        _encode(output, stream, frames())
    tmp.replace(path)
    return path


def _encode(output, stream, frames) -> None:
    """Encode RGB arrays into `stream` of `output`, then flush the encoder."""
    import av

    for frame in frames:
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            output.mux(packet)
    for packet in stream.encode(None):
        output.mux(packet)


def repeat_clip(source: Path, path: Path, loops: int) -> Path:
    """`source` repeated `loops` times by stream copy (no re-encoding; each copy starts on a
    keyframe): a long video made in seconds (kept when already there)."""
    import av

    if path.is_file():
        return path
    with av.open(str(source)) as first:
        duration = first.streams.video[0].duration
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format=path.suffix.lstrip(".")) as output:
        stream = None
        for loop in range(loops):
            with av.open(str(source)) as inp:
                video = inp.streams.video[0]
                if stream is None:
                    stream = output.add_stream_from_template(video)
                for packet in inp.demux(video):
                    if packet.dts is None:
                        continue
                    packet.pts += loop * duration
                    packet.dts += loop * duration
                    packet.stream = stream
                    output.mux(packet)
    tmp.replace(path)
    return path


def schedule(intervals: Sequence[tuple[float, float]]) -> Callable[[float], bool]:
    """Whether the badge is shown at time t under `intervals` ([start, end))."""
    return lambda t: any(start - 1e-9 <= t < end - 1e-9 for start, end in intervals)


def build_clip(clip: Clip, out_dir: Path = DEFAULT_OUT) -> Path:
    """Write `clip` into `out_dir` (kept when already there) and return its path."""
    path = out_dir / clip.filename
    if path.is_file():
        return path
    patch = badge_patch(clip.badge)
    shown = schedule(clip.intervals)

    def label_at(t):
        if not shown(t):
            return None
        progress = t / clip.seconds if clip.moving else None
        return badge_origin(clip.width, clip.height, patch, clip.badge.corner, progress)

    return write_clip(path, width=clip.width, height=clip.height, fps=clip.fps,
                      seconds=clip.seconds, label_at=label_at, patch=patch, codec=clip.codec,
                      cut_every_s=clip.cut_every_s, metadata=clip.metadata,
                      options=clip.options, seed=clip.seed,
                      encoder_options={**ENCODER_OPTIONS[clip.codec], **clip.encoder})


def label_box(clip: Clip, t: float = 0.0) -> list[int]:
    """The badge's pill box [x, y, w, h] at time `t` (the text lies inside it)."""
    patch = badge_patch(clip.badge)
    progress = t / clip.seconds if clip.moving else None
    x, y = badge_origin(clip.width, clip.height, patch, clip.badge.corner, progress)
    return [x, y, patch.shape[1], patch.shape[0]]


def transcode(source: Path, path: Path, start_s: float, size: tuple[int, int]) -> Path:
    """`source` re-encoded from `start_s` on (trimmed), rescaled to `size`, without metadata:
    a reposted copy."""
    import av
    import cv2

    if path.is_file():
        return path
    tmp = path.with_name(path.name + ".part")
    with av.open(str(source)) as inp, av.open(str(tmp), "w", format="mp4",
                                              options={"fflags": "+bitexact"}) as out:
        rate = inp.streams.video[0].average_rate
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = dict(ENCODER_OPTIONS["libx264"])
        stream.codec_context.thread_count = 1
        _encode(out, stream, (
            cv2.resize(frame.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA)
            for frame in inp.decode(video=0) if frame.time >= start_s - 1e-6))
    tmp.replace(path)
    return path


def registry_clips(out_dir: Path = DEFAULT_OUT) -> dict[str, Path]:
    """The registry's original, and copies of it trimmed by 2 s and scaled to 320x180: one
    with its label (from the original), one without (from the unlabelled twin)."""
    paths = {clip.name: build_clip(clip, out_dir) for clip in REGISTRY_CLIPS}
    for name, source in (("copy_labelled", "registry_original"),
                         ("copy_stripped", "registry_unlabelled")):
        paths[name] = transcode(paths[source], out_dir / f"registry_{name}.mp4", 2.0, (320, 180))
    return paths


def build_c2pa_clip(out_dir: Path = DEFAULT_OUT) -> Path:
    """`label_throughout` signed with the test PKI's C2PA manifest (trainedAlgorithmicMedia)."""
    path = out_dir / "label_c2pa.mp4"
    if not path.is_file():
        source = build_clip(BY_NAME["label_throughout"], out_dir).read_bytes()
        signed = generate.c2pa_sign(source, "video/mp4", generate.ai_manifest("label_c2pa.mp4"),
                                    generate.build_test_pki())
        path.write_bytes(signed)
    return path


def build_broken(out_dir: Path = DEFAULT_OUT) -> dict[str, Path]:
    """Damaged videos: truncated, text named .mp4, audio only, a video track with no frames,
    frames whose bytes are zero (all of them, or the second half)."""
    import av

    out_dir.mkdir(parents=True, exist_ok=True)
    whole = build_clip(BY_NAME["label_throughout"], out_dir).read_bytes()
    files = {"truncated.mp4": whole[:len(whole) // 2],
             "text_named.mp4": b"not a video, only a name ending in .mp4\n" * 4}
    paths = {}
    for name, data in files.items():
        paths[name] = out_dir / name
        paths[name].write_bytes(data)
    paths["audio_only.mp4"] = out_dir / "audio_only.mp4"
    with av.open(str(paths["audio_only.mp4"]), "w", options={"fflags": "+bitexact"}) as output:
        stream = output.add_stream("aac", rate=8000)
        for _ in range(4):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 8000
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    paths["zero_frames.mkv"] = out_dir / "zero_frames.mkv"  # a video track, no frame in it
    with av.open(str(paths["zero_frames.mkv"]), "w", options={"fflags": "+bitexact"}) as output:
        stream = output.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        output.start_encoding()
    mdat = whole.find(b"mdat")  # frame bytes zeroed: all of them, or the second half
    start, end = mdat + 4, mdat - 4 + int.from_bytes(whole[mdat - 4:mdat], "big")
    middle = (start + end) // 2
    for name, cut in (("zeroed_frames.mp4", start), ("zeroed_second_half.mp4", middle)):
        paths[name] = out_dir / name
        paths[name].write_bytes(whole[:cut] + bytes(end - cut) + whole[end:])
    return paths


# The live-stream tests' clip (`labelcheck watch`): the GB 45438 label shown, removed for 8 s,
# shown again; a keyframe every second, so that FFmpeg cuts it into 1 s HLS segments.
LIVE_CLIP = Clip("live_label_gap", ((0.0, 3.0), (11.0, 16.0)),
                 Badge("AI生成", "NotoSansCJK-Bold[SC]", 24, "tr"), seconds=16.0)
LIVE_GAP = (3.0, 11.0)
KEYFRAME_EVERY_SECOND = {"preset": "veryfast", "crf": "26", "threads": "1", "sc_threshold": "0"}


def build_live_clip(out_dir: Path = DEFAULT_OUT, clip: Clip = LIVE_CLIP) -> Path:
    """`clip` (default `LIVE_CLIP`) with a keyframe every second, for streaming tests."""
    path = out_dir / clip.filename
    if path.is_file():
        return path
    patch = badge_patch(clip.badge)
    shown = schedule(clip.intervals)
    options = {**KEYFRAME_EVERY_SECOND, "g": str(clip.fps), "keyint_min": str(clip.fps)}
    return write_clip(path, width=clip.width, height=clip.height, fps=clip.fps,
                      seconds=clip.seconds, patch=patch, codec=clip.codec,
                      label_at=lambda t: badge_origin(clip.width, clip.height, patch,
                                                      clip.badge.corner) if shown(t) else None,
                      encoder_options=options, seed=clip.seed)


def ensure_clips(out_dir: Path = DEFAULT_OUT) -> dict[str, Path]:
    """Every clip of `CLIPS`, the C2PA-signed one and the damaged ones, written once."""
    paths = {clip.name: build_clip(clip, out_dir) for clip in CLIPS}
    paths["label_c2pa"] = build_c2pa_clip(out_dir)
    paths.update(build_broken(out_dir))
    paths.update(registry_clips(out_dir))
    (out_dir / "truth.json").write_text(json.dumps([clip.truth() for clip in CLIPS], indent=1))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for name, path in ensure_clips(args.out).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
