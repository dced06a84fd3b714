"""The labelcheck web app: upload files, read the evidence, audit a campaign, keep the registry.

`create_app` builds a Flask app over the same scanner as the CLI: pages (`webapp.pages`) and a
JSON API under ``/api/v1`` (`webapp.api`, described by ``webapp/openapi.json``). Scans run in a
worker pool tracked in the database (`webapp.jobs`). Configuration comes from, in order, the
defaults below, ``LABELCHECK_*`` environment variables (``LABELCHECK_API_TOKEN`` sets
``API_TOKEN``...), and the `config` mapping.

Everything taken from a file (names, metadata, manifests) is attacker-controlled: templates
autoescape it, and a strict Content-Security-Policy (scripts and styles from this site's static
files only, no inline code) keeps any string that slipped through from running.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
from pathlib import Path

import jinja2
from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from platformdirs import user_data_dir
from werkzeug.exceptions import HTTPException

from labelcheck.version import __version__

from labelcheck.core.model import VERDICT_TEXT
from labelcheck.core.settings import VIDEO_SAMPLING, Display, Limits, NetworkRules, Settings
from labelcheck.run import store
from labelcheck.writers import view
from labelcheck.writers.pack import load_private_key
from labelcheck.cli.trust import warn_stale
from labelcheck.sources.c2pa.trust import trust_setup
from webapp.extensions import Services, csrf, limiter
from webapp.jobs import JobService, Retention
from webapp.watch_jobs import WatchLimits, WatchService
from webapp.uploads import Refusal, ZipLimits

PREVIEW_SIDE = 1600  # longer side of the picture the report page shows

DEFAULTS = {
    "DB": None,  # SQLAlchemy URL; default: the results store's (LABELCHECK_DB or user data)
    "UPLOAD_DIR": None,  # default: "uploads" in the user data directory
    "API_TOKEN": None,  # Bearer token for registry writes; unset: writes are refused
    "SCAN_TOKEN": None,  # Bearer token for scan uploads; unset: anyone may upload
    "SECRET_KEY": None,  # signs sessions and CSRF tokens; default: random at each start
    "SCAN_WORKERS": 0,  # worker processes; 0: one per core (plus one kept for small files)
    "TIMEOUT": Limits.timeout_s,  # seconds one file's scan may take; 0: no limit
    "MAX_MEMORY": Limits.memory_mb,  # MB one file's scan may add to its worker; 0: no limit
    "PIXELS": True,  # pixel analysis (visible labels, watermarks); False = --no-ocr
    "TRUST": "official",  # C2PA signers trusted: official (bundled lists), anchors, none
    "VIDEO_SAMPLING": "standard",  # how closely videos are looked at: fast, standard, thorough
    "TRUST_ANCHORS": None,  # PEM or LoTE JSON file of C2PA trust anchors (added, or the only
    # ones with TRUST=anchors)
    "KEEP_UPLOADS": False,  # keep the uploaded bytes after the report is made
    "KEEP_HOURS": 24,  # hours a job's reports and pictures are kept
    "PACK_KEY": None,  # Ed25519 private key (PEM file) that signs evidence packs; unset: unsigned
    "CRAWL_ALLOW": None,  # sites the web page audit may fetch (hosts, CIDRs); unset: switched off
    "CRAWL_MAX_PAGES": 20,  # pages one web page audit reads at most
    "CRAWL_DELAY": 1.0,  # seconds between two requests to one host
    "MAX_CONTENT_LENGTH": 256 * 2**20,  # whole request, bytes
    "MAX_FILES": 100,  # files in one upload
    "ZIP_MAX_ENTRIES": 1000,
    "ZIP_MAX_BYTES": 2 * 2**30,  # uncompressed total of a campaign zip
    "ZIP_MAX_RATIO": 100,  # uncompressed / compressed, per entry over 1 MiB
    "WATCH_ALLOW": None,  # hosts and networks live streams may be watched from; unset: off
    "WATCH_MAX": 4,  # watches running at once
    "WATCH_MAX_HOURS": 12,  # a watch stops by itself after this long
    "SUBMIT_RATE_LIMIT": "60 per minute",  # scans, campaigns, registry writes, per client
    "RATELIMIT_DEFAULT": "600 per minute",  # every other route, per client
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                           "img-src 'self'; connect-src 'self'; form-action 'self'; "
                           "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

def create_app(config: dict | None = None) -> Flask:
    """A configured app with its worker pool started and unfinished jobs queued again."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("LABELCHECK")
    app.config.update(config or {})
    # Environment values arrive JSON-parsed (a numeric token becomes an int): keys are text.
    app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"] or secrets.token_hex(32))
    for key in ("API_TOKEN", "SCAN_TOKEN"):
        if app.config[key] is not None:
            app.config[key] = str(app.config[key])
    csrf.init_app(app)
    limiter.init_app(app)

    if app.config["PACK_KEY"]:  # a key that cannot sign stops the start, not a download
        load_private_key(app.config["PACK_KEY"])
    state = _start_services(app.config)
    app.extensions["labelcheck"] = state
    atexit.register(state.jobs.shutdown)  # the scans under way finish; queued ones wait
    atexit.register(state.watches.shutdown)  # each watch ends with its report

    from webapp.api import api
    from webapp.pages import pages
    from webapp.watches import watch_api, watch_pages

    csrf.exempt(api)  # the API takes no cookies: tokens, not sessions, authorise its writes
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_blueprint(watch_pages)
    app.register_blueprint(watch_api)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(Refusal, _refusal)
    # The web app's templates first, then the shared ones (labelcheck/writers/templates/):
    # the report's badges, pictures, requirement lists and audit table are made by the same
    # macros as the CLI's HTML report.
    app.jinja_loader = jinja2.ChoiceLoader([app.jinja_loader, view.loader()])
    view.install(app.jinja_env)
    app.jinja_env.globals["version"] = __version__
    app.jinja_env.filters["mebibytes"] = mebibytes
    app.jinja_env.globals["VERDICT_TEXT"] = {verdict.value: text
                                             for verdict, text in VERDICT_TEXT.items()}
    return app


