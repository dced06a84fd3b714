"""Word lists and tables as data (TOML): IPTC source types, generator names, label phrases.

Adding a vendor, a term or a label language is an edit to one of these files, not to code.
"""

from __future__ import annotations

import tomllib
from importlib import resources


def load_data(name: str) -> dict:
    """Parse ``labelcheck/data/<name>`` (TOML)."""
    return tomllib.loads(resources.files("labelcheck.data").joinpath(name).read_text("utf-8"))
