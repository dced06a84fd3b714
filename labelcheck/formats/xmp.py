"""Safely parse XMP packets (the container formats say where they are; `scan_packets` finds
them in formats that keep them where no walker looks).

XMP is attacker-controlled XML. It is parsed with defusedxml (no entity expansion, no
external references: billion laughs is refused, not expanded) and walked iteratively (deep
nesting cannot exhaust the stack). Properties are resolved by namespace URI, never by prefix,
because writers pick their own prefixes (Midjourney writes ``iptcExt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from xml.etree.ElementTree import ParseError

from labelcheck.formats.base import MAX_PACKET_BYTES, Packet, decode_xmp

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
NS_DCTERMS = "http://purl.org/dc/terms/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"

PREFIXES = {
    NS_IPTC_EXT: "Iptc4xmpExt", NS_PHOTOSHOP: "photoshop", NS_DCTERMS: "dcterms", NS_DC: "dc",
    NS_XMP: "xmp", NS_TC260: "TC260", NS_RDF: "rdf",
}


@dataclass
class XmpDoc:
    """A parsed packet, as (namespace, name) -> values, plus what went wrong parsing it."""

    where: str
    properties: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    error: str | None = None

    def values(self, namespace: str, name: str) -> list[str]:
        return self.properties.get((namespace, name), [])

    def location(self, namespace: str, name: str) -> str:
        return f"{self.where} {PREFIXES.get(namespace, namespace)}:{name}"


def scan_packets(data):
    """Packets found by searching the bytes, for formats whose places for XMP no walker
    reads (TIFF tag 700, HEIF items, GIF, PDF) or a file whose places hold none.
    `data` is bytes or a `FileBytes` (searched with `find`, read in slices)."""
    start = data.find(b"<x:xmpmeta")
    while start >= 0:
        end = data.find(b"</x:xmpmeta>", start)
        if end < 0:
            yield Packet(f"XMP packet @{start} (unterminated)",
                         decode_xmp(data[start:start + MAX_PACKET_BYTES]))
            return
        end += len(b"</x:xmpmeta>")
        yield Packet(f"XMP packet @{start}", decode_xmp(data[start:end]))
        start = data.find(b"<x:xmpmeta", end)


def parse(packet: Packet) -> XmpDoc:
    """Parse one packet into namespace-resolved properties; never raises on bad XML."""
    doc = XmpDoc(packet.where)
    text = packet.text.strip().strip("\0")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        doc.error = ("XMP refused as hostile XML: it declares a DTD or entities, which XMP never "
                     "needs (entity-expansion attack); not expanded")
        return doc
    start = text.find("<x:xmpmeta")
    if start < 0:
        start = text.find("<rdf:RDF")
    if start > 0:
        text = text[start:]
    end = text.rfind("</x:xmpmeta>")
    if end >= 0:
        text = text[:end + len("</x:xmpmeta>")]
    try:
        root = fromstring(text)
    except DefusedXmlException as exc:
        doc.error = f"XMP refused as hostile XML ({type(exc).__name__}): not expanded"
        return doc
    except (ParseError, ValueError) as exc:
        doc.error = f"XMP is not well-formed XML: {exc}"
        return doc
    _collect(root, doc.properties)
    return doc


def _collect(root, properties: dict) -> None:
    """Gather attribute and element properties; rdf:li/rdf:value children feed their parent."""
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in root.iter():
        for qname, value in element.attrib.items():
            key = _split(qname)
            if key and key[0] != NS_RDF:
                properties.setdefault(key, []).append(value)
        key = _split(element.tag)
        if key is None:
            continue
        if key[0] == NS_RDF:
            if key[1] in ("li", "value") and (element.text or "").strip():
                owner = _property_owner(element, parents)
                if owner is not None:
                    properties.setdefault(owner, []).append(element.text.strip())
            continue
        resource = element.attrib.get(f"{{{NS_RDF}}}resource")
        if resource:
            properties.setdefault(key, []).append(resource)
        elif (element.text or "").strip():
            properties.setdefault(key, []).append(element.text.strip())


def _property_owner(element, parents) -> tuple[str, str] | None:
    node = parents.get(element)
    while node is not None:
        key = _split(node.tag)
        if key and key[0] != NS_RDF:
            return key
        node = parents.get(node)
    return None


def _split(qname: str) -> tuple[str, str] | None:
    if not isinstance(qname, str) or not qname.startswith("{"):
        return None
    namespace, _, local = qname[1:].partition("}")
    return namespace, local
