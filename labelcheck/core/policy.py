"""Policies as data, and the one function that turns findings into a verdict.

A policy (``labelcheck/policies/<name>.toml`` or any TOML file by path) is a list of
requirements. Each requirement names the disclosure channels that can satisfy it and,
optionally, conditions on the disclosure's measurements (``minimum``: numbers that must be
reached; ``maximum``: numbers that must not be exceeded; ``one_of``: allowed values) and the
media kinds it applies to (``kinds``, e.g. ``["video"]`` for a rule on when a video shows its
label; all kinds when absent). `decide` reads only finding kinds, channels and measurements, so
a new evidence source or label language never touches it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from labelcheck.core.model import Finding, Kind, RequirementResult, Verdict

VISIBLE = "visible"


class PolicyError(ValueError):
    """A policy name or file that cannot be used; the message is for a person."""


@dataclass(frozen=True)
class Requirement:
    id: str
    description: str
    channels: tuple[str, ...]
    minimum: dict = field(default_factory=dict)
    one_of: dict = field(default_factory=dict)
    maximum: dict = field(default_factory=dict)
    kinds: tuple[str, ...] = ()

    def applies_to(self, media_kind: str | None) -> bool:
        """Whether this requirement binds a file of `media_kind` (None: unknown, so only
        requirements for every kind bind)."""
        return not self.kinds or media_kind in self.kinds

    def unmet_conditions(self, finding: Finding) -> list[str]:
        """Why `finding` does not satisfy this requirement; empty when it does."""
        if not finding.is_disclosure or finding.channel not in self.channels:
            return [f"not a {'/'.join(self.channels)} disclosure"]
        unmet = []
        if not finding.intact:
            unmet.append(f"{finding.channel} disclosure is broken (content changed after "
                         "signing)")
        for name, floor in self.minimum.items():
            value = finding.measurements.get(name)
            if not isinstance(value, (int, float)) or value < floor:
                unmet.append(f"{name} {_show(value)} below {floor}")
        for name, ceiling in self.maximum.items():
            value = finding.measurements.get(name)
            if not isinstance(value, (int, float)) or value > ceiling:
                unmet.append(f"{name} {_show(value)} above {ceiling}")
        for name, allowed in self.one_of.items():
            value = finding.measurements.get(name)
            values = value if isinstance(value, (list, tuple)) else [value]
            if not set(values) & set(allowed):
                unmet.append(f"{name} {_show(value)} not one of {', '.join(allowed)}")
        return unmet

    def evaluate(self, findings: list[Finding]) -> RequirementResult:
        candidates = [f for f in findings if f.is_disclosure and f.channel in self.channels]
        satisfied_by = [f"{f.detector}: {f.message}" for f in candidates
                        if not self.unmet_conditions(f)]
        missing = ""
        if not satisfied_by:
            reasons = sorted({reason for f in candidates for reason in self.unmet_conditions(f)})
            missing = ("; ".join(reasons) if reasons
                       else f"no {' or '.join(self.channels)} disclosure found")
        return RequirementResult(self.id, self.description, bool(satisfied_by), satisfied_by,
                                 missing)


def _show(value) -> str:
    return "absent" if value is None else (f"{value:.3g}" if isinstance(value, float)
                                           else str(value))


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    description: str
    requirements: tuple[Requirement, ...]

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
            requirements = tuple(
                Requirement(r["id"], r.get("description", r["id"]), tuple(r["channels"]),
                            dict(r.get("minimum", {})), dict(r.get("one_of", {})),
                            dict(r.get("maximum", {})), tuple(r.get("kinds", ())))
                for r in data["requirement"])
            return cls(data["name"], data.get("title", data["name"]),
                       data.get("description", ""), requirements)
        except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise PolicyError(f"policy {origin} is not valid: {exc}") from None


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


@dataclass
class Decision:
    verdict: Verdict
    ai_generated: bool
    tampered: bool
    visible_disclosure: bool
    machine_readable_disclosure: bool
    requirements: list[RequirementResult]


def decide(findings: list[Finding], policy: Policy, media_kind: str | None = None) -> Decision:
    """The verdict for `findings` on a file of `media_kind` under `policy` (see README,
    "Verdicts")."""
    ai = any(f.is_ai_evidence for f in findings)
    intact = [f for f in findings if f.is_disclosure and f.intact]
    results = [requirement.evaluate(findings) for requirement in policy.requirements
               if requirement.applies_to(media_kind)]
    if not ai:
        verdict = Verdict.NO_AI_SIGNAL
    elif all(result.satisfied for result in results):
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
