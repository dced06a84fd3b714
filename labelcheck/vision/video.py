"""Video frames for the label checks: a sampler that decodes only what the question needs.

A label shown for a second cannot hide between samples taken less than a second apart, and a
label's start and end are known to half the gap between samples. So the sampler hands out one
frame per `GRID_S` (closer, every `OPENING_STEP_S`, in the opening seconds that GB 45438 and the
EU code care about) and every keyframe, and decodes as little else as it can:

- non-reference frames are never decoded (``skip_frame``: no other frame needs them), and the
  loop filter is skipped (``skip_loop_filter``: block edges stay a little sharper, which the OCR
  does not mind);
- B-frames are not decoded at all when the stream's P-frames do not use them as references.
  Encoders differ (x264 with one reference frame never does; with several, its pyramid B-frames
  can be references of P-frames, which then decode with ghosts), so the sampler decodes the
  first `PROBE_S` seconds both ways and skips all B-frames only when the I- and P-frames come
  out identical;
- when the next sample is due after the next keyframe, packets up to that keyframe are not sent
  to the decoder at all (the keyframe positions come from a demux pass, which reads packets but
  decodes nothing);
- the decoder uses slice threads, not frame threads: a chain of P-frames, each the reference of
  the next, gains nothing from frame threads (measured: same wall time as one thread, more CPU),
  while a stream encoded in several slices per frame decodes ~1.7x faster on 2 cores.

Only sampled frames are converted to RGB; nothing but the current frame and a few small
thumbnails is held, so memory does not grow with the duration. `frame_at` re-extracts one frame
for display (the report's sample frames).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import queue
import threading
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Iterator

import numpy as np

from labelcheck.core.model import MediaError, PixelsUnavailable
from labelcheck.formats.base import ffmpeg_reason

GRID_S = 0.8  # largest gap between samples: a label shown >= 1 s always lands on one
OPENING_S = 2.5  # the opening, sampled closely
OPENING_STEP_S = 0.25
THUMB_WIDTH = 320  # thumbnails for scene-change and static-overlay analysis
PROBE_S = 1.0  # seconds decoded twice to learn whether B-frames are references
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20
PREFETCH = 2  # samples decoded ahead of the analysis
_DONE = object()
FRAME_SLACK_S = 0.02  # a frame this close before its due time is on time


class Sample:
    """One sampled frame: its time, full-resolution grey (luma) picture, a small grey thumbnail
    and, converted on first use, full-resolution RGB."""

    def __init__(self, frame, time_s: float):
        import cv2

        self.frame = frame
        self.time_s = round(time_s, 3)
        self.grey = frame.to_ndarray(format="gray")
        height, width = self.grey.shape
        thumb_width = min(THUMB_WIDTH, width)
        self.thumb = cv2.resize(self.grey, (thumb_width, max(1, round(height * thumb_width
                                                                     / width))),
                                interpolation=cv2.INTER_AREA)

    @cached_property
    def rgb(self) -> np.ndarray:
        return self.frame.to_ndarray(format="rgb24")


@dataclass
class Stream:
    """What the sampler learnt about the video stream (filled as it goes)."""

    codec: str
    width: int
    height: int
    duration_s: float
    skip: str = ""  # which frames the decoder skipped (FFmpeg's skip_frame)
    frames_decoded: int = 0
    samples: int = 0


def _open(source: str | os.PathLike | bytes):
    import av

    target = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else os.fspath(source)
    try:
        return av.open(target, mode="r")
    except av.error.FFmpegError as exc:
        raise PixelsUnavailable(f"the video could not be opened: {ffmpeg_reason(exc)}") \
            from None


def _video_stream(container):
    if not container.streams.video:
        raise MediaError("the file has no video stream")
    return container.streams.video[0]


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else 0.0


def keyframe_times(source) -> list[float]:
    """Times of the stream's keyframes, from packet flags alone (nothing is decoded)."""
    import av

    container = _open(source)
    try:
        stream = _video_stream(container)
        times = [float(packet.pts * stream.time_base) for packet in container.demux(stream)
                 if packet.is_keyframe and packet.pts is not None]
    except av.error.FFmpegError as exc:
        raise MediaError(f"the video data is damaged: {ffmpeg_reason(exc)}") from None
    finally:
        container.close()
    return sorted(times)


def _reference_frames(source, skip: str, until_s: float) -> dict:
    """Digests of the luma of the I- and P-frames of the first `until_s` seconds, decoded
    skipping `skip` (digests, not pictures: nothing large is held)."""
    import hashlib

    from av.video.frame import PictureType

    container = _open(source)
    try:
        stream = _video_stream(container)
        stream.codec_context.options = {"skip_loop_filter": "all"}
        stream.codec_context.skip_frame = skip
        digests = {}
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > until_s:
                break
            if frame.pict_type in (PictureType.I, PictureType.P):
                digests[frame.pts] = hashlib.sha1(frame.to_ndarray(format="gray")).digest()
        return digests
    finally:
        container.close()


def b_frames_unreferenced(source) -> bool:
    """Whether the P-frames of the first `PROBE_S` seconds decode the same without any
    B-frame (then no B-frame needs decoding; see the module docstring)."""
    import av

    try:
        without_b = _reference_frames(source, "BIDIR", PROBE_S)
        exact = _reference_frames(source, "NONREF", PROBE_S)
    except av.error.FFmpegError:
        return False
    return bool(exact) and exact == without_b


