"""Video frames for the label checks: one pass over a video that decodes only what is needed.

A label shown for a second cannot hide between samples taken less than a second apart, and a
label's start and end are known to half the gap between samples. So the sampler hands out one
frame per `GRID_S` (closer, every `OPENING_STEP_S`, in the opening seconds that GB 45438 and the
EU code care about), and decodes as little else as it can, in one pass over the container (it
is opened once; every source that needs frames shares the pass, see `labelcheck.core.scanner`):

- non-reference frames are never decoded (``skip_frame``: no other frame needs them), and the
  loop filter is skipped (``skip_loop_filter``: block edges stay a little sharper, which the OCR
  does not mind);
- in H.264 and H.265, B-frames are not decoded at all when the stream's P-frames do not use
  them as references. Encoders differ (x264 with one reference frame never does; with several,
  its pyramid B-frames can be references of P-frames, which then decode with ghosts), so a
  second decoder gets the packets of the first `PROBE_S` seconds skipping every B-frame, and
  all B-frames are skipped from then on only when its I- and P-frames come out identical to
  the main decoder's;
- packets are held back until it is known whether they are needed: when a keyframe arrives
  before the next sample is due, the packets before it are dropped undecoded (a short GOP, or
  an all-intra stream, costs only the frames near the samples). The held packets span less
  than a sample step, so no index and no demux pre-pass is needed: MPEG-TS, FLV and raw
  streams work like MP4;
- the decoder uses slice threads, not frame threads: a chain of P-frames, each the reference of
  the next, gains nothing from frame threads (measured: same wall time as one thread, more CPU),
  while a stream encoded in several slices per frame decodes ~1.7x faster on 2 cores.

That dense grid is ``--video-sampling thorough``. The default, keyframe-first (``gap_s``, see
`Sampler._keyframe_samples` and `sampling_gap`), samples the opening as densely, then every
keyframe and, between keyframes, only as many frames as keep samples at most ``gap_s`` apart
(the strictest "never absent for more than" rule of the policies applied): on long-GOP H.264
most reference frames are never decoded. The label starts and ends it finds between distant
samples are placed afterwards on the frames between them (`Revisit`).

Frames are handed out the way a viewer sees them: turned upright by the stream's display matrix
(a phone's portrait clip is stored landscape with a 90 or 270 degree rotation), as C-contiguous
arrays whatever the frame's width and line padding, and timed from the first frame (MPEG-TS
timestamps start anywhere). Only sampled frames are converted; nothing but the current frame and
a few small thumbnails is held by the sampler, so memory does not grow with the duration.
`frame_at` re-extracts one frame for display (the report's sample frames).

The same sampler reads live streams (`labelcheck.live`): with ``realtime=True`` a few samples
may wait for the analysis, and once the analysis is more than `REALTIME_SLACK_S` behind the
stream as it arrives, the oldest waiting sample is dropped (and counted) rather than the decoder
waiting, so memory stays flat and the watch keeps up with a live stream; a stream that comes
faster than real time (a recording served over HLS) waits for the analysis and loses
nothing. With ``tick_s`` the iteration yields None whenever no sample came for that long (the
caller can notice a stall or a stop request), and FFmpeg options and timeouts reach the
container (a network read that hangs ends after the read timeout). A timestamp that jumps back
(an HLS discontinuity, a restarted encoder) restarts the sampling clock instead of holding every
frame until the old time comes round again.
"""

from __future__ import annotations

import collections
import contextlib
import io
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Iterator

import numpy as np

from labelcheck.core.model import MediaError, PixelsUnavailable
from labelcheck.core.settings import VIDEO_SAMPLING
from labelcheck.formats.base import ffmpeg_reason

