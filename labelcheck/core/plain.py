"""Library error text made fit for a report: no memory addresses, no absolute paths, no errno
numbers, no raw bytes.

Where labelcheck knows what an exception means it says so in its own stable words (see
`labelcheck.formats.media.decode_reason`, `labelcheck.formats.base.ffmpeg_reason`); this is
the last line for text it passes on from a library it does not know the messages of (a
detector's unexpected failure, a reader's error), so that a report never shows where a file
sat on the scanning machine or what the process's memory looked like.
"""

from __future__ import annotations

import re

ADDRESS = re.compile(r"<[^<>]*? at 0x[0-9A-Fa-f]+>|\b0x[0-9A-Fa-f]{6,}\b")
ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
QUOTED_PATH = re.compile(r"""(['"])(?:[A-Za-z]:)?[\\/][^'"]*?([^'"\\/]*)\1""")
BARE_PATH = re.compile(r"(?<![\w.:/])(?:/[\w.+@-]+){2,}/?")
BYTES_REPR = re.compile(r"""\bb(['"])(?:\\.|(?!\1).)*\1""")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]")
MAX_CHARS = 300


def plain(text: str) -> str:
    """`text` with addresses, errno numbers, paths (kept: a quoted file's own name) and byte
    strings taken out, control characters dropped, and its length bounded."""
    text = ADDRESS.sub("the data", str(text))
    text = ERRNO.sub("", text)
    text = QUOTED_PATH.sub(lambda match: f"{match.group(1)}{match.group(2)}{match.group(1)}",
                           text)
    text = BARE_PATH.sub("a file", text)
    text = BYTES_REPR.sub("(bytes)", text)
    text = CONTROL.sub("", text)
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"
