"""GIF: XMP in an application extension (found by scanning for the packet); C2PA in an
application extension (read by the C2PA library)."""

from __future__ import annotations

from labelcheck.formats.base import FileType, Format


class Gif(Format):
    names = ("gif",)
    extensions = {"gif": "gif"}
    c2pa = True

    def identify(self, head, name):
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return FileType("gif", "image/gif", "image")
        return None
