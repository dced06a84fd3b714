"""The one vocabulary of labelcheck: findings, reports and verdicts.

Every evidence source speaks in `Finding`s, the policy turns them into a `Verdict`, and every
shell (CLI, batch, web) prints a `Report`. Nothing else defines these words, so a new source or
a new output format only has to import this module.

The JSON form of a `Report` (``Report.to_dict``) is a contract that other tools read; see
README.md ("Report format").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any


class Verdict(str, enum.Enum):
    """What labelcheck concludes about one file under one policy."""

    DISCLOSED = "disclosed"
    UNDISCLOSED = "undisclosed"
    STRIPPED = "stripped"
    NO_AI_SIGNAL = "no_ai_signal"
    ERROR = "error"


@dataclass(frozen=True)
class VerdictText:
    """How every shell words a verdict: a `title` ("Stripped"), what it means `plainly` for
    the web page's headline, and the `explanation` of README's "Verdicts" table."""

    title: str
    plainly: str
    explanation: str


VERDICT_TEXT = {
    Verdict.STRIPPED: VerdictText(
        "Stripped", "this is AI-made and its label was removed or broken",
        "AI-made, a required disclosure is missing or broken, and there is evidence that it "
        "was removed."),
    Verdict.UNDISCLOSED: VerdictText(
        "Not disclosed", "this is AI-made and it carries no label these rules require",
        "AI-made, but a disclosure the policy requires is missing."),
    Verdict.DISCLOSED: VerdictText(
        "Disclosed", "this is AI-made and it is labelled as these rules require",
        "AI-made, and every disclosure the policy requires is present and intact."),
    Verdict.NO_AI_SIGNAL: VerdictText(
        "No AI signal", "we found no evidence that this is AI-made — which is not proof "
        "that a person made it",
        "No AI evidence found. This is not proof of human origin: labelcheck reports evidence, "
        "it never guesses."),
    Verdict.ERROR: VerdictText("Could not check", "the file could not be read",
                               "The file could not be read."),
}


class Kind(str, enum.Enum):
    """What a finding means for the verdict.

    The policy never looks at detector names: it reads only these kinds and the `channel` a
    disclosure travels on, which is what keeps new sources out of the verdict code.
    """

    AI_DECLARATION = "ai_declaration"  # a standard disclosure that says "AI-made"
    AI_TRACE = "ai_trace"  # generator evidence that is not a disclosure (A1111 chunk, watermark)
    POSSIBLE_AI = "possible_ai"  # a declaration of "possibly AI" (IPTC composite, AIGC Label 2/3)
    NOT_AI_DECLARATION = "not_ai_declaration"  # e.g. IPTC digitalCapture: informational
    TAMPER = "tamper"  # content or manifest changed after signing
    REMOVAL = "removal"  # evidence that a disclosure was removed (cropped badge, registry match)
    PROBLEM = "problem"  # signer, structure or conformance problem that is not tampering
    INFO = "info"  # context a person may want (remote manifest link, camera model, ...)


AI_KINDS = frozenset({Kind.AI_DECLARATION, Kind.AI_TRACE})


class Status(str, enum.Enum):
    """How one requirement of a policy stands on one file. Only `MET` and `NOT_MET` decide the
    verdict; the others say why a requirement does not (yet) bind this file."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"  # no AI evidence, or another media kind
    NOT_IN_FORCE = "not_in_force"  # before its effective date (``--as-of``)
    DRAFT = "draft"  # a proposal: reported, never applied
    NOT_VERIFIABLE = "not_verifiable"  # a marking no detector here can read was not found
    MANUAL_CHECK = "manual_check"  # a fact a file cannot show (consent, role, deepfake status)


STATUS_WORDS = {Status.MET: "met", Status.NOT_MET: "NOT met",
                Status.NOT_APPLICABLE: "not applicable", Status.NOT_IN_FORCE: "not in force",
                Status.DRAFT: "draft, not applied", Status.NOT_VERIFIABLE: "not verifiable here",
                Status.MANUAL_CHECK: "manual check"}


