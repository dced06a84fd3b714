"""Container formats: one module per format, holding all that labelcheck knows about it.

`identify` tells a file's format from its first bytes (never from its name, which only
refines TIFF into DNG); `format_of` gives the module's `Format` for a format name; `EXTENSIONS`
maps the file extensions of every format labelcheck reads to the format they claim.
"""

from __future__ import annotations

from labelcheck.core.model import MediaError
from labelcheck.formats.base import FileType, Format
from labelcheck.formats.asf import Asf
from labelcheck.formats.bmff import Bmff
from labelcheck.formats.dv import Dv
from labelcheck.formats.flv import Flv
from labelcheck.formats.gif import Gif
from labelcheck.formats.jpeg import Jpeg
from labelcheck.formats.jpeg2000 import Jpeg2000
from labelcheck.formats.jxl import Jxl
from labelcheck.formats.matroska import Matroska
from labelcheck.formats.mpeg import MpegProgram, MpegVideo
from labelcheck.formats.mpegts import MpegTs
from labelcheck.formats.mxf import Mxf
from labelcheck.formats.pdf import Pdf
from labelcheck.formats.png import Png
from labelcheck.formats.psd import Psd
from labelcheck.formats.raster import Raster
from labelcheck.formats.raw import Raw
from labelcheck.formats.riff import Riff
from labelcheck.formats.svg import Svg
from labelcheck.formats.tiff import Tiff

# In the order `identify` asks them: raw camera files before TIFF and BMFF, whose headers
# some of them share (CR2 is a TIFF, CR3 an ISO BMFF file); Pillow's loosely signed raster
# formats last.
FORMATS: tuple[Format, ...] = (Jpeg(), Png(), Riff(), Raw(), Tiff(), Gif(), Pdf(), Matroska(),
                               Jpeg2000(), Jxl(), Bmff(), MpegTs(), MpegProgram(), MpegVideo(),
                               Flv(), Asf(), Mxf(), Dv(), Psd(), Svg(), Raster())
SNIFF_BYTES = 4096  # how much of a file `identify` needs (an SVG's root element may follow a
# long XML prologue; PhotoCD's signature is at byte 2048; MPEG-TS: three 192-byte packets)
EXTENSIONS = {ext: name for fmt in FORMATS for ext, name in fmt.extensions.items()}
_BY_NAME = {name: fmt for fmt in FORMATS for name in fmt.names}


def identify(head: bytes, name: str = "") -> FileType:
    """The file type of a file that starts with `head`; `MediaError` when none matches."""
    if not head:
        raise MediaError("empty file (0 bytes)")
    for fmt in FORMATS:
        found = fmt.identify(head[:SNIFF_BYTES], name)
        if found is not None:
            return found
    raise MediaError("not a supported image or video format (the bytes match no known "
                     "file signature)")


def format_of(name: str) -> Format:
    """The `Format` that reads files of format `name` (as in `FileType.format`)."""
    return _BY_NAME[name]


__all__ = ["EXTENSIONS", "FORMATS", "SNIFF_BYTES", "FileType", "Format", "format_of", "identify"]