GRID_S = 0.8  # largest gap between samples: a label shown >= 1 s always lands on one
OPENING_S = 2.5  # the opening, sampled closely
OPENING_STEP_S = 0.25
THUMB_WIDTH = 320  # thumbnails for scene-change and static-overlay analysis
FINGERPRINT_SIDE = 64  # the small square kept of every sample: PDQ works at this size anyway
PROBE_S = 1.0  # seconds decoded by the B-frame probe
PROBE_LIMIT_S = 3.0  # the probe answers by this time even when a decoder lags
PROBED_CODECS = frozenset({"h264", "hevc"})  # codecs whose B-frames may be references
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20
PREFETCH = 2  # samples decoded ahead of the analysis
# samples a live stream may queue: a burst at the start (the segments an HLS player starts
# behind the live edge, what an RTMP server buffered) waits to be analysed, while the memory
# stays bounded (a 1080p sample holds ~5 MB)
REALTIME_BACKLOG = 8
REALTIME_SLACK_S = 5.0  # how far the analysis may fall behind a live stream before samples drop
_DONE = object()
FRAME_SLACK_S = 0.02  # a frame this close before its due time is on time
JUMP_BACK_S = 2.0  # a frame this far before the last sample: the timestamps restarted
# Keyframe-first sampling (``gap_s``): see `Sampler._keyframe_samples`
STANDARD_GAP_S = 5.0  # the EU code's "never absent for more than 5 s", the widest rule of record
FAST_GAP_S = 10.0
KEY_SPACING_S = 1.0  # a keyframe this close after the last sample is not sampled itself
HOLD_BYTES = 64 << 20  # packets held while waiting for the next keyframe, at most


def picture(frame, pixel_format: str, turns: int = 0) -> np.ndarray:
    """`frame` as a C-contiguous array in `pixel_format` (``gray``, ``rgb24``), turned
    counter-clockwise by `turns` quarter turns.

    PyAV returns a view that skips each line's alignment padding, which is not contiguous
    whenever the width is not a multiple of the padding (1080, 1000, 190, 568 px...); OpenCV,
    hashlib and the OCR need contiguous pixels, so every frame goes through here.
    """
    array = frame.to_ndarray(format=pixel_format)
    if turns:
        array = np.rot90(array, turns)
    return np.ascontiguousarray(array)


def quarter_turns(frame) -> int:
    """Counter-clockwise quarter turns that show `frame` upright, from its display matrix."""
    rotation = frame.rotation or 0
    return round(rotation / 90) % 4


class Sample:
    """One sampled frame, upright: its time (seconds from the first frame), full-resolution grey
    (luma) picture, a small grey thumbnail, and, converted on first use, full-resolution RGB and
    the `FINGERPRINT_SIDE` square kept for fingerprints."""

    def __init__(self, frame, time_s: float):
        self.frame = frame
        self.time_s = round(time_s, 3)
        self.turns = quarter_turns(frame)
        self.grey = picture(frame, "gray", self.turns)
        self.thumb = self._thumbnail()

    def _thumbnail(self) -> np.ndarray:
        """The grey picture `THUMB_WIDTH` wide, area-averaged by FFmpeg's scaler from the
        frame itself (4x faster than OpenCV's INTER_AREA from the grey picture at 1080p)."""
        height, width = self.grey.shape
        thumb_width = min(THUMB_WIDTH, width)
        thumb_height = max(1, round(height * thumb_width / width))
        stored = (thumb_height, thumb_width) if self.turns % 2 else (thumb_width, thumb_height)
        small = self.frame.reformat(width=stored[0], height=stored[1], format="gray",
                                    interpolation="AREA")
        return picture(small, "gray", self.turns)

    @cached_property
    def rgb(self) -> np.ndarray:
        return picture(self.frame, "rgb24", self.turns)

    @cached_property
    def small(self) -> np.ndarray:
        import cv2

        return cv2.resize(self.thumb, (FINGERPRINT_SIDE, FINGERPRINT_SIDE),
                          interpolation=cv2.INTER_AREA)


