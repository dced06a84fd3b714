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
from dataclasses import replace
from typing import Iterable

from labelcheck.version import __version__
from labelcheck.formats.media import Media
from labelcheck.core.model import (Finding, Kind, MediaError, PixelsUnavailable, RegimeVerdict,
                                   Report, RequirementResult, Status, Verdict)
from labelcheck.core.names import display_name
from labelcheck.core.plain import plain
from labelcheck.core.policy import (Policy, Regimes, broken_words, decide, load_policies,
                                    policies_of, strictest_maximum)
from labelcheck.sources import LayerResults, Source, active_sources
from labelcheck.core.settings import Settings

ALL_LAYERS = "metadata, C2PA, AIGC label, watermarks, visible labels"
METADATA_LAYERS = "metadata, C2PA, AIGC label"
PIXELS_UNCHECKED = ("media.pixels_not_decoded", "media.pixels_undecodable")
# most severe first: a file scanned under several policies gets the worst of their verdicts
SEVERITY = (Verdict.ERROR, Verdict.STRIPPED, Verdict.UNDISCLOSED, Verdict.DISCLOSED,
            Verdict.NO_AI_SIGNAL)


def scan(target: str | os.PathLike | bytes | Media, policy: str | Policy | Regimes = "default",
         *, pixels: bool = True, trust_anchors: str | None = None, name: str | None = None,
         settings: Settings | None = None, sha256: str | None = None,
         sources: Iterable[str] | None = None, layers: LayerResults | None = None) -> Report:
    """Scan a file path, raw bytes or a `Media` already opened, and return its `Report`.

    `policy` is a bundled policy name, a policy file path, several of them comma-separated
    (``"eu-ai-act,cn-gb45438"``: one scan, one verdict per regime), or a `Policy`/`Regimes`.
    `pixels=False` skips pixel analysis (the CLI's ``--no-ocr``). The report's `path` is
    `name`, a display string used as given (an upload's name, a URL), else the display form of
    the path (`labelcheck.core.names.display_name`). `sha256` is the content hash when the
    caller already computed it (``--resume``). With `settings.display` the report carries the
    `Evidence` people look at, made here from the scanned bytes. `sources` names the sources to
    run (default: all; see `labelcheck.sources`). `layers`, when given, is filled with what the
    stages produced, the video's sampling pass included (registering an original reads its
    frames' fingerprints from there).
    """
    started = time.perf_counter()
    policy = load_policies(policy) if isinstance(policy, str) else policy
    settings = settings or Settings(pixels=pixels, trust_anchors=trust_anchors)
    is_bytes = isinstance(target, (bytes, bytearray, memoryview))
    path = name or ("<bytes>" if is_bytes else display_name(
        target.path if isinstance(target, Media) else target))
    report = Report(path=path, policy=policy.name, labelcheck_version=__version__)
    layers = layers if layers is not None else LayerResults()
    media = None
    try:
        media = _media(target, path, settings, sha256)
        running = active_sources(sources, settings.pixels)
        media.expect(marker for source in running for marker in source.markers)
        _describe(report, media)
        report.error = _collect(media, settings, running, layers,
                                strictest_maximum(policy, "longest_gap_s"))
        report.timeline = layers.frames.timeline if layers.frames else None
    except MediaError as exc:
        report.error = str(exc)
    if report.error:
        report.error = plain(report.error)
    conclude(report, layers.findings, policy, settings)
    if settings.display and media is not None:
        report.evidence = _evidence(media, report, settings)
    report.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return report


def _evidence(media: Media, report: Report, settings: Settings):
    """The display hook: pictures and the C2PA tree for people (`labelcheck.writers.evidence`)."""
    from labelcheck.writers.evidence import gather

    return gather(media, report, settings)


def failed_report(path: str, policy: Policy | Regimes, reason: str, *,
                  sha256: str | None = None, size: int | None = None) -> Report:
    """The `error` report of a file whose scan never finished (a batch worker that ran out of
    time or memory, or died): the same shape as any other report, with the reason. `path` is
    a display string (`labelcheck.core.names.display_name`)."""
    report = Report(path=path, sha256=sha256, size=size, policy=policy.name,
                    labelcheck_version=__version__, error=plain(reason))
    conclude(report, [], policy, Settings())
    return report


