"""One settings object, made by each shell (CLI, web app, API) and passed down.

Everything that changes what a scan does or where its results go travels here: the scan
options (pixel analysis, trust anchors, the decompression-bomb limit), the database of the
results store and the registry, and the per-file limits. Nothing below the
shells reads environment variables: a shell reads its flags and its environment once and
builds a `Settings`, so ``registry add --db X`` and the scan it runs use the same database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Limits:
    """Per-file limits of a guarded pool: wall seconds of one scan, and how many MB one scan
    may add to its worker's resident memory. None switches a limit off."""

    timeout_s: float | None = 120.0
    memory_mb: int | None = 2048


@dataclass(frozen=True)
class Settings:
    """What a scan needs besides the file and the policy.

    `pixels=False` is the CLI's ``--no-ocr``. `db_url` is the SQLAlchemy URL of the results
    store and the registry (None: the SQLite file in the user data directory). `as_of` is the
    date whose rules the policies apply (None: today; the CLI's ``--as-of``); `role` limits
    them to the requirements that bind one role (``provider``, ``deployer``...; None: all).
    """

    pixels: bool = True
    trust_anchors: str | None = None  # PEM file of C2PA trust anchors
    max_pixels: int = 120_000_000
    db_url: str | None = None
    limits: Limits = field(default_factory=Limits)
    as_of: dt.date | None = None
    role: str | None = None

