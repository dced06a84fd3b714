"""The audit view of many reports: one row per file, one column per requirement of each regime.

A regulator auditing a campaign reads it across: for each creative, each requirement of the
chosen regime(s) as a mark and the measured value against the rule ("label 3.1% < 5%",
"centre, not corner/edge", "opening 1.2 s < 2 s", "implicit AIGC label missing"); and on top,
one sentence per regime ("7 of 9 creatives fail China GB 45438-2025: 5 lack the implicit AIGC
label, 2 show a label under 5%"). A trust team reads the counts: verdicts, and files whose
credentials were broken or forged, which is news whether or not they carry AI evidence.

Everything here works on a report's JSON form (README "Report format"), the contract every
shell has (the CLI's fresh and stored reports, the web app's jobs), and on the policies as
data (`labelcheck.core.policy`): a cell is worked out from the requirement's conditions and
the measurements of the findings, never parsed out of a message. The words are for people:
no requirement id, channel code or measurement name reaches a cell or a sentence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from labelcheck.core.model import Status, Verdict
from labelcheck.core.policy import Policy, PolicyError, Requirement

# The order a severity sort shows files in: what needs action first.
SEVERITY = ("stripped", "undisclosed", "tampered", "error", "disclosed", "no_ai_signal")
FAILING = frozenset({Verdict.STRIPPED.value, Verdict.UNDISCLOSED.value})

CHANNEL_WORDS = {"visible": "visible label", "c2pa": "C2PA credentials",
                 "iptc": "IPTC AI source type", "aigc": "implicit AIGC label",
                 "watermark": "invisible watermark"}
MARKS = {Status.MET: "✓", Status.NOT_MET: "✗", Status.NOT_APPLICABLE: "–",
         Status.NOT_IN_FORCE: "–", Status.DRAFT: "–", Status.NOT_VERIFIABLE: "?",
         Status.MANUAL_CHECK: "☐"}


@dataclass(frozen=True)
class Column:
    """One requirement of one regime, as a column of the audit table."""

    policy: str
    requirement: Requirement

    @property
    def key(self) -> str:
        """The filter key of this column (``cn-gb45438:implicit_label``): in data attributes,
        never shown."""
        return f"{self.policy}:{self.requirement.id}"

    @property
    def heading(self) -> str:
        return self.requirement.heading


@dataclass(frozen=True)
class Regime:
    """A regime's columns, with its name and title."""

    name: str
    title: str
    columns: tuple[Column, ...]


@dataclass
class Cell:
    """One requirement on one file: its status, a mark, the measured value against the rule
    (`text`), a full sentence for a tooltip (`detail`), and why it failed in words that finish
    "N creatives ..." (`reasons`, for the summary sentence)."""

    status: Status
    text: str
    detail: str = ""
    reasons: list[str] = field(default_factory=list)

    @property
    def mark(self) -> str:
        return MARKS[self.status]

    @property
    def tone(self) -> str:
        """``met``, ``unmet`` or ``neutral``: how the cell is coloured."""
        return {Status.MET: "met", Status.NOT_MET: "unmet"}.get(self.status, "neutral")


@dataclass
class Row:
    """One file: its report (JSON form), its verdict under each regime and its cells, in the
    order of the regimes' columns."""

    position: int
    report: dict[str, Any]
    verdicts: dict[str, str]
    cells: list[Cell]

    @property
    def tampered(self) -> bool:
        return bool(self.report.get("tampered"))

    @property
    def rank(self) -> int:
        """Its place in a severity sort (`SEVERITY`)."""
        verdict = self.report.get("verdict", "error")
        if verdict == Verdict.NO_AI_SIGNAL.value and self.tampered:
            verdict = "tampered"
        return SEVERITY.index(verdict) if verdict in SEVERITY else len(SEVERITY)

    def unmet(self, regimes: list[Regime]) -> list[str]:
        """The keys of the columns this file does not meet."""
        keys = [column.key for regime in regimes for column in regime.columns]
        return [key for key, cell in zip(keys, self.cells) if cell.status is Status.NOT_MET]


# -- regimes and columns ------------------------------------------------------------------------

def regimes_for(policies: list[Policy]) -> list[Regime]:
    """The column groups of `policies`, in their requirements' order."""
    return [Regime(policy.name, policy.title,
                   tuple(Column(policy.name, requirement) for requirement in policy.requirements))
            for policy in policies]


