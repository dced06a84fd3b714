"""The ``labelcheck watch`` command: watch a live stream (or a file still being written) and
say, as it happens, whether its AI label is on screen; a report at the end.

``labelcheck watch SOURCE`` writes events (README, "Live streams") to stdout or ``--out``: text
on a terminal, JSON lines otherwise (``--format``). It stops when the source ends, after
``--max-duration`` seconds, or on Ctrl-C or SIGTERM, and then writes the report: after the
events (a text block, or a JSON line ``{"event": "report", ...}``), as ``report.json`` in the
evidence folder, and to ``--report FILE`` in the format its extension names.

Exit codes: 0 done; 1 a ``--fail-on`` verdict occurred; 2 usage or I/O error, or nothing could
be watched at all (the source never gave a frame; the report says why).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from labelcheck.cli.common import (EXIT_MATCHED, EXIT_OK, EXIT_USAGE, add_date_and_role,
                                   verdicts_argument)
from labelcheck.core.model import Report, Verdict
from labelcheck.core.network import NetworkRules
from labelcheck.core.policy import PolicyError, available_policies, load_policies
from labelcheck.core.settings import Settings
from labelcheck.live.events import EVENT_WRITERS
from labelcheck.live.options import SourceError, WatchOptions, source_kind
from labelcheck.writers import WRITERS

if TYPE_CHECKING:  # the watch (NumPy, the frame pass) is imported when a watch starts
    from labelcheck.live.evidence import EvidenceFolder
    from labelcheck.live.watch import Watch

REPORT_FORMATS = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".txt": "text",
                  ".html": "html", ".htm": "html"}


def add_watch_parser(commands) -> argparse.ArgumentParser:
    """Add the ``watch`` command to the CLI's subcommands."""
    parser = commands.add_parser(
        "watch", help="watch a live stream and report, as it happens, whether its AI label "
                      "stays on screen",
        description="Watch an HLS (.m3u8), DASH (.mpd), RTMP, RTSP or SRT stream, an HTTP-FLV "
                    "or HTTP-TS URL, or a file still being written; write events as the AI "
                    "label is shown, goes missing and comes back, and a report at the end "
                    "(timeline, coverage, longest gap, verdict under the policies).")
    parser.add_argument("source", metavar="SOURCE", help="stream URL or file path")
    parser.add_argument("--policy", default="cn-live-commerce-2026", metavar="NAME|FILE[,...]",
                        help="policies to judge the stream under "
                             f"({', '.join(available_policies())}); default %(default)s")
    add_date_and_role(parser)
    parser.add_argument("--rate", type=float, default=WatchOptions.rate, metavar="PER_SECOND",
                        help="frames sampled per second of stream (default %(default)g)")
    parser.add_argument("--grace", type=float, default=WatchOptions.grace_s, metavar="SECONDS",
                        help="how long the label may be absent before label_missing; also the "
                             "longest gap the continuous-label policies allow (default "
                             "%(default)g)")
    parser.add_argument("--max-duration", type=float, metavar="SECONDS",
                        help="stop after this long (wall clock); default: until the source ends")
    parser.add_argument("--stall", type=float, default=WatchOptions.stall_s, metavar="SECONDS",
                        help="no new frame for this long is a stall: reconnect (a file: it "
                             "stopped growing, the watch ends); default %(default)g")
    parser.add_argument("--give-up", type=float, default=WatchOptions.give_up_s,
                        metavar="SECONDS", help="end the watch when nothing could be watched "
                                                "for this long (default %(default)g)")
    parser.add_argument("--format", choices=sorted(EVENT_WRITERS),
                        help="events as text or JSON lines (default: text on a terminal, "
                             "jsonl otherwise)")
    parser.add_argument("--out", metavar="FILE", help="write the events here (default stdout)")
    parser.add_argument("--evidence", metavar="DIR",
                        help="folder for the event pictures and report.json (default: a new "
                             "labelcheck-watch-<time> folder here)")
    parser.add_argument("--no-evidence", action="store_true",
                        help="write no pictures and no report.json")
    parser.add_argument("--report", metavar="FILE",
                        help="also write the report here, in the format of its extension "
                             f"({', '.join(sorted(REPORT_FORMATS))})")
    parser.add_argument("--progress", type=float, default=WatchOptions.progress_s,
                        metavar="SECONDS", help="a progress event this often (0: none; default "
                                                "%(default)g)")
    parser.add_argument("--allow", metavar="HOSTS",
                        help="only reach these hosts and networks (comma-separated: names, "
                             "*.domain, *, IP networks); every connection is checked, redirects "
                             "and playlist entries included; HTTP(S) sources only")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="an FFmpeg option for opening the source (repeatable), e.g. "
                             "live_start_index=0")
    parser.add_argument("--fail-on", metavar="VERDICT[,VERDICT]", type=verdicts_argument,
                        default=frozenset(), help="exit 1 if the verdict is one of these")
    parser.set_defaults(run=run_watch)
    return parser


