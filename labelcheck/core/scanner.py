"""`scan`: one file in, one `Report` out. Every shell (CLI, batch, web) calls this.

The scanner reads the file once, lets every applicable source look at it, and hands the
findings to the policy. A damaged file still gets every finding the sources could make before
the damage; its verdict is `error` with the reason.
"""

from __future__ import annotations

import os
import time

from labelcheck.version import __version__
from labelcheck.formats.media import Media
from labelcheck.core.model import Finding, Kind, MediaError, PixelsUnavailable, Report, Verdict
from labelcheck.core.plain import plain
from labelcheck.core.policy import Policy, decide
from labelcheck.sources import active_sources
from labelcheck.core.settings import Settings

PIXELS_UNCHECKED = ("media.pixels_not_decoded", "media.pixels_undecodable")


def scan(target: str | os.PathLike | bytes | Media, policy: str | Policy = "default", *,
         pixels: bool = True, trust_anchors: str | None = None, name: str | None = None,
         settings: Settings | None = None) -> Report:
    """Scan a file path, raw bytes or a `Media` already opened, and return its `Report`.

    `policy` is a bundled policy name, a policy file path or a `Policy`. `pixels=False`
    skips pixel analysis (the CLI's ``--no-ocr``). `name` labels bytes input in the report.
    """
    started = time.perf_counter()
    policy = policy if isinstance(policy, Policy) else Policy.load(policy)
    settings = settings or Settings(pixels=pixels, trust_anchors=trust_anchors)
    is_bytes = isinstance(target, (bytes, bytearray, memoryview))
    path = name or ("<bytes>" if is_bytes else target.path if isinstance(target, Media)
                    else os.fspath(target))
    report = Report(path=path, policy=policy.name, labelcheck_version=__version__)
    findings: list[Finding] = []
    try:
        media = _media(target, path, settings)
        _describe(report, media)
        findings, report.error = _collect(media, settings)
        report.timeline = media.timeline
    except MediaError as exc:
        report.error = str(exc)
    if report.error:
        report.error = plain(report.error)
    _conclude(report, findings, policy)
    report.elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return report


def failed_report(path: str, policy: Policy, reason: str, *, sha256: str | None = None,
                  size: int | None = None) -> Report:
    """The `error` report of a file whose scan never finished (a batch worker that ran out of
    time or memory, or died): the same shape as any other report, with the reason."""
    report = Report(path=path, sha256=sha256, size=size, policy=policy.name,
                    labelcheck_version=__version__, error=plain(reason))
    _conclude(report, [], policy)
    return report


def _conclude(report: Report, findings: list[Finding], policy: Policy) -> None:
    """Verdict, requirements and summary of `report` from its findings."""
    decision = decide(findings, policy, report.media_kind)
    report.findings = findings
    report.verdict = Verdict.ERROR if report.error else decision.verdict
    report.ai_generated = decision.ai_generated
    report.tampered = decision.tampered
    report.visible_disclosure = decision.visible_disclosure
    report.machine_readable_disclosure = decision.machine_readable_disclosure
    report.requirements = decision.requirements
    report.summary = summarise(report)


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


def _collect(media: Media, settings: Settings) -> tuple[list[Finding], str | None]:
    """Run every source; keep what they found even when the media turns out damaged."""
    findings: list[Finding] = []
    error = None
    claimed = media.extension_mismatch
    if claimed:
        findings.append(Finding("media", Kind.INFO, "media.mislabelled",
                                f"named like a {claimed.upper()} file but the content is "
                                f"{media.format.upper()}; read as {media.format.upper()}",
                                location="file signature"))
    for source in active_sources():
        try:
            findings.extend(source.run(media, settings))
        except MediaError as exc:
            findings.extend(exc.findings)
            error = error or str(exc)
    if media.pixels_problem is not None:
        findings.append(_pixels_finding(media.pixels_problem))
    return findings, media.damage or error


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


def summarise(report: Report) -> str:
    """One plain sentence a person can read: the verdict and the evidence behind it."""
    if report.verdict is Verdict.ERROR:
        return f"Could not read the file: {report.error}."
    ranked = sorted((f for f in report.findings if f.is_ai_evidence),
                    key=lambda f: (f.kind is not Kind.AI_DECLARATION, -f.confidence, f.message))
    evidence = list(dict.fromkeys(f.message for f in ranked))
    if report.verdict is Verdict.NO_AI_SIGNAL:
        unchecked = next((f for f in report.findings if f.code in PIXELS_UNCHECKED), None)
        if unchecked:
            return ("No AI signal found in the file's metadata (C2PA, XMP/IPTC, EXIF, AIGC "
                    f"label); its pixels were not checked ({unchecked.details['reason']}). "
                    "This is not proof that a person made it.")
        return ("No AI signal found in the layers labelcheck reads (metadata, C2PA, AIGC label, "
                "watermarks, visible labels). This is not proof that a person made it.")
    first = evidence[0] if evidence else ""
    more = f" and {len(evidence) - 1} more" if len(evidence) > 1 else ""
    ai = f"AI-made: {first}{more}."
    if report.verdict is Verdict.DISCLOSED:
        return f"{ai} Disclosed as the {report.policy} policy requires."
    missing = "; ".join(f"{r.id}: {r.missing}" for r in report.requirements if not r.satisfied)
    if report.verdict is Verdict.STRIPPED:
        return f"{ai} A required disclosure was removed or broken ({missing})."
    return f"{ai} Not disclosed as the {report.policy} policy requires ({missing})."
