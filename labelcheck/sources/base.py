"""The one small interface every evidence source implements.

A source declares a few attributes and one method, `find`, that yields `Finding`s for a
`Media`. The base class owns the rest: registration, deciding whether the source applies,
and turning a crash inside a source into a visible `problem` finding so that one broken
detector never costs the file its other evidence.

Adding a source means adding one module to ``labelcheck/sources`` with one subclass; the
verdict code never changes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar, Iterable

from labelcheck.core.model import Finding, Kind, MediaError, PixelsUnavailable
from labelcheck.core.plain import plain
from labelcheck.core.settings import Settings

if TYPE_CHECKING:
    from labelcheck.formats.media import Media

log = logging.getLogger(__name__)

METADATA = "metadata"
PIXELS = "pixels"


class Source:
    """Base class of evidence sources.

    Subclasses set `name` (the ``detector`` of their findings), `tier` (``metadata`` sources
    read bytes; ``pixels`` sources decode the picture and are skipped by ``--no-ocr``),
    `media_kinds` and `order`, and implement `find`.
    """

    name: ClassVar[str] = ""
    tier: ClassVar[str] = METADATA
    media_kinds: ClassVar[frozenset[str]] = frozenset({"image", "video", "document"})
    order: ClassVar[int] = 100

    known: ClassVar[list[type["Source"]]] = []  # every subclass with a name, in order

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            Source.known.append(cls)
            Source.known.sort(key=lambda source: source.order)

    def applies(self, media: "Media", settings: Settings) -> bool:
        """Whether this source has anything to look at in `media` under `settings`."""
        if self.tier == PIXELS and not settings.pixels:
            return False
        return media.media_kind in self.media_kinds

    def find(self, media: "Media", settings: Settings) -> Iterable[Finding]:
        """Yield the evidence this source sees in `media`."""
        raise NotImplementedError

    def run(self, media: "Media", settings: Settings) -> list[Finding]:
        """Collect `find`'s findings; a failure becomes a `problem` finding, not a crash.

        `MediaError` (damaged media) propagates, carrying what this source found before the
        damage: the scanner turns it into the `error` verdict and keeps every finding.
        `PixelsUnavailable` only ends this source: the file is still read by the others.
        """
        if not self.applies(media, settings):
            return []
        found: list[Finding] = []
        try:
            found.extend(self.find(media, settings))
            return found
        except PixelsUnavailable as exc:  # said once for the file by the scanner
            media.pixels_problem = media.pixels_problem or exc
            return found
        except MediaError as exc:
            exc.findings = found + exc.findings
            raise
        except Exception as exc:  # noqa: BLE001 - a detector bug must not lose the file
            log.exception("detector %s failed on %s", self.name, media.path)
            return [self.finding(Kind.PROBLEM, f"{self.name}.failed",
                                 f"{self.name} detector could not finish: "
                                 f"{type(exc).__name__}: {plain(str(exc))}",
                                 confidence=1.0)]

    def finding(self, kind: Kind, code: str, message: str, **fields) -> Finding:
        """A `Finding` with this source's name as its detector."""
        return Finding(detector=self.name, kind=kind, code=code, message=message, **fields)