def conclude(report: Report, findings: list[Finding], policy: Policy | Regimes,
              settings: Settings) -> None:
    """Verdict, requirements and summary of `report` from its findings, under each policy
    (a file's scan, and a watched stream's report, `labelcheck.live`)."""
    report.findings = findings
    for regime in policies_of(policy):
        decision = decide(findings, regime, report.media_kind, settings.as_of, settings.role)
        verdict = Verdict.ERROR if report.error else decision.verdict
        report.ai_generated = decision.ai_generated
        report.tampered = decision.tampered
        report.visible_disclosure = decision.visible_disclosure
        report.machine_readable_disclosure = decision.machine_readable_disclosure
        report.verdicts.append(RegimeVerdict(regime.name, verdict, summarise(
            report, verdict, regime.name, decision.requirements, settings.pixels),
            decision.requirements))
    if len(report.verdicts) == 1:
        only = report.verdicts.pop()
        report.verdict, report.summary, report.requirements = \
            only.verdict, only.summary, only.requirements
        return
    report.verdict = min((regime.verdict for regime in report.verdicts), key=SEVERITY.index)
    report.requirements = [replace(result, id=f"{regime.policy}:{result.id}")
                           for regime in report.verdicts for result in regime.requirements]
    report.summary = " ".join(f"{regime.policy}: {regime.verdict.value}. {regime.summary}"
                              for regime in report.verdicts)


def _media(target, path: str, settings: Settings, sha256: str | None) -> Media:
    if isinstance(target, Media):
        return target
    if isinstance(target, (bytes, bytearray, memoryview)):
        return Media(bytes(target), path, settings.max_pixels, sha256=sha256)
    return Media.open(target, settings.max_pixels, name=path, sha256=sha256)


def _describe(report: Report, media: Media) -> None:
    report.sha256 = media.sha256
    report.media_type = media.media_type
    report.media_kind = media.media_kind
    report.size = media.size


def _collect(media: Media, settings: Settings, sources: list[Source],
             layers: LayerResults, rule_gap_s: float | None = None) -> str | None:
    """Run the two stages into `layers`; keep what was found even when the media turns out
    damaged, and return the damage (None when the file read well). A video's frames are
    sampled as closely as `settings.video_sampling` and the policies' strictest "never
    absent for more than" rule (`rule_gap_s`) ask."""
    claimed = media.extension_mismatch
    if claimed:
        layers.findings.append(Finding(
            "media", Kind.INFO, "media.mislabelled",
            f"named like a {claimed.upper()} file but the content is {media.format.upper()}; "
            f"read as {media.format.upper()}", location="file signature"))
    applicable = [source for source in sources if source.applies(media, settings)]
    error = None
    if media.media_kind == "video" and any(source.reads_frames for source in applicable):
        from labelcheck.sources.video_frames import read_frames  # PyAV: pixel scans only

        try:
            layers.frames = read_frames(media, labels=any(
                source.reads_frames and not source.cross_check for source in applicable),
                sampling=settings.video_sampling, rule_gap_s=rule_gap_s)
        except PixelsUnavailable as exc:  # no frame decodes: the rest of the file still counts
            media.pixels_problem = exc
        except MediaError as exc:
            error = str(exc)
    for source in applicable:  # layer detectors first: `Source.known` puts cross-checks last
        try:
            layers.findings.extend(source.run(media, settings, layers))
        except MediaError as exc:
            layers.findings.extend(exc.findings)
            error = error or str(exc)
        layers.ran.add(source.name)
    if media.pixels_problem is not None:
        layers.findings.append(_pixels_finding(media.pixels_problem))
    return media.damage or error


def _pixels_finding(problem: PixelsUnavailable) -> Finding:
    """The one finding that says a picture's pixels were not checked, and why. The verdict
    stays what the rest of the file shows, as it is with ``--no-ocr``: a pixel decoding
    failure costs the pixel evidence, not the file's metadata."""
    unchecked = "visible labels, watermarks and other pixel evidence were not checked"
    details = {"reason": str(problem)}
    if problem.by_design:
        return Finding("media", Kind.INFO, "media.pixels_not_decoded",
                       f"{problem}; {unchecked}", location="pixels", details=details)
    return Finding("media", Kind.PROBLEM, "media.pixels_undecodable",
                   f"the pixels could not be decoded ({problem}); {unchecked}",
                   location="pixels", details=details)