@cache
def _return_large_buffers() -> None:
    """Make glibc give frame-sized buffers back to the system when they are freed.

    Its default raises the mmap threshold each time a large block is freed, after which
    frame-sized arrays come from the heap, which fragments: a 10-minute scan then grew by
    ~170 MB, a 1-minute one by ~30 MB. A fixed threshold keeps the peak flat (~300 MB at
    1080p whatever the duration). No-op where the C library is not glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass


class Sampler:
    """Iterate over the `Sample`s of a video (see the module docstring for which)."""

    def __init__(self, source: str | os.PathLike | bytes, grid_s: float = GRID_S,
                 opening_s: float = OPENING_S, opening_step_s: float = OPENING_STEP_S):
        _return_large_buffers()
        self.source = source
        self.grid_s, self.opening_s, self.opening_step_s = grid_s, opening_s, opening_step_s
        self.keyframes = keyframe_times(source)
        self.stream: Stream | None = None

    def _step(self, t: float) -> float:
        return self.opening_step_s if t < self.opening_s else self.grid_s

    def _next_keyframe(self, t: float) -> float | None:
        import bisect

        index = bisect.bisect_right(self.keyframes, t + 1e-6)
        return self.keyframes[index] if index < len(self.keyframes) else None

    def __iter__(self) -> Iterator[Sample]:
        """Samples in time order. Decoding runs in a thread `PREFETCH` samples ahead, so it
        overlaps the caller's analysis (FFmpeg and ONNX Runtime both release the GIL)."""
        ready: queue.Queue = queue.Queue(maxsize=PREFETCH)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, args=(ready, stop), daemon=True)
        worker.start()
        try:
            while (item := ready.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting to put
                with contextlib.suppress(queue.Empty):
                    ready.get(timeout=0.05)
        if not self.stream or not self.stream.samples:
            raise PixelsUnavailable("the video stream has no decodable frames")

    def _produce(self, ready: queue.Queue, stop: threading.Event) -> None:
        """Decode into `ready` until done or told to stop; errors travel in the queue."""
        def put(item) -> bool:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    ready.put(item, timeout=0.05)
                    return True
            return False

        try:
            for sample in self._samples():
                if not put(sample):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
            put(exc)
            return
        put(_DONE)

    def _samples(self) -> Iterator[Sample]:
        import av

        container = _open(self.source)
        try:
            stream = _video_stream(container)
            stream.thread_type = "SLICE"
            context = stream.codec_context
            context.options = {"skip_loop_filter": "all"}
            context.skip_frame = "BIDIR" if b_frames_unreferenced(self.source) else "NONREF"
            self.stream = Stream(context.name, context.width, context.height,
                                 _duration(container, stream), skip=context.skip_frame)
            yield from self._decode(container, stream)
        except av.error.FFmpegError as exc:
            raise PixelsUnavailable(f"the video data is damaged: {ffmpeg_reason(exc)}") \
                from None
        finally:
            container.close()

    def _decode(self, container, stream) -> Iterator[Sample]:
        self._due, self._held = 0.0, None
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's final flush packet
                break
            if not self._needed(packet, stream.time_base):
                continue
            yield from self._take(stream.decode(packet))
        yield from self._take(stream.decode(None))
        if self._held is not None:  # the last frame, so that the end is sampled too
            yield self._sample(self._held)

    def _needed(self, packet, time_base) -> bool:
        """Whether `packet` must be decoded: a keyframe, or a frame before the next keyframe
        when a sample is due before that keyframe (the decoder's output lags its input by a
        few frames, so `_due` is a little behind: this errs towards decoding)."""
        if packet.is_keyframe or packet.pts is None:
            return True
        following = self._next_keyframe(float(packet.pts * time_base))
        return following is None or following > self._due + FRAME_SLACK_S

    def _take(self, frames) -> Iterator[Sample]:
        """The frames among `frames` that are due, and every keyframe, as samples. A frame
        that is not due is held: when the next one comes too late, the held one is taken, so
        no two samples are more than a step apart even when few frames are decoded."""
        for frame in frames:
            self.stream.frames_decoded += 1
            t = frame.time
            if t is None or not math.isfinite(t):
                continue
            if t > self._due + FRAME_SLACK_S and self._held is not None:
                yield self._sample(self._held)
            if t + FRAME_SLACK_S >= self._due or frame.key_frame:
                yield self._sample(frame)
            else:
                self._held = frame

    def _sample(self, frame) -> Sample:
        t = float(frame.time)
        self._due, self._held = t + self._step(t), None
        self.stream.samples += 1
        return Sample(frame, t)


def frame_at(path: str | os.PathLike | bytes, time_s: float):
    """The frame shown at `time_s` as a Pillow image, decoded in full (for display)."""
    import av

    container = _open(path)
    try:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        container.seek(max(0, int(time_s / stream.time_base)), stream=stream, backward=True)
        last = None
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > time_s + 1e-3 and last is not None:
                break
            last = frame
        if last is None:
            raise MediaError(f"no frame at {time_s:.2f} s")
        return last.to_image()
    except av.error.FFmpegError as exc:
        raise MediaError(f"the video data is damaged: {ffmpeg_reason(exc)}") from None
    finally:
        container.close()
