"""Safely parse XMP packets (the container formats say where they are; `scan_packets` finds
them in formats that keep them where no walker looks).

XMP is attacker-controlled XML. It is parsed with defusedxml (no entity expansion, no
external references: billion laughs is refused, not expanded) and walked iteratively (deep
nesting cannot exhaust the stack). Properties are resolved by namespace URI, never by prefix,
because writers pick their own prefixes (Midjourney writes ``iptcExt``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from xml.etree.ElementTree import ParseError

from labelcheck.formats.base import MAX_PACKET_BYTES, Packet

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


# The root element is ``xmpmeta`` (``xapmeta`` in early XMP) under any prefix: Windows Photo
# Gallery writes ``<xmp:xmpmeta xmlns:xmp="adobe:ns:meta/">``. Its "pmeta" is searched in
# each width an encoding gives a character (UTF-8, UTF-16, UTF-32; either byte order), and the
# start of the tag is read back from there.
PMETA = {1: b"pmeta", 2: "pmeta".encode("utf-16-le")[:-1], 4: "pmeta".encode("utf-32-le")[:-3]}
CODECS = {1: ("utf-8",), 2: ("utf-16-le", "utf-16-be"), 4: ("utf-32-le", "utf-32-be")}
TAG_START = re.compile(r"<([A-Za-z_][\w.-]*:)?(x[am])$")
ROOT_START = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?x[am]pmeta[\s>/]")
ROOT_END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?x[am]pmeta\s*>")
LOOK_BACK = 96  # characters before "pmeta" searched for the tag's "<" and the wrapper


def scan_packets(data):
    """Packets found by searching the bytes, for formats whose places for XMP no walker
    reads (TIFF tag 700, HEIF items, GIF, PDF, SVG) or a file whose places hold none.
    `data` is bytes or a `FileBytes` (searched with `find`, read in slices)."""
    position = 0
    while (found := _first_marker(data, position)) is not None:
        offset, unit = found
        packet = _packet_at(data, offset, unit)
        if packet is None:
            position = offset + len(PMETA[unit])
            continue
        packet_obj, end = packet
        yield packet_obj
        if end is None:
            return
        position = end


def _first_marker(data, start: int) -> tuple[int, int] | None:
    """(offset, character width) of the first "pmeta" at or after `start`, in any width; a
    `FileBytes` is read once for all three (`find_any`)."""
    units = {marker: unit for unit, marker in PMETA.items()}
    if hasattr(data, "find_any"):
        offset, marker = data.find_any(tuple(units), start)
        return None if offset < 0 else (offset, units[marker])
    hits = [(data.find(marker, start), unit) for marker, unit in units.items()]
    hits = [hit for hit in hits if hit[0] >= 0]
    return min(hits) if hits else None


def _packet_at(data, offset: int, unit: int):
    """The packet whose root tag's "pmeta" is at `offset`, and the offset after its end tag
    (None when it has none); None when no opening root tag ends there."""
    tags = [tag for codec in CODECS[unit] if (tag := _root_tag(data, offset, unit, codec))]
    if not tags:
        return None
    # ASCII markup reads the same in both byte orders; the packet wrapper's byte-order mark
    # ("begin" attribute), when there is one, reads as U+FEFF only in the right one.
    codec, start, closing = next((tag for tag in tags if tag[3]), tags[0])[:3]
    close = data.find(closing, offset)
    where = f"XMP packet @{start}" + ("" if unit == 1 else f" ({codec.upper()})")
    if close < 0:
        text = data[start:start + MAX_PACKET_BYTES].decode(codec, "replace")
        return Packet(f"{where} (unterminated)", text), None
    end = close + len(closing)
    return Packet(where, data[start:end].decode(codec, "replace")), end


def _root_tag(data, offset: int, unit: int, codec: str):
    """(codec, start, closing tag bytes, whether a byte-order mark reads right) when the
    characters before `offset`, read in `codec`, end with an opening root tag."""
    char = offset if codec.endswith(("-le", "-8")) else offset - (unit - 1)
    back = min(LOOK_BACK, char // unit)
    before = data[char - back * unit:char].decode(codec, "replace")
    tag = TAG_START.search(before)
    if tag is None:
        return None
    closing = f"</{tag.group(1) or ''}{tag.group(2)}pmeta>".encode(codec)
    return codec, char - len(tag.group(0)) * unit, closing, "\ufeff" in before


def parse(packet: Packet) -> XmpDoc:
    """Parse one packet into namespace-resolved properties; never raises on bad XML."""
    doc = XmpDoc(packet.where)
    text = packet.text.strip().strip("\0")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        doc.error = ("XMP refused as hostile XML: it declares a DTD or entities, which XMP never "
                     "needs (entity-expansion attack); not expanded")
        return doc
    text = _root_element(text)
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


def _root_element(text: str) -> str:
    """The packet's root element (``xmpmeta`` under any prefix, else ``rdf:RDF``), without
    the packet wrapper around it."""
    start = ROOT_START.search(text)
    if start is None:
        rdf = text.find("<rdf:RDF")
        return text[rdf:] if rdf > 0 else text
    ends = list(ROOT_END.finditer(text, start.start()))
    return text[start.start():ends[-1].end()] if ends else text[start.start():]


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