def regimes_of_report(report: dict[str, Any]) -> list[Regime]:
    """The regimes a report was judged under, from the bundled policies of those names; a
    policy that cannot be loaded (a policy file no longer at hand) gets columns made from the
    report's own requirement results."""
    regimes = []
    for name, requirements in judged(report):
        try:
            regimes.extend(regimes_for([Policy.load(name)]))
        except PolicyError:
            regimes.append(Regime(name, name, tuple(
                Column(name, Requirement(item["id"], item.get("description", item["id"])))
                for item in requirements)))
    return regimes


def judged(report: dict[str, Any]) -> list[tuple[str, list[dict]]]:
    """(policy name, requirement results) for each regime a report was judged under; the
    results' ids without the ``policy:`` prefix that several regimes add."""
    several = report.get("verdicts") or {}
    if several:
        return [(name, item.get("requirements") or []) for name, item in several.items()]
    return [(report.get("policy") or "default", report.get("requirements") or [])]


def verdicts_of(report: dict[str, Any]) -> dict[str, str]:
    """The verdict under each regime."""
    several = report.get("verdicts") or {}
    if several:
        return {name: item["verdict"] for name, item in several.items()}
    return {report.get("policy") or "default": report.get("verdict", "error")}


# -- rows and cells -----------------------------------------------------------------------------

def audit_row(report: dict[str, Any], regimes: list[Regime], position: int) -> Row:
    """The row of one report (its JSON form) under `regimes`."""
    results = {name: {item["id"]: item for item in requirements}
               for name, requirements in judged(report)}
    cells = [cell_for(report, column, results.get(regime.name, {}).get(column.requirement.id))
             for regime in regimes for column in regime.columns]
    return Row(position, report, verdicts_of(report), cells)


def cell_for(report: dict[str, Any], column: Column, result: dict | None) -> Cell:
    """What one requirement shows on one file."""
    requirement = column.requirement
    if report.get("verdict") == Verdict.ERROR.value and report.get("error"):
        return Cell(Status.NOT_APPLICABLE, "file not read", report["error"])
    if result is None:
        kinds = " and ".join(f"{kind}s" for kind in requirement.kinds) or "other files"
        return Cell(Status.NOT_APPLICABLE, f"{kinds} only",
                    f"{requirement.description}: binds {kinds} only")
    status = Status(result.get("status") or ("met" if result.get("satisfied") else "not_met"))
    detail = f"{requirement.description}: {_status_sentence(result, status)}"
    if status is Status.NOT_APPLICABLE:
        text = ("no AI evidence" if not report.get("ai_generated")
                else f"binds the {requirement.role}" if requirement.role else "not applicable")
        return Cell(status, text, detail)
    if status is Status.NOT_IN_FORCE:
        since = requirement.effective
        return Cell(status, f"in force from {since}" if since else "not in force yet", detail)
    if status is Status.MANUAL_CHECK:
        return Cell(status, "a person must check", detail)
    text, reasons = measured(report.get("findings") or [], requirement, status)
    if status is Status.DRAFT:
        text = f"draft: {text}"
    return Cell(status, text, detail, reasons if status is Status.NOT_MET else [])


def _status_sentence(result: dict, status: Status) -> str:
    if status is Status.MET:
        return "met by " + "; ".join(result.get("satisfied_by") or [])
    return result.get("missing") or status.value.replace("_", " ")


def measured(findings: list[dict], requirement: Requirement,
             status: Status) -> tuple[str, list[str]]:
    """The measured values of the finding that best answers `requirement`, against its rule;
    with the reasons it fails. No finding on the required channels: the disclosure is
    missing."""
    candidates = [f for f in findings if f.get("channel") in requirement.channels
                  and f.get("kind") in ("ai_declaration", "ai_trace")]
    noun = channel_noun(requirement.channels)
    if not candidates:
        if status is Status.NOT_VERIFIABLE:
            return "none found; not verifiable here", []
        return f"{noun} missing", [f"lack the {noun}"]
    scored = [(checks(requirement, finding), finding) for finding in candidates]
    best, finding = min(scored, key=lambda item: (sum(not c.ok for c in item[0]),
                                                  -_number(item[1], "height_ratio")))
    failed = [check for check in best if not check.ok]
    if not best:
        return f"{CHANNEL_WORDS.get(finding.get('channel'), noun)} found", []
    shown = failed if failed else best
    return "; ".join(check.text for check in shown), [check.reason for check in failed]


