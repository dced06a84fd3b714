"""Match OCR'd text against the visible-label lexicon (``data/label_lexicon.toml``).

OCR misreads "AI" as "Al", "A1" or "A|", drops diacritics and splits labels over two lines,
while ads are full of words that merely contain "ai" (RAIN, Thailand, PAID, Al Pacino). So text
is compared word by word after folding case, diacritics and the known confusions; "ai" is never
matched inside another word, and a bare "AI" counts only as a whole line (and, for icons, only
inside an icon shape: see `labelcheck.sources.visible_label`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from labelcheck.vocabulary import load_data

SPECIAL_FOLDS = str.maketrans({"đ": "d", "Đ": "D", "ß": "ss", "ł": "l", "Ł": "L", "ø": "o",
                               "’": "'", "‘": "'"})
TOKEN = re.compile(r"[A-Za-z0-9|!]+|[^\W\d_A-Za-z]+|\d+", re.UNICODE)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
MIN_PARTIAL_CHARS = 2


@dataclass(frozen=True)
class Entry:
    lang: str
    match: str
    phrase: str
    tokens: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    needs_icon_shape: bool = False
    gb45438: bool = False


@dataclass
class LabelMatch:
    """A lexicon hit: which phrase, which language, and rule tags (``gb45438``)."""

    lang: str
    phrase: str
    rules: list[str] = field(default_factory=list)
    needs_icon_shape: bool = False
    partial: bool = False


@cache
def _aliases() -> dict[str, str]:
    table = load_data("label_lexicon.toml")["aliases"]
    return {form: canonical for canonical, forms in table.items() for form in forms}


def tokens(text: str) -> list[str]:
    """Folded words of `text`: diacritics removed, OCR aliases resolved (case-sensitively,
    before case is folded), then lower case."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text)
                                 .translate(SPECIAL_FOLDS))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return [_aliases().get(raw) or raw.casefold() for raw in TOKEN.findall(text)]


def folded(text: str) -> str:
    """The folded words joined without spaces, for CJK patterns."""
    return "".join(tokens(text))


@cache
def entries() -> tuple[Entry, ...]:
    out = []
    for group in load_data("label_lexicon.toml")["label"]:
        for phrase in group["phrases"]:
            pattern = re.compile(phrase) if group["match"] == "regex" else None
            out.append(Entry(group["lang"], group["match"], phrase, tuple(tokens(phrase)),
                             pattern, group.get("needs_icon_shape", False),
                             group.get("gb45438", False)))
    return tuple(out)


def match_label(text: str) -> LabelMatch | None:
    """The lexicon entry `text` (one OCR line or two merged lines) matches, if any."""
    words = tokens(text)
    if not words:
        return None
    for entry in entries():
        if _matches(entry, words):
            return LabelMatch(entry.lang, entry.phrase, gb45438_rules(words),
                              entry.needs_icon_shape)
    return None


def match_partial(text: str) -> LabelMatch | None:
    """A label cut by the picture's border: the line is the start or the end of a phrase,
    with the cut word reduced to a fragment, and still names AI (or is two whole words)."""
    words = tokens(text)
    if not words:
        return None
    for entry in entries():
        if entry.match != "phrase" or len(entry.tokens) < 2 or len(words) > len(entry.tokens):
            continue
        if _is_cut_end(words, entry.tokens) or _is_cut_start(words, entry.tokens):
            if {"ai", "ia", "ki"} & set(words) or len(words) >= 2:
                return LabelMatch(entry.lang, entry.phrase, gb45438_rules(words), partial=True)
    return None


def gb45438_rules(words: list[str]) -> list[str]:
    """``["gb45438"]`` when the text has GB 45438's explicit-label wording: "AI" or "人工智能"
    together with "生成" or "合成"."""
    joined = "".join(words)
    names_ai = "ai" in words or "人工智能" in joined or re.search(r"ai(?=[^a-z])", joined)
    return ["gb45438"] if names_ai and ("生成" in joined or "合成" in joined) else []


def _matches(entry: Entry, words: list[str]) -> bool:
    if entry.match == "whole":
        return tuple(words) == entry.tokens
    if entry.match == "regex":
        return bool(entry.pattern.search(" ".join(words)) or
                    entry.pattern.search("".join(words)))
    span = len(entry.tokens)
    return any(all(_same(a, b) for a, b in zip(words[i:i + span], entry.tokens))
               for i in range(len(words) - span + 1))


def _same(seen: str, expected: str) -> bool:
    """Word equality that forgives one OCR slip in long words, never in short ones."""
    if seen == expected:
        return True
    allowed = 2 if len(expected) >= 9 else 1 if len(expected) >= 5 else 0
    return allowed > 0 and abs(len(seen) - len(expected)) <= allowed and \
        _distance(seen, expected) <= allowed


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _is_cut_end(words: list[str], phrase: tuple[str, ...]) -> bool:
    """`words` are the phrase's first words, the last one cut short (right border)."""
    head, last = words[:-1], words[-1]
    target = phrase[len(head)]
    return all(_same(a, b) for a, b in zip(head, phrase)) and len(last) >= MIN_PARTIAL_CHARS \
        and _fragment(last, target[:len(last)]) and (last != target or len(words) < len(phrase))


def _is_cut_start(words: list[str], phrase: tuple[str, ...]) -> bool:
    """`words` are the phrase's last words, the first one cut short (left border)."""
    first, tail = words[0], words[1:]
    offset = len(phrase) - len(words)
    target = phrase[offset]
    return all(_same(a, b) for a, b in zip(tail, phrase[offset + 1:])) \
        and len(first) >= MIN_PARTIAL_CHARS and _fragment(first, target[-len(first):])


def _fragment(seen: str, expected: str) -> bool:
    """A cut word: the letters at the cut are often misread, so three or more letters may
    carry one slip."""
    return seen == expected or (len(seen) >= 3 and _distance(seen, expected) <= 1)