@dataclass
class Finding:
    """One piece of evidence, with enough detail for a person to check it by eye.

    `location` says where: a metadata path (``"XMP Iptc4xmpExt:DigitalSourceType"``), a C2PA
    manifest label, or a pixel box ``{"box": [x, y, w, h]}`` / frame time for pixel evidence.
    A finding that is a disclosure names its `channel` (``c2pa``, ``iptc``, ``aigc``,
    ``visible``...) and says whether it is `intact`; `measurements` carries numbers that policy
    conditions can test (badge height, position, contrast, AIGC label value).
    """

    detector: str
    kind: Kind
    code: str
    message: str
    location: Any = None
    confidence: float = 1.0
    channel: str | None = None
    intact: bool = True
    measurements: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def is_ai_evidence(self) -> bool:
        return self.kind in AI_KINDS

    @property
    def is_disclosure(self) -> bool:
        return self.channel is not None and self.kind is Kind.AI_DECLARATION

    @property
    def is_marking(self) -> bool:
        """An AI marking on a channel a policy can require: a disclosure, or a machine-read
        mark such as an invisible watermark (channel ``watermark``)."""
        return self.channel is not None and self.kind in AI_KINDS

    def to_dict(self) -> dict[str, Any]:
        data = {"detector": self.detector, "kind": self.kind.value, "code": self.code,
                "message": self.message, "location": self.location,
                "confidence": self.confidence, "channel": self.channel, "intact": self.intact,
                "measurements": self.measurements, "details": self.details}
        return {key: value for key, value in data.items() if value not in (None, {}, [])}


@dataclass
class RequirementResult:
    """How one requirement of a policy fared on one file: its `status`, what satisfied it or
    what is missing, and where the requirement comes from (`source`) and whom it binds
    (`role`). `satisfied` is ``status == met``."""

    id: str
    description: str
    satisfied: bool
    satisfied_by: list[str] = field(default_factory=list)
    missing: str = ""
    status: Status = Status.NOT_MET
    role: str = ""
    source: str = ""

    @property
    def binding(self) -> bool:
        """Whether this result counts for the verdict."""
        return self.status in (Status.MET, Status.NOT_MET)

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "description": self.description, "satisfied": self.satisfied,
                "satisfied_by": list(self.satisfied_by), "missing": self.missing,
                "status": self.status.value, "role": self.role, "source": self.source}
        return {key: value for key, value in data.items()
                if value != "" or key not in ("role", "source")}


@dataclass
class RegimeVerdict:
    """The verdict under one of several policies applied in one scan."""

    policy: str
    verdict: Verdict
    summary: str
    requirements: list[RequirementResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "summary": self.summary,
                "requirements": [r.to_dict() for r in self.requirements]}


@dataclass
class Picture:
    """A JPEG for a person to look at, made in the scan from the bytes that were scanned.

    `size` is the original's width and height, the space evidence boxes are measured in. A
    video frame also has its `time_s`, whether a label was seen on it and that label's `box`.
    """

    jpeg: bytes
    size: tuple[int, int]
    time_s: float | None = None
    label_seen: bool = False
    box: list[int] | None = None


@dataclass
class Evidence:
    """What the HTML report and the web page show besides the report (`Settings.display`):
    the picture (a video: the frame where a label was first seen) and a smaller copy of it,
    a video's timeline frames, the C2PA manifest store as a tree and, for an evidence pack,
    as read (`c2pa_store`: crJSON text). It travels with the `Report` from the scan worker
    and is never part of the JSON: no writer and no page opens a file to make it."""

    picture: Picture | None = None
    thumbnail: Picture | None = None
    frames: list[Picture] = field(default_factory=list)
    c2pa_tree: dict[str, Any] | None = None
    c2pa_store: str | None = None


