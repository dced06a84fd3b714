"""Names from outside (file names, upload names, URLs) as display strings, escaped reversibly.

A report's `path` is a display string: nothing ever opens it. It must be valid UTF-8 on one
line, whatever the file system allowed: a Linux name can hold bytes that are not UTF-8, a
newline (which would forge a record in the text output) or bidirectional overrides (which make
``gpj.exe`` read as ``exe.jpg``). `display_name` escapes exactly those, the way
``ls --quoting-style=escape`` does, so every output format and the store can carry the name, and
`unescape_name` gives back its exact bytes:

- ``\\\\`` is a backslash (always escaped, so that the escapes below are unambiguous);
- ``\\n``, ``\\r``, ``\\t`` are newline, carriage return and tab;
- ``\\xNN`` is the raw byte NN: a byte that is not UTF-8, or another control character
  (U+0000 to U+001F, U+007F);
- ``\\uNNNN`` is that Unicode character: C1 controls, line and paragraph separators, and the
  invisible marks that change the direction of text.

A name with none of these (nearly every name) is shown unchanged.
"""

from __future__ import annotations

import os
import re
import unicodedata

SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u061c")
ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(.))", re.DOTALL)


def display_name(raw: str | bytes | os.PathLike) -> str:
    """The display string of a name given by the file system, a command line or an upload."""
    text = os.fsdecode(raw)
    if text.isprintable() and "\\" not in text and not _has_surrogates(text):
        return text
    return "".join(_escaped(char, backslash=True) for char in text)


def unescape_name(shown: str) -> bytes:
    """The bytes of the name whose `display_name` is `shown` (``os.fsdecode`` makes it a path
    again)."""
    out = bytearray()
    position = 0
    for match in ESCAPE.finditer(shown):
        out += shown[position:match.start()].encode("utf-8")
        byte, code, short = match.groups()
        if byte is not None:
            out.append(int(byte, 16))
        elif code is not None:
            out += chr(int(code, 16)).encode("utf-8", "surrogatepass")
        else:
            out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(short, short.encode("utf-8"))
        position = match.end()
    return bytes(out + shown[position:].encode("utf-8"))


def one_line(text: str) -> str:
    """`text` (a metadata value, an OCR reading, a message) on one line for line-based output:
    the same escapes as `display_name` for control and direction characters; backslashes are
    left alone, since nothing needs to read the text back."""
    if text.isprintable() and not _has_surrogates(text):
        return text
    return "".join(_escaped(char, backslash=False) for char in text)


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _escaped(char: str, backslash: bool) -> str:
    if char == "\\":
        return "\\\\" if backslash else char
    if char in SHORT:
        return SHORT[char]
    point = ord(char)
    if 0xDC80 <= point <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{point - 0xDC00:02x}"
    if point < 0x20 or point == 0x7F:
        return f"\\x{point:02x}"
    if _unsafe(char):
        return f"\\u{point:04x}"
    return char


def _unsafe(char: str) -> bool:
    """Characters that break a line, are invisible controls, or turn text around."""
    return (char in BIDI_CONTROLS or "\ud800" <= char <= "\udfff"
            or unicodedata.category(char) in ("Cc", "Zl", "Zp"))
