"""Shared word lists, loaded from the data files in ``labelcheck/data``.

Several sources need the same judgements (is this digital source type AI? is this software
name a generator?). The lists live in data files so that adding a vendor or a term is an
edit to TOML, not to code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from labelcheck.data import load_data

AI = "ai"
POSSIBLE_AI = "possible_ai"
NOT_AI = "not_ai"
UNKNOWN = "unknown"


@cache
def _source_type_classes() -> dict[str, str]:
    table = load_data("digital_source_types.toml")
    return {term.lower(): category for category in (AI, POSSIBLE_AI, NOT_AI)
            for term in table[category]}


def source_type_term(value: str) -> str:
    """The bare term of a digital source type: http(s) URI, bare name, stray spaces removed."""
    return value.strip().rstrip("/").rsplit("/", 1)[-1].strip()


def classify_source_type(value: str) -> str:
    """`ai`, `possible_ai`, `not_ai` or `unknown` for an IPTC/C2PA digital source type."""
    return _source_type_classes().get(source_type_term(value).lower(), UNKNOWN)


@cache
def _retired() -> dict[str, str]:
    return {old.lower(): new for old, new in load_data("digital_source_types.toml")
            .get("retired", {}).items()}


def describe_source_type(value: str) -> str:
    """A source type's term as a person reads it, saying when the vocabulary retired it:
    ``digitalArt (a retired term, now digitalCreation)``."""
    term = source_type_term(value)
    replacement = _retired().get(term.lower())
    return f"{term} (a retired term, now {replacement})" if replacement else term


@dataclass(frozen=True)
class Generator:
    name: str
    pattern: re.Pattern


@cache
def _generators() -> tuple[Generator, ...]:
    entries = load_data("generators.toml")["generator"]
    return tuple(Generator(entry["name"], re.compile("|".join(entry["patterns"]), re.I))
                 for entry in entries)


MAX_NAME_TEXT = 4096  # tool names are short; a megabyte "Software" field is not searched whole


def match_generator(text: str) -> str | None:
    """The generator family named in (the start of) `text`, or None."""
    if not text:
        return None
    text = text[:MAX_NAME_TEXT]
    for generator in _generators():
        if generator.pattern.search(text):
            return generator.name
    return None
