"""What the app's parts share: the CSRF and rate-limit extensions and the per-app services.

They live here, not in `webapp/__init__.py`, so that the blueprints and `service` can use
them without importing the module that imports them (no import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from webapp.jobs import JobService
from webapp.uploads import ZipLimits
from webapp.watch_jobs import WatchService

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


@dataclass
class Services:
    """What the views use, one per app."""

    jobs: JobService
    watches: WatchService
    db_url: str
    upload_dir: str
    zip_limits: ZipLimits
    openapi: dict


def services() -> Services:
    """The current app's services (for views)."""
    return current_app.extensions["labelcheck"]
