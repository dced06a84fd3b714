#!/usr/bin/env python3
"""The video matrix: one tiny labelled clip per frame shape, pixel format, codec and container
that users send, for the test that every one of them reads its label.

Run ``python test_media/generate_video_matrix.py [--out DIR]`` (default
``test_media/generated/video_matrix``) or import it: the tests call :func:`build` per
`Variant`. Each clip is ~1 s of a panned advert-like picture with an "AI generated" badge in its
top-right corner throughout, its cap height ~4.5% of the shorter side (at least 16 px), drawn
on the picture as it is *displayed*: a phone clip (`Variant.rotation`) stores its frames turned
the other way and a display matrix that turns them back, so the label reads only when the
reader applies the matrix, and its box is expected in the displayed frame.

Everything is written with PyAV (FFmpeg's muxers and encoders inside the wheel: libx264,
libx265, libvpx-vp9, libsvtav1, mpeg2video, mjpeg, ProRes, DV, WMV2), so CI needs no Debian
ffmpeg:

- shapes: vertical 1080x1920 first (avatar ads), 720x1280, 1080x1350, 1080x1440, 1080x1080,
  1920x1080, 3840x2160 and odd ones (1000x562, 190x240, 568x320, 2750x1546);
- phone rotation (display matrix 90 and 270 / -90), variable frame rate;
- pixel formats yuv420p, yuvj420p, yuv422p, yuv444p and 10-bit (H.264, H.265, AV1);
- H.264, H.265, VP9 and AV1 in MP4, MOV, MKV and WebM;
- what cameras and editors write: MPEG-TS (.ts), AVCHD (.mts, .m2ts: 192-byte packets), MPEG-2
  video (.m2v elementary stream, .mpg program stream), AVI (MJPEG, all-intra), FLV, ProRes MOV
  (all-intra), MXF (MPEG-2), DV, Windows Media (.wmv), and fragmented MP4 (one file, and a DASH
  init segment + media segment pair).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import generate_videos  # noqa: E402

DEFAULT_OUT = HERE / "generated" / "video_matrix"
os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1: errors only, not its banner per clip
BASE_SIZE = (640, 360)  # the scenery is rendered once at this size, then scaled
PAN_SHARE = 0.08  # the picture pans by this share of its width over the clip
STYP = b"\0\0\0\x18stypmsdh\0\0\0\0msdhmsix"  # a DASH media segment's first box


@dataclass(frozen=True)
class Variant:
    """One clip: its displayed size, how it is encoded and stored."""

    name: str
    size: tuple[int, int]  # (width, height) as displayed
    codec: str = "libx264"
    extension: str = "mp4"
    muxer: str | None = None  # FFmpeg's muxer when the extension does not name it
    pix_fmt: str = "yuv420p"
    rotation: int = 0  # display matrix, degrees counter-clockwise (frames stored turned back)
    vfr: bool = False  # variable frame rate: frame durations alternate 1/30 s and 1/6 s
    fps: int = 10
    seconds: float = 1.0
    muxer_options: dict = field(default_factory=dict)
    encoder_options: dict = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.name}.{self.extension}"

    @property
    def stored_size(self) -> tuple[int, int]:
        width, height = self.size
        return (height, width) if self.rotation % 180 else (width, height)


X264 = {"preset": "ultrafast", "crf": "23", "threads": "1"}
X265 = {"preset": "ultrafast", "crf": "28", "x265-params": "log-level=error:pools=1"}
VP9 = {"crf": "34", "b": "0", "deadline": "realtime", "cpu-used": "8"}
AV1 = {"preset": "12", "crf": "40"}
ENCODERS = {"libx264": X264, "libx265": X265, "libvpx-vp9": VP9, "libsvtav1": AV1,
            "mpeg2video": {"b": "4M"}, "mjpeg": {"q:v": "3"}, "prores_ks": {"profile": "2"},
            "flv": {"b": "2M"}, "wmv2": {"b": "2M"}, "dvvideo": {}}
FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}


def _shape(width: int, height: int) -> Variant:
    return Variant(f"shape_{width}x{height}", (width, height))


VARIANTS: list[Variant] = [
    *(_shape(w, h) for w, h in ((1080, 1920), (720, 1280), (1080, 1350), (1080, 1440),
                                (1080, 1080), (1920, 1080), (3840, 2160), (1000, 562),
                                (190, 240), (568, 320), (2750, 1546))),
    Variant("phone_rotated_90", (1080, 1920), extension="mov", rotation=90),
    Variant("phone_rotated_270", (1080, 1920), extension="mov", rotation=-90),
    Variant("phone_rotated_90_mp4", (720, 1280), rotation=90),
    Variant("vfr", (640, 360), vfr=True, fps=30),
    *(Variant(f"h264_{fmt}", (640, 360), pix_fmt=fmt)
      for fmt in ("yuvj420p", "yuv422p", "yuv444p", "yuv420p10le")),
    Variant("hevc_yuv420p10le", (640, 360), "libx265", "mkv", "matroska", "yuv420p10le"),
    Variant("av1_yuv420p10le", (640, 360), "libsvtav1", "mkv", "matroska", "yuv420p10le"),
    Variant("vp9_yuv444p", (640, 360), "libvpx-vp9", "webm", pix_fmt="yuv444p"),
    Variant("h264_mov", (640, 360), extension="mov"),
    Variant("h264_mkv", (640, 360), extension="mkv", muxer="matroska"),
    Variant("hevc_mp4", (640, 360), "libx265", encoder_options={"tag": "hvc1"}),
    Variant("hevc_mov", (640, 360), "libx265", "mov"),
    Variant("hevc_mkv", (640, 360), "libx265", "mkv", "matroska"),
    Variant("vp9_mp4", (640, 360), "libvpx-vp9"),
    Variant("vp9_mkv", (640, 360), "libvpx-vp9", "mkv", "matroska"),
    Variant("vp9_webm", (640, 360), "libvpx-vp9", "webm"),
    Variant("av1_mp4", (640, 360), "libsvtav1"),
    Variant("av1_mkv", (640, 360), "libsvtav1", "mkv", "matroska"),
    Variant("av1_webm", (640, 360), "libsvtav1", "webm"),
    Variant("mpegts", (1280, 720), extension="ts", muxer="mpegts"),
    Variant("avchd_mts", (1920, 1080), extension="mts", muxer="mpegts",
            muxer_options={"mpegts_m2ts_mode": "1"}),
    Variant("avchd_m2ts", (1440, 1080), extension="m2ts", muxer="mpegts",
            muxer_options={"mpegts_m2ts_mode": "1"}),
    Variant("mpeg2_m2v", (720, 576), "mpeg2video", "m2v", "mpeg2video"),
    Variant("mpeg2_mpg", (720, 480), "mpeg2video", "mpg", "vob"),
    Variant("mjpeg_avi", (640, 480), "mjpeg", "avi", pix_fmt="yuvj420p", seconds=6.0),
    Variant("h264_avi", (640, 360), extension="avi"),
    Variant("h264_flv", (640, 360), extension="flv"),
    Variant("flv1_flv", (640, 360), "flv", "flv"),
    Variant("prores_mov", (480, 270), "prores_ks", "mov", pix_fmt="yuv422p10le", seconds=6.0),
    Variant("mxf_mpeg2", (1920, 1080), "mpeg2video", "mxf", fps=25),
    Variant("dv_pal", (720, 576), "dvvideo", "dv", fps=25),
    Variant("wmv2_asf", (640, 360), "wmv2", "wmv", "asf"),
    Variant("fragmented_mp4", (640, 360), muxer_options=FRAGMENTED),
]
BY_NAME = {variant.name: variant for variant in VARIANTS}


@cache
def _scenery() -> np.ndarray:
    """The advert-like picture every clip pans over, rendered once."""
    width, height = BASE_SIZE
    return generate.make_scene(width, height, seed=2718, grain=1.0)


def badge_for(variant: Variant) -> generate_videos.Badge:
    """The badge of `variant`: cap height ~4.5% of the shorter displayed side, at least 16 px
    (below that, after H.264 at 190x240 or 568x320, the OCR reads "Algenerated", which the
    lexicon does not take for "AI generated": a label-size limit, not a frame-shape one)."""
    return generate_videos.Badge(size=max(16, round(0.045 * min(variant.size))))


def badge_box(variant: Variant) -> list[int]:
    """The badge's box [x, y, w, h] in the displayed frame (the text lies inside it)."""
    patch = generate_videos.badge_patch(badge_for(variant))
    x, y = generate_videos.badge_origin(*variant.size, patch, "tr")
    return [x, y, patch.shape[1], patch.shape[0]]


