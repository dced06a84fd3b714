"""`scan`: one file in, one `Report` out. Every shell (CLI, batch, web) calls this.

The scanner reads the file once and runs the sources in two stages (`labelcheck.sources.base`):
the layer detectors, each on its own, then the cross-checks, which receive what the layers
found. A video's frames are decoded in one sampling pass before the detectors that read them,
shared by all (`labelcheck.sources.video_frames`); its label timeline is the report's
`timeline`. The findings go to the policy. A damaged file still gets every finding the sources
could make before the damage; its verdict is `error` with the reason. A layer that could not be
read is named in the summary, whatever the verdict.
"""

from __future__ import annotations

import os
import time
from typing import Iterable

from labelcheck.version import __version__
from labelcheck.formats.media import Media
from labelcheck.core.model import Finding, Kind, MediaError, Report, Verdict
from labelcheck.core.policy import Policy, decide
from labelcheck.sources import LayerResults, Source, active_sources, read_frames
from labelcheck.core.settings import Settings

ALL_LAYERS = "metadata, C2PA, AIGC label, watermarks, visible labels"
METADATA_LAYERS = "metadata, C2PA, AIGC label"


def scan(target: str | os.PathLike | bytes | Media, policy: str | Policy = "default", *,
         pixels: bool = True, trust_anchors: str | None = None, name: str | None = None,
         settings: Settings | None = None, sources: Iterable[str] | None = None,
         layers: LayerResults | None = None) -> Report:
    """Scan a file path, raw bytes or a `Media` already opened, and return its `Report`.

    `policy` is a bundled policy name, a policy file path or a `Policy`. `pixels=False`
    skips pixel analysis (the CLI's ``--no-ocr``). `name` labels bytes input in the report.
    `sources` names the sources to run (default: all; see `labelcheck.sources`). `layers`,
    when given, is filled with what the stages produced, the video's sampling pass included
    (registering an original reads its frames' fingerprints from there).
    """
    started = time.perf_counter()
    policy = policy if isinstance(policy, Policy) else Policy.load(policy)
    settings = settings or Settings(pixels=pixels, trust_anchors=trust_anchors)
    is_bytes = isinstance(target, (bytes, bytearray, memoryview))
    path = name or ("<bytes>" if is_bytes else target.path if isinstance(target, Media)
                    else os.fspath(target))
    report = Report(path=path, policy=policy.name, labelcheck_version=__version__)
    layers = layers if layers is not None else LayerResults()
    try:
        media = _media(target, path, settings)
        _describe(report, media)
        report.error = _collect(media, settings, active_sources(sources), layers)
        report.timeline = layers.frames.timeline if layers.frames else None
    except MediaError as exc:
        report.error = str(exc)
    _conclude(report, layers.findings, policy, settings.pixels)
    report.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return report


def failed_report(path: str, policy: Policy, reason: str, *, sha256: str | None = None,
                  size: int | None = None) -> Report:
    """The `error` report of a file whose scan never finished (a batch worker that ran out of
    time or memory, or died): the same shape as any other report, with the reason."""
    report = Report(path=path, sha256=sha256, size=size, policy=policy.name,
                    labelcheck_version=__version__, error=reason)
    _conclude(report, [], policy)
    return report


def _conclude(report: Report, findings: list[Finding], policy: Policy,
              pixels: bool = True) -> None:
    """Verdict, requirements and summary of `report` from its findings."""
    decision = decide(findings, policy, report.media_kind)
    report.findings = findings
    report.verdict = Verdict.ERROR if report.error else decision.verdict
    report.ai_generated = decision.ai_generated
    report.tampered = decision.tampered
    report.visible_disclosure = decision.visible_disclosure
    report.machine_readable_disclosure = decision.machine_readable_disclosure
    report.requirements = decision.requirements
    report.summary = summarise(report, pixels)


def _media(target, path: str, settings: Settings) -> Media:
    if isinstance(target, Media):
        return target
    if isinstance(target, (bytes, bytearray, memoryview)):
        return Media(bytes(target), path, settings.max_pixels)
    return Media.open(target, settings.max_pixels, name=path)


def _describe(report: Report, media: Media) -> None:
    report.sha256 = media.sha256
    report.media_type = media.media_type
    report.media_kind = media.media_kind
    report.size = media.size


def _collect(media: Media, settings: Settings, sources: list[Source],
             layers: LayerResults) -> str | None:
    """Run the two stages into `layers`; keep what was found even when the media turns out
    damaged, and return the damage (None when the file read well)."""
    claimed = media.extension_mismatch
    if claimed:
        layers.findings.append(Finding(
            "media", Kind.INFO, "media.mislabelled",
            f"named like a {claimed.upper()} file but the content is {media.format.upper()}; "
            f"read as {media.format.upper()}", location="file signature"))
    applicable = [source for source in sources if source.applies(media, settings)]
    error = None
    if media.media_kind == "video" and any(source.reads_frames for source in applicable):
        try:
            layers.frames = read_frames(media, labels=any(
                source.reads_frames and not source.cross_check for source in applicable))
        except MediaError as exc:
            error = str(exc)
    for source in applicable:  # layer detectors first: `Source.known` puts cross-checks last
        try:
            layers.findings.extend(source.run(media, settings, layers))
        except MediaError as exc:
            layers.findings.extend(exc.findings)
            error = error or str(exc)
        layers.ran.add(source.name)
    return media.damage or error


def summarise(report: Report, pixels: bool = True) -> str:
    """One plain sentence a person can read: the verdict and the evidence behind it, and the
    layers that could not be read."""
    if report.verdict is Verdict.ERROR:
        return f"Could not read the file: {report.error}."
    unread = [f"Not read: {f.message}." for f in report.findings if "layer_unread" in f.details]
    return " ".join([_verdict_sentence(report, pixels, bool(unread))] + unread)


def _verdict_sentence(report: Report, pixels: bool, unread: bool) -> str:
    ranked = sorted((f for f in report.findings if f.is_ai_evidence),
                    key=lambda f: (f.kind is not Kind.AI_DECLARATION, -f.confidence, f.message))
    evidence = list(dict.fromkeys(f.message for f in ranked))
    if report.verdict is Verdict.NO_AI_SIGNAL:
        layers = ("the layers that could be read" if unread else
                  f"the layers labelcheck reads ({ALL_LAYERS})" if pixels else
                  f"the metadata layers ({METADATA_LAYERS}; pixels were not analysed)")
        return f"No AI signal found in {layers}. This is not proof that a person made it."
    first = evidence[0] if evidence else ""
    more = f" and {len(evidence) - 1} more" if len(evidence) > 1 else ""
    ai = f"AI-made: {first}{more}."
    if report.verdict is Verdict.DISCLOSED:
        return f"{ai} Disclosed as the {report.policy} policy requires."
    missing = "; ".join(f"{r.id}: {r.missing}" for r in report.requirements if not r.satisfied)
    if report.verdict is Verdict.STRIPPED:
        return f"{ai} A required disclosure was removed or broken ({missing})."
    return f"{ai} Not disclosed as the {report.policy} policy requires ({missing})."
