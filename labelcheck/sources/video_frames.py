"""A video's one sampling pass, and the visible AI labels across its time: when they are shown,
where, and for how long.

`read_frames` is the pass: the scanner runs it once per video (`labelcheck.core.scanner`) and
hands its result (`VideoFrames`) to every source that reads frames, so the label timeline below
and the registry's per-frame fingerprints come from the same decoded samples. The sampler
(`labelcheck.vision.video`) hands out frames at most `video.GRID_S` apart (closer in the opening
seconds). Reading every one of them with OCR would cost more than decoding the video, so
whole-frame OCR runs only where something new may have appeared:

- in the opening seconds (every `OPENING_READ_S`), which the rules single out;
- on a scene cut (the thumbnail differs from the previous one, and not by one shift: a camera
  that pans or shakes is not a cut), at most every `CUT_READ_GAP_S`;
- when a new static overlay shows up: pixels with edges in them (text) that changed and then
  stayed put over the last samples, not explained by text already read (moving things do not
  stay put), and letter-like outlines around them; only that region is read;
- when a label seen before is gone from its place (it may have moved);
- and at least every `READ_EVERY_S` as a safety net for labels that move.

A label, once read, is tracked by comparing its patch (normalised cross-correlation) in every
sample, which costs microseconds. Its intervals come from the samples where it is present; each
boundary is put halfway between the last sample on one side and the first on the other, so it is
off by at most half the gap between samples. The frames of the few samples before a new label is
first read are kept (grey, a handful), so a label found late is traced back to when it appeared.

Each interval becomes a `visible` disclosure finding with the label's measurements (those of
still images) plus the video's timing (first appearance, opening cover, coverage, longest gap),
which policies test; the timeline goes into the report (``Report.timeline``).

The same `LabelTimeline` follows the labels of a live stream (`labelcheck.live`), one sample at
a time as they arrive: its tracks say at each moment which labels are showing, and `pause`
marks the time a lost connection left unwatched (no run is carried across it, and no gap is
measured in it).
"""

from __future__ import annotations

import collections
import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from labelcheck.vision import lexicon, ocr, video
from labelcheck.core.model import Kind, MediaError, PixelsUnavailable
from labelcheck.sources.base import PIXELS, Source
from labelcheck.sources.visible_label import (
    Label,
    has_icon_shape,
    measure_label,
    measurements,
    read_labels,
)

OPENING_READ_S = 1.0  # whole-frame reads in the opening seconds, this far apart
READ_EVERY_S = 10.0  # whole-frame reads at least this often
SPARSE_READ_EVERY_S = 20.0  # the same between keyframe-first samples, while no label shows
PRESENT_NCC = 0.55  # a label patch correlating this well with its first sight is still there
SCENE_CHANGE = 25.0  # mean absolute thumbnail difference (grey levels) of a cut...
SAME_VIEW = 0.45  # ...unless phase correlation finds one shift (pans: >= 0.6, cuts: <= 0.35)
VIEW_WIDTH = 160  # thumbnails are compared for a shift at this width
CUT_READ_GAP_S = 2.0  # reads for cuts at most this often (a cut every second is common)
REGION_PAD = 3  # text heights around new overlays read by OCR (a label's strokes may be part)
REGION_MAX_SHARE = 0.35  # new overlays spread over more of the frame: read it whole
MIN_LETTERS = 3  # letter-sized edge outlines a region needs to be worth a read
LETTER_EDGES = (60, 160)  # Canny thresholds for those outlines
LETTER_SHARE = 0.6  # an outline taller than this share of the region is not a letter
STILL_RANGE = 6  # a thumbnail pixel varying less than this over the window stays put
MOVED = 10  # a thumbnail pixel changing more than this between samples moved
EDGE = 40  # morphological gradient (grey levels) of text strokes in a thumbnail
MIN_OVERLAY_PIXELS = 30  # smallest static edge blob (thumbnail pixels) worth a read: a
MIN_OVERLAY_WIDTH = 10  # label of 2% of the shorter side is ~4 px high, 25+ px wide there,
MIN_OVERLAY_HEIGHT = 5  # 5+ px once its strokes are dilated
TEXT_DENSITY = 0.35  # share of a blob's box its strokes fill: text yes, a passing arc no
WINDOW = 4  # thumbnails in the overlay window: changed, then still over the last three
MAX_EXPLAINED = 64  # overlay regions remembered as read (a stream without cuts meets many)
BACKTRACK = 5  # grey frames kept to trace a newly read label back
MAX_TRACKS = 24
SAMPLE_FRAMES = 4  # frames listed in the timeline for a person to look at
BARE_ICON_CONFIDENCE = 0.7
OCR_THREADS = 1  # the decoder thread has the other core; more OCR threads spin, wasting it
REFINE_STEP_S = 0.1  # frames this far apart place a boundary found between distant samples


