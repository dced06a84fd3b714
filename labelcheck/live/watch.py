"""One watch: a live source's samples through the file scan's label tracker, events as the
label comes and goes, and a report at the end.

The label tracker is the one a file scan uses (`labelcheck.sources.video_frames.LabelTimeline`:
whole-frame OCR at the start, on cuts, new overlays and every 10 s; the labels followed between
reads by comparing their patches). After each sample the watch looks at which labels are
showing:

- a label never seen before: ``label_shown`` (from when it appeared: the tracker traces it
  back through the last frames);
- no label for longer than the grace period: ``label_missing``, once, dated when the label
  went (halfway between the last sample that showed it and the first that did not);
- a label again after that: ``label_back``, with the length of the gap.

A label that is gone for less than the grace period raises nothing, but its gap is in the
timeline. A lost connection (`LiveSource`) is unwatched time: no label is carried across it,
no gap is measured in it, and the absence of a label counts again from the reconnection (a
label told missing before it stays missing until one is seen: then ``label_back``).

The report is a video's (README, "Report format"): the timeline (with the ``unwatched`` spans),
one `visible` finding per interval with the timing measurements, and a verdict under the
chosen policies, whose continuous-label maxima follow the grace period (`Policy.with_grace`);
a requirement only metadata could meet (C2PA, IPTC, the AIGC label) is "not verifiable" in a
watch, which reads what is on screen (`Policy.reading`).
"""

from __future__ import annotations

import collections
import logging
import time
from datetime import timedelta
from typing import Callable

from labelcheck.version import __version__
from labelcheck.core.model import Evidence, Finding, Kind, Report
from labelcheck.core.names import display_name
from labelcheck.core.policy import VISIBLE, Policy, Regimes, each_policy
from labelcheck.core.scanner import conclude
from labelcheck.core.settings import Settings
from labelcheck.live.events import (ENDED, ERROR, LABEL_BACK, LABEL_MISSING, LABEL_SHOWN,
                                    PROGRESS, RECONNECTED, Event, utc_now)
from labelcheck.live.evidence import EvidenceFolder
from labelcheck.live.options import WatchOptions
from labelcheck.live.source import LiveSource
from labelcheck.sources.video_frames import (OCR_THREADS, LabelTimeline, Track,
                                             VideoFramesSource, video_measurements)
from labelcheck.vision.video import Sample

log = logging.getLogger(__name__)

ON_SCREEN = frozenset({VISIBLE})  # what a watch reads of a stream
UNREAD = ("not verifiable in a live watch: it reads what is on screen, not the stream's "
          "metadata")
ARRIVALS = 120  # samples whose arrival is kept: events are dated up to this far back
MEDIA_TYPES = {"hls": "application/vnd.apple.mpegurl", "dash": "application/dash+xml",
               "flv": "video/x-flv", "live_flv": "video/x-flv", "mpegts": "video/mp2t",
               "matroska,webm": "video/x-matroska", "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4"}