def channel_noun(channels: tuple[str, ...]) -> str:
    """What a requirement asks for, in words: one channel's name, else a machine-readable
    marking (no visible channel among them), else any AI disclosure."""
    if len(channels) == 1:
        return CHANNEL_WORDS.get(channels[0], channels[0])
    return "machine-readable marking" if "visible" not in channels else "AI disclosure"


@dataclass(frozen=True)
class Check:
    """One condition of a requirement on one finding."""

    ok: bool
    text: str  # the measured value against the rule: "label 3.1% < 5%"
    reason: str = ""  # when it fails: "show a label under 5%"


def checks(requirement: Requirement, finding: dict) -> list[Check]:
    """Each condition of `requirement` on `finding`: intact first, then the measurements."""
    values = finding.get("measurements") or {}
    out = []
    if finding.get("intact") is False:
        out.append(_broken(finding))
    out.extend(_minimum(name, values.get(name), floor)
               for name, floor in requirement.minimum.items())
    out.extend(_maximum(name, values.get(name), ceiling)
               for name, ceiling in requirement.maximum.items())
    out.extend(_one_of(name, values.get(name), allowed)
               for name, allowed in requirement.one_of.items())
    return out


def _broken(finding: dict) -> Check:
    if finding.get("channel") == "visible":
        return Check(False, "label cut by the picture's edge",
                     "show a label cut by the picture's edge")
    noun = CHANNEL_WORDS.get(finding.get("channel"), "disclosure")
    return Check(False, f"{noun} changed after signing", f"carry {noun} changed after signing")


@dataclass(frozen=True)
class Measure:
    """How a measurement is worded: what it is, how a value and a rule's number are shown, and
    why a finding fails when under the floor or over the ceiling (``{rule}`` is the number)."""

    what: str
    value: str = "{:g}"
    rule: str = "{:g}"
    under: str = ""
    over: str = ""


PERCENT = "{:.1%}"
MEASURES = {
    "height_ratio": Measure("label", PERCENT, "{:.0%}", "show a label under {rule}",
                            "show a label over {rule}"),
    "contrast": Measure("contrast", "{:.1f}:1", "{:g}:1",
                        "show a label with contrast under {rule}"),
    "opening_s": Measure("opening", "{:.1f} s", "{:g} s",
                         "show the label for under {rule} at the opening"),
    "first_label_s": Measure("first shown at", "{:.1f} s", "{:g} s",
                             over="show the label later than {rule}"),
    "longest_gap_s": Measure("gap", "{:.1f} s", "{:g} s",
                             over="leave the label off screen for over {rule}"),
    "coverage": Measure("shown", "{:.0%} of the time", "{:.0%}",
                        "show the label under {rule} of the time"),
}


def _measure(name: str) -> Measure:
    words = name.replace("_", " ")
    return MEASURES.get(name, Measure(words, under=f"have {words} under {{rule}}",
                                      over=f"have {words} over {{rule}}"))


def _minimum(name: str, value, floor) -> Check:
    return _bound(name, value, floor, at_least=True)


def _maximum(name: str, value, ceiling) -> Check:
    return _bound(name, value, ceiling, at_least=False)


def _bound(name: str, value, limit, at_least: bool) -> Check:
    """A measurement against a floor (`at_least`) or a ceiling: "label 3.1% < 5%"."""
    measure = _measure(name)
    rule = measure.rule.format(limit)
    reason = (measure.under if at_least else measure.over).format(rule=rule) or \
        f"lack a measured {measure.what}"
    if not isinstance(value, (int, float)):
        return Check(False, f"{measure.what} not measured (needs {'≥' if at_least else '≤'} "
                            f"{rule})", reason)
    ok = value >= limit if at_least else value <= limit
    sign = ("≥" if ok else "<") if at_least else ("≤" if ok else ">")
    return Check(ok, f"{measure.what} {measure.value.format(value)} {sign} {rule}", reason)


