"""AI declarations in every manifest of the store: the evidence the verdict reads.

The whole store is examined, not only the active manifest: ChatGPT and Photoshop files declare
generative AI in an *ingredient's* manifest while the active one says only "opened". An action's
digital source type (in ``c2pa.actions`` v1 or v2, or Adobe's vendor parameter), the C2PA 2.4
``c2pa.ai-disclosure`` assertion, the legacy ``com.adobe.generative-ai`` assertion, AI fields of
signed ``cawg.metadata`` and generative-AI tool names are declarations. Each names the Asset
Rubrics signal it amounts to, and says so when the rubric would not have read it.
"""

from __future__ import annotations

from typing import Iterator

from labelcheck.core.model import Finding, Kind
from labelcheck.sources import terms
from labelcheck.sources.c2pa.signals import (ACTIONS_V2, ADOBE_SOURCE_TYPE, action_signals,
                                             wider_reason)
from labelcheck.sources.c2pa.store import ManifestStore, base_label, generator_info

LEGACY_GENAI_ASSERTION = "com.adobe.generative-ai"
AI_DISCLOSURE = "c2pa.ai-disclosure"
CAWG_METADATA = "cawg.metadata"
IPTC_PREFIX = "Iptc4xmpExt:"
# IPTC Photo Metadata 2025.1's AI properties (also read from XMP by the xmp source).
IPTC_AI_FIELDS = ("AISystemUsed", "AISystemVersionUsed", "AIPromptInformation",
                  "AIPromptWriterName")
BROKEN = " (but the content no longer matches the signed hash)"
MAX_DEPTH = 4  # how deep into an assertion's maps a field is looked for
MAX_VALUES = 16  # values of one metadata field that are read
INGREDIENT_NOTE = "declared in an ingredient's manifest: labelcheck counts it for the file"
INGREDIENT_SIGNAL = ("declared in an ingredient's manifest: the Asset Rubrics give its signal to "
                     "that manifest only; labelcheck counts it for the file")


def declaration_findings(reading: ManifestStore) -> list[Finding]:
    """The AI declarations of every manifest of the store. They are read from the manifests as
    stored, which keep each assertion's own label: the Reader's JSON shows v1 ``c2pa.actions`` as
    ``c2pa.actions.v2``."""
    out: list[Finding] = []
    for manifest in reading.stored_manifests:
        out.extend(Declarations(reading, manifest).findings())
    return out