class Watch:
    """Watch `source` until it ends, `stop` is called or `options.max_duration_s` passes;
    `emit` receives each `Event` as it happens; `run` returns the `Report`.

    `name` is the report's display string for the source (default: its display form); the
    evidence pictures go to `evidence` when given."""

    def __init__(self, source: str, options: WatchOptions, policy: Policy | Regimes,
                 settings: Settings, emit: Callable[[Event], None],
                 evidence: EvidenceFolder | None = None, name: str | None = None):
        self.name = name or display_name(source)
        self.options = options
        self.policy = each_policy(policy, lambda regime: regime.with_grace(options.grace_s)
                                  .reading(ON_SCREEN, UNREAD))
        self.settings = settings
        self.emit = emit
        self.evidence = evidence
        self.live = LiveSource(source, options)
        self.labels = LabelTimeline()
        self.seq = 0
        self.end_reason = ""
        self.watch_from_s: float | None = None  # where the watched stretch began
        self.absent_since: float | None = None  # when the label went (None: one is showing)
        self.missing_since: float | None = None  # the absence told by label_missing
        self.last_box: list[int] | None = None
        # (stream time, wall time) of the last samples, to date the events
        self.arrivals: collections.deque = collections.deque(maxlen=ARRIVALS)
        self.pace: float | None = None  # the least (arrival - stream time) seen: no lag
        self.lag_s = 0.0  # how far behind the stream the analysis is now
        self.max_lag_s = 0.0
        self.next_progress = time.monotonic() + (options.progress_s or 0)

    def stop(self, reason: str) -> None:
        """End the watch soon (safe from a signal handler): the report is still made."""
        self.live.stop(reason)

    def run(self) -> Report:
        from labelcheck.vision import ocr

        ocr.load_models(OCR_THREADS)  # before the stream comes, not while its samples wait
        started = time.monotonic()
        limit = self.options.max_duration_s
        for item in self.live:
            if limit and time.monotonic() - started >= limit:
                self.live.stop(f"the maximum duration of {limit:g} s was reached")
            if item is None:
                continue
            if isinstance(item, Event):
                self._connection_event(item)
                continue
            try:
                self._sample(item)
            except Exception as exc:  # noqa: BLE001 - a bug must still leave a report
                log.exception("the watch of %s failed on a sample", self.name)
                self._emit(ERROR, item.time_s, {"reason": f"the analysis failed: "
                                                          f"{type(exc).__name__}"})
                self.live.stop("the analysis failed")
        return self.report()

    # -- events ------------------------------------------------------------------------------

    def _emit(self, kind: str, stream_s: float | None, fields: dict, rgb=None,
              box: list[int] | None = None, missing: bool = False) -> Event:
        self.seq += 1
        if rgb is not None and self.evidence is not None:
            name = self.evidence.picture(self.seq, kind, stream_s, rgb, box, missing)
            fields = {**fields, "evidence": name} if name else fields
        event = Event(kind, stream_s, self._wall_at(stream_s), fields, self.seq)
        self.emit(event)
        return event

    def _wall_at(self, stream_s: float | None):
        """When this machine received the moment `stream_s` of the stream: the arrival of the
        first sample at or after it (a moment between two samples was known at the second);
        before the samples kept, counted back from the oldest at the stream's pace."""
        if stream_s is None or not self.arrivals:
            return utc_now()
        for sample_s, wall in self.arrivals:
            if sample_s >= stream_s - 1e-6:
                return wall
        oldest_s, wall = self.arrivals[0]
        return wall - timedelta(seconds=max(0.0, oldest_s - stream_s))

    def _connection_event(self, event: Event) -> None:
        if event.kind == RECONNECTED:
            self.labels.pause(event.fields["unwatched_from_s"])
            self.watch_from_s = event.stream_s  # an absence counts again from here
            self.absent_since = None
        if event.kind == ENDED:
            self.end_reason = event.fields.get("reason", "")
        self.seq += 1
        event.seq = self.seq  # its wall time is when it happened: it is about the connection
        self.emit(event)

    # -- samples -----------------------------------------------------------------------------

    def _sample(self, sample: Sample) -> None:
        now = time.monotonic()
        self.arrivals.append((sample.time_s, utc_now()))
        if self.watch_from_s is None:
            self.watch_from_s = sample.time_s
        behind = now - sample.time_s
        self.pace = behind if self.pace is None else min(self.pace, behind)
        self.lag_s = behind - self.pace
        self.max_lag_s = max(self.max_lag_s, self.lag_s)
        known = len(self.labels.tracks)
        self.labels.add(sample)
        for track in self.labels.tracks[known:]:
            self._emit(LABEL_SHOWN, track.runs[0][0], self._label_fields(track),
                       sample.rgb, list(track.label.box))
        showing = [track for track in self.labels.tracks if track.showing]
        if showing:
            self._label_present(sample, showing)
        else:
            self._label_absent(sample)
        if self.options.progress_s and now >= self.next_progress:
            self.next_progress = now + self.options.progress_s
            self._progress(sample.time_s)

    def _label_present(self, sample: Sample, showing: list[Track]) -> None:
        first = min(showing, key=lambda track: track.runs[-1][0])
        self.last_box = list(first.label.box)
        if self.missing_since is not None:
            back_s = first.runs[-1][0]
            self._emit(LABEL_BACK, back_s, {**self._label_fields(first),
                                            "gap_s": round(back_s - self.missing_since, 3)},
                       sample.rgb, self.last_box)
        self.absent_since = self.missing_since = None

    def _label_absent(self, sample: Sample) -> None:
        if self.absent_since is None:
            ends = [track.runs[-1][1] for track in self.labels.tracks
                    if track.runs and track.runs[-1][1] is not None]
            self.absent_since = max([self.watch_from_s, *ends])
        absent_s = sample.time_s - self.absent_since
        if self.missing_since is None and absent_s > self.options.grace_s:
            self.missing_since = self.absent_since
            self._emit(LABEL_MISSING, self.absent_since,
                       {"absent_s": round(absent_s, 3), "last_box": self.last_box,
                        "grace_s": self.options.grace_s},
                       sample.rgb, self.last_box, missing=True)

    def _label_fields(self, track: Track) -> dict:
        measured = track.measured
        return {"text": track.label.text, "lang": track.label.match.lang,
                "box": list(track.label.box),
                "height_px": round(measured["height_ratio"] * min(self.labels.size)),
                "height_ratio": measured["height_ratio"], "position": measured["position"],
                "contrast": measured["contrast"], "rules": measured["rules"],
                "confidence": track.confidence}

    def _progress(self, now_s: float) -> None:
        timing = video_measurements(self.labels.timeline(now_s, self.live.unwatched))
        self._emit(PROGRESS, now_s, {"coverage": timing["coverage"],
                                     "longest_gap_s": timing["longest_gap_s"],
                                     "lag_s": round(self.lag_s, 2),
                                     "samples": self.live.samples})

    # -- the report --------------------------------------------------------------------------

    def report(self) -> Report:
        """The watch's report (README, "Report format"), under every policy chosen."""
        live = self.live
        duration = live.clock.last_s or 0.0
        self.labels.finish(duration)
        report = Report(path=self.name, media_kind="video", policy=self.policy.name,
                        labelcheck_version=__version__)
        stream = live.stream
        report.media_type = MEDIA_TYPES.get(stream.container) if stream else None
        findings: list[Finding] = []
        if live.samples:
            report.timeline = self.labels.timeline(duration, live.unwatched)
            findings.append(self._watched(duration))
            findings += [self._unwatched(start, end) for start, end in live.unwatched]
            timing = video_measurements(report.timeline)
            findings += VideoFramesSource().label_findings(self.labels, timing)
        else:
            report.error = f"nothing could be watched: {self.end_reason or 'no video'}"
        conclude(report, findings, self.policy, self.settings)
        if self.evidence is not None and self.evidence.first is not None:
            report.evidence = Evidence(picture=self.evidence.first)
        return report

    def _watched(self, duration: float) -> Finding:
        live, stream = self.live, self.live.stream
        return Finding(
            "live", Kind.INFO, "live.watched",
            f"watched {duration:.1f} s of the stream: {live.samples} samples at "
            f"{self.options.rate:g} per second, {self.labels.reads} read in full by OCR, "
            f"{live.dropped} dropped (the analysis fell behind), {live.reconnections} "
            f"reconnection(s); ended: {self.end_reason}", location="stream",
            details={"container": stream.container, "codec": stream.codec,
                     "size": [stream.width, stream.height], "samples": live.samples,
                     "dropped": live.dropped, "replayed": live.replayed,
                     "reconnections": live.reconnections, "grace_s": self.options.grace_s,
                     "max_lag_s": round(self.max_lag_s, 2), "end_reason": self.end_reason})

    @staticmethod
    def _unwatched(start: float, end: float) -> Finding:
        return Finding("live", Kind.PROBLEM, "live.unwatched",
                       f"not watched from {start:.1f} s to {end:.1f} s (the connection was "
                       "lost): labels were not checked there", location={
                           "start_s": round(start, 3), "end_s": round(end, 3)})
