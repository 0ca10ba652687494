"""Organisation names folded for comparison, in Chinese and English.

Three levels, each a pure function of the text:

* :func:`normalise` — the *same name* written differently: NFKC (full-width →
  half-width), case, traditional → simplified Chinese (OpenCC ``t2s``), ``&`` →
  ``and``, punctuation, brackets and a leading "The" dropped. Equal keys mean equal
  names.
* :func:`fold` — the *same institution under a variant name*: the institution-type words
  that change when a college becomes a university ("Medical College" / "Medical
  University" / "University of Medicine", 医学院 / 医科大学, "Traditional Chinese
  Medicine" / "Chinese Medicine", 大学 / 学院) are folded to one word, generic words are
  dropped, and English tokens are sorted. Equal folded keys are strong but not certain
  evidence (a renamed institution, or two institutions of one city).
* :func:`acronym` — the initials of an English name ("Capital Medical University" →
  ``CMU``).

Vocational (职业, 专科, "Vocational") and level markers are kept apart on purpose: a
vocational college and a university of the same city must not fold together.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import opencc

#: English words that say what kind of institution, not which one.
GENERIC_EN = frozenset(
    {
        "university",
        "college",
        "institute",
        "school",
        "of",
        "for",
        "the",
        "and",
        "in",
        "at",
        "de",
    }
)

# English variants → one word each (order matters: longest phrases first).
_EN_VARIANTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{pattern}\b"), replacement)
    for pattern, replacement in (
        (r"traditional chinese medicine", "tcm"),
        (r"chinese medicine", "tcm"),
        (r"1st", "first"),
        (r"2nd", "second"),
        (r"3rd", "third"),
        (r"4th", "fourth"),
        (r"5th", "fifth"),
        (r"no 1", "first"),
        (r"no 2", "second"),
        (r"no 3", "third"),
        (r"no 4", "fourth"),
        (r"no 5", "fifth"),
        (r"medicine", "medical"),
        (r"pharmacy|pharmaceutical|pharmacology", "pharma"),
        (r"nationalities|nationality|minzu", "minzu"),
        (r"vocational|polytechnic|technical college", "vocational"),
        (r"tech\b", "technology"),
        (r"univ\b|univeristy", "university"),
    )
)

# Chinese suffixes and variants, applied to the simplified, normalised name.
_ZH_VARIANTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"职业技术大学|职业技术学院|职业大学|职业学院|职业技术学校", "#职"),
        (r"高等专科学校|专科学校", "#专"),
        (r"中医药大学|中医药学院|中医学院|中医大学", "中医"),
        (r"医科大学|医学院|医学大学|医学高等学校", "医"),
        (r"药科大学|药学院", "药"),
        (r"(大学|学院)$", ""),
        (r"^中国人民解放军", ""),
    )
)

_PUNCT = re.compile(
    r"[\s\-‐–—_/\\.,;:!?\"'’‘“”`·•()（）\[\]【】{}<>《》、，。；：！？]+"
)
#: Invisible characters (zero-width spaces and joiners, the BOM) that copy and paste
#: leave in names.
_FORMAT_CHARS = re.compile("[\u200b-\u200f\u2060\ufeff]")
#: A trailing acronym in brackets, "Taiyuan University of Technology (TYUT)": the same
#: name with its acronym beside it.
_ACRONYM_IN_BRACKETS = re.compile(r"\s*[(（][A-Z][A-Z0-9&\-]{1,9}[)）]\s*$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def is_chinese(text: str) -> bool:
    """Whether *text* contains Chinese characters.

    >>> is_chinese("首都医科大学"), is_chinese("Capital Medical University")
    (True, False)
    """
    return bool(_CJK.search(text))


def syllables(text: str, *, initials: bool = False) -> list[str]:
    """The toneless pinyin syllables of *text* (pypinyin), or their first letters.

    pypinyin is imported on the first call: its dictionaries take 0.4 s to load, which
    every command would pay at start (``mededkg build`` never needs them).

    >>> syllables("辽宁"), syllables("首都", initials=True)
    (['liao', 'ning'], ['s', 'd'])
    """
    from pypinyin import Style, lazy_pinyin

    if initials:
        return list(lazy_pinyin(text, style=Style.FIRST_LETTER))
    return list(lazy_pinyin(text))


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``, dictionaries in the wheel).

    >>> to_simplified("上海中醫藥大學")
    '上海中医药大学'
    """
    return str(_t2s().convert(text))


