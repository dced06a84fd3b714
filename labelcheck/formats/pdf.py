"""PDF: a document, not a picture; C2PA covers it (read by the C2PA library) and its XMP
metadata stream is found by scanning for the packet."""

from __future__ import annotations

from labelcheck.formats.base import FileType, Format


class Pdf(Format):
    names = ("pdf",)
    extensions = {"pdf": "pdf"}
    c2pa = True

    def identify(self, head, name):
        if head.startswith(b"%PDF-"):
            return FileType("pdf", "application/pdf", "document")
        return None