@dataclass
class Track:
    """One label (text at a place) followed through the samples."""

    label: Label
    template: np.ndarray
    measured: dict
    confidence: float
    runs: list[list] = field(default_factory=list)  # [start_s, end_s or None, seen_s]
    # per run, where its start and its end lie: (sample before, sample after, box, template)
    # or None (the video's start or end, a live stream's pause); see `LabelTimeline.refine`
    bounds: list[list] = field(default_factory=list)
    last_present_s: float | None = None

    def between(self, before_s: float, after_s: float) -> tuple:
        """One of `bounds`: a change of this label between two samples, with what tells it
        (its box and template) on the frames between them."""
        return (before_s, after_s, self.label.box, self.template)

    @property
    def showing(self) -> bool:
        return bool(self.runs) and self.runs[-1][1] is None


def _patch(grey: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return grey[y:y + h, x:x + w]


def _correlates(template: np.ndarray, patch: np.ndarray) -> bool:
    import cv2

    if patch.shape != template.shape or template.size == 0:
        return False
    return float(cv2.matchTemplate(patch, template, cv2.TM_CCOEFF_NORMED).max()) >= PRESENT_NCC


def _has_letters(grey: np.ndarray, region: tuple[int, int, int, int]) -> bool:
    """Whether `region` of the full-resolution picture holds at least `MIN_LETTERS` separate
    letter-sized outlines (Canny edges): even a bare "AI" has three (A, its hole, I), while a
    moving thing that stopped (the usual false overlay) leaves one or two long curves."""
    import cv2

    x, y, w, h = region
    edges = cv2.Canny(grey[y:y + h, x:x + w], *LETTER_EDGES)
    count, _, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    return int(np.count_nonzero(stats[1:, cv2.CC_STAT_HEIGHT] < LETTER_SHARE * h)) >= MIN_LETTERS


def _same_view(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether `after` shows `before`'s view moved by one shift (a pan, a shaking hand): the
    phase correlation of the two has a clear peak."""
    import cv2

    height = max(1, round(before.shape[0] * VIEW_WIDTH / before.shape[1]))
    small = [cv2.resize(thumb, (VIEW_WIDTH, height), interpolation=cv2.INTER_AREA)
             .astype(np.float32) for thumb in (before, after)]
    _, response = cv2.phaseCorrelate(*small, _hanning(small[0].shape))
    return response >= SAME_VIEW


@functools.cache
def _hanning(shape: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.createHanningWindow((shape[1], shape[0]), cv2.CV_32F)


def _same_label(track: Track, label: Label) -> bool:
    return (track.label.match.phrase, track.label.match.lang) == (label.match.phrase,
                                                                  label.match.lang)


def _overlaps(a, b) -> bool:
    return (min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0])
            and min(a[1] + a[3], b[1] + b[3]) > max(a[1], b[1]))


class LabelTimeline:
    """Follows labels through the samples of one video and builds its timeline.

    With `sparse` (keyframe-first sampling, samples up to seconds apart) the timed
    whole-frame reads (opening, safety net) are made only while no label is showing, the
    safety net every `SPARSE_READ_EVERY_S`: a tracked label is checked on every sample
    anyway, a cut or a lost label still asks for a read, and new overlays for a read of
    their region. A whole-frame read is most of a sparse scan's time."""

    def __init__(self, sparse: bool = False):
        self.sparse = sparse
        self.tracks: list[Track] = []
        self.thumbs: collections.deque = collections.deque(maxlen=WINDOW)
        self.recent: collections.deque = collections.deque(maxlen=BACKTRACK)  # (t, grey)
        # thumbnail boxes already read (the oldest forgotten: a long stream without a cut)
        self.explained: collections.deque = collections.deque(maxlen=MAX_EXPLAINED)
        self.last_read_s = -1e9
        self.previous_s: float | None = None
        self.first_s: float | None = None
        self.reads = 0  # whole frames read by OCR
        self.region_reads = 0  # regions around new overlays read by OCR
        self.unlabelled_s: list[float] = []  # a few sample times showing no label
        self.size = (0, 0)

    # -- per sample -------------------------------------------------------------------------

    def add(self, sample: video.Sample) -> None:
        grey = sample.grey
        if self.first_s is None:
            self.first_s = sample.time_s
        self.size = (grey.shape[1], grey.shape[0])
        lost = self._check_tracks(sample.time_s, grey)
        region = self._to_read(sample, lost)
        if region is not None:
            self._read(sample, grey, region)
        self._close_lost(sample.time_s)
        if not any(track.showing for track in self.tracks) and len(self.unlabelled_s) < 2:
            self.unlabelled_s.append(sample.time_s)
        self.thumbs.append(sample.thumb)
        self.recent.append((sample.time_s, grey))
        self.previous_s = sample.time_s

    def _check_tracks(self, t: float, grey: np.ndarray) -> bool:
        """Mark each tracked label present or not; True when a showing one disappeared."""
        lost = False
        for track in self.tracks:
            present = _correlates(track.template, _patch(grey, track.label.box))
            if present:
                self._present(track, t)
            elif track.showing:
                lost = True
        return lost

    def _present(self, track: Track, t: float) -> None:
        if not track.showing:
            track.runs.append([self._midpoint(t), None, t])
            track.bounds.append([None if self.previous_s is None else
                                 track.between(self.previous_s, t), None])
        track.last_present_s = t

    def _midpoint(self, t: float) -> float:
        """Where a label first seen at `t` began: halfway from the sample before (from the
        start at the first sample; at `t` itself after a `pause`)."""
        if self.previous_s is None:
            return 0.0 if t == self.first_s else t
        return (self.previous_s + t) / 2

    def pause(self, at_s: float) -> None:
        """Nothing was seen after `at_s` until the next sample (a live stream whose connection
        was lost): the runs showing end at `at_s`, and the pictures kept so far are forgotten,
        so that no label is traced back, and no overlay compared, across the unwatched time."""
        for track in self.tracks:
            if track.showing:
                track.runs[-1][1] = max(track.runs[-1][0], at_s)
        self.thumbs.clear()
        self.recent.clear()
        self.explained.clear()
        self.previous_s = None

    def _close_lost(self, t: float) -> None:
        """End the runs of labels not seen in this sample."""
        for track in self.tracks:
            if track.showing and track.last_present_s != t:
                track.runs[-1][1] = (track.last_present_s + t) / 2
                track.bounds[-1][1] = track.between(track.last_present_s, t)

    def _to_read(self, sample: video.Sample, lost: bool) -> tuple[int, int, int, int] | None:
        """The part of the sample to read by OCR (x, y, w, h; the whole frame, or the
        neighbourhood of new overlays), or None."""
        t = sample.time_s
        whole = (0, 0, *self.size)
        if t - self.last_read_s >= self._read_every(t):
            return whole
        if lost:
            return whole
        if self._scene_changed(sample.thumb) and t - self.last_read_s >= CUT_READ_GAP_S:
            return whole
        blobs = self._new_overlay(sample.thumb)
        if not blobs:
            return None
        region = self._around(blobs, sample.thumb)
        return region if region == whole or _has_letters(sample.grey, region) else None

    def _read_every(self, t: float) -> float:
        """How long since the last whole-frame read asks for another at `t`."""
        if self.sparse and any(track.showing for track in self.tracks):
            return math.inf
        if t < video.OPENING_S:
            return OPENING_READ_S
        return SPARSE_READ_EVERY_S if self.sparse else READ_EVERY_S

    def _around(self, blobs: list[tuple[int, int, int, int]],
                thumb: np.ndarray) -> tuple[int, int, int, int]:
        """The frame region to read for new overlays (`blobs`, thumbnail pixels): their union,
        widened on each side by its width (and at least `REGION_PAD` text heights) and by
        `REGION_PAD` text heights up and down, since a label's strokes that changed may be only
        part of it; the whole frame when that covers more than `REGION_MAX_SHARE` of it."""
        width, height = self.size
        scale = width / thumb.shape[1]
        x0, y0 = min(x for x, _, _, _ in blobs), min(y for _, y, _, _ in blobs)
        x1 = max(x + w for x, _, w, _ in blobs)
        y1 = max(y + h for _, y, _, h in blobs)
        text = max(h for _, _, _, h in blobs)
        pad_x, pad_y = max(x1 - x0, REGION_PAD * text), REGION_PAD * text
        left, top = max(0, round((x0 - pad_x) * scale)), max(0, round((y0 - pad_y) * scale))
        right = min(width, round((x1 + pad_x) * scale))
        bottom = min(height, round((y1 + pad_y) * scale))
        if (right - left) * (bottom - top) > REGION_MAX_SHARE * width * height:
            return (0, 0, width, height)
        return (left, top, right - left, bottom - top)

    def _scene_changed(self, thumb: np.ndarray) -> bool:
        """Whether the picture cut to another scene (then the overlays read so far are
        forgotten). A camera that pans or shakes over a detailed scene changes most pixels
        too, but the two thumbnails then differ by one shift, which phase correlation finds:
        that is the same view, not a cut (OCR on every sample of a handheld clip was what made
        long phone videos slow)."""
        if not self.thumbs or self.thumbs[-1].shape != thumb.shape:
            return True
        change = float(np.abs(thumb.astype(np.int16) - self.thumbs[-1]).mean())
        if change > SCENE_CHANGE and not _same_view(self.thumbs[-1], thumb):
            self.explained.clear()
            return True
        return False

    def _new_overlay(self, thumb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Text-like pixels that appeared and no read has explained yet (their blobs, in
        thumbnail pixels): pixels with edges that changed and then stayed put, as an overlay
        does when it appears, whether the picture under it moves or not (moving things do not
        stay put)."""
        import cv2

        if len(self.thumbs) < WINDOW - 1:
            return []
        stack = np.stack([*self.thumbs, thumb]).astype(np.int16)
        settled = (stack[1:].max(axis=0) - stack[1:].min(axis=0)) < STILL_RANGE
        candidates = settled & (np.abs(stack[1] - stack[0]) > MOVED)
        edges = cv2.morphologyEx(thumb, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > EDGE
        mask = (candidates & edges).astype(np.uint8)
        for x, y, w, h in [*self.explained, *self._tracked_in_thumbnail(thumb)]:
            mask[max(0, y - h):y + 2 * h, max(0, x - h):x + w + h] = 0
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        blobs = [tuple(int(v) for v in stats[i, :4]) for i in range(1, count)
                 if stats[i, 4] >= MIN_OVERLAY_PIXELS and stats[i, 2] >= MIN_OVERLAY_WIDTH
                 and stats[i, 3] >= MIN_OVERLAY_HEIGHT
                 and stats[i, 4] >= TEXT_DENSITY * stats[i, 2] * stats[i, 3]]
        self.explained.extend(blobs)
        return blobs

    def _tracked_in_thumbnail(self, thumb: np.ndarray) -> list[tuple[int, ...]]:
        """Boxes of the tracked labels in thumbnail pixels (with their badge around them)."""
        scale = thumb.shape[1] / self.size[0]
        return [tuple(round(v * scale) for v in track.label.box) for track in self.tracks]

    # -- reads -------------------------------------------------------------------------------

    def _read(self, sample: video.Sample, grey: np.ndarray,
              region: tuple[int, int, int, int]) -> None:
        """Read `region` of the sample by OCR; follow or start the tracks of its labels. Only
        a whole-frame read resets the clock of the reads that come at least every so often."""
        x, y, w, h = region
        if (w, h) == self.size:
            self.last_read_s = sample.time_s
            self.reads += 1
            labels = read_labels(sample.rgb, threads=OCR_THREADS)
        else:
            self.region_reads += 1
            crop = np.ascontiguousarray(sample.rgb[y:y + h, x:x + w])
            labels = [replace(label, box=(label.box[0] + x, label.box[1] + y, *label.box[2:]))
                      for label in read_labels(crop, threads=OCR_THREADS)]
        for label in labels:
            track = self._matching_track(label)
            if track is None:
                if len(self.tracks) < MAX_TRACKS:
                    self._start_track(sample, grey, label)
            else:
                self._follow(track, label, grey, sample.time_s)

    def _matching_track(self, label: Label) -> Track | None:
        """The track of the same label: same wording at an overlapping place, else same wording
        that just disappeared (a label that moved)."""
        same = [track for track in self.tracks if _same_label(track, label)]
        for track in same:
            if _overlaps(track.label.box, label.box):
                return track
        moved = [track for track in same if track.showing]
        return moved[0] if moved else None

    def _follow(self, track: Track, label: Label, grey: np.ndarray, t: float) -> None:
        """A read found the tracked label (maybe moved): follow it at its new place."""
        track.label = label
        track.template = _patch(grey, label.box).copy()
        self._present(track, t)

    def _start_track(self, sample: video.Sample, grey: np.ndarray, label: Label) -> None:
        measure = measure_label(sample.rgb, label.box)
        confidence = label.score
        if label.match.icon and not has_icon_shape(sample.rgb, label.box):
            confidence *= BARE_ICON_CONFIDENCE
        track = Track(label, _patch(grey, label.box).copy(),
                      measurements(label.text, label.match, measure), round(confidence, 3))
        first_seen, absent_s = sample.time_s, None
        for t, old in reversed(self.recent):  # trace it back through the kept frames
            if not _correlates(track.template, _patch(old, label.box)):
                absent_s = t
                break
            first_seen = t
        if absent_s is not None:
            start = (absent_s + first_seen) / 2
        else:
            start = 0.0 if first_seen == self.first_s else first_seen
        track.runs.append([start, None, first_seen])
        track.bounds.append([None if absent_s is None else track.between(absent_s, first_seen),
                             None])
        track.last_present_s = sample.time_s
        self.tracks.append(track)

    # -- boundaries between distant samples ------------------------------------------------

    def refine(self, revisit: video.Revisit) -> None:
        """Place each start and end that lies between samples more than `video.GRID_S` apart
        (keyframe-first sampling leaves up to its gap between them) on the frames between
        them, `REFINE_STEP_S` apart: within about a tenth of a second instead of half the gap."""
        for track in self.tracks:
            for run, bounds in zip(track.runs, track.bounds):
                for side, bound in enumerate(bounds):
                    if bound is not None and bound[1] - bound[0] > video.GRID_S:
                        run[side] = _change_time(revisit, bound, appears=side == 0)

    # -- the result ----------------------------------------------------------------------------

    def finish(self, duration_s: float) -> None:
        """Close the runs still open at the end of the video."""
        for track in self.tracks:
            if track.showing:
                track.runs[-1][1] = duration_s

    def intervals(self, open_until: float | None = None
                  ) -> list[tuple[Track, float, float, float]]:
        """(track, start_s, end_s, a time it was seen) per interval, in order of start; a run
        still showing ends at `open_until` (a live stream so far), or is left out."""
        found = [(track, start, end if end is not None else open_until, seen)
                 for track in self.tracks for start, end, seen in track.runs]
        found = [item for item in found if item[2] is not None and item[2] > item[1]]
        return sorted(found, key=lambda item: (item[1], item[0].label.box))

    def timeline(self, duration_s: float,
                 unwatched: list[tuple[float, float]] | None = None) -> dict:
        """The report's ``timeline`` (see README, "Report format"). A live stream's
        `unwatched` spans (lost connections) are listed, and the coverage is the share of the
        watched time that showed a label. Runs still showing end at `duration_s`."""
        intervals = self.intervals(open_until=duration_s)
        union = _union([(start, end) for _, start, end, _ in intervals])
        watched_s = duration_s - sum(end - start for start, end in unwatched or ())
        timeline = {
            "duration_s": round(duration_s, 3),
            "first_label_s": round(union[0][0], 3) if union else None,
            "coverage": round(sum(e - s for s, e in union) / watched_s, 4) if watched_s > 0
            else 0,
            "intervals": [interval_view(track, start, end, self.size)
                          for track, start, end, _ in intervals],
            "frames": self._frames(intervals),
        }
        if unwatched:
            timeline["unwatched"] = [[round(start, 3), round(end, 3)]
                                     for start, end in unwatched]
        return timeline

    def _frames(self, intervals) -> list[dict]:
        """A few frames for a person to look at: where each label was first seen, and where
        none was."""
        seen = [{"time_s": seen_s, "label_seen": True, "box": list(track.label.box)}
                for track, _, _, seen_s in intervals]
        missing = [{"time_s": t, "label_seen": False, "box": None} for t in self.unlabelled_s]
        chosen = seen[:SAMPLE_FRAMES - min(len(missing), 2)] + missing
        return sorted(chosen[:SAMPLE_FRAMES], key=lambda frame: frame["time_s"])


def interval_view(track: Track, start: float, end: float, size: tuple[int, int]) -> dict:
    """One interval of the timeline: when, which label, where and how high (in pixels of the
    picture of `size`)."""
    return {"start_s": round(start, 3), "end_s": round(end, 3),
            "text": lexicon.normalised(track.label.text), "ocr_text": track.label.text,
            "lang": track.label.match.lang, "box": list(track.label.box),
            "text_height_px": round(track.measured["height_ratio"] * min(size))}


def _change_time(revisit: video.Revisit, bound: tuple, appears: bool) -> float:
    """When the label of `bound` (sample before, sample after, its box and template) appeared
    (`appears`) or disappeared between the two samples: halfway between the last frame
    looked at on one side and the first on the other."""
    before, after, box, template = bound
    for t, grey in revisit.frames(before, after, REFINE_STEP_S):
        if _correlates(template, _patch(grey, box)) == appears:
            return (before + t) / 2
        before = t
    return (before + after) / 2


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def video_measurements(timeline: dict) -> dict:
    """The video-level numbers policies test: first appearance, how long the label covers
    the opening without a break, share of the (watched) duration covered, longest stretch
    unlabelled (the time a live stream went unwatched is no gap), and `where` that stretch
    lies, for a person reading why a requirement failed."""
    duration = timeline["duration_s"]
    union = _union([(i["start_s"], i["end_s"]) for i in timeline["intervals"]])
    opening = union[0][1] if union and union[0][0] <= video.OPENING_STEP_S else 0.0
    seen = _union(union + [(start, end) for start, end in timeline.get("unwatched", ())])
    edges = [0.0] + [t for span in seen for t in span] + [duration]
    gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    start, end = max(gaps, key=lambda gap: gap[1] - gap[0])
    return {"first_label_s": timeline["first_label_s"], "opening_s": round(opening, 3),
            "coverage": timeline["coverage"], "longest_gap_s": round(end - start, 3),
            "where": {"longest_gap_s": f"no label from {start:.1f} s to {end:.1f} s"}}


@dataclass(frozen=True)
class Kept:
    """What the pass keeps of every sample: its time and a small grey square (the
    fingerprint size, `video.FINGERPRINT_SIDE`), for the registry's per-frame PDQ."""

    time_s: float
    small: np.ndarray

    @property
    def rgb(self) -> np.ndarray:
        """The square as an RGB picture (grey in all three channels), as PDQ takes it."""
        return np.repeat(self.small[:, :, None], 3, axis=2)


@dataclass
class VideoFrames:
    """A video's one sampling pass: what every source that reads frames shares.

    `stream` says what was decoded; `kept` holds every sample's fingerprint square; `labels`
    followed the visible labels (None when no label source runs). `damage` is the damage met
    after some frames (those before it still count); `failure` is a crash of the pass (a bug,
    not damaged media), which each source that reads frames reports as its own failure.
    """

    stream: video.Stream | None = None
    kept: list[Kept] = field(default_factory=list)
    labels: LabelTimeline | None = None
    duration_s: float = 0.0
    damage: MediaError | None = None
    failure: Exception | None = None

    @functools.cached_property
    def timeline(self) -> dict | None:
        """The report's ``timeline`` (see README, "Report format")."""
        if self.labels is None or self.failure:
            return None
        return self.labels.timeline(self.duration_s)

    @property
    def widest_gap_s(self) -> float:
        """The longest stretch of the video no sample fell in (from its start to its end)."""
        times = [0.0, *(kept.time_s for kept in self.kept), self.duration_s]
        return round(max(later - earlier for earlier, later in zip(times, times[1:])), 3)

    def raise_failure(self) -> None:
        """Make a crash of the pass the calling source's own failure (`Source.run` logs it
        and turns it into its ``failed`` problem finding)."""
        if self.failure is not None:
            raise self.failure


def read_frames(media, labels: bool = True, sampling: str = "standard",
                rule_gap_s: float | None = None) -> VideoFrames:
    """Decode `media`'s samples once (`video.Sampler`, as `sampling` and the strictest
    "never absent for more than" rule applied, `rule_gap_s`, ask: `video.sampling_gap`),
    following its labels (`labels`) and keeping every sample's fingerprint square. Raises
    `MediaError` when no frame could be read; damage after the first frame is kept in the
    result."""
    media.video_info  # refuses files without a video stream, with the reason
    if labels:
        ocr.load_in_background(OCR_THREADS)
    gap_s = video.sampling_gap(sampling, rule_gap_s)
    sampler = video.Sampler(media.source, gap_s=gap_s)
    frames = VideoFrames(labels=LabelTimeline(sparse=gap_s is not None) if labels else None)
    try:
        for sample in sampler:
            if frames.labels is not None:
                frames.labels.add(sample)
            frames.kept.append(Kept(sample.time_s, sample.small))
        if frames.labels is not None and sampler.gap_s is not None:
            _refine(frames.labels, media.source, sampler.stream)
    except MediaError as exc:
        if not frames.kept:
            raise
        frames.damage = exc
    except Exception as exc:  # noqa: BLE001 - a bug in the pass must not lose the file
        frames.failure = exc
    frames.stream = sampler.stream
    last_s = frames.kept[-1].time_s if frames.kept else 0.0
    stream_s = (sampler.stream.duration_s or sampler.stream.end_s) if sampler.stream else 0.0
    frames.duration_s = last_s if frames.damage else (stream_s or last_s)
    if frames.labels is not None:
        frames.labels.finish(frames.duration_s)
    return frames


def _sampling_words(stream: video.Stream) -> str:
    """How the frames were sampled, for the ``video.frames_read`` finding."""
    if stream.gap_s is None:
        return f"at most {video.GRID_S} s apart"
    return (f"keyframes first, at most {stream.gap_s:g} s apart, label starts and ends placed "
            f"on the frames between")


def _revisited_words(stream: video.Stream) -> str:
    if not stream.revisited:
        return ""
    return f" (and {stream.revisited} again to place label starts and ends)"


def _refine(labels: LabelTimeline, source, stream: video.Stream) -> None:
    revisit = video.Revisit(source)
    try:
        labels.refine(revisit)
    finally:
        revisit.close()
        stream.revisited = revisit.frames_decoded


class VideoFramesSource(Source):
    """The visible labels of a video, from the label timeline of the scan's sampling pass."""

    name = "video_frames"
    tier = PIXELS
    media_kinds = frozenset({"video"})
    order = 75
    reads_frames = True

    def check(self, media, settings, layers):
        frames: VideoFrames | None = layers.frames
        if frames is None:  # the pass could not read a frame: the scan's error says why
            return
        frames.raise_failure()
        follower, stream = frames.labels, frames.stream
        # an absence shorter than the widest gap between samples may have gone unseen
        widest_gap_s = frames.widest_gap_s
        timing = {**video_measurements(frames.timeline),
                  "resolution": {"longest_gap_s": widest_gap_s}}
        yield self.finding(
            Kind.INFO, "video.frames_read",
            f"{stream.samples} frames sampled ({_sampling_words(stream)}, every "
            f"{video.OPENING_STEP_S} s in the first {video.OPENING_S} s), {stream.frames_decoded}"
            f" decoded{_revisited_words(stream)}, {follower.reads} read in full by OCR, "
            f"{follower.region_reads} regions with new overlays read", location="video frames",
            details={"codec": stream.codec, "size": [stream.width, stream.height],
                     "rotation": stream.rotation, "skipped_frames": stream.skip,
                     "duration_s": round(frames.duration_s, 3),
                     "widest_gap_s": widest_gap_s})
        yield from self.label_findings(follower, timing)
        if frames.damage:  # the frames after it were not checked; the rest of the file was read
            raise PixelsUnavailable(f"{frames.damage} (frames read up to "
                                    f"{frames.kept[-1].time_s:.1f} s)")

    def label_findings(self, follower: LabelTimeline, timing: dict):
        """One `visible` disclosure finding per interval a label was shown, with the label's
        measurements and the video's `timing` (`video_measurements`): the findings policies
        judge, for a file and for a watched stream alike."""
        for track, start, end, _ in follower.intervals():
            yield self._label(track, start, end, timing)

    def _label(self, track: Track, start: float, end: float, timing: dict):
        measured = track.measured
        return self.finding(
            Kind.AI_DECLARATION, "visible.video_label",
            f'visible AI label "{lexicon.normalised(track.label.text)}" '
            f"({track.label.match.language}) from {start:.1f} s to {end:.1f} s at the "
            f"{measured['position']}, text "
            f"{measured['height_ratio']:.1%} of the shorter side, contrast "
            f"{measured['contrast']:.1f}:1",
            location={"time_s": round(start, 3), "start_s": round(start, 3),
                      "end_s": round(end, 3), "box": list(track.label.box)},
            confidence=track.confidence, channel="visible",
            measurements={**measured, "start_s": round(start, 3), "end_s": round(end, 3),
                          "duration_s": round(end - start, 3), **timing})