def _start_services(config) -> Services:
    db_url = config["DB"] or store.default_url()
    upload_dir = config["UPLOAD_DIR"] or os.path.join(
        user_data_dir("labelcheck", appauthor=False), "uploads")
    os.makedirs(upload_dir, mode=0o700, exist_ok=True)
    limits = Limits(float(config["TIMEOUT"]) or None, int(config["MAX_MEMORY"]) or None)
    # a file that cannot be used stops the start; a list past its next update is named
    warn_stale(trust_setup(str(config["TRUST"]), config["TRUST_ANCHORS"]).lists)
    settings = Settings(pixels=bool(config["PIXELS"]), trust=str(config["TRUST"]),
                        trust_anchors=config["TRUST_ANCHORS"],
                        db_url=db_url, limits=limits, max_pixels=limits.max_pixels(),
                        display=Display(side=PREVIEW_SIDE, thumbnail=240, frames=8,
                                        manifest_store=True),
                        network=crawl_rules(config),
                        video_sampling=video_sampling(config))
    retention = Retention(bool(config["KEEP_UPLOADS"]), float(config["KEEP_HOURS"]))
    jobs = JobService(db_url, upload_dir, int(config["SCAN_WORKERS"]) or os.cpu_count() or 1,
                      settings, retention)
    jobs.recover()
    watches = WatchService(jobs.engine, os.path.join(upload_dir, "watches"), WatchLimits(
        _allow_list(config, "WATCH_ALLOW"), int(config["WATCH_MAX"]),
        float(config["WATCH_MAX_HOURS"]), limits.memory_mb, retention.keep_hours))
    watches.recover()
    openapi = json.loads((Path(__file__).parent / "openapi.json").read_text(encoding="utf-8"))
    openapi["info"]["version"] = __version__
    return Services(jobs=jobs, watches=watches, db_url=db_url, upload_dir=upload_dir,
                    openapi=openapi, zip_limits=ZipLimits(int(config["ZIP_MAX_ENTRIES"]),
                                         int(config["ZIP_MAX_BYTES"]),
                                         int(config["ZIP_MAX_RATIO"])))


