"""What the pages and the API both do: take uploads, check tokens, reach jobs and the registry.

Views stay thin: they read the request, call one of these, and render or serialise the result.
Every refusal is a `Refusal` with a status and a message for a person.
"""

from __future__ import annotations

import hmac
import io
import os
import shutil
import tempfile
from functools import cache

from flask import current_app, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from labelcheck.core.names import display_name
from labelcheck.core.policy import Policy, available_policies, load_policies, policies_of
from labelcheck.core.wording import channel_words
from labelcheck.registry import Asset, NotAiMade, Registry, RegistryError
from labelcheck.registry.copies import answer, copies_of
from labelcheck.run.crawl import CrawlOptions
from labelcheck.run.fetch import FetchError, check_url
from labelcheck.writers import WRITERS, audit
from labelcheck.writers.base import WriterOptions
from labelcheck.writers.pack import PackError, PackWriter
from webapp import jobs as job_module
from webapp.extensions import services
from webapp.uploads import Refusal, extract_zip, new_name, remove, save_media

MAX_URL = 2000  # characters of a web page's address
MAX_DEPTH = 2  # links a web page audit follows at most

DOWNLOAD_TYPES = {"json": ("application/json", "json"), "jsonl": ("application/x-ndjson", "jsonl"),
                  "csv": ("text/csv", "csv"), "text": ("text/plain", "txt"),
                  "html": ("text/html", "html")}


# -- policies ---------------------------------------------------------------------------------

@cache
def policy_choices() -> list[dict]:
    """The bundled policies (name, title, description) for the policy selector. Only these
    names are accepted from a request: a policy can also be a file path, never from a user."""
    return [{"name": name, "title": Policy.load(name).title,
             "description": Policy.load(name).description} for name in available_policies()]


def chosen_policy(values: list[str]) -> str:
    """The policies a request chose (form checkboxes, or one comma-separated field), as one
    comma-separated name: a job is judged under each (README, Policies)."""
    names = list(dict.fromkeys(name.strip() for value in values for name in value.split(",")
                               if name.strip())) or ["default"]
    for name in names:
        if name not in available_policies():
            raise Refusal(f"unknown policy {name!r}; choose one of "
                          f"{', '.join(available_policies())}")
    return ",".join(names)


# -- scans ------------------------------------------------------------------------------------

def submit_files(files: list[FileStorage], policy: str) -> str:
    """Store uploaded media files and queue them as one job; returns the job id. The names
    the uploader gave are display strings (`display_name`), never opened."""
    files = [item for item in files if item and item.filename]
    if not files:
        raise Refusal("choose at least one image or video to check")
    limit = current_app.config["MAX_FILES"]
    if len(files) > limit:
        raise Refusal(f"{len(files)} files in one upload, over the limit of {limit}; send a "
                      "zip as a campaign instead", 413)
    folder = services().upload_dir
    stored: list[tuple[str, str]] = []
    try:
        for upload in files:
            name = display_name(upload.filename)
            stored.append((name, save_media(upload.stream, name, folder)))
    except Refusal:
        remove(folder, [name for _, name in stored])
        raise
    title = stored[0][0] if len(files) == 1 else f"{len(files)} files"
    return services().jobs.submit("files", title, policy, stored)


def submit_campaign(archive: FileStorage | None, policy: str) -> str:
    """Extract a campaign zip (guarded) and queue its files as one job."""
    if archive is None or not archive.filename:
        raise Refusal("choose a zip file of the campaign's creatives")
    folder = services().upload_dir
    files = extract_zip(archive.stream, folder, services().zip_limits)
    return services().jobs.submit("campaign", display_name(archive.filename), policy,
                                  [(display_name(name), stored) for name, stored in files])


def submit_crawl(url: str | None, depth: str | None, same_site: bool, policy: str) -> str:
    """Queue the audit of a web page (README, Web app): switched off unless the operator
    listed the sites it may fetch (``CRAWL_ALLOW``)."""
    config = current_app.config
    if not config["CRAWL_ALLOW"]:
        raise Refusal("auditing web pages is switched off on this server: its operator has not "
                      "listed the sites it may fetch (LABELCHECK_CRAWL_ALLOW)", 403)
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise Refusal("give the address of a web page (http:// or https://)")
    try:
        check_url(url)
        levels = int(depth or 0)
    except FetchError as exc:
        raise Refusal(str(exc)) from None
    except ValueError:
        raise Refusal("the depth is a number of links: 0, 1 or 2") from None
    if not 0 <= levels <= MAX_DEPTH:
        raise Refusal(f"the depth is a number of links from 0 to {MAX_DEPTH}")
    options = CrawlOptions(depth=levels, same_site=same_site,
                           max_pages=int(config["CRAWL_MAX_PAGES"]),
                           delay=float(config["CRAWL_DELAY"]),
                           network=services().jobs.settings.network)
    return services().jobs.submit_crawl(url, policy, options)


