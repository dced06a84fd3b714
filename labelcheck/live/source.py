"""A live or growing video source, read in real time: samples on one continuous stream clock,
and what happened to the connection.

`LiveSource` opens the source with the file scan's sampler (`labelcheck.vision.video.Sampler`,
one sample per ``1 / rate`` seconds of stream) and yields, in order:

- `Sample`s, whose ``time_s`` is the stream time (seconds from the first frame watched);
- `Event`s about the connection (``started``, ``stalled``, ``error``, ``reconnected``,
  ``ended``);
- None now and then (a tick), so that the watch can stop on time while nothing comes.

A network source that fails (a refused or lost connection, no new frame for `stall_s`) is
opened again at once and then with growing pauses (`BACKOFF_S`), until it has given nothing
for `give_up_s`; a source that ends the stream itself ends the watch. Nothing is buffered
without bound: the sampler holds a few samples and drops the oldest when the analysis falls
behind (counted in ``dropped``); a read that hangs ends after the stall time (FFmpeg's read
timeout). A file still being written is read as it grows; when it has not grown for
`stall_s`, the watch ends.

The stream clock goes on across reconnections. An HLS or DASH stream keeps its timestamps, so
a reconnection that replays segments already watched is recognised and skipped; other sources
restart theirs, and the time spent reconnecting is counted as unwatched. A timestamp that
jumps (an ad break, a restarted encoder) does not move the clock by more than the wall time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Callable, Iterator

from labelcheck.core.network import Refused
from labelcheck.core.plain import plain
from labelcheck.formats.base import ffmpeg_reason
from labelcheck.live.events import ENDED, ERROR, RECONNECTED, STALLED, STARTED, Event
from labelcheck.live.guard import GuardProxy, check_url
from labelcheck.live.options import PROBE_OPTIONS, SourceError, WatchOptions, source_kind
from labelcheck.vision.video import Sample, Sampler, VideoReadError

BACKOFF_S = (0.0, 1.0, 2.0, 4.0, 8.0, 15.0)  # pauses before the reconnection attempts
TICK_S = 0.25
KEEP_LOGS = 20  # FFmpeg warnings kept to explain a stall
NETWORK_LOGS = ("http", "https", "tcp", "tls", "rtmp", "rtsp", "srt", "udp", "httpproxy")
REPLAYING = ("hls", "dash")  # containers whose timestamps go on across a reconnection
REPLAY_WINDOW_S = 600.0  # how far back a reconnection may replay
JUMP_SLACK_S = 30.0
FFMPEG_LOG = re.compile(r"\[(\w+) @ (?:0x)?[0-9a-fA-F]+\] (.*)")  # "[http @ 0x55...] HTTP error..."


@dataclass
class Outcome:
    """How one connection ended: ``stopped``, ``end``, ``stall`` or ``failed``."""

    kind: str
    reason: str = ""


@dataclass
class Clock:
    """The stream clock: where the last sample landed, in stream time and on the wall."""

    last_s: float | None = None  # stream time of the last sample
    last_raw: float | None = None  # its timestamp in the source
    last_wall: float | None = None  # monotonic time it arrived
    offset: float | None = None  # stream time minus the connection's sample time
    lost_at_s: float | None = None  # stream time where watching stopped (a lost connection)
    unwatched: list[tuple[float, float]] = field(default_factory=list)


class LiveSource:
    """Samples and connection events of one source (see the module docstring). `stop` ends
    the iteration at the next sample or tick with an ``ended`` event giving its reason."""

    def __init__(self, source: str, options: WatchOptions,
                 clock: Callable[[], float] = time.monotonic):
        self.source = source
        self.kind = source_kind(source)
        self.options = options
        self.now = clock
        self.stopping: str | None = None
        self.clock = Clock()
        self.proxy: GuardProxy | None = None
        self.logs: list = []
        self.samples = 0
        self.dropped = 0
        self.replayed = 0
        self.reconnections = 0
        self.stream = None  # the last connection's `labelcheck.vision.video.Stream`
        self.refused_before = 0  # the guard's refusals before this connection
        self.refusals_told = 0  # the guard's refusals told in events

    def stop(self, reason: str) -> None:
        """Ask the iteration to end (from a signal handler or another thread)."""
        self.stopping = self.stopping or reason

    @property
    def unwatched(self) -> list[tuple[float, float]]:
        return self.clock.unwatched

    def __iter__(self) -> Iterator[Sample | Event | None]:
        import av.logging

        level = av.logging.get_level()
        av.logging.set_level(av.logging.WARNING)  # FFmpeg's warnings explain stalls
        capture = av.logging.Capture(local=False)
        self.logs = capture.__enter__()
        try:
            self._guard()
            yield from self._connections()
        except (Refused, SourceError) as exc:
            reason = f"refused by the allow-list: {exc}" if isinstance(exc, Refused) else str(exc)
            yield Event(ERROR, None, fields={"reason": reason})
            yield Event(ENDED, self.clock.last_s, fields={"reason": reason})
        finally:
            capture.__exit__(None, None, None)
            av.logging.set_level(level)
            if self.proxy is not None:
                self.proxy.close()

    def _guard(self) -> None:
        """With an allow-list, check the URL and route FFmpeg's HTTP through the guard; a DASH
        source needs FFmpeg's command when PyAV's FFmpeg cannot read DASH."""
        if self.kind == "dash" and not pyav_reads("dash") and shutil.which("ffmpeg") is None:
            raise SourceError("watching DASH needs the ffmpeg command (the FFmpeg inside PyAV "
                              "has no DASH demuxer); install ffmpeg, or watch the stream's HLS")
        allow = self.options.allow
        if allow is None:
            return
        check_url(allow, self.source)
        self.proxy = GuardProxy(allow)

    def _ffmpeg_options(self) -> dict[str, str]:
        options = self.options.ffmpeg_options(self.kind)
        if self.proxy is not None:
            options.update(http_proxy=self.proxy.url, protocol_whitelist=(
                "http,https,tcp,tls,crypto,httpproxy"))
        return options

    # -- connections -------------------------------------------------------------------------

    def _connections(self) -> Iterator[Sample | Event | None]:
        attempt = 0
        failing_since = self.now()
        while self.stopping is None:
            remux = Remux(self.source, self._ffmpeg_options(), self.logs) \
                if self.kind == "dash" and not pyav_reads("dash") else None
            sampler = Sampler(remux.stdout if remux else self.source,
                              grid_s=1 / self.options.rate, opening_s=0.0,
                              options=PROBE_OPTIONS if remux else self._ffmpeg_options(),
                              timeout=(self.options.open_s, self.options.stall_s),
                              realtime=self.kind != "file", tick_s=TICK_S)
            before = self.samples
            try:
                outcome = yield from self._read(sampler)
            finally:
                if remux is not None:
                    remux.close()
            if sampler.stream is not None:
                self.dropped += sampler.stream.dropped
            if self.samples > before:
                attempt, failing_since = 0, self.now()
            if outcome.kind == "stopped":
                break
            final = self._final(outcome)
            if final is not None:
                yield Event(ENDED, self.clock.last_s, fields={"reason": final})
                return
            if self.clock.last_s is not None and self.clock.lost_at_s is None:
                self.clock.lost_at_s = self.clock.last_s
            if self.now() - failing_since > self.options.give_up_s:
                yield Event(ENDED, self.clock.last_s, fields={"reason": (
                    f"gave up: nothing could be watched for {self.options.give_up_s:g} s "
                    f"({outcome.reason})")})
                return
            pause = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            if outcome.kind == "stall":
                yield Event(STALLED, self.clock.last_s, fields={"reason": outcome.reason})
            else:
                yield Event(ERROR, self.clock.last_s,
                            fields={"reason": outcome.reason, "retry_in_s": pause})
            yield from self._wait(pause)
        yield Event(ENDED, self.clock.last_s, fields={"reason": self.stopping})

    def _final(self, outcome: Outcome) -> str | None:
        """The reason the watch ends with this outcome, or None to reconnect."""
        if outcome.kind == "end":
            return "the source ended the stream"
        if self.kind == "file":
            if outcome.kind == "stall":
                return f"the file has not grown for {self.options.stall_s:g} s"
            return outcome.reason
        return None

    def _wait(self, seconds: float) -> Iterator[None]:
        end = self.now() + seconds
        while self.stopping is None and self.now() < end:
            time.sleep(min(TICK_S, max(0.0, end - self.now())))
            yield None

    def _read(self, sampler: Sampler):
        """Yield one connection's samples (and its ``started``/``reconnected`` event, ticks);
        return its `Outcome`."""
        opened = self.now()
        self.refused_before = self.proxy.refused if self.proxy else 0
        last_new: float | None = None
        self.clock.offset = None
        try:
            for item in sampler:
                self._note_stream(sampler)
                del self.logs[:-KEEP_LOGS]
                yield from self._refusals()
                if self.stopping is not None:
                    return Outcome("stopped")
                now = self.now()
                if item is None:
                    quiet = now - (last_new or opened)
                    limit = self.options.stall_s if sampler.stream else \
                        self.options.open_s + self.options.stall_s
                    if quiet > limit:
                        return Outcome("stall", self._stall_reason())
                    yield None
                    continue
                stream_s = self._continue(item, sampler, now)
                if stream_s is None:
                    self.replayed += 1
                    continue
                if last_new is None:
                    yield self._connected(sampler, stream_s)
                item.time_s = round(stream_s, 3)
                last_new = now
                self.samples += 1
                yield item
            return Outcome("end")
        except VideoReadError as exc:
            return self._failure(exc, opening=sampler.stream is None)

    def _note_stream(self, sampler: Sampler) -> None:
        """Keep what the sampler learnt of the stream (its container is DASH when FFmpeg's
        command read it for PyAV)."""
        if sampler.stream is not None:
            self.stream = sampler.stream
            if self.kind == "dash":
                self.stream.container = "dash"

    def _refusals(self) -> Iterator[Event]:
        """An ``error`` for each request the guard refused (a playlist entry, a redirect)
        while the stream went on."""
        if self.proxy is not None and self.proxy.refused > self.refusals_told:
            self.refusals_told = self.proxy.refused
            yield Event(ERROR, self.clock.last_s, fields={
                "reason": f"refused by the allow-list: {self.proxy.refusals[-1]}"})

    def _connected(self, sampler: Sampler, stream_s: float) -> Event:
        """``started`` for the first connection, ``reconnected`` (and the unwatched time
        recorded) for the next ones."""
        clock = self.clock
        stream = sampler.stream
        if clock.lost_at_s is None and self.reconnections == 0 and not clock.unwatched \
                and self.samples == 0:
            return Event(STARTED, stream_s, fields={
                "container": stream.container, "codec": stream.codec,
                "size": [stream.width, stream.height]})
        self.reconnections += 1
        lost = clock.lost_at_s if clock.lost_at_s is not None else stream_s
        clock.lost_at_s = None
        if stream_s > lost:
            clock.unwatched.append((lost, stream_s))
        return Event(RECONNECTED, stream_s, fields={"unwatched_s": round(stream_s - lost, 3),
                                                    "unwatched_from_s": round(lost, 3)})

    def _continue(self, sample: Sample, sampler: Sampler, now: float) -> float | None:
        """The stream time of `sample`, or None for a sample already watched (a reconnection
        that replays HLS or DASH segments)."""
        clock = self.clock
        raw = float(sample.frame.time)
        if clock.last_s is None:  # the very first sample
            stream_s = sample.time_s
        elif clock.offset is None:  # the first sample of a new connection
            waited = now - clock.last_wall
            same_timeline = (sampler.stream.container in REPLAYING
                             and clock.last_raw - REPLAY_WINDOW_S <= raw
                             <= clock.last_raw + waited + JUMP_SLACK_S)
            if same_timeline and raw <= clock.last_raw + 1e-3:
                return None
            stream_s = (clock.last_s + raw - clock.last_raw if same_timeline
                        else clock.last_s + max(waited, 1 / self.options.rate))
        else:
            stream_s = clock.offset + sample.time_s
            step = 1 / self.options.rate
            if stream_s <= clock.last_s or \
                    stream_s - clock.last_s > now - clock.last_wall + JUMP_SLACK_S:
                stream_s = clock.last_s + max(step, min(now - clock.last_wall, step))
        clock.offset = stream_s - sample.time_s
        clock.last_s, clock.last_raw, clock.last_wall = stream_s, raw, now
        return stream_s

    # -- why it failed -----------------------------------------------------------------------

    def _failure(self, exc: VideoReadError, opening: bool) -> Outcome:
        import av

        cause = exc.cause
        refusal = self.proxy.refusal_since(self.refused_before) if self.proxy else None
        if refusal:
            self.refusals_told = self.proxy.refused
            return Outcome("failed", f"refused by the allow-list: {refusal}")
        network, last = self._ffmpeg_said()
        if isinstance(cause, av.error.ExitError):  # FFmpeg's timeout
            if opening:
                return Outcome("failed", "the source could not be opened within "
                                         f"{self.options.open_s:g} s{_aside(network or last)}")
            return Outcome("stall", self._stall_reason())
        what = "could not open the source" if opening else "the connection was lost"
        reason = ffmpeg_reason(cause) if cause else str(exc)
        vague = cause is None or isinstance(cause, (av.error.InvalidDataError,
                                                    av.error.EOFError))
        detail = network if network and vague else reason
        aside = network if network and detail != network else (last if last != detail else "")
        return Outcome("failed", plain(f"{what}: {detail}{_aside(aside)}"))

    def _stall_reason(self) -> str:
        network, last = self._ffmpeg_said()
        return f"no new video for {self.options.stall_s:g} s{_aside(network or last)}"

    def _ffmpeg_said(self) -> tuple[str, str]:
        """FFmpeg's last warning from its network layer (``HTTP error 404 Not Found``,
        a refused connection) and its last warning of all (a segment it gave up on)."""
        said = [(name, plain(message.strip())) for _level, name, message in list(self.logs)
                if message.strip()]
        network = [message for name, message in said if name in NETWORK_LOGS]
        return (network[-1] if network else "", said[-1][1] if said else "")


@cache
def pyav_reads(format_name: str) -> bool:
    """Whether the FFmpeg inside PyAV has a demuxer for `format_name`."""
    import av

    try:
        return av.format.ContainerFormat(format_name).is_input
    except ValueError:
        return False


class Remux:
    """FFmpeg's command reading a source PyAV's FFmpeg cannot (DASH), passing its first video
    stream on, stream-copied, as MPEG-TS on a pipe that the sampler reads. Its warnings go to
    `logs`, where FFmpeg's own (inside PyAV) go, to explain a failure; `close` ends it, which
    also ends a read of the pipe that waits for data."""

    def __init__(self, url: str, options: dict[str, str], logs: list):
        command = [shutil.which("ffmpeg") or "ffmpeg", "-nostdin", "-hide_banner",
                   "-loglevel", "warning"]
        for key, value in options.items():
            command += [f"-{key}", value]
        command += ["-i", url, "-map", "0:v:0", "-c", "copy", "-f", "mpegts", "pipe:1"]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout = self.process.stdout
        threading.Thread(target=self._drain, args=(logs,), daemon=True,
                         name="labelcheck-remux-log").start()

    def _drain(self, logs: list) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").strip()
            match = FFMPEG_LOG.match(line)
            name, message = match.groups() if match else ("ffmpeg", line)
            if message:
                logs.append((24, name, message))
                del logs[:-KEEP_LOGS]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.stdout.close()


def _aside(message: str) -> str:
    return f" (FFmpeg: {message})" if message else ""
