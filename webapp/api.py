"""The JSON API for platforms, under ``/api/v1``; ``webapp/openapi.json`` describes it.

Submitting a scan or a campaign answers 202 with the job's id and links at once; the client
polls ``GET /api/v1/jobs/{id}`` until its status is ``done`` (or ``error``). Registry writes
need ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file, url_for

from labelcheck.writers import WRITERS
from webapp import service
from webapp.extensions import limiter, services
from webapp.pages import submit_limit

api = Blueprint("api", __name__, url_prefix="/api/v1")


@api.get("/openapi.json")
def openapi():
    return jsonify(services().openapi)


@api.get("/policies")
def policies():
    return jsonify(policies=service.policy_choices())


@api.post("/scans")
@limiter.limit(submit_limit)
def submit_scan():
    service.check_scan_token(service.bearer_token() or request.form.get("token"))
    job_id = service.submit_files(request.files.getlist("files"),
                                  service.chosen_policy(request.form.getlist("policy")))
    return _accepted(job_id)


@api.post("/campaigns")
@limiter.limit(submit_limit)
def submit_campaign():
    service.check_scan_token(service.bearer_token() or request.form.get("token"))
    job_id = service.submit_campaign(request.files.get("archive"),
                                     service.chosen_policy(request.form.getlist("policy")))
    return _accepted(job_id)


@api.post("/crawls")
@limiter.limit(submit_limit)
def submit_crawl():
    service.check_scan_token(service.bearer_token() or request.form.get("token"))
    job_id = service.submit_crawl(request.form.get("url"), request.form.get("depth"),
                                  request.form.get("same_site", "") in ("1", "true", "on"),
                                  service.chosen_policy(request.form.getlist("policy")))
    return _accepted(job_id)


@api.post("/copy-checks")
@limiter.limit(submit_limit)
def submit_copy_check():
    """A performer's check of one ad: scanned like any upload; its answer is at the job's
    ``copy-check`` link and its page at ``links.page``."""
    service.check_scan_token(service.bearer_token() or request.form.get("token"))
    job_id = service.submit_copy_check(request.files.getlist("files"))
    return _accepted(job_id, page=url_for("pages.copy", job_id=job_id),
                     copy_check=url_for(".copy_check", job_id=job_id))


@api.get("/jobs/<job_id>")
def job(job_id: str):
    return jsonify(_job_json(service.job_or_404(job_id)))


@api.get("/jobs/<job_id>/copy-check")
def copy_check(job_id: str):
    """Each file of a job as a performer's answer: which registered originals it copies and
    what became of each of their disclosures (`labelcheck.registry.copies`)."""
    job = service.job_or_404(job_id)
    items = []
    for item in job["items"]:
        check = service.copy_check(job_id, item["position"])
        items.append({"position": item["position"], "name": item["name"],
                      "status": item["status"], "verdict": item["verdict"],
                      "answer": check["answer"],
                      "copies": [_copy_json(copy) for copy in check["copies"]]})
    return jsonify(id=job_id, status=job["status"], items=items)


def _copy_json(copy) -> dict:
    preview = url_for("pages.registry_preview", asset_id=copy.asset_id)
    return {**copy.to_dict(), "links": {"original_preview": preview}}


@api.get("/jobs/<job_id>/report/<fmt>")
def report(job_id: str, fmt: str):
    body, mime, filename = service.report_download(job_id, fmt)
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@api.get("/jobs/<job_id>/evidence-pack")
def evidence_pack(job_id: str):
    stream, filename = service.evidence_pack(job_id)
    return send_file(stream, mimetype="application/zip", as_attachment=True,
                     download_name=filename)


@api.get("/registry")
def registry_list():
    return jsonify(assets=service.asset_views())


@api.post("/registry")
@limiter.limit(submit_limit)
def registry_add():
    service.check_token(service.bearer_token())
    asset = service.register(request.files.get("original"), request.form.get("owner"),
                             request.form.get("note"),
                             declared_ai=_true(request.form.get("ai_made")))
    return jsonify(asset=service.asset_view(asset)), 201


def _true(value: str | None) -> bool:
    """A form field's yes: ``true``, ``yes``, ``1`` or ``on`` (any case)."""
    return (value or "").strip().lower() in ("true", "yes", "1", "on")


@api.get("/registry/<int:asset_id>")
def registry_get(asset_id: int):
    return jsonify(asset=service.asset_view(service.asset_or_404(asset_id)))


@api.delete("/registry/<int:asset_id>")
@limiter.limit(submit_limit)
def registry_remove(asset_id: int):
    service.check_token(service.bearer_token())
    service.unregister(asset_id)
    return "", 204


def _accepted(job_id: str, **links):
    """202 with the job and its links (`links` adds to them or replaces them)."""
    data = _job_json(service.job_or_404(job_id))
    data["links"].update(links)
    response = jsonify(data)
    response.status_code = 202
    response.headers["Location"] = url_for(".job", job_id=job_id)
    return response


def _job_json(job: dict) -> dict:
    job_id = job["id"]
    return {
        "id": job_id, "kind": job["kind"], "title": job["title"], "policy": job["policy"],
        "created_at": job["created_at"].isoformat(), "status": job["status"],
        "total": job["total"], "finished": job["finished"], "verdicts": job["verdicts"],
        "links": {"self": url_for(".job", job_id=job_id),
                  "page": url_for("pages.job", job_id=job_id),
                  "reports": {fmt: url_for(".report", job_id=job_id, fmt=fmt)
                              for fmt in sorted(WRITERS)},
                  "evidence_pack": url_for(".evidence_pack", job_id=job_id)},
        "items": [{"position": item["position"], "name": item["name"],
                   "status": item["status"], "verdict": item["verdict"],
                   "error": item["error"], "report": item["report"]}
                  for item in job["items"]],
    }
