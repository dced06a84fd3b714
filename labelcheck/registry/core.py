"""`Registry`: one object for the shells and the registry source, over the three parts that do
the work: `Storage` (the rows), `RegistryIndex` (what matching holds in memory, reloaded on
change) and `Matcher` (candidates confirmed, badges mapped, video frames voting). It also
turns a scanned original into what is stored for it (`add`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

import numpy as np
from sqlalchemy.engine import Engine

from labelcheck.core.model import MediaError
from labelcheck.registry.features import extract_features, gray, pdq, video_prints
from labelcheck.registry.index import RegistryIndex, index_entries
from labelcheck.registry.matcher import Match, Matcher, VideoMatch
from labelcheck.registry.references import badge_references, preview_jpeg, thumbnail
from labelcheck.registry.storage import Asset, Original, Storage, disclosures_of
from labelcheck.registry.tables import NotAiMade, RegistryError, connect

ORIGINAL_FEATURES = 1000  # ORB keypoints kept per original


class Registry:
    """Registered originals in a database, and the in-memory indexes to recognise them.

    The indexes load on the first `match` and reload when the assets table changes (another
    process added or removed an original), which `refresh` checks with one cheap query.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.storage = Storage(engine)
        self.index = RegistryIndex(self.storage)
        self.matcher = Matcher(self.index)

    @classmethod
    def open(cls, url: str | None = None) -> "Registry":
        """The registry in the database at `url` (default: the results store's URL)."""
        return cls(connect(url))

    # -- writing -------------------------------------------------------------------------------

    def add(self, media, report, owner: str, note: str | None = None, frames=None,
            declared_ai: bool = False) -> int:
        """Register an original, opened as `media` and scanned into `report` by the caller
        (`labelcheck.registry.enrol.register_file` does both); returns its id (the existing
        id when this owner already registered the same bytes). A video needs `frames`, the
        scan's sampling pass (`labelcheck.sources.video_frames.VideoFrames`).

        Every copy of a registered original is reported AI-made, so the registry takes an
        original only when it is known to be AI-made: its owner declares it (`declared_ai`)
        or its scan found AI evidence (`ai_evidence`; a match with another registered
        original does not count, or one wrong registration would vouch for the next).
        Raises `NotAiMade` for an original with neither, `RegistryError` when the file
        cannot be registered."""
        if not owner or not owner.strip():
            raise RegistryError("an owner is required")
        path = media.path
        evidence = ai_evidence(report)
        if media.media_kind not in ("image", "video"):
            raise RegistryError(f"{path}: only images and videos can be registered "
                                f"(this is a {media.media_kind})")
        if report.error:
            raise RegistryError(f"{path}: {report.error}")
        if not declared_ai and not evidence:
            raise NotAiMade(f"{path}: not registered: labelcheck found no AI evidence in it "
                            "(no AI label, AI metadata, watermark or generator trace) and it "
                            "was not declared AI-made")
        try:
            if media.media_kind == "video":
                rgb, prints = self._video_original(media, report, frames)
            else:
                rgb = media.rgb
                prints = [("full", None, *pdq(rgb)),
                          ("flip", None, *pdq(np.ascontiguousarray(rgb[:, ::-1])))]
        except MediaError as exc:
            raise RegistryError(f"{path}: {exc}") from None
        original = _original(media, report, owner.strip(), note, rgb, prints)
        original.row.update(declared_ai=declared_ai, ai_evidence=evidence)
        return self.storage.add(original)

    @staticmethod
    def _video_original(media, report, frames) -> tuple[np.ndarray, list[tuple]]:
        """A registered video's representative frame (where its label was first seen, else
        its first frame) and the PDQ of every sampled frame of the scan's pass, with its
        time."""
        from labelcheck.vision import video

        if frames is None or not frames.kept or report.timeline is None:
            raise MediaError("its frames were not read (pixel analysis is needed to register "
                             "a video)")
        prints = [("full", time_s, code, 100) for time_s, code in video_prints(
            (kept.time_s, kept.rgb) for kept in frames.kept)]
        seen = [frame["time_s"] for frame in report.timeline["frames"] if frame["label_seen"]]
        frame = video.frame_at(media.source, seen[0] if seen else 0.0)
        return np.asarray(frame.convert("RGB")), prints

    def preview(self, asset_id: int) -> bytes | None:
        """The JPEG of an original made from its scanned pixels at registration."""
        return self.storage.preview(asset_id)

    def with_preview(self) -> set[int]:
        """The ids of the originals whose preview was kept."""
        return self.storage.with_preview()

    def remove(self, asset_id: int) -> bool:
        """Unregister an original; False when there is no such id."""
        return self.storage.remove(asset_id)

    # -- reading -------------------------------------------------------------------------------

    def list(self) -> list[Asset]:
        return self.storage.list()

    def get(self, asset_id: int) -> Asset:
        return self.storage.get(asset_id)

    def signature(self) -> tuple | None:
        """(count, max id) of the assets, or None when the registry tables do not exist."""
        return self.storage.signature()

    def refresh(self) -> bool:
        """Reload the indexes if the assets changed; whether any asset is registered."""
        return self.index.refresh()

    # -- matching ------------------------------------------------------------------------------

    def match(self, rgb: np.ndarray) -> list[Match]:
        """Registered originals that `rgb` (H x W x 3 uint8) is a copy of, best first
        (`Matcher.match`)."""
        return self.matcher.match(rgb) if self.refresh() else []

    def match_video(self, samples: Iterable[tuple[float, np.ndarray]]) -> list[VideoMatch]:
        """Registered original videos that the sampled frames (time, RGB) of a video are a
        copy of (`Matcher.match_video`)."""
        return self.matcher.match_video(samples) if self.refresh() else []

    def pdq_search(self, hashes: np.ndarray) -> list[list[tuple[int, int]]]:
        """The PDQ stage alone: nearest fingerprint ids per query hash (timed by the bench)."""
        return self.index.pdq_search(hashes)


def _original(media, report, owner: str, note: str | None, rgb: np.ndarray,
              prints: list[tuple]) -> Original:
    """What is stored for a scanned original: its row with what the scan found it disclosed,
    its fingerprints, its ORB features (badges masked out, so that two pictures sharing a
    badge never match on it), its crop-finding index entries and its pixel references."""
    disclosures = disclosures_of(report.findings)
    grey = gray(rgb)
    features = extract_features(grey, [badge["box"] for badge in disclosures["visible"]],
                                ORIGINAL_FEATURES)
    codes, points = index_entries(features)
    row = {"owner": owner, "note": note, "title": media.path, "sha256": media.sha256,
           "kind": media.media_kind, "media_type": media.media_type, "width": rgb.shape[1],
           "height": rgb.shape[0], "disclosures": disclosures,
           "added_at": datetime.now(timezone.utc)}
    return Original(row, prints, features, codes, points,
                    [thumbnail(grey)] + badge_references(grey, disclosures["visible"]),
                    preview_jpeg(rgb))


def ai_evidence(report) -> list[str]:
    """The AI evidence a scan of an original found, as its findings' messages, without the
    registry's own matches."""
    return list(dict.fromkeys(f.message for f in report.findings
                              if f.is_ai_evidence and f.detector != "registry"))
