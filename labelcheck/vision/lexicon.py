"""Match OCR'd text against the visible-label lexicon (``data/label_lexicon.toml``).

OCR misreads "AI" as "Al", "A1" or "A|", drops diacritics and splits labels over two lines,
while ads are full of words that merely contain "ai" (RAIN, Thailand, PAID, Al Pacino). So text
is compared word by word after folding case, diacritics and the known confusions; "ai" is never
matched inside another word, and a bare "AI" counts only as a whole line (and, for icons, only
with more confidence inside an icon shape: see `labelcheck.sources.visible_label`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from labelcheck.data import load_data

SPECIAL_FOLDS = str.maketrans({"đ": "d", "Đ": "D", "ß": "ss", "ł": "l", "Ł": "L", "ø": "o",
                               "’": "'", "‘": "'"})
TOKEN = re.compile(r"[A-Za-z0-9|!]+|[^\W\d_A-Za-z]+|\d+", re.UNICODE)
# French elisions (l'IA, d'IA; OCR reads l' as I'), also when the space before them was lost.
ELISION = re.compile(r"(?<![A-Za-z])[lLI1|dDjJ]['’`´]|[lLI1|]['’`´](?=[Il1|]A)")
GLUED_ALIAS = re.compile(r"^([a-z]{2,})((?:A[Il1|])|(?:[Il1|]A)|(?:K[Il1|]))$")
CONFUSABLE = str.maketrans({"1": "l", "|": "l", "i": "l", "0": "o", "v": "y", "5": "s"})
MIN_PARTIAL_CHARS = 2
AI_WORDS = frozenset({"ai", "ia", "ki"})
# "数字人" (digital human), the wording the CAC's 2026 draft on digital virtual humans asks for;
# not the start of 数字人民币 (the digital yuan), 数字人才 (digital talent), 数字人文 (digital
# humanities), 数字人力 (digital HR), 数字人口 or 数字人权.
DIGITAL_HUMAN = re.compile(r"数字人(?![民才文力口权])")


@dataclass(frozen=True)
class Entry:
    lang: str
    language: str
    match: str
    phrase: str
    tokens: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    icon: bool = False
    gb45438: bool = False
    badge: bool = False


@dataclass
class LabelMatch:
    """A lexicon hit: which phrase, which language, and rule tags (``gb45438``).
    `needs_badge`: the words alone are weak evidence (an "AI" and digits), so the line counts
    only if it also looks like a badge (see `labelcheck.sources.visible_label`)."""

    lang: str
    phrase: str
    rules: list[str] = field(default_factory=list)
    icon: bool = False
    partial: bool = False
    needs_badge: bool = False
    language: str = ""  # the language's name, for people ("English")


@cache
def _aliases() -> dict[str, str]:
    table = load_data("label_lexicon.toml")["aliases"]
    return {form: canonical for canonical, forms in table.items() for form in forms}


def tokens(text: str) -> list[str]:
    """Folded words of `text`: diacritics removed, OCR aliases resolved (case-sensitively,
    before case is folded), then lower case."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text)
                                 .translate(SPECIAL_FOLDS))
    text = ELISION.sub(" ", "".join(ch for ch in text if unicodedata.category(ch) != "Mn"))
    words = []
    for raw in TOKEN.findall(text):
        words.extend(_resolve(raw))
    return words


def normalised(text: str) -> str:
    """What a label says, as OCR read it with its known misreadings of "AI" undone: "Al
    generated" -> "AI generated", "Généré par l'lA" -> "Généré par l'IA". Everything else
    is kept as read (the raw reading stays in the finding's details)."""
    aliases = _aliases()

    def undo(found: re.Match) -> str:
        raw = found.group(0)
        if raw in aliases:
            return aliases[raw].upper()
        if raw[:2] in aliases and raw[2:].isdigit():
            return aliases[raw[:2]].upper() + raw[2:]
        return raw

    return re.sub(r"[A-Za-z0-9|!]+", undo, text)


def _resolve(raw: str) -> list[str]:
    """One raw token as folded words: an alias; an alias with stray digits glued on by the
    OCR ("AI2" for "AI" next to unreadable Hangul); a lower-case word with an alias glued to
    its end where the OCR lost the space ("metAl", "comIA"); or the word itself."""
    aliases = _aliases()
    if raw in aliases:
        return [aliases[raw]]
    if raw[:2] in aliases and raw[2:].isdigit():
        return [aliases[raw[:2]], raw[2:]]
    glued = GLUED_ALIAS.match(raw)
    if glued and glued.group(2) in aliases:
        return [glued.group(1), aliases[glued.group(2)]]
    return [raw.casefold()]