@dataclass
class Report:
    """Everything labelcheck has to say about one file.

    Scanned under several policies at once, `policy` names them all (``eu-ai-act,cn-gb45438``),
    `verdicts` holds each one's verdict, and `verdict` is the most severe of them."""

    path: str
    sha256: str | None = None
    media_type: str | None = None
    media_kind: str | None = None  # image, video, document ("kind" in the JSON form)
    size: int | None = None
    verdict: Verdict = Verdict.ERROR
    ai_generated: bool = False
    tampered: bool = False
    visible_disclosure: bool = False
    machine_readable_disclosure: bool = False
    policy: str = "default"
    requirements: list[RequirementResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    summary: str = ""
    labelcheck_version: str = ""
    elapsed_ms: float | None = None
    timeline: dict[str, Any] | None = None  # videos: when and where visible labels are shown
    verdicts: list[RegimeVerdict] = field(default_factory=list)  # one per policy, when several
    found_on: str | None = None  # a crawled file: the page it was found on (a display string)
    evidence: Evidence | None = None  # for people (pictures, C2PA tree); never in the JSON

    def to_dict(self) -> dict[str, Any]:
        data = {
            "path": self.path,
            "sha256": self.sha256,
            "media_type": self.media_type,
            "kind": self.media_kind,
            "size": self.size,
            "verdict": self.verdict.value,
            "ai_generated": self.ai_generated,
            "tampered": self.tampered,
            "disclosures": {
                "visible": self.visible_disclosure,
                "machine_readable": self.machine_readable_disclosure,
            },
            "policy": self.policy,
            "summary": self.summary,
            "requirements": [r.to_dict() for r in self.requirements],
            "findings": [f.to_dict() for f in self.findings],
            "error": self.error,
            "labelcheck_version": self.labelcheck_version,
            "elapsed_ms": self.elapsed_ms,
        }
        if self.timeline is not None:
            data["timeline"] = self.timeline
        if self.verdicts:
            data["verdicts"] = {regime.policy: regime.to_dict() for regime in self.verdicts}
        if self.found_on is not None:
            data["found_on"] = self.found_on
        return data


class MediaError(Exception):
    """The file cannot be read as media; the message is meant for a person. `findings` are
    those a source made before it met the damage (kept in the report)."""

    def __init__(self, message: str, findings: list[Finding] | None = None):
        super().__init__(message)
        self.findings = findings or []


class PixelsUnavailable(MediaError):
    """The picture's pixels cannot be had, while the rest of the file was read: a decoder
    that refuses the pixel data, a decompression bomb, or a format whose pixels labelcheck
    never decodes (raw camera data, SVG). It costs the file its pixel evidence, never its
    verdict: the scanner reports it as one finding (see `labelcheck.core.scanner`), so a scan
    with pixels and one without (``--no-ocr``) agree on everything else. `by_design` tells a
    format that is read for its metadata only from a decoding failure."""

    def __init__(self, message: str, by_design: bool = False):
        super().__init__(message)
        self.by_design = by_design


def report_from_dict(data: dict[str, Any]) -> Report:
    """The `Report` whose `to_dict` is `data`: reports kept as JSON (the web app's jobs) go
    back through the same writers as fresh ones. Keys this version does not know are kept
    when `Report` has a field of that name, and dropped otherwise."""
    known = {item.name for item in fields(Report)}
    disclosures = data.get("disclosures") or {}
    values = {key: value for key, value in data.items()
              if key in known
              and key not in ("verdict", "requirements", "findings", "verdicts", "evidence")}
    values.update(
        media_kind=data.get("kind"),
        verdict=Verdict(data.get("verdict", Verdict.ERROR.value)),
        visible_disclosure=bool(disclosures.get("visible")),
        machine_readable_disclosure=bool(disclosures.get("machine_readable")),
        requirements=[_requirement_from_dict(item) for item in data.get("requirements") or []],
        findings=[Finding(**{**item, "kind": Kind(item["kind"])})
                  for item in data.get("findings") or []],
        verdicts=[RegimeVerdict(name, Verdict(item["verdict"]), item.get("summary", ""),
                                [_requirement_from_dict(r) for r in item.get("requirements", [])])
                  for name, item in (data.get("verdicts") or {}).items()])
    return Report(**values)


def _requirement_from_dict(item: dict[str, Any]) -> RequirementResult:
    """A stored requirement result; one stored before statuses existed gets met/not met."""
    status = item.get("status") or (Status.MET if item.get("satisfied") else Status.NOT_MET)
    return RequirementResult(**{**item, "status": Status(status)})