@dataclass
class Stream:
    """What the sampler learnt about the video stream (filled as it goes). `width` and
    `height` are those of the upright picture; `rotation` is the display matrix's turn."""

    codec: str
    width: int
    height: int
    duration_s: float
    rotation: int = 0
    skip: str = ""  # which frames the decoder skipped (FFmpeg's skip_frame)
    frames_decoded: int = 0
    samples: int = 0
    end_s: float = 0.0  # where the last decoded frame ends (the duration, for a raw stream)
    container: str = ""  # FFmpeg's name of the container format (``mov,mp4,...``, ``hls``)
    dropped: int = 0  # samples dropped because the analysis fell behind (``realtime``)
    gap_s: float | None = None  # keyframe-first: the widest gap between samples (None: dense)
    revisited: int = 0  # frames decoded again to place label starts and ends (`Revisit`)


class VideoReadError(PixelsUnavailable):
    """The video could not be opened or read. `cause` is FFmpeg's error (its type tells a
    timeout from a refused connection, for a watcher that reconnects)."""

    def __init__(self, message: str, cause: Exception | None = None):
        super().__init__(message)
        self.cause = cause


def _open(source, options: dict | None = None, timeout: tuple[float, float] | None = None):
    """`source` (a path, bytes, or a binary stream such as a pipe) as a PyAV container."""
    import av

    if isinstance(source, (bytes, bytearray)):
        target = io.BytesIO(source)
    else:
        target = source if hasattr(source, "read") else os.fspath(source)
    try:
        return av.open(target, mode="r", options=options or {}, timeout=timeout)
    except av.error.FFmpegError as exc:
        raise VideoReadError(f"the video could not be opened: {ffmpeg_reason(exc)}", exc) \
            from None


