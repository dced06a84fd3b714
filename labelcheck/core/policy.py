"""Policies as data, and the one function that turns findings into a verdict.

A policy (``labelcheck/policies/<name>.toml`` or any TOML file by path) is a regime of record:
its citation, the date it took effect, the roles it binds, and a list of requirements. Each
requirement names the disclosure channels that can satisfy it and, optionally, conditions on
the disclosure's measurements (``minimum``: numbers that must be reached; ``maximum``: numbers
that must not be exceeded; ``one_of``: allowed values), the media kinds it applies to
(``kinds``, e.g. ``["video"]``), the provision it comes from (``source``), whom it binds
(``role``), its own effective date, and how it can be checked (``check``):

- ``file`` (default): judged from the file: met or not met;
- ``detector``: a marking that only some detectors can read (an invisible watermark): found is
  met, not found is "not verifiable here", never "absent";
- ``manual``: a fact no file shows (consent, whether the content is a deepfake, a role): always
  "manual check", never met.

A requirement (or a whole policy) marked ``draft = true`` is reported with what the file shows
and never applied. A requirement's ``grace`` names maxima (``longest_gap_s``...) that a watched
live stream replaces with the watch's grace period (`Policy.with_grace`, ``watch --grace``);
a scan that reads only some channels (a live watch reads only what is on screen) makes the
requirements it cannot read "not verifiable" (`Policy.reading`), never "not met".
`decide` reads only finding kinds, channels and measurements, so a new evidence source or label
language never touches it; and it reads the rules in force on the date it is given (``scan
--as-of``), today by default.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from labelcheck.core.model import Finding, Kind, RequirementResult, Status, Verdict
from labelcheck.core.wording import (POSITION_WORDS, RULE_WORDS, allowed_words, channel_list,
                                     channel_words, limit, measure)

VISIBLE = "visible"
CHECKS = ("file", "detector", "manual")


class PolicyError(ValueError):
    """A policy name or file that cannot be used; the message is for a person."""


@dataclass(frozen=True)
class Requirement:
    id: str
    description: str
    channels: tuple[str, ...] = ()
    minimum: dict = field(default_factory=dict)
    one_of: dict = field(default_factory=dict)
    maximum: dict = field(default_factory=dict)
    kinds: tuple[str, ...] = ()
    role: str = ""
    source: str = ""
    effective: dt.date | None = None
    check: str = "file"
    draft: bool = False
    title: str = ""  # a short name for a column header ("Implicit label"); default: the id
    grace: tuple[str, ...] = ()  # maxima that a watch's grace period replaces
    unread: str = ""  # why none of its channels was read (then unmet is "not verifiable")

    @property
    def heading(self) -> str:
        return self.title or self.id.replace("_", " ").capitalize()

    def with_grace(self, seconds: float) -> "Requirement":
        """This requirement with the maxima it names in `grace` set to `seconds`."""
        if not self.grace:
            return self
        return replace(self, maximum={**self.maximum, **dict.fromkeys(self.grace, seconds)})

    def reading(self, channels: frozenset[str], why: str) -> "Requirement":
        """This requirement for a scan that reads only `channels`: when it names none of
        them, not finding its disclosure proves nothing (`why` says so)."""
        if self.check == "manual" or set(self.channels) & channels:
            return self
        return replace(self, unread=why)

    def applies_to(self, media_kind: str | None) -> bool:
        """Whether this requirement binds a file of `media_kind` (None: unknown, so only
        requirements for every kind bind)."""
        return not self.kinds or media_kind in self.kinds

    def unmet_conditions(self, finding: Finding) -> list[str]:
        """Why `finding` does not satisfy this requirement, in words a person reads (the
        measured value against the rule); empty when it does."""
        if not finding.is_marking or finding.channel not in self.channels:
            return [f"not a {channel_list(self.channels)}"]
        unmet = [] if finding.intact else [broken_words(finding)]
        for name, floor in self.minimum.items():
            value = finding.measurements.get(name)
            if not isinstance(value, (int, float)) or value < floor:
                unmet.append(f"{measure(name, value)}, under the {limit(name, floor)} required")
        for name, ceiling in self.maximum.items():
            value = finding.measurements.get(name)
            if not isinstance(value, (int, float)) or value > ceiling:
                unmet.append(f"{measure(name, value)}, over the {limit(name, ceiling)} allowed"
                             f"{_where(finding, name)}")
        for name, allowed in self.one_of.items():
            value = finding.measurements.get(name)
            values = value if isinstance(value, (list, tuple)) else [value]
            if not set(values) & set(allowed):
                unmet.append(_not_allowed(name, value, allowed))
        return unmet

    def too_coarse(self, finding: Finding) -> list[str]:
        """Why `finding`, which keeps this requirement's maxima as measured, cannot show them
        kept: a measurement taken coarser than its maximum (``measurements["resolution"]``: a
        video's longest gap measured from frames 10 s apart cannot show a 5 s rule kept)."""
        resolution = finding.measurements.get("resolution")
        if not isinstance(resolution, dict):
            return []
        return [f"{measure(name, finding.measurements.get(name))}, measured from frames up to "
                f"{resolution[name]:g} s apart: more than the {limit(name, ceiling)} allowed "
                "may have gone unseen between them (a closer --video-sampling can tell)"
                for name, ceiling in self.maximum.items()
                if isinstance(resolution.get(name), (int, float)) and resolution[name] > ceiling]

    def evaluate(self, findings: list[Finding], status: Status | None = None
                 ) -> RequirementResult:
        """What the findings show for this requirement; `status` overrides the met/not met
        outcome when the requirement does not bind the file (not in force, not applicable)."""
        if self.check == "manual":
            return self._result(False, [], "cannot be checked from the file: "
                                "a person must check it", status or Status.MANUAL_CHECK)
        candidates = [f for f in findings if f.is_marking and f.channel in self.channels]
        meeting = {id(f): (f, self.too_coarse(f)) for f in candidates
                   if not self.unmet_conditions(f)}
        coarse = sorted({reason for _, reasons in meeting.values() for reason in reasons})
        satisfied_by = [f"{f.detector}: {f.message}" for f, reasons in meeting.values()
                        if not reasons]
        missing = ""
        if not satisfied_by:
            reasons = sorted({reason for f in candidates for reason in self.unmet_conditions(f)})
            missing = ("; ".join(coarse or reasons) if coarse or reasons
                       else f"no {channel_list(self.channels)} found")
        outcome = Status.MET if satisfied_by else Status.NOT_MET
        if coarse and not satisfied_by:
            outcome = Status.NOT_VERIFIABLE
        if self.check == "detector" and not satisfied_by:
            missing = (f"no {channel_list(self.channels)} found by the detectors labelcheck "
                       "has; not verifiable here (a mark they cannot read may be present)")
            declared = [f"{f.detector}: {f.message}" for f in findings
                        if f.channel in self.channels and not f.is_marking]
            if declared:  # e.g. a C2PA soft binding naming a watermark no detector here reads
                missing += "; declared, not decodable here: " + "; ".join(declared)
            outcome = Status.NOT_VERIFIABLE
        if self.unread and not satisfied_by:
            missing, outcome = self.unread, Status.NOT_VERIFIABLE
        if self.draft:
            outcome = Status.DRAFT
        return self._result(bool(satisfied_by), satisfied_by, missing, status or outcome)

    def _result(self, met: bool, satisfied_by: list[str], missing: str,
                status: Status) -> RequirementResult:
        return RequirementResult(self.id, self.description, met and status is Status.MET,
                                 satisfied_by, missing, status, self.role, self.source)


def broken_words(finding: Finding) -> str:
    """Why a disclosure that is there no longer counts: a C2PA declaration whose content
    changed after signing, a visible label cut by the picture's edge."""
    if finding.channel == "c2pa":
        return ("the C2PA declaration no longer matches the content: it was changed after "
                "signing")
    if finding.channel == VISIBLE and finding.measurements.get("touches_border"):
        return "the visible AI label is cut by the picture's edge"
    return f"the {channel_words(finding.channel)} is damaged"


def _not_allowed(name: str, value, allowed) -> str:
    """A measured value outside what the rule allows, in words."""
    if name == "rules":
        wanted = " and ".join(RULE_WORDS.get(rule, f"the wording of {rule}") for rule in allowed)
        return f"the label does not use {wanted}"
    if name == "position":
        shown = POSITION_WORDS.get(value, value) if value else "an unmeasured place"
        return f"the label is at {shown}, not at {allowed_words(name, allowed)}"
    shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return (f"{name.replace('_', ' ')} is {shown if shown not in (None, '') else 'not measured'}"
            f", not {allowed_words(name, allowed)}")


def _where(finding: Finding, name: str) -> str:
    """Where the measurement `name` was taken, when the finding says (``measurements["where"]``:
    a video's longest gap names its start and end)."""
    where = finding.measurements.get("where")
    place = where.get(name) if isinstance(where, dict) else None
    return f": {place}" if isinstance(place, str) and place else ""


@dataclass(frozen=True)
class Policy:
    """A regime: what it requires, where that is written, from when and of whom."""

    name: str
    title: str
    description: str
    requirements: tuple[Requirement, ...]
    citation: str = ""
    url: str = ""
    effective: dt.date | None = None
    roles: tuple[str, ...] = ()
    draft: bool = False
    notes: str = ""
    text: str = field(default="", repr=False, compare=False)  # the TOML as applied

    @classmethod
    def load(cls, name_or_path: str) -> "Policy":
        """A bundled policy by name, or a policy file by path."""
        if os.path.sep in name_or_path or name_or_path.endswith(".toml"):
            try:
                with open(name_or_path, "rb") as handle:
                    return cls.from_toml(handle.read().decode("utf-8"), name_or_path)
            except OSError as exc:
                raise PolicyError(f"cannot read policy file {name_or_path}: {exc.strerror}") \
                    from None
        return _bundled(name_or_path)

    @classmethod
    def from_toml(cls, text: str, origin: str) -> "Policy":
        try:
            data = tomllib.loads(text)
            draft = bool(data.get("draft", False))
            requirements = tuple(_requirement(r, draft) for r in data["requirement"])
            return cls(data["name"], data.get("title", data["name"]),
                       data.get("description", ""), requirements,
                       citation=data.get("citation", ""), url=data.get("url", ""),
                       effective=_date(data.get("effective")),
                       roles=tuple(data.get("roles", ())), draft=draft,
                       notes=data.get("notes", ""), text=text)
        except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"policy {origin} is not valid: {exc}") from None

    def with_grace(self, seconds: float) -> "Policy":
        """This policy with every maximum its requirements name in ``grace`` set to `seconds`
        (a watched stream's grace period: a label absent no longer than that is not missing)."""
        return replace(self, requirements=tuple(requirement.with_grace(seconds)
                                                for requirement in self.requirements))

    def reading(self, channels: frozenset[str], why: str) -> "Policy":
        """This policy for a scan that reads only `channels` (see `Requirement.reading`)."""
        return replace(self, requirements=tuple(requirement.reading(channels, why)
                                                for requirement in self.requirements))

    def effective_date(self, requirement: Requirement) -> dt.date | None:
        return requirement.effective or self.effective

    def in_force(self, requirement: Requirement, as_of: dt.date) -> bool:
        start = self.effective_date(requirement)
        return start is None or start <= as_of

    def in_force_on(self, as_of: dt.date) -> tuple[str, ...]:
        """The ids of the requirements in force on `as_of` (part of what a stored result is
        keyed by: a verdict changes when a requirement comes into force)."""
        return tuple(r.id for r in self.requirements if self.in_force(r, as_of))


