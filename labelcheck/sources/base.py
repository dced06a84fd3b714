"""The small interfaces every evidence source implements, and the two stages of a scan.

A scan runs in two stages (`labelcheck.core.scanner`):

1. **Layer detectors** (`Source`): each looks at one disclosure layer of the media on its own
   (C2PA, XMP/IPTC, EXIF, the AIGC label, a watermark, visible labels) and yields `Finding`s.
   A video's frames are read once, in one sampling pass shared by every source that needs
   them (`reads_frames`); the pass is handed to those sources as `LayerResults.frames`.
2. **Cross-checks** (`CrossCheck`): they run after every layer detector and receive what the
   layers found (`LayerResults`: the findings, which detectors ran, the video's frames), e.g.
   the reference registry, which recognises a registered original and says which of its
   disclosures this copy lost.

A source declares a few attributes and one method: `find(media, settings)` for a detector that
sees only the media; `check(media, settings, layers)` for one that also reads the shared frames
or the other layers' findings. The base class owns the rest: registration, deciding whether the
source applies, and turning a crash inside a source into a visible `problem` finding so that one
broken detector never costs the file its other evidence (and the summary says which layer could
not be read).

Adding a source means adding one module to ``labelcheck/sources`` with one subclass; the
verdict code never changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from labelcheck.core.model import Finding, Kind, MediaError, PixelsUnavailable
from labelcheck.core.plain import plain
from labelcheck.core.settings import Settings

if TYPE_CHECKING:
    from labelcheck.formats.media import Media

log = logging.getLogger(__name__)

METADATA = "metadata"
PIXELS = "pixels"


@dataclass
class LayerResults:
    """What the first stage produced, handed to the sources that read more than the media:
    the findings so far, the names of the detectors that ran (a layer whose detector did not
    run is unknown, not absent), and a video's one sampling pass (`frames`: the shared
    samples, the label timeline; None for other media and with ``--no-ocr``)."""

    findings: list[Finding] = field(default_factory=list)
    ran: set[str] = field(default_factory=set)
    frames: Any = None

    def disclosed(self, channel: str) -> bool:
        """Whether an AI disclosure on `channel` was found (by any source)."""
        return any(f.channel == channel and f.is_disclosure for f in self.findings)


class Source:
    """Base class of evidence sources (layer detectors).

    Subclasses set `name` (the ``detector`` of their findings), `tier` (``metadata`` sources
    read bytes; ``pixels`` sources decode the picture and are skipped by ``--no-ocr``),
    `media_kinds`, `order` and, for a video source that needs its frames, `reads_frames`;
    they implement `find`, or `check` when they need the shared frames.
    """

    name: ClassVar[str] = ""
    tier: ClassVar[str] = METADATA
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image", "video", "document"})
    order: ClassVar[int] = 100
    reads_frames: ClassVar[bool] = False  # needs the video's sampling pass
    cross_check: ClassVar[bool] = False  # runs in the second stage
    # byte strings it searches the whole file for: found in the scan's one read of a large
    # file (`labelcheck.formats.media.FileBytes.expect`)
    markers: ClassVar[tuple[bytes, ...]] = ()

    known: ClassVar[list[type["Source"]]] = []  # every subclass with a name, in order

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            Source.known.append(cls)
            Source.known.sort(key=lambda source: (source.cross_check, source.order))

    def applies(self, media: "Media", settings: Settings) -> bool:
        """Whether this source has anything to look at in `media` under `settings`."""
        if self.tier == PIXELS and not settings.pixels:
            return False
        return media.media_kind in self.media_kinds

    def find(self, media: "Media", settings: Settings) -> Iterable[Finding]:
        """Yield the evidence this source sees in `media`."""
        raise NotImplementedError

    def check(self, media: "Media", settings: Settings,
              layers: LayerResults) -> Iterable[Finding]:
        """Yield the evidence this source sees in `media` and in what the scan has so far
        (`layers`); a plain detector sees only the media."""
        return self.find(media, settings)

    def run(self, media: "Media", settings: Settings,
            layers: LayerResults | None = None) -> list[Finding]:
        """Collect `check`'s findings; a failure becomes a `problem` finding, not a crash.

        `MediaError` (damaged media) propagates, carrying what this source found before the
        damage: the scanner turns it into the `error` verdict and keeps every finding.
        `PixelsUnavailable` only ends this source: the file is still read by the others.
        """
        if not self.applies(media, settings):
            return []
        found: list[Finding] = []
        try:
            found.extend(self.check(media, settings, layers or LayerResults()))
            return found
        except PixelsUnavailable as exc:  # said once for the file by the scanner
            media.pixels_problem = media.pixels_problem or exc
            return found
        except MediaError as exc:
            exc.findings = found + exc.findings
            raise
        except Exception as exc:  # noqa: BLE001 - a detector bug must not lose the file
            log.exception("the %s detector failed on %s; the report says its layer was "
                          "not read", self.name, media.path)
            return found + [self.failed(f"{self.name} detector could not finish: "
                                        f"{type(exc).__name__}: {plain(str(exc))}")]

    def failed(self, message: str) -> Finding:
        """The `problem` finding of a layer this source could not read: the summary names it,
        so a failed detector never passes for a clean layer."""
        return self.finding(Kind.PROBLEM, f"{self.name}.failed", message, confidence=1.0,
                            details={"layer_unread": self.tier})

    def finding(self, kind: Kind, code: str, message: str, **fields) -> Finding:
        """A `Finding` with this source's name as its detector."""
        return Finding(detector=self.name, kind=kind, code=code, message=message, **fields)


class CrossCheck(Source):
    """A second-stage source: it runs after every layer detector and implements `check`, which
    receives their findings and the video's shared frames (`LayerResults`)."""

    cross_check = True