def watch_options(args) -> WatchOptions:
    """The `WatchOptions` of the command line; raises `SourceError` with the reason."""
    ffmpeg = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SourceError(f"--option {item!r} is not KEY=VALUE")
        ffmpeg[key.strip()] = value
    try:
        allow = NetworkRules.allow_list(args.allow) if args.allow is not None else None
    except ValueError as exc:
        raise SourceError(f"--allow: {exc}") from None
    source_kind(args.source)  # refuses a scheme FFmpeg is not allowed to read
    return WatchOptions(rate=args.rate, grace_s=args.grace, stall_s=args.stall,
                        give_up_s=args.give_up, max_duration_s=args.max_duration or None,
                        progress_s=args.progress or None, allow=allow, ffmpeg=ffmpeg)


def run_watch(args) -> int:
    from labelcheck.live.evidence import EvidenceFolder
    from labelcheck.live.watch import Watch

    try:
        policy = load_policies(args.policy)
        options = watch_options(args)
    except (PolicyError, SourceError) as exc:
        print(f"labelcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        stream = open(args.out, "w", encoding="utf-8", errors="backslashreplace") \
            if args.out else sys.stdout
        evidence = None if args.no_evidence else EvidenceFolder(args.evidence or _new_folder())
    except OSError as exc:
        print(f"labelcheck: cannot write {exc.filename or args.out}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_USAGE
    if evidence is not None and not args.evidence:
        print(f"labelcheck: evidence and report in {evidence.folder}", file=sys.stderr)
    fmt = args.format or ("text" if stream.isatty() else "jsonl")
    writer = EVENT_WRITERS[fmt](stream)
    settings = Settings(as_of=args.as_of, role=args.role)
    watch = Watch(args.source, options, policy, settings, writer.write, evidence)
    try:
        with _stopped_by_signals(watch):
            report = watch.run()
        _write_report(report, fmt, stream, evidence, args.report)
    except OSError as exc:
        print(f"labelcheck: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if stream is not sys.stdout:
            with contextlib.suppress(OSError):
                stream.close()
    if report.verdict is Verdict.ERROR and not report.timeline:
        return EXIT_USAGE
    return EXIT_MATCHED if report.verdict in args.fail_on else EXIT_OK


def _new_folder() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(f"labelcheck-watch-{stamp}")


@contextlib.contextmanager
def _stopped_by_signals(watch: Watch):
    """Ctrl-C and SIGTERM end the watch with its report, instead of killing it."""
    reasons = {signal.SIGINT: "stopped (Ctrl-C)", signal.SIGTERM: "stopped (SIGTERM)"}
    previous = {number: signal.signal(number, lambda number, _frame: watch.stop(
        reasons[number])) for number in reasons}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _write_report(report: Report, fmt: str, stream, evidence: EvidenceFolder | None,
                  path: str | None) -> None:
    """The report after the events, in the evidence folder, and in `path`."""
    data = report.to_dict()
    if fmt == "jsonl":
        stream.write(json.dumps({"event": "report", "report": data}, ensure_ascii=False) + "\n")
    else:
        text = WRITERS["text"](stream)
        stream.write("\n")
        text.write(report)
    stream.flush()
    if evidence is not None:
        evidence.write_report(data)
    if path:
        kind = REPORT_FORMATS.get(os.path.splitext(path)[1].lower(), "json")
        with open(path, "w", encoding="utf-8", errors="backslashreplace", newline="") as out:
            writer = WRITERS[kind](out)
            writer.write(report)
            writer.close()
