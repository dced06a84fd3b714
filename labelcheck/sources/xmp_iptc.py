"""XMP and IPTC: the Digital Source Type, IPTC 2025.1's AI fields, Google's AI credit lines,
C2PA manifest references.

GB 45438's ``TC260:AIGC`` also travels in XMP; it is read by the AIGC source, which owns that
label in every container.
"""

from __future__ import annotations

from labelcheck.sources import terms
from labelcheck.core.model import Kind
from labelcheck.core.wording import JUMBF_SELF, describe_location
from labelcheck.sources.base import Source
from labelcheck.formats.xmp import NS_DCTERMS, NS_IPTC_EXT, NS_PHOTOSHOP, NS_XMP

GOOGLE_AI_CREDITS = ("made with google ai", "edited with google ai")
# IPTC Photo Metadata Standard 2025.1: the AI system used, its version, the prompt and who
# wrote it (``Iptc4xmpExt:`` properties; IPTC TechReference ids aISystemUsed...).
AI_FIELDS = (("AISystemUsed", "AI system used"), ("AISystemVersionUsed", "version"),
             ("AIPromptInformation", "prompt"), ("AIPromptWriterName", "prompt written by"))
MAX_FIELD_CHARS = 200  # a prompt can be long: the finding quotes its start


class XmpIptcSource(Source):
    name = "xmp"
    order = 20

    def find(self, media, settings):
        for doc in media.xmp:
            if doc.error:
                yield self.finding(Kind.PROBLEM, "xmp.unreadable", doc.error, location=doc.where)
                continue
            yield from self._source_types(doc)
            yield from self._ai_fields(doc)
            yield from self._credits(doc)
            yield from self._creator_tools(doc)
            for url in doc.values(NS_DCTERMS, "provenance"):
                yield self._provenance(doc, url)

    def _provenance(self, doc, url: str):
        """XMP's ``dcterms:provenance`` names where the C2PA manifest is: a URL (a remote
        manifest, not fetched: labelcheck works offline) or ``self#jumbf=...``, the manifest
        store embedded in this very file, which the C2PA source reads."""
        where = doc.location(NS_DCTERMS, "provenance")
        if url.strip().startswith(JUMBF_SELF):
            return self.finding(
                Kind.INFO, "xmp.manifest_reference",
                "XMP points to the C2PA manifest embedded in this file "
                f"({describe_location(url.strip())})", location=where, details={"url": url})
        return self.finding(
            Kind.INFO, "xmp.remote_manifest_link",
            f"points to a remote C2PA manifest at {url} (not fetched: offline)",
            location=where, details={"url": url})

    def _source_types(self, doc):
        location = doc.location(NS_IPTC_EXT, "DigitalSourceType")
        for value in doc.values(NS_IPTC_EXT, "DigitalSourceType"):
            category = terms.classify_source_type(value)
            term = terms.describe_source_type(value)
            if category == terms.AI:
                yield self.finding(Kind.AI_DECLARATION, "iptc.ai_source_type",
                                   f"IPTC Digital Source Type {term}: AI-generated",
                                   location=location, channel="iptc", details={"value": value})
            elif category == terms.POSSIBLE_AI:
                yield self.finding(Kind.POSSIBLE_AI, "iptc.possible_ai_source_type",
                                   f"IPTC Digital Source Type {term}: may involve AI",
                                   location=location, confidence=0.5, details={"value": value})
            elif category == terms.NOT_AI:
                yield self.finding(Kind.NOT_AI_DECLARATION, "iptc.not_ai_source_type",
                                   f"IPTC Digital Source Type {term}: declared not AI-generated",
                                   location=location, details={"value": value})
            else:
                yield self.finding(Kind.INFO, "iptc.unknown_source_type",
                                   f"unrecognised IPTC Digital Source Type {value!r}",
                                   location=location, details={"value": value})

    def _ai_fields(self, doc):
        """IPTC 2025.1's AI fields name the generator: AI evidence. They are a disclosure (on
        the ``iptc`` channel) only together with an AI digital source type."""
        found = {name: "; ".join(value.strip() for value in doc.values(NS_IPTC_EXT, name)
                                 if value.strip())
                 for name, _ in AI_FIELDS}
        found = {name: value for name, value in found.items() if value}
        if not found:
            return
        said = ", ".join(f"{words} {_quoted(found[name])}" for name, words in AI_FIELDS
                         if name in found)
        declared = any(terms.classify_source_type(value) == terms.AI
                       for value in doc.values(NS_IPTC_EXT, "DigitalSourceType"))
        where = doc.location(NS_IPTC_EXT, next(iter(found)))
        if declared:
            yield self.finding(Kind.AI_DECLARATION, "iptc.ai_system",
                               f"IPTC AI fields: {said}, with an AI digital source type",
                               location=where, channel="iptc", details=found)
        else:
            yield self.finding(Kind.AI_TRACE, "iptc.ai_system",
                               f"IPTC AI fields: {said} (AI evidence naming the generator; "
                               "not a disclosure without an AI digital source type)",
                               location=where, confidence=0.9, details=found)

    def _credits(self, doc):
        for value in doc.values(NS_PHOTOSHOP, "Credit"):
            if value.strip().lower() in GOOGLE_AI_CREDITS:
                yield self.finding(Kind.AI_DECLARATION, "xmp.google_ai_credit",
                                   f"Google AI credit line {value.strip()!r}",
                                   location=doc.location(NS_PHOTOSHOP, "Credit"), channel="iptc",
                                   confidence=0.95, details={"value": value})

    def _creator_tools(self, doc):
        for value in doc.values(NS_XMP, "CreatorTool"):
            generator = terms.match_generator(value)
            if generator:
                yield self.finding(Kind.AI_TRACE, "xmp.ai_creator_tool",
                                   f"made with a generative-AI tool: {value} ({generator})",
                                   location=doc.location(NS_XMP, "CreatorTool"), confidence=0.85,
                                   details={"value": value})


def _quoted(value: str) -> str:
    return repr(value if len(value) <= MAX_FIELD_CHARS else value[:MAX_FIELD_CHARS] + "...")