@cache
def entries() -> tuple[Entry, ...]:
    out = []
    for group in load_data("label_lexicon.toml")["label"]:
        for phrase in group["phrases"]:
            pattern = re.compile(phrase) if group["match"] == "regex" else None
            out.append(Entry(group["lang"], group.get("language", group["lang"]), group["match"],
                             phrase, tuple(tokens(phrase)),
                             pattern, group.get("icon", False),
                             group.get("gb45438", False), group.get("badge", False)))
    return tuple(out)


def match_label(text: str) -> LabelMatch | None:
    """The lexicon entry `text` (one OCR line or two merged lines) matches, if any."""
    words = tokens(text)
    if not words:
        return None
    for entry in entries():
        if _matches(entry, words):
            return LabelMatch(entry.lang, entry.phrase, label_rules(words), entry.icon,
                              needs_badge=entry.badge and not _other_script(words),
                              language=entry.language)
    return None


def _other_script(words: list[str]) -> bool:
    """Whether some word is in a script other than Latin letters and digits (CJK, Hangul)."""
    return any(not word.isascii() for word in words)


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
            if AI_WORDS & set(words) or len(words) >= 2:
                return LabelMatch(entry.lang, entry.phrase, label_rules(words), partial=True,
                                  language=entry.language)
    return None


def label_rules(words: list[str]) -> list[str]:
    """The wording rules the text meets, for the policies: ``gb45438`` when it has GB 45438's
    explicit-label wording ("AI" or "人工智能" together with "生成" or "合成"), ``digital-human``
    when it says "数字人" (the CAC's 2026 draft on digital virtual humans)."""
    joined = "".join(words)
    names_ai = "ai" in words or "人工智能" in joined
    rules = ["gb45438"] if names_ai and ("生成" in joined or "合成" in joined) else []
    if DIGITAL_HUMAN.search(joined):
        rules.append("digital-human")
    return rules


def _matches(entry: Entry, words: list[str]) -> bool:
    if entry.match == "whole":
        return tuple(words) == entry.tokens
    if entry.match == "regex":
        return bool(entry.pattern.search(" ".join(words)))
    span = len(entry.tokens)
    if any(all(_same(a, b) for a, b in zip(words[i:i + span], entry.tokens))
           for i in range(len(words) - span + 1)):
        return True
    return _joined_match(words, "".join(entry.tokens))


def _joined_match(words: list[str], joined: str) -> bool:
    """The phrase with its spaces lost ("MitKIerstellt", "Feito comIA"): some run of whole
    words spells the phrase exactly, so "Made with aim" never passes for "made with AI"."""
    for start in range(len(words)):
        text = ""
        for word in words[start:]:
            text += word
            if text == joined:
                return True
            if len(text) >= len(joined):
                break
    return False


def _same(seen: str, expected: str) -> bool:
    """Word equality that forgives one OCR slip in long words, never in short ones."""
    if seen == expected:
        return True
    if expected in AI_WORDS:  # "la" is an article, not a misread "IA"
        return False
    if seen.translate(CONFUSABLE) == expected.translate(CONFUSABLE):
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
    return all(_same(a, b) for a, b in zip(head, phrase)) and \
        _cut_word(last, target, target[:len(last)], whole_ok=len(words) < len(phrase))


def _is_cut_start(words: list[str], phrase: tuple[str, ...]) -> bool:
    """`words` are the phrase's last words, the first one cut short (left border)."""
    first, tail = words[0], words[1:]
    offset = len(phrase) - len(words)
    target = phrase[offset]
    return all(_same(a, b) for a, b in zip(tail, phrase[offset + 1:])) and \
        _cut_word(first, target, target[-len(first):], whole_ok=len(words) < len(phrase))


def _cut_word(seen: str, word: str, kept: str, whole_ok: bool) -> bool:
    """`seen` is what the border left of `word` (`kept`: the same number of letters from
    the uncut side). The letters at the cut are often misread, so three or more may carry
    one slip; a whole word counts only when other words of the phrase were cut away."""
    if seen == word:
        return whole_ok
    if len(seen) < MIN_PARTIAL_CHARS or len(seen) >= len(word) or word in AI_WORDS:
        return False
    return seen == kept or (len(seen) >= 3 and _distance(seen, kept) <= 1)