def job_or_404(job_id: str) -> dict:
    job = services().jobs.job(job_id)
    if job is None:
        raise Refusal("no such job: the link may be wrong or the job was removed", 404)
    return job


def item_or_404(job_id: str, position: int) -> dict:
    item = services().jobs.item(job_id, position)
    if item is None:
        raise Refusal("no such file in this job", 404)
    return item


def report_download(job_id: str, fmt: str) -> tuple[str, str, str]:
    """The job's reports in one of the CLI's formats: (body, MIME type, file name)."""
    job = job_or_404(job_id)
    if fmt not in WRITERS:
        raise Refusal(f"unknown format {fmt!r}; formats are {', '.join(sorted(WRITERS))}", 404)
    buffer = io.StringIO()
    writer = WRITERS[fmt](buffer, writer_options(job))
    for report in services().jobs.reports(job_id):
        writer.write(report)
    writer.close()
    mime, extension = DOWNLOAD_TYPES.get(fmt, ("application/octet-stream", fmt))
    return buffer.getvalue(), mime, f"labelcheck-{job_id}.{extension}"


def evidence_pack(job_id: str):
    """The job's evidence pack (`labelcheck.writers.pack`) as an open zip file (deleted once
    closed) and its download name; signed with the operator's key (``PACK_KEY``) when one
    is set."""
    job = job_or_404(job_id)
    if job["status"] not in ("done", "error"):
        raise Refusal("the evidence pack is made once every file is checked; try again when "
                      "the job is done", 409)
    folder = tempfile.mkdtemp(prefix="labelcheck-pack-")
    path = os.path.join(folder, "pack.zip")
    try:
        writer = PackWriter(path, policies_of(load_policies(job["policy"])),
                            current_app.config["PACK_KEY"], writer_options(job))
        for item in job["items"]:
            if item["report"]:
                writer.write(services().jobs.with_evidence(item, full=True), item["position"] - 1)
        writer.close()
        stream = open(path, "rb")
    except PackError as exc:
        raise Refusal(f"the evidence pack could not be made: {exc}", 500) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the open file stays readable until closed
    return stream, f"labelcheck-{job_id}-evidence.zip"


def job_audit(job: dict) -> dict:
    """The audit view of a job: its regimes' columns, a row per finished file (a pending one
    has none yet), and the counts and sentences on top."""
    regimes = audit.regimes_for(list(policies_of(load_policies(job["policy"]))))
    tally = audit.Tally(regimes, "files" if job["kind"] == "files" else "creatives")
    rows = []
    for item in job["items"]:
        row = None
        if item["report"]:
            row = audit.audit_row(item["report"], regimes, item["position"])
            tally.add(row)
        rows.append((item, row))
    width = sum(len(regime.columns) + (len(regimes) > 1) for regime in regimes) + \
        (len(regimes) == 1)
    return {"regimes": regimes, "tally": tally, "rows": rows, "width": width}


def writer_options(job: dict) -> WriterOptions:
    """How a job's reports are written: its policies' columns, in upload order."""
    return WriterOptions(policies_of(load_policies(job["policy"])),
                         noun="files" if job["kind"] == "files" else "creatives")


# -- registry ---------------------------------------------------------------------------------

def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_scan_token(given: str | None) -> None:
    """Scan uploads need the scan token when the operator set one (a server reachable by
    others); without one anybody who can reach the server may upload."""
    expected = current_app.config["SCAN_TOKEN"]
    if not expected:
        return
    if not given:
        raise Refusal("checking files on this server needs its scan token (Authorization: "
                      "Bearer <token>, or the token field of the form)", 401)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refusal("the scan token is not valid", 403)


def check_token(given: str | None) -> None:
    """Registry writes need the configured API token; without one they are switched off."""
    expected = current_app.config["API_TOKEN"]
    if not expected:
        raise Refusal("registry changes are switched off on this server: its operator has not "
                      "set an API token (LABELCHECK_API_TOKEN)", 403,
                      "The registry can still be read; ask the operator to set a token to "
                      "change it.")
    if not given:
        raise Refusal("registry changes need the API token (Authorization: Bearer <token>)",
                      401, "Enter the API token in the form on the registry page to unlock "
                           "changes; the operator of this server has it.")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refusal("the API token is not valid", 403,
                      "Check the token with the operator of this server and enter it again: "
                      "it is case-sensitive, and a new token ends the old one.")


def registry() -> Registry:
    return _registry(services().db_url)


@cache
def _registry(db_url: str) -> Registry:
    return Registry.open(db_url)