def summarise(report: Report, verdict: Verdict, policy: str,
              requirements: list[RequirementResult], pixels: bool = True) -> str:
    """One plain sentence a person can read: the verdict under `policy` and the evidence
    behind it, and the layers that could not be read."""
    if verdict is Verdict.ERROR:
        return f"Could not read the file: {report.error}."
    unread = [f"Not read: {f.message}." for f in report.findings if "layer_unread" in f.details]
    sentence = _verdict_sentence(report, verdict, policy, requirements, pixels, bool(unread))
    return " ".join([sentence] + unread)


def _verdict_sentence(report: Report, verdict: Verdict, policy: str,
                      requirements: list[RequirementResult], pixels: bool, unread: bool) -> str:
    ranked = sorted((f for f in report.findings if f.is_ai_evidence),
                    key=lambda f: (f.kind is not Kind.AI_DECLARATION, -f.confidence, f.message))
    evidence = list(dict.fromkeys(f.message for f in ranked))
    if verdict is Verdict.NO_AI_SIGNAL:
        unchecked = next((f for f in report.findings if f.code in PIXELS_UNCHECKED), None)
        if unchecked:
            return ("No AI signal found in the file's metadata (C2PA, XMP/IPTC, EXIF, AIGC "
                    f"label); its pixels were not checked ({unchecked.details['reason']}). "
                    "This is not proof that a person made it.")
        layers = ("the layers that could be read" if unread else
                  f"the layers labelcheck reads ({ALL_LAYERS})" if pixels else
                  f"the metadata layers ({METADATA_LAYERS}; pixels were not analysed)")
        return f"No AI signal found in {layers}. This is not proof that a person made it."
    first = evidence[0] if evidence else ""
    more = f" and {len(evidence) - 1} more" if len(evidence) > 1 else ""
    ai = f"AI-made: {first}{more}."
    manual = [r.id for r in requirements if r.status is Status.MANUAL_CHECK]
    to_check = f" A person must check: {', '.join(manual)}." if manual else ""
    if verdict is Verdict.DISCLOSED:
        if requirements and all(r.status is Status.NOT_IN_FORCE for r in requirements):
            return f"{ai} No requirement of {policy} was in force on the date applied."
        if not any(r.binding for r in requirements):
            return f"{ai} No requirement of {policy} can be checked from the file.{to_check}"
        return f"{ai} Disclosed as the {policy} policy requires.{to_check}"
    if verdict is Verdict.STRIPPED:
        how = _how_lost(report)
        missing = _not_met(requirements, set(how))
        shown = "; ".join(how[:2]) + (f" (and {len(how) - 2} more)" if len(how) > 2 else "")
        rest = f" Also not met: {missing}." if missing else ""
        return f"{ai} A required disclosure was removed or broken: {shown}.{rest}{to_check}"
    missing = _not_met(requirements)
    return f"{ai} Not disclosed as the {policy} policy requires: {missing}.{to_check}"


def _not_met(requirements: list[RequirementResult], said: set[str] = frozenset()) -> str:
    """The requirements not met and why, in words, leaving out the reasons in `said`: the
    reasons alone when only one requirement binds, else each requirement named."""
    binding = [r for r in requirements if r.binding]
    parts = []
    for result in (r for r in binding if r.status is Status.NOT_MET):
        reasons = [reason for reason in result.missing.split("; ") if reason not in said]
        if reasons:
            name = "" if len(binding) == 1 else f"{result.id.replace('_', ' ')}: "
            parts.append(name + "; ".join(reasons))
    return "; ".join(parts)


def _how_lost(report: Report) -> list[str]:
    """What shows that a disclosure was removed or broken: the removal evidence (a cropped or
    covered badge, stripped metadata) and the disclosures that no longer count (a C2PA
    declaration changed after signing, a label cut by the picture's edge)."""
    return list(dict.fromkeys(
        [f.message for f in report.findings if f.kind is Kind.REMOVAL]
        + [broken_words(f) for f in report.findings if f.is_disclosure and not f.intact]))
