"""The pages people use: check files, audit a campaign, read a report, check an ad against the
registry (a performer's question), keep the registry.

Forms post with a CSRF token; with JavaScript on, the upload forms send the same fields to
the API instead, to show upload progress. Registry changes need the API token, entered once
per browser session on the registry page.
"""

from __future__ import annotations

import hmac
import io
import json

from flask import (Blueprint, Response, current_app, redirect, render_template, request,
                   send_file, session, url_for)

from labelcheck.core.wording import is_box
from labelcheck.writers import WRITERS, view
from webapp import service
from webapp.extensions import limiter, services
from webapp.uploads import Refusal

pages = Blueprint("pages", __name__)


def submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


@pages.get("/")
def index():
    return render_template("upload.html", policies=service.policy_choices(), active="scan")


@pages.post("/scan")
@limiter.limit(submit_limit)
def scan():
    service.check_scan_token(request.form.get("token"))
    job_id = service.submit_files(request.files.getlist("files"),
                                  service.chosen_policy(request.form.getlist("policy")))
    return redirect(url_for(".job", job_id=job_id), 303)


@pages.get("/campaign")
def campaign():
    return render_template("campaign.html", policies=service.policy_choices(),
                           formats=sorted(WRITERS), active="campaign")


@pages.post("/campaign")
@limiter.limit(submit_limit)
def campaign_submit():
    service.check_scan_token(request.form.get("token"))
    job_id = service.submit_campaign(request.files.get("archive"),
                                     service.chosen_policy(request.form.getlist("policy")))
    return redirect(url_for(".job", job_id=job_id), 303)


@pages.post("/crawl")
@limiter.limit(submit_limit)
def crawl_submit():
    service.check_scan_token(request.form.get("token"))
    job_id = service.submit_crawl(request.form.get("url"), request.form.get("depth"),
                                  bool(request.form.get("same_site")),
                                  service.chosen_policy(request.form.getlist("policy")))
    return redirect(url_for(".job", job_id=job_id), 303)


@pages.get("/jobs/<job_id>")
def job(job_id: str):
    return render_template("job.html", job=service.job_or_404(job_id), formats=sorted(WRITERS))


@pages.get("/jobs/<job_id>/items/<int:position>")
def item(job_id: str, position: int):
    job = service.job_or_404(job_id)
    return render_template("item.html", job=job, item=service.item_or_404(job_id, position))


@pages.get("/jobs/<job_id>/items/<int:position>/preview.jpg")
def preview(job_id: str, position: int):
    return _made_picture(job_id, position, "preview")


@pages.get("/jobs/<job_id>/items/<int:position>/thumbnail.jpg")
def thumbnail(job_id: str, position: int):
    return _made_picture(job_id, position, "thumbnail")


def _made_picture(job_id: str, position: int, role: str):
    """The `role` picture (preview, thumbnail) the worker made of an item, if it made one."""
    item = service.item_or_404(job_id, position)
    if not item["extras"].get(role):
        raise Refusal("this file has no picture to show", 404)
    return _picture(item, role)


@pages.get("/jobs/<job_id>/items/<int:position>/frames/<int:number>.jpg")
def frame(job_id: str, position: int, number: int):
    item = service.item_or_404(job_id, position)
    if not 0 <= number < len(item["extras"].get("frames") or []):
        raise Refusal("this file has no such frame", 404)
    return _picture(item, f"frame-{number}")


def _picture(item: dict, role: str):
    """A picture the scan worker made of an upload (never the upload itself), for this
    browser only: `private`, so no shared cache keeps someone's upload."""
    response = send_file(services().jobs.picture_path(item["stored"], role),
                         mimetype="image/jpeg", max_age=3600)
    response.cache_control.private = True
    response.cache_control.public = False
    return response


@pages.get("/jobs/<job_id>/evidence-pack.zip")
def evidence_pack(job_id: str):
    stream, filename = service.evidence_pack(job_id)
    response = send_file(stream, mimetype="application/zip", as_attachment=True,
                         download_name=filename)
    response.cache_control.private = True
    return response


@pages.get("/assets/<name>")
def shared_asset(name: str):
    """The stylesheet and script shared with the CLI's HTML report (`view.ASSETS`)."""
    if name not in view.ASSETS:
        raise Refusal("Nothing here: the link may be wrong, or the item was removed.", 404)
    mimetype = "text/css" if name.endswith(".css") else "text/javascript"
    response = Response(view.asset_text(name), mimetype=mimetype)
    response.cache_control.max_age = 3600
    return response


@pages.get("/jobs/<job_id>/download/<fmt>")
def download(job_id: str, fmt: str):
    body, mime, filename = service.report_download(job_id, fmt)
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@pages.get("/check")
def check():
    return render_template("check.html", registered=service.registered_count(),
                           active="check")


@pages.post("/check")
@limiter.limit(submit_limit)
def check_submit():
    service.check_scan_token(request.form.get("token"))
    job_id = service.submit_copy_check(request.files.getlist("files"))
    return redirect(url_for(".copy", job_id=job_id), 303)