NOT_AI_HINT = ("If this original is AI-made, declare it: tick “This original is AI-made” on "
               "the registry page, or send ai_made=true to the API. A camera photo does not "
               "belong in the registry: its copies would be reported AI-made.")
UNREADABLE_HINT = ("Send the original as it was exported (not a screenshot of it, not a "
                   "partly downloaded file).")


def register(upload: FileStorage | None, owner: str | None, note: str | None,
             declared_ai: bool = False) -> Asset:
    """Register an uploaded original (scanned and fingerprinted in a worker process).
    `declared_ai`: the owner says it is AI-made; without it, its scan must find AI evidence
    (`labelcheck.registry.NotAiMade`)."""
    if upload is None or not upload.filename:
        raise Refusal("choose the original picture or video to register", 400,
                      "Choose the file of the original, as published with its AI label.")
    if not owner or not owner.strip():
        raise Refusal("say who owns the original (performer, agency or brand)", 400,
                      "Fill in the owner, then choose the file again.")
    folder = os.path.join(services().upload_dir, new_name())
    os.mkdir(folder, 0o700)
    try:
        name = secure_filename(upload.filename) or "original"
        stored = save_media(upload.stream, display_name(upload.filename), folder)
        path = os.path.join(folder, name)
        os.rename(os.path.join(folder, stored), path)
        asset_id = services().jobs.call(job_module.register_file, services().db_url, path,
                                        owner.strip()[:200], (note or "").strip() or None,
                                        declared_ai)
    except NotAiMade as exc:  # the message may quote our temporary path
        raise Refusal(f"{_unquoted(exc, folder)}. The registry holds AI-made originals only: "
                      "every copy of one is reported AI-made", 422, NOT_AI_HINT) from None
    except (RegistryError, RuntimeError) as exc:
        raise Refusal(_unquoted(exc, folder), 422, UNREADABLE_HINT) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return registry().get(asset_id)


def _unquoted(exc: Exception, folder: str) -> str:
    """An error's message without the temporary folder the upload was registered from."""
    return str(exc).replace(folder + os.sep, "")


def registry_preview(asset_id: int) -> bytes:
    """The JPEG of a registered original made at registration (never the file itself)."""
    preview = registry().preview(asset_id)
    if preview is None:
        raise Refusal("this original has no preview (registered before previews were kept, "
                      "or removed)", 404)
    return preview


def registered_count() -> int:
    signature = registry().signature()
    return int(signature[0]) if signature else 0


# -- a performer's check of an ad -------------------------------------------------------------

def submit_copy_check(files: list[FileStorage]) -> str:
    """Queue one ad for a performer's check (scanned like any upload, under the default
    policy); returns the job id."""
    files = [item for item in files if item and item.filename]
    if len(files) > 1:
        raise Refusal("check one ad at a time", 400,
                      "Choose a single picture or video: the answer compares it with the "
                      "registered original it copies.")
    return submit_files(files, "default")


def copy_check(job_id: str, position: int) -> dict:
    """What a performer asks of an uploaded ad: the job's item, its report, the registered
    originals it copies (`labelcheck.registry.copies`) and the answer in one sentence."""
    job = job_or_404(job_id)
    item = item_or_404(job_id, position)
    report = item["report"] or {}
    copies = copies_of(report) if item["report"] else []
    previews = {copy.asset_id: registry().preview(copy.asset_id) is not None
                for copy in copies}
    return {"job": job, "item": item, "report": item["report"], "copies": copies,
            "previews": previews, "answer": answer(report, copies) if item["report"] else None}


def unregister(asset_id: int) -> None:
    if not registry().remove(asset_id):
        raise Refusal(f"no registered original #{asset_id}", 404)


def asset_or_404(asset_id: int) -> Asset:
    try:
        return registry().get(asset_id)
    except RegistryError as exc:
        raise Refusal(str(exc), 404) from None


def asset_view(asset: Asset, previews: set[int] | None = None) -> dict:
    """An asset for people and the API: its title is the uploaded file's name, not the
    temporary path it was registered from; why it is held as AI-made; its machine-readable
    disclosures in words; whether a preview was kept (`previews`: the ids that have one,
    asked once for a whole list) and where it is."""
    has_preview = asset.id in (registry().with_preview() if previews is None else previews)
    return {**asset.to_dict(), "title": os.path.basename(asset.title),
            "ai_basis": asset.ai_basis,
            "layers": [channel_words(layer) for layer in ("c2pa", "iptc", "aigc")
                       if asset.disclosures.get(layer)],
            "has_preview": has_preview,
            "links": {"preview": url_for("pages.registry_preview", asset_id=asset.id)
                      if has_preview else None}}


def asset_views() -> list[dict]:
    """Every registered original, as `asset_view` shows it."""
    previews = registry().with_preview()
    return [asset_view(asset, previews) for asset in registry().list()]