def displayed_frames(variant: Variant):
    """(time, RGB frame as displayed) of the clip: the scenery scaled to cover the frame,
    panned sideways, the badge drawn on top."""
    import cv2

    width, height = variant.size
    scale = max(width * (1 + PAN_SHARE) / BASE_SIZE[0], height / BASE_SIZE[1])
    wide = cv2.resize(_scenery(), (round(BASE_SIZE[0] * scale), round(BASE_SIZE[1] * scale)),
                      interpolation=cv2.INTER_LINEAR)
    patch = generate_videos.badge_patch(badge_for(variant))
    origin = generate_videos.badge_origin(width, height, patch, "tr")
    for t in frame_times(variant):
        offset = round(t / variant.seconds * (wide.shape[1] - width))
        frame = np.ascontiguousarray(wide[:height, offset:offset + width])
        generate_videos.draw_badge(frame, patch, origin)
        yield t, frame


def frame_times(variant: Variant) -> list[float]:
    """When each frame is shown: regular, or for a variable frame rate clip alternately
    1/30 s and 1/6 s apart."""
    if not variant.vfr:
        return [n / variant.fps for n in range(round(variant.seconds * variant.fps))]
    times, t, short = [], 0.0, True
    while t < variant.seconds - 1e-9:
        times.append(round(t, 4))
        t += 1 / 30 if short else 1 / 6
        short = not short
    return times