def _requirement(data: dict, policy_draft: bool) -> Requirement:
    check = data.get("check", "file")
    if check not in CHECKS:
        raise ValueError(f"requirement {data.get('id')!r}: check is {check!r}, not one of "
                         f"{', '.join(CHECKS)}")
    if check != "manual" and not data.get("channels"):
        raise ValueError(f"requirement {data.get('id')!r} names no channels")
    return Requirement(data["id"], data.get("description", data["id"]),
                       tuple(data.get("channels", ())), dict(data.get("minimum", {})),
                       dict(data.get("one_of", {})), dict(data.get("maximum", {})),
                       tuple(data.get("kinds", ())), role=data.get("role", ""),
                       source=data.get("source", ""), effective=_date(data.get("effective")),
                       check=check, draft=policy_draft or bool(data.get("draft", False)),
                       title=data.get("title", ""), grace=tuple(data.get("grace", ())))


def _date(value) -> dt.date | None:
    """A TOML date (or an ISO date string) as a `date`."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@cache
def _bundled(name: str) -> Policy:
    """A bundled policy, parsed once per process."""
    bundled = resources.files("labelcheck.policies").joinpath(f"{name}.toml")
    if not bundled.is_file():
        raise PolicyError(f"unknown policy {name!r}; bundled policies: "
                          f"{', '.join(available_policies())}, or give a .toml file path")
    return Policy.from_toml(bundled.read_text("utf-8"), name)


def available_policies() -> list[str]:
    """Names of the bundled policies."""
    return sorted(entry.name[:-5] for entry in resources.files("labelcheck.policies").iterdir()
                  if entry.name.endswith(".toml"))


@dataclass(frozen=True)
class Regimes:
    """Several policies applied in one pass (a campaign for several markets): the file is
    scanned once and judged under each."""

    policies: tuple[Policy, ...]

    @property
    def name(self) -> str:
        return ",".join(policy.name for policy in self.policies)


def load_policies(names: str) -> "Policy | Regimes":
    """The policy, or the policies, named in a comma-separated list (``eu-ai-act,cn-gb45438``),
    each a bundled name or a file path; repeats are dropped."""
    wanted = list(dict.fromkeys(name.strip() for name in names.split(",") if name.strip()))
    if not wanted:
        raise PolicyError("no policy named")
    policies = tuple(Policy.load(name) for name in wanted)
    return policies[0] if len(policies) == 1 else Regimes(policies)


def strictest_maximum(policy: "Policy | Regimes", measure: str) -> float | None:
    """The smallest maximum any requirement of `policy` (one regime or several) sets on
    `measure` (``longest_gap_s``: how long a video's label may be absent), or None: how
    closely a scan must look for the rules to be judged."""
    maxima = [requirement.maximum[measure] for regime in policies_of(policy)
              for requirement in regime.requirements if measure in requirement.maximum]
    return min(maxima, default=None)


def policies_of(policy: "Policy | Regimes") -> tuple[Policy, ...]:
    return policy.policies if isinstance(policy, Regimes) else (policy,)


def each_policy(policy: "Policy | Regimes", change) -> "Policy | Regimes":
    """`policy`, or each of several, changed by `change` (``Policy -> Policy``)."""
    if isinstance(policy, Regimes):
        return Regimes(tuple(change(regime) for regime in policy.policies))
    return change(policy)


@dataclass
class Decision:
    verdict: Verdict
    ai_generated: bool
    tampered: bool
    visible_disclosure: bool
    machine_readable_disclosure: bool
    requirements: list[RequirementResult]


def decide(findings: list[Finding], policy: Policy, media_kind: str | None = None,
           as_of: dt.date | None = None, role: str | None = None) -> Decision:
    """The verdict for `findings` on a file of `media_kind` under `policy`, with the rules in
    force on `as_of` (default today) that bind `role` (default: every role); see README,
    "Verdicts" and "Policies"."""
    as_of = as_of or dt.date.today()
    ai = any(f.is_ai_evidence for f in findings)
    intact = [f for f in findings if f.is_disclosure and f.intact]
    results = []
    for requirement in policy.requirements:
        if requirement.applies_to(media_kind):
            status = _not_binding(policy, requirement, as_of, ai, role)
            result = requirement.evaluate(findings, status)
            if status is Status.NOT_APPLICABLE and ai:
                result.missing = f"binds the {requirement.role}, not the {role}"
            results.append(result)
    binding = [result for result in results if result.binding]
    if not ai:
        verdict = Verdict.NO_AI_SIGNAL
    elif all(result.satisfied for result in binding):
        verdict = Verdict.DISCLOSED
    elif any(f.kind is Kind.REMOVAL or (f.is_disclosure and not f.intact) for f in findings):
        verdict = Verdict.STRIPPED
    else:
        verdict = Verdict.UNDISCLOSED
    return Decision(
        verdict=verdict,
        ai_generated=ai,
        tampered=any(f.kind is Kind.TAMPER for f in findings),
        visible_disclosure=any(f.channel == VISIBLE for f in intact),
        machine_readable_disclosure=any(f.channel != VISIBLE for f in intact),
        requirements=results,
    )


def _not_binding(policy: Policy, requirement: Requirement, as_of: dt.date, ai: bool,
                 role: str | None) -> Status | None:
    """Why `requirement` does not bind this file, or None when it does."""
    if not policy.in_force(requirement, as_of):
        return Status.NOT_IN_FORCE
    if not ai or (role and requirement.role and requirement.role != role):
        return Status.NOT_APPLICABLE
    return None