class Declarations:
    """The AI declarations of one manifest (as stored, crJSON's shape)."""

    def __init__(self, reading: ManifestStore, manifest: dict):
        self.reading = reading
        self.label = str(manifest["label"])
        self.manifest = manifest
        self.where = reading.where(self.label)
        self.ingredient = self.label != reading.active

    def findings(self) -> Iterator[Finding]:
        assertions = self.manifest.get("assertions")
        for name, data in (assertions.items() if isinstance(assertions, dict) else ()):
            base = base_label(name)
            if base.startswith(LEGACY_GENAI_ASSERTION):
                yield self.ai(name, "c2pa.legacy_genai_assertion",
                              f"legacy Adobe generative-AI assertion ({name}; not an Asset "
                              "Rubrics signal)", 0.95)
            elif base == AI_DISCLOSURE:
                yield self.ai_disclosure(name, data)
            elif base == CAWG_METADATA:
                yield from self.cawg_metadata(name, data)
            elif base in ("c2pa.actions", ACTIONS_V2) and isinstance(data, dict):
                for index, action in enumerate(data.get("actions") or []):
                    if isinstance(action, dict):
                        yield from self.action(name, f"{name} > actions[{index}]", action)
        claim = self.manifest.get("claim.v2") or self.manifest.get("claim")
        claim = claim if isinstance(claim, dict) else {}
        generator = terms.match_generator(
            f"{claim.get('claim_generator', '')} {generator_info(claim)}")
        if generator:
            yield self.ai("claim_generator", "c2pa.ai_generator",
                          f"manifest written by a generative-AI tool: {generator} (a tool "
                          "name, which the Asset Rubrics do not read)", 0.9)

    def ai(self, path: str, code: str, message: str, confidence: float,
           **details) -> Finding:
        """An AI declaration on the ``c2pa`` channel, broken when the content changed."""
        intact = self.reading.intact
        if self.ingredient:
            message += "; " + (INGREDIENT_SIGNAL if details.get("signals") else INGREDIENT_NOTE)
        return self.reading.make(Kind.AI_DECLARATION, code, message + ("" if intact else BROKEN),
                                 location=f"{self.where} > {path}", confidence=confidence,
                                 channel="c2pa", intact=intact,
                                 details={key: value for key, value in details.items() if value})

    def action(self, label: str, path: str, action: dict) -> Iterator[Finding]:
        """An action's digital source type (and Adobe's parameter), and the tool named as its
        software agent."""
        name = action.get("action", "action")
        parameters = action.get("parameters") if isinstance(action.get("parameters"),
                                                            dict) else {}
        for field_name, value in (("digitalSourceType", action.get("digitalSourceType")),
                                  (ADOBE_SOURCE_TYPE, parameters.get(ADOBE_SOURCE_TYPE))):
            if not isinstance(value, str):
                continue
            category = terms.classify_source_type(value)
            term = terms.describe_source_type(value)
            signals = sorted(action_signals(name, value, by_term=True))
            wider = wider_reason(label, field_name, name, value)
            field_name = field_name if field_name == "digitalSourceType" else \
                f"parameters.{field_name}"
            said = f"{name} with digital source type {term}" + (
                f" (Asset Rubrics signal {', '.join(signals)}{'; ' + wider if wider else ''})"
                if signals else "")
            if category == terms.AI:
                yield self.ai(f"{path}.{field_name}", "c2pa.ai_source_type", said, 1.0,
                              signals=signals, wider_than_rubric=wider, value=value)
            elif category == terms.POSSIBLE_AI:
                yield self.reading.make(
                    Kind.POSSIBLE_AI, "c2pa.possible_ai_source_type",
                    f"{said}: may or may not involve AI (reported, not AI evidence)",
                    location=f"{self.where} > {path}.{field_name}", confidence=0.5,
                    details={"signals": signals, "value": value})
        agent = action.get("softwareAgent")
        agent_name = str(agent.get("name", "")) if isinstance(agent, dict) else str(agent or "")
        texts = " ".join(str(t) for t in (agent_name, action.get("description"),
                                          parameters.get("description")) if t)
        generator = terms.match_generator(texts)
        if generator:
            tool = agent_name if agent_name and generator.startswith(agent_name) else (
                f"{agent_name or texts} ({generator})")
            yield self.ai(f"{path}.softwareAgent", "c2pa.ai_generator",
                          f"{name} by the generative-AI tool {tool} (a tool name, which the "
                          "Asset Rubrics do not read)", 0.9)

    def ai_disclosure(self, name: str, data) -> Finding:
        """C2PA 2.4's AI disclosure: the model and the level of human oversight. Its field
        names rest on secondary sources (the 2.4 text was not available): the assertion
        itself is the declaration, its fields are reported as found."""
        data = data if isinstance(data, dict) else {}
        facts = {key: _lookup(data, key) for key in
                 ("modelType", "modelName", "modelIdentifier", "humanOversightLevel")}
        said = ", ".join(f"{key} {value}" for key, value in facts.items() if value)
        return self.ai(name, "c2pa.ai_disclosure",
                       f"C2PA 2.4 AI disclosure{': ' + said if said else ''}", 1.0,
                       **{key: value for key, value in facts.items() if value})

    def cawg_metadata(self, name: str, data) -> Iterator[Finding]:
        """Signed IPTC metadata (CAWG): an AI digital source type is a declaration; the IPTC
        2025.1 AI fields name the system."""
        data = data if isinstance(data, dict) else {}
        for value in _values(data.get(f"{IPTC_PREFIX}DigitalSourceType")):
            if terms.classify_source_type(value) == terms.AI:
                yield self.ai(f"{name} > {IPTC_PREFIX}DigitalSourceType",
                              "c2pa.ai_source_type", f"signed CAWG metadata: digital source "
                              f"type {terms.source_type_term(value)}", 1.0, value=value)
        fields = {key: ", ".join(_values(data.get(IPTC_PREFIX + key))) for key in IPTC_AI_FIELDS}
        fields = {key: value for key, value in fields.items() if value}
        if fields:
            yield self.reading.make(
                Kind.AI_TRACE, "c2pa.ai_system",
                "signed CAWG metadata names the AI system used: " + ", ".join(
                    f"{key} {value!r}" for key, value in fields.items()),
                location=f"{self.where} > {name}", confidence=0.9, details=fields)


def _lookup(data: dict, key: str, depth: int = MAX_DEPTH) -> str:
    """A field of `data` or of a map inside it (C2PA 2.4 nests ``humanOversightLevel`` in
    ``contentProfile``), matched without regard to case or underscores; a hostile assertion
    nested deeper than `depth` is not searched further."""
    wanted = key.lower()
    for name, value in data.items():
        if str(name).replace("_", "").lower() == wanted and not isinstance(value, (dict, list)):
            return str(value)
    for value in data.values() if depth else ():
        if isinstance(value, dict):
            found = _lookup(value, key, depth - 1)
            if found:
                return found
    return ""


def _values(value, depth: int = MAX_DEPTH) -> list[str]:
    """A JSON-LD value as strings: a string, a list of them, or ``{"@value": ...}``."""
    if isinstance(value, list) and depth:
        return [text for item in value[:MAX_VALUES] for text in _values(item, depth - 1)]
    if isinstance(value, dict) and depth:
        return _values(value.get("@value"), depth - 1)
    return [str(value)] if isinstance(value, (str, int, float)) and str(value).strip() else []
