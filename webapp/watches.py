"""Pages and API routes of watch jobs: start a watch from a URL, see its timeline grow, stop
it, download its report and evidence (`webapp.watch_jobs` runs them).

API (``/api/v1/watches``): ``POST`` (``url``, ``policy``, ``grace``; form or JSON) answers 202
with the watch; ``GET /{id}`` its state, the timeline so far and the latest events;
``GET /{id}/events?after=N`` the events after the N-th (polling); ``GET /{id}/events/stream``
the same as Server-Sent Events (each with its ``id``, so a client that reconnects with
``Last-Event-ID`` misses nothing; one response lasts at most `STREAM_S`); ``POST /{id}/stop``;
``GET /{id}/report/{format}`` once it ended; ``GET /{id}/evidence.zip``; ``GET
/{id}/evidence/{name}`` one picture. Starting and stopping need the scan token when the server
has one.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile

from flask import (Blueprint, Response, current_app, jsonify, redirect, render_template,
                   request, send_file, url_for)

from labelcheck.core.model import Evidence, Picture, report_from_dict
from labelcheck.live.options import WatchOptions
from labelcheck.writers import WRITERS
from webapp import service
from webapp.extensions import csrf, limiter, services
from webapp.uploads import Refusal
from webapp.watch_jobs import ENDED, EVENTS, REPORT, RUNNING, WatchRefused, WatchService

STREAM_S = 60.0  # one event-stream response; the browser reconnects with Last-Event-ID
STREAM_POLL_S = 0.5
KEEPALIVE_S = 15.0
MAX_STREAMS = 4  # event streams at once (each holds a server thread); more: poll instead
RECENT = 50  # events a watch's state carries

watch_pages = Blueprint("watches", __name__)
watch_api = Blueprint("watch_api", __name__, url_prefix="/api/v1/watches")
csrf.exempt(watch_api)  # tokens, not sessions, authorise the API's writes
_streams = threading.BoundedSemaphore(MAX_STREAMS)


def submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


def watch_service() -> WatchService:
    return services().watches


def _watch_or_404(watch_id: str) -> dict:
    row = watch_service().watch(watch_id)
    if row is None:
        raise Refusal("no such watch: the link may be wrong or the watch was removed", 404)
    return row


def _start(form) -> str:
    service.check_scan_token(service.bearer_token() or form.get("token"))
    policy = service.chosen_policy([form.get("policy") or "cn-live-commerce-2026"])
    try:
        grace = float(form.get("grace") or WatchOptions.grace_s)
    except ValueError:
        raise Refusal("the grace period is a number of seconds") from None
    try:
        return watch_service().start(form.get("url") or "", policy, grace)
    except WatchRefused as exc:
        raise Refusal(str(exc), exc.status) from None


def _stop(watch_id: str, form) -> None:
    service.check_scan_token(service.bearer_token() or form.get("token"))
    row = _watch_or_404(watch_id)
    if row["status"] == RUNNING:
        watch_service().stop(watch_id)


# -- pages ----------------------------------------------------------------------------------

@watch_pages.get("/watch")
def watch_form():
    return render_template("watch_start.html", policies=service.policy_choices(),
                           enabled=watch_service().enabled, active="watch",
                           grace=WatchOptions.grace_s)


@watch_pages.post("/watch")
@limiter.limit(submit_limit)
def watch_start():
    watch_id = _start(request.form)
    return redirect(url_for(".watch_page", watch_id=watch_id), 303)


@watch_pages.get("/watches/<watch_id>")
def watch_page(watch_id: str):
    view = watch_view(_watch_or_404(watch_id))
    return render_template("watch.html", watch=view, formats=sorted(WRITERS), active="watch")


@watch_pages.post("/watches/<watch_id>/stop")
@limiter.limit(submit_limit)
def watch_stop_page(watch_id: str):
    _stop(watch_id, request.form)
    return redirect(url_for(".watch_page", watch_id=watch_id), 303)


# -- API ------------------------------------------------------------------------------------

@watch_api.post("")
@limiter.limit(submit_limit)
def api_start():
    form = request.get_json(silent=True) if request.is_json else request.form
    watch_id = _start(form or {})
    response = jsonify(watch_view(_watch_or_404(watch_id)))
    response.status_code = 202
    response.headers["Location"] = url_for(".api_watch", watch_id=watch_id)
    return response


@watch_api.get("/<watch_id>")
def api_watch(watch_id: str):
    return jsonify(watch_view(_watch_or_404(watch_id)))


@watch_api.get("/<watch_id>/events")
def api_events(watch_id: str):
    row = _watch_or_404(watch_id)
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise Refusal("after is the sequence number of the last event already read")
    events = watch_service().events(watch_id, int(after))
    return jsonify(status=row["status"], events=events,
                   last=events[-1]["seq"] if events else int(after))


@watch_api.get("/<watch_id>/events/stream")
def api_event_stream(watch_id: str):
    row = _watch_or_404(watch_id)
    start = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
    after = int(start) if start.isdigit() else 0
    if not _streams.acquire(blocking=False):
        raise Refusal("too many event streams are open on this server; poll "
                      f"{url_for('.api_events', watch_id=watch_id)} instead", 503)
    watches = watch_service()
    response = Response(_event_stream(watches, watch_id, after, row["status"] == RUNNING),
                        mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy must pass events on at once
    return response


@watch_api.post("/<watch_id>/stop")
@limiter.limit(submit_limit)
def api_stop(watch_id: str):
    _stop(watch_id, request.form)
    response = jsonify(watch_view(_watch_or_404(watch_id)))
    response.status_code = 202
    return response


# -- what pages and API share: downloads (one view, an address in each) -----------------------

def _event_stream(watches: WatchService, watch_id: str, after: int, running: bool):
    """Server-Sent Events: each new event as it is written, a keep-alive comment now and then,
    for at most `STREAM_S`; ends early once the watch ended and its events were sent."""
    try:
        yield "retry: 2000\n\n"
        started = last_sent = time.monotonic()
        while time.monotonic() - started < STREAM_S:
            for event in watches.events(watch_id, after):
                after = event["seq"]
                last_sent = time.monotonic()
                yield (f"id: {after}\nevent: {event['event']}\n"
                       f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
            row = watches.watch(watch_id)
            if row is None or row["status"] == ENDED or not running:
                yield "event: closed\ndata: {}\n\n"
                return
            if time.monotonic() - last_sent > KEEPALIVE_S:
                last_sent = time.monotonic()
                yield ": still watching\n\n"
            time.sleep(STREAM_POLL_S)
    finally:
        _streams.release()


def picture(watch_id: str, name: str):
    """One evidence picture of a watch, named by an event."""
    _watch_or_404(watch_id)
    path = watch_service().picture(watch_id, name)
    if path is None:
        raise Refusal("this watch has no such picture", 404)
    response = send_file(path, mimetype="image/jpeg", max_age=3600)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


def _ended_report(watch_id: str):
    row = _watch_or_404(watch_id)
    data = watch_service().report(watch_id)
    if data is None:
        raise Refusal("this watch has no report yet: it is written when the watch ends"
                      if row["status"] == RUNNING else "this watch ended without a report "
                      f"({row['reason']})", 409 if row["status"] == RUNNING else 404)
    return data


def report(watch_id: str, fmt: str):
    """The report of an ended watch in one of the CLI's formats."""
    data = _ended_report(watch_id)
    if fmt not in WRITERS:
        raise Refusal(f"unknown format {fmt!r}; formats are {', '.join(sorted(WRITERS))}", 404)
    report = report_from_dict(data)
    report.evidence = _first_picture(watch_id, data)
    buffer = io.StringIO()
    writer = WRITERS[fmt](buffer)
    writer.write(report)
    writer.close()
    mime, extension = service.DOWNLOAD_TYPES.get(fmt, ("application/octet-stream", fmt))
    return Response(buffer.getvalue(), mimetype=mime, headers={
        "Content-Disposition": f'attachment; filename="labelcheck-watch-{watch_id}.'
                               f'{extension}"'})


