"""One settings object, made by each shell (CLI, web app, API) and passed down.

Everything that changes what a scan does or where its results go travels here: the scan
options (pixel analysis, C2PA trust, the decompression-bomb limit), the database of the
results store and the registry, and the per-file limits. Nothing below the
shells reads environment variables: a shell reads its flags and its environment once and
builds a `Settings`, so ``registry add --db X`` and the scan it runs use the same database.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from labelcheck.core.network import NetworkRules

MAX_PIXELS = 120_000_000  # the decompression-bomb limit of a picture, when memory allows it
BYTES_PER_PIXEL = 14  # what a scan with pixel analysis adds per pixel (13.2 measured at 120 MP)
REGISTRY_TABLE = "registry_assets"  # one row per registered original (registry/tables.py)
VIDEO_SAMPLING = ("fast", "standard", "thorough")  # see `labelcheck.vision.video.sampling_gap`


def default_url() -> str:
    """``sqlite:///<user data dir>/labelcheck.db``: the database when a shell names none."""
    from platformdirs import user_data_dir

    folder = user_data_dir("labelcheck", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    return f"sqlite:///{os.path.join(folder, 'labelcheck.db')}"


def may_hold_originals(db_url: str | None) -> bool:
    """Whether the database at `db_url` (default `default_url`) may hold registered
    originals. A SQLite file answers with the standard library's sqlite3, so that a scan on a
    machine without a registry imports no SQLAlchemy, nor the registry under it (0.4 s): False
    when the file does not exist or its `REGISTRY_TABLE` is missing or empty. A file it cannot
    read this way, and every other database, may hold some: the registry itself will tell."""
    url = db_url or default_url()
    if not url.startswith("sqlite:"):
        return True
    path = url.partition(":///")[2].partition("?")[0]
    if not path or path == ":memory:" or not os.path.exists(path):
        return False
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro",
                                                uri=True, timeout=30)) as database:
            tables = database.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                      "name = ?", (REGISTRY_TABLE,)).fetchone()
            return tables is not None and database.execute(
                f"SELECT 1 FROM {REGISTRY_TABLE} LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return True


@dataclass(frozen=True)
class Limits:
    """Per-file limits of a guarded pool: wall seconds of one scan, how many MB one scan may
    add to its worker's resident memory (None switches either off), and how many MB the scan
    of a URL downloads at most (to a file, never into memory)."""

    timeout_s: float | None = 120.0
    memory_mb: int | None = 2048
    download_mb: int = 2048  # the largest file a scan of a URL downloads

    def max_pixels(self) -> int:
        """The largest picture a scan may decode under `memory_mb`: the limit of pixels and
        the limit of memory must agree, so that a picture under the first is refused for its
        size at once, before it costs its worker, instead of being killed half decoded."""
        if not self.memory_mb:
            return MAX_PIXELS
        return min(MAX_PIXELS, self.memory_mb * 2**20 // BYTES_PER_PIXEL)


@dataclass(frozen=True)
class Display:
    """Display evidence a scan makes next to its report (`labelcheck.core.model.Evidence`):
    the picture scaled to `side` px (its longer side), the same as a `thumbnail` px one when
    asked, up to `frames` of a video's timeline frames, and with `manifest_store` the C2PA
    manifest store as read (crJSON, for an evidence pack). Made in the scan worker, from the
    scanned bytes, under its limits."""

    side: int = 240
    thumbnail: int | None = None
    frames: int = 0
    manifest_store: bool = False


@dataclass(frozen=True)
class Settings:
    """What a scan needs besides the file and the policy.

    `pixels=False` is the CLI's ``--no-ocr``. `trust` says which C2PA signers count as
    trusted: ``official`` (default: the bundled C2PA Trust List and TSA Trust List, plus
    `trust_anchors` if given), ``anchors`` (only `trust_anchors`: a PEM or C2PA LoTE JSON file)
    or ``none`` (trust not checked); see `labelcheck.sources.c2pa.trust`. `db_url` is the
    SQLAlchemy URL of the results store and the registry (None: the SQLite file in the user
    data directory). `as_of` is the date whose rules the policies apply (None: today; the
    CLI's ``--as-of``); `role` limits them to the requirements that bind one role
    (``provider``, ``deployer``...; None: all).
    Shells set `max_pixels` from their limits (`Limits.max_pixels`). `display` asks each scan
    for the pictures and the C2PA tree that people look at (the HTML report, the web page).
    `network` says which addresses the scan of a URL may fetch
    (`labelcheck.core.network.NetworkRules`). `video_sampling` says how closely a video's
    frames are looked at: ``standard`` (keyframes first, samples as close as the policies'
    "never absent for more than" rule needs), ``fast`` or ``thorough`` (every 0.8 s); see
    `labelcheck.vision.video.sampling_gap`.
    """

    pixels: bool = True
    trust: str = "official"
    trust_anchors: str | None = None  # PEM or LoTE JSON file of C2PA trust anchors
    max_pixels: int = MAX_PIXELS
    db_url: str | None = None
    limits: Limits = field(default_factory=Limits)
    as_of: dt.date | None = None
    role: str | None = None
    display: Display | None = None
    network: NetworkRules = field(default_factory=NetworkRules)
    video_sampling: str = "standard"  # one of VIDEO_SAMPLING
    # Detector failures on stderr (`labelcheck.run.logs`): None leaves logging to the caller
    # (a library, the web server); False one line each; True with the traceback (--debug).
    debug: bool | None = None