@functools.lru_cache(maxsize=65536)
def normalise(name: str) -> str:
    """The comparison key of a name: equal keys mean the same name.

    >>> normalise("Ｃａｐｉｔａｌ　Medical University")
    'capital medical university'
    >>> normalise("The Chinese University of Hong Kong")
    'chinese university of hong kong'
    >>> normalise("Southwest University of Political Science & Law")
    'southwest university of political science and law'
    >>> normalise("Taiyuan University of Technology (TYUT)")
    'taiyuan university of technology'
    >>> normalise("Foreign Languages\u200b\u200b and Arts")
    'foreign languages and arts'
    >>> normalise("上海中醫藥大學（浦东）")
    '上海中医药大学浦东'
    """
    text = _ACRONYM_IN_BRACKETS.sub("", _FORMAT_CHARS.sub("", name))
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    if is_chinese(text):
        text = to_simplified(text)
        return _PUNCT.sub("", text.replace("&", "和"))
    text = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )
    text = text.replace("&", " and ")
    text = _PUNCT.sub(" ", text).strip()
    text = re.sub(r"^the ", "", text)
    return re.sub(r"\s+", " ", text)


@functools.lru_cache(maxsize=65536)
def fold(name: str) -> str:
    """The variant-folded key: the same institution under a variant or former name.

    >>> fold("Anhui Medical College") == fold("Anhui Medical University")
    True
    >>> fold("Guangzhou University of Traditional Chinese Medicine")
    'guangzhou tcm'
    >>> fold("湖北医药学院") == fold("湖北医药大学")
    True
    >>> fold("广东医学院") == fold("广东医科大学")
    True
    >>> fold("安徽医学高等专科学校") == fold("安徽医科大学")
    False
    """
    key = normalise(name)
    if is_chinese(key):
        for pattern, replacement in _ZH_VARIANTS:
            key = pattern.sub(replacement, key)
        return key
    for pattern, replacement in _EN_VARIANTS:
        key = pattern.sub(replacement, key)
    tokens = sorted({_stem(t) for t in key.split() if t not in GENERIC_EN})
    return " ".join(tokens)


def tokens(name: str) -> frozenset[str]:
    """The distinctive pieces of a name, for blocking: folded English words, or
    Chinese character bigrams of the folded name.

    >>> sorted(tokens("Anhui Medical University"))
    ['anhui', 'medical']
    >>> sorted(tokens("安徽医科大学"))
    ['安徽', '徽医']
    """
    key = fold(name)
    if is_chinese(key):
        chars = key.replace("#", "")
        if len(chars) < 2:
            return frozenset({chars}) if chars else frozenset()
        return frozenset(chars[i : i + 2] for i in range(len(chars) - 1))
    return frozenset(key.split())


def acronym(name: str) -> str:
    """Initials of the non-generic-joining words of an English name, upper case.

    >>> acronym("Capital Medical University"), acronym("University of Hong Kong")
    ('CMU', 'UHK')
    >>> acronym("首都医科大学")
    ''
    """
    key = normalise(name)
    if is_chinese(key):
        return ""
    skip = {"of", "for", "the", "and", "in", "at", "de"}
    return "".join(w[0] for w in key.split() if w not in skip).upper()


def _stem(token: str) -> str:
    """Plural and possessive folding for English tokens ("sciences" → "science")."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token
