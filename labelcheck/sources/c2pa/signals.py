"""The C2PA Asset Rubrics 1.0 signals of each manifest, under their official names.

`rubric_signals` follows the rubric's expressions (``asset-rubric-signals-local.yml``, their
lists in ``labelcheck/data/asset_rubrics.toml``) literally, on one crJSON manifest: only the
``c2pa.actions.v2`` assertion, whole-URI comparison of digital source types, only the first
``c2pa.ingredient.v3``. Real files are older than the rubric (every real AI file labelcheck has
seen writes v1 ``c2pa.actions``), so `wider_signals` also reads v1 and numbered actions
assertions, Adobe's ``com.adobe.digitalSourceType`` parameter, source types written loosely
(``https``, stray spaces) and every ingredient version, and says for each signal it adds why
the rubric would not have given it. One finding per manifest reports both, with the manifest's
signer (who asserted the signals).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from labelcheck.core.model import Finding
from labelcheck.data import load_data
from labelcheck.sources import terms
from labelcheck.sources.c2pa.store import ManifestStore, base_label

ACTIONS_V2 = "c2pa.actions.v2"
INGREDIENT_V3 = "c2pa.ingredient.v3"
ADOBE_SOURCE_TYPE = "com.adobe.digitalSourceType"


@dataclass(frozen=True)
class Rubric:
    """The rubric's lists (see ``asset_rubrics.toml``)."""

    inception_actions: frozenset[str]
    non_editorial: frozenset[str]
    genai: frozenset[str]
    possibly_genai: frozenset[str]
    inception: dict[str, frozenset[str]]
    signals: dict[str, dict[str, str]]

    def terms_of(self, uris) -> frozenset[str]:
        return frozenset(terms.source_type_term(uri).lower() for uri in uris)


@cache
def rubric() -> Rubric:
    data = load_data("asset_rubrics.toml")
    return Rubric(frozenset(data["inception_actions"]), frozenset(data["non_editorial_actions"]),
                  frozenset(data["genai_source_types"]),
                  frozenset(data["possibly_genai_source_types"]),
                  {name: frozenset(uris) for name, uris in data["inception"].items()},
                  data["signal"])


def action_signals(action: object, source_type: object, by_term: bool = False) -> set[str]:
    """The signals one action gives: inception signals for a created or opened action,
    transformation signals for the others. The rubric compares whole URIs; `by_term` compares
    the source type's term (``trainedAlgorithmicMedia``), as labelcheck reads it."""
    rules = rubric()
    if not isinstance(action, str):
        return set()

    def among(uris) -> bool:
        if not isinstance(source_type, str):
            return False
        if by_term:
            return terms.source_type_term(source_type).lower() in rules.terms_of(uris)
        return source_type in uris

    if action in rules.inception_actions:
        return {name for name, uris in rules.inception.items() if among(uris)}
    if action in rules.non_editorial:
        return {"nonEditorial"}
    found = set()
    if among(rules.genai):
        found.add("perceptibleGenAI")
    if among(rules.possibly_genai):
        found.add("perceptiblePossiblyGenAI")
    if isinstance(source_type, str) and not among(rules.genai):
        found.add("perceptibleNonGenAI")  # as in the rubric: possibly-GenAI types land here too
    return found


def rubric_signals(manifest: dict) -> set[str]:
    """The signals the rubric's expressions give one crJSON manifest."""
    assertions = _mapping(manifest.get("assertions"))
    actions_v2 = _mapping(assertions.get(ACTIONS_V2))
    actions = [a for a in actions_v2.get("actions") or [] if isinstance(a, dict)]
    found = set()
    for action in actions:
        found |= action_signals(action.get("action"), action.get("digitalSourceType"))
    ingredient = assertions.get(INGREDIENT_V3)
    if ingredient is not None and _mapping(ingredient).get("activeManifest") is None:
        found.add("mediaUnknownProvenance")
    if _ambiguous(manifest, actions_v2, actions):
        found.add("ambiguousActions")
    return found