def _video_stream(container):
    if not container.streams.video:
        raise MediaError("the file has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        raise MediaError("the video stream's codec is not one FFmpeg can decode")
    return stream


def _duration(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else 0.0


def _start(container, stream) -> float:
    """The time of the stream's first frame: frame times are given from it."""
    if stream.start_time is not None and stream.time_base:
        return float(stream.start_time * stream.time_base)
    return container.start_time / 1e6 if container.start_time else 0.0


def _digest(frame) -> int:
    """A checksum of the frame's luma plane as decoded (its line padding left out): what the
    B-frame probe compares, 4x cheaper than converting the picture first."""
    import zlib

    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return zlib.crc32(np.ascontiguousarray(luma[:, :plane.width]))


class BFrameProbe:
    """Whether the stream's P-frames use B-frames as references, learnt from its first
    `PROBE_S` seconds: a second decoder gets the same packets and skips every B-frame; when
    its I- and P-frames come out identical to the main decoder's, no B-frame needs decoding."""

    def __init__(self, stream, start_s: float):
        import av

        self.start_s = start_s
        self.decoder = av.CodecContext.create(stream.codec_context.name, "r")
        self.decoder.extradata = stream.codec_context.extradata
        self.decoder.options = {"skip_loop_filter": "all"}
        self.decoder.skip_frame = "BIDIR"
        self.without_b: dict[int, int] = {}
        self.exact: dict[int, int] = {}
        self.seen_past = {"main": False, "probe": False}
        self.failed = False

    def feed(self, packet) -> None:
        """Decode `packet` skipping B-frames (the probe's side). Damage ends the probe
        (B-frames stay decoded); the main decoder reports it when it gets there, after the
        samples before it."""
        import av

        if self.failed:
            return
        try:
            for frame in self.decoder.decode(packet):
                self._record(frame, self.without_b, "probe")
        except av.error.FFmpegError:
            self.failed = True
            self.seen_past["probe"] = True

    def record(self, frame) -> None:
        """Note a frame of the main decoder (which decodes every reference frame)."""
        self._record(frame, self.exact, "main")

    def _record(self, frame, digests: dict, side: str) -> None:
        from av.video.frame import PictureType

        if frame.time is None:
            return
        if frame.time - self.start_s > PROBE_S:
            self.seen_past[side] = True
        elif frame.pict_type in (PictureType.I, PictureType.P):
            digests[frame.pts] = _digest(frame)

    def answered(self, packet_s: float | None) -> bool:
        """Whether both decoders are past the probed seconds (or the time is up)."""
        late = packet_s is not None and packet_s > PROBE_LIMIT_S
        return late or all(self.seen_past.values())

    def b_frames_unreferenced(self) -> bool:
        if self.failed:
            return False
        common = self.exact.keys() & self.without_b.keys()
        return bool(common) and all(self.exact[pts] == self.without_b[pts] for pts in common)


def _set_up_decoder(stream):
    """Decode `stream` as the sampler does (see the module docstring): slice threads, no loop
    filter, only the frames other frames refer to (and every frame of a stream without
    B-frames); its codec context."""
    stream.thread_type = "SLICE"
    context = stream.codec_context
    context.options = {"skip_loop_filter": "all"}
    context.skip_frame = "NONREF"
    return context


def _probe(stream, start_s: float) -> BFrameProbe | None:
    """A B-frame probe for a stream whose codec may make B-frames references, and that has
    B-frames (a phone's H.264 usually has none: nothing to learn)."""
    context = stream.codec_context
    if context.name not in PROBED_CODECS or not context.has_b_frames:
        return None
    return BFrameProbe(stream, start_s)


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
    """Iterate over the `Sample`s of a video (see the module docstring for which).

    `gap_s` switches to keyframe-first sampling (`_keyframe_samples`): after the opening,
    samples at most `gap_s` apart instead of `grid_s`. `options` are FFmpeg's (demuxer and
    protocol options) and `timeout` its (open, read) timeouts in seconds; `realtime` drops
    the oldest waiting sample rather than wait for the consumer; `tick_s` makes the
    iteration yield None after that long without a sample."""

    def __init__(self, source: str | os.PathLike | bytes, grid_s: float = GRID_S,
                 opening_s: float = OPENING_S, opening_step_s: float = OPENING_STEP_S, *,
                 gap_s: float | None = None, options: dict | None = None,
                 timeout: tuple[float, float] | None = None, realtime: bool = False,
                 tick_s: float | None = None):
        _return_large_buffers()
        self.source = source
        self.grid_s, self.opening_s, self.opening_step_s = grid_s, opening_s, opening_step_s
        self.gap_s = gap_s
        self.options, self.timeout = options, timeout
        self.realtime, self.tick_s = realtime, tick_s
        self.stream: Stream | None = None

    def _step(self, t: float) -> float:
        return self.opening_step_s if t < self.opening_s else self.grid_s

    def __iter__(self) -> Iterator[Sample | None]:
        """Samples in time order (and None after each `tick_s` without one). Decoding runs in
        a thread `PREFETCH` samples ahead, so it overlaps the caller's analysis (FFmpeg and
        ONNX Runtime both release the GIL)."""
        ready: queue.Queue = queue.Queue(REALTIME_BACKLOG if self.realtime else PREFETCH)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, args=(ready, stop), daemon=True)
        worker.start()
        try:
            while (item := self._next(ready)) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            # Unblock a producer waiting to put. A live reader does not wait for one blocked
            # in a network read: it ends by itself within the read timeout.
            while worker.is_alive() and not self.realtime:
                with contextlib.suppress(queue.Empty):
                    ready.get(timeout=0.05)
        if not self.stream or not self.stream.samples:
            raise PixelsUnavailable("the video stream has no decodable frames")

    def _next(self, ready: queue.Queue):
        """The next item of `ready`; None when `tick_s` passed without one."""
        try:
            return ready.get(timeout=self.tick_s)
        except queue.Empty:
            return None

    def _produce(self, ready: queue.Queue, stop: threading.Event) -> None:
        """Decode into `ready` until done or told to stop; errors travel in the queue. In
        real time a sample that finds the queue full while the analysis is late takes the
        place of the oldest one."""
        pace = math.inf  # the least (production time - stream time) so far: no delay

        def put(item) -> bool:
            nonlocal pace
            if isinstance(item, Sample):
                pace = min(pace, time.monotonic() - item.time_s)
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    ready.put(item, timeout=0.05)
                    return True
                late = time.monotonic() - item.time_s - pace > REALTIME_SLACK_S \
                    if isinstance(item, Sample) else False
                if self.realtime and late:
                    with contextlib.suppress(queue.Empty):
                        ready.get_nowait()
                        self.stream.dropped += 1
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

        container = _open(self.source, self.options, self.timeout)
        try:
            stream = _video_stream(container)
            context = _set_up_decoder(stream)
            self.stream = Stream(context.name, context.width, context.height,
                                 _duration(container, stream), skip=context.skip_frame,
                                 container=container.format.name, gap_s=self.gap_s)
            if self.gap_s is None:
                yield from self._decode(container, stream)
            else:
                yield from self._keyframe_samples(container, stream)
        except av.error.FFmpegError as exc:
            raise VideoReadError(f"the video data is damaged: {ffmpeg_reason(exc)}", exc) \
                from None
        finally:
            container.close()

    def _decode(self, container, stream) -> Iterator[Sample]:
        self._due, self._held = 0.0, None
        self._start, self._time_base = _start(container, stream), stream.time_base
        probe = _probe(stream, self._start)
        pending: list = []  # packets not yet decoded (see `_hold`)
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's final flush packet
                break
            packet_s = self._time(packet)
            if probe is not None:
                probe.feed(packet)
            for ready in self._hold(pending, packet, packet_s):
                yield from self._take(stream.decode(ready), probe)
            if probe is not None and probe.answered(packet_s):
                self._decide(stream.codec_context, probe)
                probe = None
        for ready in pending:
            yield from self._take(stream.decode(ready), probe)
        yield from self._take(stream.decode(None), probe)
        if self._held is not None:  # the last frame, so that the end is sampled too
            yield self._sample(self._held)

    def _keyframe_samples(self, container, stream) -> Iterator[Sample]:
        """Keyframe-first sampling: the opening every `opening_step_s`, then every keyframe
        (at most one a `KEY_SPACING_S`), and between keyframes only as many frames as keep
        samples at most `gap_s` apart, each as early as that allows; a stretch decoded whole
        anyway (the last GOP, which holds the end, or one without a keyframe in sight) is
        sampled every `grid_s`, like the dense sampler.

        Reaching a frame means decoding every reference frame from the keyframe before it,
        so where a frame lands in its group of pictures (GOP) is what it costs: the packets
        of a GOP are held (undecoded) until the next keyframe shows where it ends, and the
        frames that close its gaps are taken at ``next keyframe - gap_s`` (and before), not
        at ``last sample + gap_s``; the rest of the GOP is never decoded. With x264's default
        GOP (8.3 s at 30 fps) and the EU's 5 s that is 40% of the reference frames instead of
        all of them; with a keyframe every second (phones), the keyframes alone. A GOP that
        grows past two gaps (or `HOLD_BYTES`) without a keyframe is decoded as it comes.
        """
        self._start, self._time_base = _start(container, stream), stream.time_base
        self._last_s, self._targets, self._held = None, collections.deque(), None
        self._due = 0.0
        probe = _probe(stream, self._start)
        gop, size = [], 0  # packets not decoded yet: a keyframe and what follows it, or the
        end_s = None       # continuation of what the decoder was last given
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's final flush packet
                break
            packet_s = self._time(packet)
            if packet_s is not None:
                shown = float(packet.duration * packet.time_base) if packet.duration else 0.0
                end_s = max(end_s or 0.0, packet_s + shown)
            if probe is not None and not probe.seen_past["probe"]:
                probe.feed(packet)  # until it is past the probed second
            if packet.is_keyframe and gop and packet_s is not None:
                yield from self._gop(stream, gop, packet_s, probe, closed=True)
                gop, size = [], 0
            gop.append(packet)
            size += packet.size
            if self._overdue(self._time(gop[0]), packet_s, size):
                yield from self._gop(stream, gop, packet_s, probe, closed=False)
                gop, size = [], 0
            if probe is not None and self._last_s is not None and (
                    all(probe.seen_past.values()) or self._last_s > PROBE_LIMIT_S):
                self._decide(stream.codec_context, probe)
                probe = None
        yield from self._gop(stream, gop, end_s, probe, closed=True, last=True)
        self.stream.end_s = max(self.stream.end_s, end_s or 0.0)

    def _overdue(self, first_s: float | None, packet_s: float | None, size: int) -> bool:
        """Whether the held packets (from `first_s` to `packet_s`) can wait no longer for a
        keyframe."""
        if size > HOLD_BYTES:
            return True
        return first_s is not None and packet_s is not None and packet_s - first_s > 2 * self.gap_s

    def _gop(self, stream, packets: list, end_s: float | None, probe, *, closed: bool,
             last: bool = False) -> Iterator[Sample]:
        """Decode what `packets` must give (see `_plan`); `end_s` is where the next keyframe
        (`closed`) or the video (`last`) starts or ends, or the time of the last packet."""
        if not packets:
            return
        plan = self._plan(self._time(packets[0]), packets[0].is_keyframe, end_s, closed, last)
        self._targets.extend(plan)
        if closed and not last and not plan:
            return  # nothing due before the next keyframe: none of this GOP is decoded
        # a closed GOP is decoded up to its last planned frame; one the decoder goes on with
        # (no keyframe came) and the video's last are decoded whole
        until = max(plan) if closed and not last else math.inf
        for packet in packets:
            yield from self._pick(stream.decode(packet), probe)
            packet_s = self._time(packet)
            if packet_s is not None and packet_s + FRAME_SLACK_S >= until:
                break
        if closed:  # the next packet given is a keyframe: drain the decoder, then reset it
            yield from self._pick(stream.decode(None), probe)
            stream.codec_context.flush_buffers()
            self._targets.clear()
        if last and self._held is not None:  # the last frame, so that the end is sampled
            yield self._sample(self._held)

    def _plan(self, start_s: float | None, keyframe: bool, end_s: float | None,
              closed: bool, last: bool) -> list[float]:
        """The times to sample in a GOP starting at `start_s` (see `_keyframe_samples`)."""
        if start_s is None or end_s is None:  # no timestamps to plan with: the next frame
            return [-math.inf]
        previous = self._last_s
        if previous is not None and start_s < previous - JUMP_BACK_S:  # timestamps restarted
            previous = None
        plan = []
        if previous is None or (keyframe and start_s - previous >= KEY_SPACING_S):
            plan.append(start_s)
            previous = start_s
        while previous + self.opening_step_s < min(self.opening_s, end_s):
            previous += self.opening_step_s
            plan.append(previous)
        if closed and not last:  # close the gap to the next keyframe, as late as it allows
            missing = math.ceil((end_s - previous) / self.gap_s - 1e-9) - 1
            plan += [end_s - n * self.gap_s for n in range(missing, 0, -1)]
        else:  # decoded whole (the video's last GOP, or no keyframe in sight): the dense grid
            while previous + self.grid_s <= end_s:
                previous += self.grid_s
                plan.append(previous)
        return plan

    def _pick(self, frames, probe: BFrameProbe | None) -> Iterator[Sample]:
        """The frames among `frames` that reach the next planned time, as samples (in the
        opening, the frame nearest to it: the reference frames decoded there may be 0.2 s
        apart); the latest other frame is held (the last one of the video is sampled too)."""
        for frame, t in self._decoded(frames, probe):
            self.stream.end_s = max(self.stream.end_s, t)
            if not self._targets or t + FRAME_SLACK_S < self._targets[0]:
                self._held = frame
                continue
            target = self._targets[0]
            if (target < self.opening_s and self._held is not None
                    and target - (self._held.time - self._start) < t - target):
                yield self._reached(self._held)
            if self._targets and t + FRAME_SLACK_S >= self._targets[0]:
                yield self._reached(frame)
            else:
                self._held = frame

    def _reached(self, frame) -> Sample:
        """`frame` as the sample of every planned time it reaches."""
        t = frame.time - self._start
        while self._targets and t + FRAME_SLACK_S >= self._targets[0]:
            self._targets.popleft()
        if self._targets and self._targets[0] < self.opening_s:
            self._targets[0] = max(self._targets[0], t + self.opening_step_s - FRAME_SLACK_S)
        return self._sample(frame)

    def _decoded(self, frames, probe: BFrameProbe | None) -> Iterator[tuple[object, float]]:
        """(frame, seconds from the first frame) of the decoded `frames` that have a time,
        each counted and shown to the B-frame probe. Frames drained from the decoder (given
        no packet) come without a time base: they get the stream's."""
        for frame in frames:
            self.stream.frames_decoded += 1
            if frame.time_base is None:
                frame.time_base = self._time_base
            if probe is not None:
                probe.record(frame)
            if frame.time is None or not math.isfinite(frame.time):
                continue
            yield frame, frame.time - self._start

    def _time(self, packet) -> float | None:
        """The packet's presentation time from the first frame (its decoding time if it has
        none), or None when it has neither."""
        stamp = packet.pts if packet.pts is not None else packet.dts
        if stamp is None or packet.time_base is None:
            return None
        return float(stamp * packet.time_base) - self._start

    def _hold(self, pending: list, packet, packet_s: float | None) -> list:
        """The packets to decode now, `pending` keeping those not known to be needed yet.

        A packet is needed when the next keyframe after it comes after the next sample is due
        (the decoder's output lags its input by a few frames, so `_due` is a little behind:
        this errs towards decoding). A keyframe that comes before the due time makes every
        packet held before it unneeded; a packet past the due time makes them needed. A
        keyframe past the due time is held itself, since nothing before it needs it: in an
        all-intra stream (MJPEG, ProRes) only the frames next to the samples are decoded.
        """
        if packet_s is None:
            ready = pending + [packet]
            pending.clear()
            return ready
        if packet_s < self._due - self._step(packet_s) - JUMP_BACK_S:  # timestamps restarted
            self._due = packet_s
        if packet.is_keyframe:
            ready = [] if packet_s <= self._due + FRAME_SLACK_S else list(pending)
            pending[:] = [packet]
            return ready
        pending.append(packet)
        if packet_s <= self._due + FRAME_SLACK_S:
            return []
        ready = list(pending)
        pending.clear()
        return ready

    def _decide(self, context, probe: BFrameProbe) -> None:
        if probe.b_frames_unreferenced():
            context.skip_frame = "BIDIR"
            self.stream.skip = "BIDIR"

    def _take(self, frames, probe: BFrameProbe | None) -> Iterator[Sample]:
        """The frames among `frames` that are due, as samples. A frame that is not due is
        held: when the next one comes too late, the held one is taken, so no two samples are
        more than a step apart even when few frames are decoded."""
        for frame, t in self._decoded(frames, probe):
            if t < self._due - self._step(t) - JUMP_BACK_S:  # the timestamps restarted
                self._due, self._held = t, None
            shown_s = float(frame.duration * frame.time_base) if frame.duration else 0.0
            self.stream.end_s = max(self.stream.end_s, t + shown_s)
            if t > self._due + FRAME_SLACK_S and self._held is not None:
                yield self._sample(self._held)
            if t + FRAME_SLACK_S >= self._due:
                yield self._sample(frame)
            else:
                self._held = frame

    def _sample(self, frame) -> Sample:
        sample = Sample(frame, float(frame.time) - self._start)
        self._due, self._held = sample.time_s + self._step(sample.time_s), None
        self._last_s = sample.time_s
        self.stream.samples += 1
        if self.stream.samples == 1:
            self._upright(sample)
        return sample

    def _upright(self, sample: Sample) -> None:
        """Record the picture's displayed size and turn (known from the first frame)."""
        self.stream.height, self.stream.width = sample.grey.shape
        self.stream.rotation = sample.turns * 90


def sampling_gap(mode: str, rule_gap_s: float | None = None) -> float | None:
    """The widest gap between samples after the opening for the ``--video-sampling`` `mode`
    (None: the dense grid, every `GRID_S`), given the strictest "never absent for more than"
    rule of the policies applied (`rule_gap_s`): ``standard`` samples as densely as that rule
    needs (an absence longer than the gap always holds a sample), at most `STANDARD_GAP_S`
    apart; ``fast`` at most `FAST_GAP_S` apart, whatever the rule; ``thorough`` every
    `GRID_S`, so that a label shown for a second anywhere is seen."""
    if mode not in VIDEO_SAMPLING:
        raise ValueError(f"unknown video sampling {mode!r}: use one of "
                         f"{', '.join(VIDEO_SAMPLING)}")
    if mode == "thorough":
        return None
    if mode == "fast":
        return FAST_GAP_S
    return max(GRID_S, min(STANDARD_GAP_S, rule_gap_s or STANDARD_GAP_S))


class Revisit:
    """Frames between two samples, decoded again from the keyframe before them: what a label
    timeline looks at to place a label's start or end when its samples were far apart.

    The container is opened once (on first use) and seeked for each stretch; a source that
    cannot seek (a pipe) gives no frames, and the boundary stays between its samples."""

    def __init__(self, source: str | os.PathLike | bytes):
        self.source = source
        self.container = None
        self.frames_decoded = 0

    def frames(self, start_s: float, end_s: float, every_s: float
               ) -> Iterator[tuple[float, np.ndarray]]:
        """(time, upright grey picture) of frames strictly between `start_s` and `end_s`
        (seconds from the first frame), at least `every_s` apart."""
        import av

        try:
            stream = self._stream()
            origin = _start(self.container, stream)
            self.container.seek(max(0, int((origin + start_s) / stream.time_base)),
                                stream=stream, backward=True)
            stream.codec_context.flush_buffers()
            last = -math.inf
            for packet in self.container.demux(stream):
                for frame in stream.decode(packet):
                    self.frames_decoded += 1
                    if frame.time is None or not math.isfinite(frame.time):
                        continue
                    t = frame.time - origin
                    if t >= end_s:
                        return
                    if t > start_s and t - last >= every_s:
                        last = t
                        yield t, picture(frame, "gray", quarter_turns(frame))
        except (av.error.FFmpegError, MediaError, OSError):
            return

    def _stream(self):
        """The video stream, set up as the sampler's on first use (the container opened)."""
        if self.container is None:
            self.container = _open(self.source)
            _set_up_decoder(_video_stream(self.container))
        return _video_stream(self.container)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


def frame_at(path: str | os.PathLike | bytes, time_s: float):
    """The frame shown at `time_s` (seconds from the first frame) as an upright Pillow image,
    decoded in full (for display)."""
    import av
    from PIL import Image

    container = _open(path)
    try:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        start = _start(container, stream)
        target = start + time_s
        container.seek(max(0, int(target / stream.time_base)), stream=stream, backward=True)
        last = None
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > target + 1e-3 and last is not None:
                break
            last = frame
        if last is None:
            raise MediaError(f"no frame at {time_s:.2f} s")
        return Image.fromarray(picture(last, "rgb24", quarter_turns(last)))
    except av.error.FFmpegError as exc:
        raise MediaError(f"the video data is damaged: {ffmpeg_reason(exc)}") from None
    finally:
        container.close()
