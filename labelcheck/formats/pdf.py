"""PDF: a document, not a picture; C2PA covers it (read by the C2PA library) and its XMP
metadata stream is found by scanning for the packet."""

from __future__ import annotations

import re

from labelcheck.formats.base import FileType, Format, Walk

TAIL_BYTES = 2048  # where a PDF keeps its last cross-reference pointer and end marker
START_XREF = re.compile(rb"startxref\s+(\d+)")
XREF_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")


class Pdf(Format):
    names = ("pdf",)
    extensions = {"pdf": "pdf"}
    c2pa = True

    def identify(self, head, name):
        if head.startswith(b"%PDF-"):
            return FileType("pdf", "application/pdf", "document")
        return None

    def walk(self, data) -> Walk:
        """A PDF is read from its end: the last ``startxref`` says where the cross-reference
        table (or stream) is, and ``%%EOF`` closes the file. Without them, or with a pointer
        that misses, the file is truncated or damaged, which a reader cannot tell from a
        PDF that simply has no AI disclosure."""
        size = len(data)
        tail = bytes(data[max(0, size - TAIL_BYTES):])
        if b"%%EOF" not in tail:
            return Walk(damage="PDF truncated: the end-of-file marker (%%EOF) is missing")
        pointers = START_XREF.findall(tail)
        if not pointers:
            return Walk(damage="PDF damaged: the cross-reference pointer (startxref) is "
                               "missing")
        offset = int(pointers[-1])
        target = bytes(data[offset:offset + 32]) if offset < size else b""
        if not (target.startswith(b"xref") or XREF_OBJECT.match(target)):
            return Walk(damage=f"PDF damaged: no cross-reference table at byte {offset}, "
                               "where the file says it is")
        return Walk()
