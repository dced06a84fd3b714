"""SVG: XML text. Its XMP sits in a ``<metadata>`` element (found by searching the bytes) and
C2PA manifests are embedded in it too (read by the C2PA library). labelcheck does not render
SVG: a renderer would have to fetch and run what the file points to, and the pixel checks are
not worth that risk on hostile uploads, so an SVG is read for its metadata only."""

from __future__ import annotations

import re

from labelcheck.formats.base import FileType, Format

ROOT = re.compile(rb"<svg[\s>]")
LEADING = b"\xef\xbb\xbf \t\r\n"


class Svg(Format):
    names = ("svg",)
    extensions = {"svg": "svg"}
    c2pa = True
    pixels_not_decoded = ("a vector image (SVG): labelcheck reads its metadata and C2PA "
                          "manifest but does not render it")

    def identify(self, head, name):
        """XML whose root element is ``svg`` within the first bytes (after the XML
        declaration, comments or a doctype); an HTML page with an inline SVG is not one."""
        if not head.lstrip(LEADING).startswith(b"<"):
            return None
        root = ROOT.search(head)
        if root is None or b"<html" in head[:root.start()].lower():
            return None
        return FileType("svg", "image/svg+xml", "image")