def build(variant: Variant, out_dir: Path = DEFAULT_OUT) -> Path:
    """Write `variant` into `out_dir` (kept when already there) and return its path."""
    import av

    path = out_dir / variant.filename
    if path.is_file():
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    turns = -round(variant.rotation / 90)  # the stored frame, turned back from the displayed
    with av.open(str(tmp), mode="w", format=variant.muxer or variant.extension,
                 options={"fflags": "+bitexact", **variant.muxer_options}) as output:
        stream = _stream(output, variant)
        for t, frame in displayed_frames(variant):
            video_frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(np.rot90(frame, turns)), format="rgb24")
            video_frame.pts = round(t * 1000) if variant.vfr else None
            for packet in stream.encode(video_frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    tmp.replace(path)
    return path


def _stream(output, variant: Variant):
    """The video stream of `output`, set up for `variant`."""
    from fractions import Fraction

    stream = output.add_stream(variant.codec, rate=variant.fps)
    stream.width, stream.height = variant.stored_size
    stream.pix_fmt = variant.pix_fmt
    options = {**ENCODERS[variant.codec], **variant.encoder_options}
    tag = options.pop("tag", None)
    if tag:
        stream.codec_tag = tag
    stream.options = options
    if variant.vfr:
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
    if variant.rotation:
        stream.set_display_rotation(variant.rotation)
    return stream


def dash_pair(out_dir: Path = DEFAULT_OUT) -> tuple[Path, Path]:
    """The fragmented MP4 split the way DASH serves it: an initialisation segment
    (``ftyp`` + ``moov``) and a media segment (``styp`` + ``moof``/``mdat`` pairs)."""
    whole = build(BY_NAME["fragmented_mp4"], out_dir).read_bytes()
    first_fragment = whole.find(b"moof") - 4
    init, segment = out_dir / "dash_init.mp4", out_dir / "dash_segment.m4s"
    init.write_bytes(whole[:first_fragment])
    segment.write_bytes(STYP + whole[first_fragment:])
    return init, segment


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for variant in VARIANTS:
        print(f"{variant.name}: {build(variant, args.out)}")
    print(*dash_pair(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
