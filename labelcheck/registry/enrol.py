"""Registering a file: open it, scan it with the core, and add it with what the scan found.

The registry itself never scans (its matcher is part of the scan), so the scan happens here,
with the registry's own database in the settings: the original's scan reads the same registry
that it is added to. A video's per-frame fingerprints come from the scan's own sampling pass
(`LayerResults.frames`), so registering decodes its frames once; that pass is ``thorough`` (a
frame every 0.8 s), whatever the scans use: a repost trimmed or re-encoded is sampled at other
times than the original, and its frames are matched to the original's nearest ones.
"""

from __future__ import annotations

import os
from dataclasses import replace

from labelcheck.core.model import MediaError
from labelcheck.core.scanner import scan
from labelcheck.core.settings import Settings
from labelcheck.formats.media import Media
from labelcheck.sources import LayerResults
from labelcheck.registry.core import Registry
from labelcheck.registry.tables import RegistryError


def register_file(registry: Registry, path: str | os.PathLike, owner: str,
                  note: str | None = None, settings: Settings | None = None,
                  declared_ai: bool = False) -> int:
    """Scan the file at `path` and register it under `owner`; returns its id. `declared_ai`:
    the owner says it is AI-made (without it, its scan must find AI evidence). Raises
    `RegistryError` with a reason for a person when the file cannot be read, `NotAiMade`
    when it is not known to be AI-made."""
    path = os.fspath(path)
    settings = replace(settings or Settings(), video_sampling="thorough",
                       db_url=registry.engine.url.render_as_string(hide_password=False))
    try:
        media = Media.open(path, settings.max_pixels)
    except MediaError as exc:
        raise RegistryError(f"{path}: {exc}") from None
    layers = LayerResults()
    report = scan(media, settings=settings, layers=layers)
    return registry.add(media, report, owner, note, frames=layers.frames,
                        declared_ai=declared_ai)