def video_sampling(config) -> str:
    """The operator's ``VIDEO_SAMPLING``; a value that is not one stops the start, named."""
    mode = str(config["VIDEO_SAMPLING"])
    if mode not in VIDEO_SAMPLING:
        raise ValueError(f"VIDEO_SAMPLING must be one of {', '.join(VIDEO_SAMPLING)}, "
                         f"not {mode!r}")
    return mode


def crawl_rules(config) -> NetworkRules:
    """What a web page audit may fetch: the operator's ``CRAWL_ALLOW`` list; nothing without
    it. Fetching a URL a visitor typed is server-side request forgery by design: see README,
    Security."""
    return _allow_list(config, "CRAWL_ALLOW") or NetworkRules(hosts=(), networks=())


def _allow_list(config, key: str) -> NetworkRules | None:
    """The operator's allow-list under `key` (``CRAWL_ALLOW``, ``WATCH_ALLOW``: host names,
    ``*.domain``, ``*`` for any name at a public address, IP networks for addresses that would
    otherwise be refused as private; a string of comma- or space-separated entries or a list);
    None when it is unset or empty. An entry that is neither a host nor a network stops the
    start, named."""
    value = config[key]
    if value is None or not (value.strip() if isinstance(value, str) else value):
        return None
    try:
        return NetworkRules.allow_list(value if isinstance(value, str) else map(str, value))
    except ValueError as exc:
        raise ValueError(f"LABELCHECK_{key}: {exc}") from None


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # A job's pages and pictures show someone's upload: no shared cache may keep them.
    if request.path.startswith(PRIVATE_PATHS) and not response.cache_control.private:
        response.headers["Cache-Control"] = "private, no-cache"
    return response


PRIVATE_PATHS = ("/jobs/", "/api/v1/jobs/", "/watches/", "/api/v1/watches/")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == \
        "application/json"


def error_response(status: int, message: str, hint: str = ""):
    """The same error for both audiences: JSON under /api, a page elsewhere; `hint` says
    what to do about it."""
    if wants_json():
        response = jsonify(error={"status": status, "message": message,
                                  **({"hint": hint} if hint else {})})
    else:
        response = make_response(render_template("error.html", status=status,
                                                 message=message, hint=hint))
    response.status_code = status
    return response


ERROR_MESSAGES = {
    404: "Nothing here: the link may be wrong, or the item was removed.",
    405: "This address does not accept that kind of request.",
    413: "The upload is too large.",
    429: "Too many requests from your address. Wait a little and try again.",
}


def _http_error(exc: HTTPException):
    """Werkzeug's own errors (unknown address, wrong method, too large, rate limit) in plain
    words; the views' own refusals are `Refusal`s."""
    message = ERROR_MESSAGES.get(exc.code, exc.description)
    if exc.code == 413:
        from flask import current_app

        message += f" The limit is {mebibytes(current_app.config['MAX_CONTENT_LENGTH'])}."
    elif exc.code == 429:
        message += f" (Limit: {exc.description}.)"
    return error_response(exc.code or 500, message)


def mebibytes(size: int) -> str:
    """A size limit for people: ``256 MiB``, ``0.1907 MiB``."""
    return f"{size / 2**20:,.4g} MiB"


def _csrf_error(exc: CSRFError):
    return error_response(400, "This form has expired or did not come from this site "
                               f"({exc.description}). Reload the page and try again.")


def _refusal(exc: Refusal):
    response = error_response(exc.status, str(exc), exc.hint)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="labelcheck"'
    return response