@pages.get("/jobs/<job_id>/copy")
def copy(job_id: str):
    """A performer's answer about an uploaded ad: which registered original it copies, the
    two pictures side by side with the badge boxed on both, and what else the copy lost."""
    position = request.args.get("position", 1, type=int)
    return render_template("copy.html", **service.copy_check(job_id, position),
                           active="check")


@pages.get("/registry")
def registry():
    return _registry_page()


def _registry_page(refusal: Refusal | None = None):
    """The registry page; after a refused change, the same page with what went wrong and
    what to do, the form still filled in (never a dead end)."""
    page = render_template("registry.html", assets=service.asset_views(),
                           unlocked=_unlocked(),
                           writable=bool(current_app.config["API_TOKEN"]), active="registry",
                           refusal=refusal, form=request.form if refusal else {})
    return page, refusal.status if refusal else 200


@pages.get("/registry/<int:asset_id>/preview.jpg")
def registry_preview(asset_id: int):
    """The registered original as its scan saw it (a JPEG made at registration)."""
    response = send_file(io.BytesIO(service.registry_preview(asset_id)),
                         mimetype="image/jpeg", max_age=300)
    return response


@pages.post("/registry/unlock")
@limiter.limit(submit_limit)
def registry_unlock():
    try:
        service.check_token(request.form.get("token"))
    except Refusal as refusal:
        return _registry_page(refusal)
    session["registry_token"] = _token_mark()
    return redirect(url_for(".registry"), 303)


@pages.post("/registry/lock")
def registry_lock():
    session.pop("registry_token", None)
    return redirect(url_for(".registry"), 303)


@pages.post("/registry")
@limiter.limit(submit_limit)
def registry_add():
    try:
        _require_unlocked()
        asset = service.register(request.files.get("original"), request.form.get("owner"),
                                 request.form.get("note"),
                                 declared_ai=request.form.get("ai_made") == "yes")
    except Refusal as refusal:
        return _registry_page(refusal)
    return redirect(url_for(".registry", added=asset.id), 303)


@pages.get("/registry/<int:asset_id>/remove")
def registry_remove_confirm(asset_id: int):
    """Removing asks first: the original, what it disclosed, and what removing it means."""
    asset = service.asset_view(service.asset_or_404(asset_id))
    return render_template("registry_remove.html", asset=asset, unlocked=_unlocked(),
                           active="registry")


@pages.post("/registry/<int:asset_id>/delete")
@limiter.limit(submit_limit)
def registry_remove(asset_id: int):
    try:
        _require_unlocked()
    except Refusal as refusal:
        return _registry_page(refusal)
    service.unregister(asset_id)
    return redirect(url_for(".registry", removed=asset_id), 303)


@pages.get("/api")
def api_help():
    return render_template("api.html", active="api")


def _token_mark() -> str:
    """What the session keeps: a keyed hash of the token, so that changing the token ends
    every unlocked session and the cookie never holds the token itself."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(),
                    current_app.config["API_TOKEN"].encode(), "sha256").hexdigest()


def _unlocked() -> bool:
    mark = session.get("registry_token")
    return bool(current_app.config["API_TOKEN"] and mark
                and hmac.compare_digest(mark, _token_mark()))


def _require_unlocked() -> None:
    if not _unlocked():
        service.check_token(request.form.get("token"))


# -- template helpers: presentation only (the shared ones: `labelcheck.writers.view`) --------

@pages.app_template_global()
def job_audit(job: dict) -> dict:
    return service.job_audit(job)


@pages.app_template_global()
def finding_extras(finding: dict) -> str:
    """A finding's measurements and details as indented JSON (escaped by the template)."""
    extras = {key: finding[key] for key in ("measurements", "details") if finding.get(key)}
    return json.dumps(extras, indent=1, ensure_ascii=False, default=str)


@pages.app_template_global()
def badge_marks(copy, side: str) -> list[tuple[int, str, list]]:
    """(number, fate, [x, y, w, h]) of each badge of a copied original on one `side`
    (``original`` or ``copy``), numbered alike on both; a badge outside the copy has no box
    there."""
    marks = []
    for number, badge in enumerate(copy.badges, start=1):
        box = badge.original_box if side == "original" else badge.copy_box
        if box:
            marks.append((number, badge.state, box))
    return marks


@pages.app_template_global()
def asset_marks(asset: dict) -> list[tuple[int, str, list]]:
    """(number, "shown", box) of each badge a registered original disclosed, for its
    thumbnail."""
    return [(number, "shown", badge["box"]) for number, badge in
            enumerate(asset["disclosures"].get("visible") or [], start=1)
            if is_box(badge.get("box"))]


@pages.app_template_global()
def svg_points(outline) -> str:
    """A polygon's points for SVG (``x,y x,y ...``); empty when there is none."""
    return " ".join(f"{x:g},{y:g}" for x, y in outline or [])
