"""China's GB 45438-2025 implicit label ("AIGC"), in every container it is found in.

One lenient parser for every place the label travels (XMP element, attribute or entity-encoded;
PNG text chunk; EXIF UserComment; bare JPEG APP segment; MP4/MOV ``moov/udta/meta`` key), so
the same rules judge it wherever it sits. Real files bend the standard (attribute form,
``Label: "AIGC"``, ``ServiceProvider`` keys): they are read and their non-conformance reported.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from labelcheck.core.model import Kind
from labelcheck.sources.base import Source
from labelcheck.sources.exif import exif_texts

STANDARD_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1",
                   "ContentPropagator", "PropagateID", "ReservedCode2")
REQUIRED_FIELDS = ("Label", "ContentProducer", "ProduceID")
LABEL_MEANINGS = {"1": "AI-generated", "2": "possibly AI-generated",
                  "3": "suspected AI-generated"}
LOOSE_PAIR = re.compile(r'"?(\w+)"?\s*[:=]\s*"?([^",{}]*)"?')
MAX_LABEL_CHARS = 64 * 1024
MAX_RAW_CANDIDATES = 5


@dataclass
class Candidate:
    """Text that claims to be an AIGC label, and where it was found."""

    location: str
    text: str


@dataclass
class AigcLabel:
    """A parsed AIGC label and how it departs from GB 45438."""

    fields: dict[str, str]
    problems: list[str]

    @property
    def value(self) -> str:
        return str(self.fields.get("Label", "")).strip()


def parse_label(text: str) -> AigcLabel | None:
    """Parse AIGC JSON leniently; None when the text holds no recognisable label."""
    text = html.unescape(html.unescape(text.strip()))[:MAX_LABEL_CHARS]
    start = text.find("{")
    if start < 0:
        return None
    problems = []
    try:
        data, _ = json.JSONDecoder().raw_decode(text, start)
        wrapped_expected = True
    except ValueError:
        data = {k: v.strip() for k, v in LOOSE_PAIR.findall(text[start:]) if k.upper() != "AIGC"}
        problems.append("not valid JSON")
        wrapped_expected = False
    if not isinstance(data, dict):
        return None
    inner = next((v for k, v in data.items() if k.upper() == "AIGC"), None)
    if isinstance(inner, dict):
        data = inner
    elif "Label" in data:
        if wrapped_expected:
            problems.append('fields not wrapped in an "AIGC" object')
    else:
        return None
    fields = {str(k): "" if v is None else str(v) for k, v in data.items()}
    problems += [f"missing required field {name}" for name in REQUIRED_FIELDS
                 if not fields.get(name)]
    if "Label" in fields and fields["Label"].strip() not in LABEL_MEANINGS:
        problems.append(f"Label is {fields['Label']!r}, not 1, 2 or 3")
    problems += [f"non-standard field {name}" for name in fields if name not in STANDARD_FIELDS]
    return AigcLabel(fields, problems)


class AigcSource(Source):
    name = "aigc"
    order = 25
    markers = (b"AIGC",)

    def find(self, media, settings):
        labels = [(c, parse_label(c.text)) for c in self._candidates(media)]
        labels = [(c, label) for c, label in labels if label is not None]
        for candidate, label in labels:
            yield self._label_finding(candidate, label)
            if label.problems:
                yield self.finding(
                    Kind.PROBLEM, "aigc.nonconformant",
                    "AIGC label does not follow GB 45438: " + "; ".join(label.problems),
                    location=candidate.location, details={"problems": label.problems})
        if len(labels) > 1:
            yield self.finding(Kind.PROBLEM, "aigc.multiple_labels",
                               f"{len(labels)} AIGC labels in one file (GB 45438 expects one)",
                               location=", ".join(c.location for c, _ in labels))

    def _label_finding(self, candidate: Candidate, label: AigcLabel):
        value = label.value
        producer = label.fields.get("ContentProducer") or label.fields.get("ServiceProvider")
        parties = f"producer {producer or 'not given'}"
        if label.fields.get("ContentPropagator"):
            parties += f", propagator {label.fields['ContentPropagator']}"
        details = {"fields": label.fields, "conformant": not label.problems}
        measurements = {"label": value, "conformant": not label.problems}
        if value in ("2", "3"):
            return self.finding(
                Kind.POSSIBLE_AI, "aigc.possible_ai_label",
                f"GB 45438 AIGC label {value} ({LABEL_MEANINGS[value]}), {parties}",
                location=candidate.location, confidence=0.5, channel="aigc",
                measurements=measurements, details=details)
        meaning = LABEL_MEANINGS.get(value, f"non-standard value {value!r}")
        return self.finding(
            Kind.AI_DECLARATION, "aigc.label",
            f"GB 45438 AIGC implicit label: Label {value or '?'} ({meaning}), {parties}",
            location=candidate.location, confidence=1.0 if value == "1" else 0.8,
            channel="aigc", measurements=measurements, details=details)

    def _candidates(self, media):
        """Every place an AIGC label may sit, container by container."""
        found = list(self._structured_candidates(media))
        return found or list(self._raw_candidates(media.data))

    def _structured_candidates(self, media):
        for doc in media.xmp:
            for (namespace, name), values in doc.properties.items():
                if "aigc" in name.lower():
                    for value in values:
                        yield Candidate(doc.location(namespace, name), value)
        for field in media.text_fields:
            if "aigc" in field.key.lower():
                yield Candidate(field.where, field.value)
        comment = exif_texts(media).get("UserComment", "") if media.media_kind == "image" else ""
        if "AIGC" in comment.upper():
            yield Candidate("EXIF UserComment", comment)
        for segment in media.jpeg_segments:
            if segment.payload.startswith((b"AIGC", b"aigc")):
                yield Candidate(f"JPEG {segment.name} segment @{segment.offset}",
                                segment.payload.decode("utf-8", "replace"))

    def _raw_candidates(self, data):
        """Last resort for containers without a walker: the bytes around ``AIGC``. (`data` is
        bytes or a `FileBytes`: searched with `find`, read in slices.)"""
        at = data.find(b"AIGC")
        for _ in range(MAX_RAW_CANDIDATES):
            if at < 0:
                return
            start = max(0, at - 3)
            brace = data[start:at].rfind(b"{")
            begin = at if brace < 0 else start + brace
            yield Candidate(f"bytes @{begin}",
                            data[begin:begin + MAX_LABEL_CHARS].decode("utf-8", "replace"))
            at = data.find(b"AIGC", at + 1)