def _ambiguous(manifest: dict, actions_v2: dict, actions: list[dict]) -> bool:
    """The rubric's ambiguousActions: no v2 actions, not all actions included, a custom or
    unknown action, or actions among the gathered (not created) assertions."""
    names = [a.get("action") for a in actions if a.get("action") is not None]
    gathered = _mapping(manifest.get("claim.v2")).get("gathered_assertions") or []
    return (not actions or actions_v2.get("allActionsIncluded") is not True
            or any(not str(name).startswith("c2pa.") or name == "c2pa.unknown"
                   for name in names)
            or any("c2pa.actions" in str(_mapping(ref).get("url", "")) for ref in gathered))


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def wider_signals(manifest: dict) -> dict[str, list[str]]:
    """Signals labelcheck finds beyond the rubric in one crJSON manifest, each with why the
    rubric does not give it (signals the rubric gives are left out)."""
    given = rubric_signals(manifest)
    found: dict[str, list[str]] = {}

    def add(signal: str, why: str) -> None:
        if signal not in given and why not in found.setdefault(signal, []):
            found[signal].append(why)

    for label, data in _mapping(manifest.get("assertions")).items():
        base = base_label(label)
        if base in ("c2pa.actions", ACTIONS_V2):
            for action in _mapping(data).get("actions") or []:
                if isinstance(action, dict):
                    for signal, why in _action_readings(label, action):
                        add(signal, why)
        elif base.startswith("c2pa.ingredient") and not _manifest_of(data):
            add("mediaUnknownProvenance", f"{label} has no manifest (the rubric reads only "
                                          f"the first {INGREDIENT_V3})")
    return found


def _action_readings(label: str, action: dict):
    """(signal, why the rubric misses it) for one action read as labelcheck reads it."""
    parameters = _mapping(action.get("parameters"))
    name = action.get("action")
    values = [(field_name, value) for field_name, value in
              (("digitalSourceType", action.get("digitalSourceType")),
               (ADOBE_SOURCE_TYPE, parameters.get(ADOBE_SOURCE_TYPE))) if isinstance(value, str)]
    for field_name, value in values or [("digitalSourceType", None)]:
        why = wider_reason(label, field_name, name, value)
        for signal in action_signals(name, value, by_term=True) if why else ():
            yield signal, why


def wider_reason(label: str, field_name: str, action: object, value: str | None) -> str:
    """Why the Asset Rubrics would not give the signal of this action's source type (read
    from `field_name` of an action in the assertion `label`); '' when they would."""
    if base_label(label) == "c2pa.actions":
        return f"read from v1 {label}, which the Asset Rubrics 1.0 do not read"
    if label != ACTIONS_V2:
        return f"read from {label}; the Asset Rubrics read only {ACTIONS_V2}"
    if field_name == ADOBE_SOURCE_TYPE:
        return f"read from Adobe's {ADOBE_SOURCE_TYPE} parameter, which the rubric does not read"
    if action_signals(action, value) != action_signals(action, value, by_term=True):
        return "the source type is not written as the exact URI the rubric compares"
    return ""


def _manifest_of(ingredient) -> bool:
    data = _mapping(ingredient)
    return bool(data.get("activeManifest") or data.get("c2pa_manifest"))


@dataclass
class ManifestSignals:
    """The signals of one manifest: the rubric's, and those labelcheck adds with why."""

    label: str
    rubric: set[str]
    wider: dict[str, list[str]] = field(default_factory=dict)

    def details(self, role: str, asserted_by: str) -> dict:
        table = rubric().signals
        signals = {name: {"id": table[name]["id"], "text": table[name]["text"],
                          "read_by": "rubric"} for name in sorted(self.rubric)}
        signals.update({name: {"id": table[name]["id"], "text": table[name]["text"],
                               "read_by": "labelcheck (wider than the rubric)",
                               "because": reasons}
                        for name, reasons in sorted(self.wider.items())})
        return {"manifest": self.label, "role": role, "asserted_by": asserted_by,
                "rubric": "C2PA Asset Rubrics 1.0 (2026-08-06)", "signals": signals}

    def words(self) -> str:
        said = [name for name in sorted(self.rubric)]
        said += [f"{name} (read wider than the rubric: {'; '.join(reasons)})"
                 for name, reasons in sorted(self.wider.items())]
        return ", ".join(said) or "none"


def signal_findings(reading: ManifestStore) -> list[Finding]:
    """One finding per manifest (active first): its Asset Rubrics signals and its signer."""
    out = []
    for manifest in reading.stored_manifests:
        label = str(manifest["label"])
        signals = ManifestSignals(label, rubric_signals(manifest), wider_signals(manifest))
        signer = reading.signer(label)
        out.append(reading.info(
            "c2pa.signals",
            f"C2PA Asset Rubrics 1.0 signals of the {reading.role(label)}, asserted by "
            f"{signer}: {signals.words()}", location=reading.where(label),
            details=signals.details(reading.role(label), signer)))
    return out