def _first_picture(watch_id: str, report: dict) -> Evidence | None:
    """The picture of the first label the watch saw, with its box, for the HTML report."""
    shown = next((event for event in watch_service().events(watch_id)
                  if event["event"] == "label_shown" and event.get("evidence")), None)
    watched = next((f for f in report.get("findings") or []
                    if f.get("code") == "live.watched"), None)
    path = watch_service().picture(watch_id, shown["evidence"]) if shown else None
    if path is None or watched is None:
        return None
    size = tuple(watched.get("details", {}).get("size") or ())
    if len(size) != 2:
        return None
    return Evidence(picture=Picture(path.read_bytes(), size, shown["stream_s"], True,
                                    shown.get("box")))


def evidence(watch_id: str):
    """The events, the report and every picture of a watch, in one zip."""
    _watch_or_404(watch_id)
    folder = watch_service().folder(watch_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in (EVENTS, REPORT):
            if (folder / name).is_file():
                archive.write(folder / name, name)
        for path in watch_service().pictures(watch_id):
            archive.write(path, f"pictures/{path.name}", zipfile.ZIP_STORED)
    buffer.seek(0)
    return send_file(buffer, mimetype="application/zip", as_attachment=True,
                     download_name=f"labelcheck-watch-{watch_id}-evidence.zip")


for _view, _rule in ((picture, "/evidence/<name>"), (report, "/report/<fmt>"),
                     (evidence, "/evidence.zip")):
    watch_pages.add_url_rule(f"/watches/<watch_id>{_rule}", view_func=_view)
    watch_api.add_url_rule(f"/<watch_id>{_rule}", view_func=_view)


def watch_view(row: dict) -> dict:
    """A watch for the page and the API: its state, the timeline so far, the latest events,
    the numbers of the last progress (or of the report, once it ended) and its links."""
    watch_id = row["id"]
    events = watch_service().events(watch_id)
    report = watch_service().report(watch_id) if row["status"] == ENDED else None
    progress = next((e for e in reversed(events) if e["event"] == "progress"), None)
    numbers = _numbers(report, progress, events)
    return {
        "id": watch_id, "source": row["source"], "policy": row["policy"],
        "status": row["status"], "reason": row["reason"], "verdict": row["verdict"],
        "created_at": row["created_at"].isoformat(),
        "ended_at": row["ended_at"].isoformat() if row["ended_at"] else None,
        "grace_s": row["options"].get("grace_s"), **numbers,
        "events": len(events), "recent": events[-RECENT:],
        "bar": timeline_bar(events, report),
        "summary": report.get("summary") if report else None,
        "links": {"self": url_for("watch_api.api_watch", watch_id=watch_id),
                  "page": url_for("watches.watch_page", watch_id=watch_id),
                  "events": url_for("watch_api.api_events", watch_id=watch_id),
                  "stream": url_for("watch_api.api_event_stream", watch_id=watch_id),
                  "stop": url_for("watch_api.api_stop", watch_id=watch_id),
                  "evidence": url_for("watch_api.evidence", watch_id=watch_id),
                  "reports": {fmt: url_for("watch_api.report", watch_id=watch_id, fmt=fmt)
                              for fmt in sorted(WRITERS)}},
    }


def _numbers(report: dict | None, progress: dict | None, events: list[dict]) -> dict:
    """Stream time, coverage and longest gap: the report's when there is one."""
    timeline = (report or {}).get("timeline")
    if timeline:
        label = next((f for f in report.get("findings") or []
                      if f.get("code") == "visible.video_label"), None)
        gap = label["measurements"].get("longest_gap_s") if label else timeline["duration_s"]
        return {"stream_s": timeline["duration_s"], "coverage": timeline["coverage"],
                "longest_gap_s": gap}
    times = [e["stream_s"] for e in events if e.get("stream_s") is not None]
    return {"stream_s": max(times) if times else None,
            "coverage": progress["coverage"] if progress else None,
            "longest_gap_s": progress["longest_gap_s"] if progress else None}


STATES = {"label_shown": "shown", "label_back": "shown", "label_missing": "missing"}


def timeline_bar(events: list[dict], report: dict | None) -> dict:
    """Spans of the stream where the label was shown, missing (past the grace period),
    unwatched, or not known yet: from the report's timeline once the watch ended, from the
    events while it runs."""
    timeline = (report or {}).get("timeline")
    if timeline:
        return _bar_of_timeline(timeline)
    spans: list[dict] = []
    state, since, end = "waiting", None, 0.0

    def close(at: float, as_state: str) -> None:
        if since is not None and at > since:
            spans.append({"start_s": since, "end_s": at, "state": as_state})

    for event in events:
        at = event.get("stream_s")
        if at is None:
            continue
        at = max(at, since or 0.0)
        end = max(end, at + event.get("absent_s", 0.0))  # label_missing: known until now
        if since is None:
            since = at
        if event["event"] == "reconnected":
            lost = max(since, event.get("unwatched_from_s", at))
            close(lost, state)
            spans.append({"start_s": lost, "end_s": at, "state": "unwatched"})
            since = at
        elif event["event"] in STATES:
            close(at, state)
            state, since = STATES[event["event"]], at
    close(end, state)
    return {"duration_s": end, "spans": spans}


def _bar_of_timeline(timeline: dict) -> dict:
    duration = timeline["duration_s"]
    marks = sorted([(i["start_s"], i["end_s"], "shown") for i in timeline["intervals"]]
                   + [(start, end, "unwatched") for start, end in timeline.get("unwatched", [])])
    spans, at = [], 0.0
    for start, end, state in marks:
        if start > at:
            spans.append({"start_s": at, "end_s": start, "state": "missing"})
        if end > max(start, at):
            spans.append({"start_s": max(start, at), "end_s": end, "state": state})
        at = max(at, end)
    if duration > at:
        spans.append({"start_s": at, "end_s": duration, "state": "missing"})
    return {"duration_s": duration, "spans": spans}