def _one_of(name: str, value, allowed) -> Check:
    values = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    ok = bool(set(values) & set(allowed))
    if name == "rules":
        wording = "GB 45438 wording" if "gb45438" in allowed else f"wording of {'/'.join(allowed)}"
        return Check(ok, wording if ok else f"not the {wording}", f"lack the {wording}")
    shown = ", ".join(str(v) for v in values) or "not measured"
    if ok:
        return Check(True, shown)
    if name == "position":
        return Check(False, f"{shown}, not {'/'.join(allowed)}",
                     f"place the label in the {shown}")
    words = name.replace("_", " ")
    return Check(False, f"{words} {shown}, not {'/'.join(allowed)}", f"have {words} {shown}")


def _number(finding: dict, name: str) -> float:
    value = (finding.get("measurements") or {}).get(name)
    return float(value) if isinstance(value, (int, float)) else 0.0


# -- the tally and the summary sentences ------------------------------------------------------

@dataclass
class Tally:
    """Counts over the rows seen so far, for the headline and the summary sentences; kept as
    rows stream by (a batch of any size holds only these counters)."""

    regimes: list[Regime]
    noun: str = "files"
    total: int = 0
    verdicts: Counter = field(default_factory=Counter)
    tampered: int = 0
    tampered_without_ai: int = 0
    by_regime: dict[str, Counter] = field(default_factory=dict)
    reasons: dict[str, Counter] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.total += 1
        self.verdicts[row.report.get("verdict", "error")] += 1
        if row.tampered:
            self.tampered += 1
            self.tampered_without_ai += not row.report.get("ai_generated")
        keys = iter(row.cells)
        for regime in self.regimes:
            cells = [next(keys) for _ in regime.columns]
            verdict = row.verdicts.get(regime.name, row.report.get("verdict", "error"))
            self.by_regime.setdefault(regime.name, Counter())[verdict] += 1
            if verdict in FAILING:
                reasons = dict.fromkeys(r for cell in cells for r in cell.reasons)
                self.reasons.setdefault(regime.name, Counter()).update(list(reasons))

    def sentences(self) -> list[str]:
        """One sentence per regime: how many fail it and why, how many could not be read."""
        return [self.sentence(regime) for regime in self.regimes]

    def sentence(self, regime: Regime) -> str:
        counts = self.by_regime.get(regime.name, Counter())
        failing = sum(counts[v] for v in FAILING)
        noun = self.noun if self.total != 1 else self.noun.removesuffix("s")
        if failing:
            reasons = self.reasons.get(regime.name, Counter()).most_common()
            why = ", ".join(f"{count} {agree(reason, count)}" for reason, count in reasons)
            text = (f"{failing} of {self.total} {noun} {agree('fail', failing)} {regime.title}"
                    + (f": {why}." if why else "."))
        else:
            text = f"None of the {self.total} {noun} fails {regime.title}."
        extra = [f"{counts[v]} {agree(words, counts[v])}" for v, words in (
            ("disclosed", "meet it"), ("no_ai_signal", "show no AI evidence"),
            ("error", "could not be read")) if counts[v]]
        if not extra:
            return text
        return f"{text} {'Of the rest, ' if failing else ''}{_join(extra)}."

    def headline(self) -> list[tuple[str, int]]:
        """(key, count) of the headline: each verdict, then the tampered files."""
        return [(verdict.value, self.verdicts[verdict.value]) for verdict in Verdict] + [
            ("tampered", self.tampered)]

    def to_dict(self) -> dict[str, Any]:
        """The counts a pipeline reads (``scan --summary``)."""
        return {"files": self.total,
                "verdicts": {v.value: self.verdicts[v.value] for v in Verdict},
                "regimes": {name: {v.value: counts[v.value] for v in Verdict}
                            for name, counts in self.by_regime.items()},
                "tampered": self.tampered, "tampered_without_ai": self.tampered_without_ai}


THIRD_PERSON = {"have": "has", "carry": "carries"}


def agree(phrase: str, count: int) -> str:
    """`phrase` (a verb phrase: "lack the implicit AIGC label") agreeing with `count`."""
    verb, _, rest = phrase.partition(" ")
    if count != 1 or verb in ("could",):
        return phrase
    singular = THIRD_PERSON.get(verb, verb + "s")
    return f"{singular} {rest}".strip()


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
