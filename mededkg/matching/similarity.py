"""How alike two organisation names are: the one name comparison behind `mededkg link`,
`/reconcile`, the `/institutions` search and the suggest services.

A name is turned into :class:`NameKeys` once (:func:`keys`): its normalised and folded
forms (:mod:`mededkg.matching.names`), its toneless pinyin and its *reading* — the
institution kind and the proper part of the name in Latin letters. :func:`pair`
compares two keys and says why; :func:`best` takes the best pair of two name lists.
Scores run from 0 to 100:

======  ================================================================================
score   when
======  ================================================================================
100     equal after normalisation (case, width, traditional/simplified, punctuation)
98      equal but for spaces
97      the same pinyin: a Chinese name and its transliteration ("Liáoníng Yīxuéyuàn"
        is 辽宁医学院; tone marks and spaces do not count)
95      equal once a place name the candidate is located in is dropped ("China
        Medical University Shenyang", 苏州大学（苏州市）)
94      equal once institution-type variants are folded (Medical College / Medical
        University, 医学院 / 医科大学)
92      a Chinese name whose proper part, read in pinyin, is the proper part of an
        English name of the same kind (锦州医科大学 / "Jinzhou Medical University":
        *jinzhou* + medical; 黄淮学院 / "Huanghuai University")
≤ 95    otherwise the better rapidfuzz similarity of the folded and of the normalised
        names (token-sort ratio for Latin script, ratio for Chinese) less 5
======  ================================================================================

A name that is one of the other side's aliases or former names scores 4 less, so a
record's own name wins over another record's former name.

Names that name different places (Henan / Hunan, Shanxi / Shaanxi) are not this
module's business: both callers compare places with
:func:`mededkg.matching.gazetteer.compare` first, and a conflict rules the candidate
out (`mededkg link`) or halves its score and ranks it last (`/reconcile`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from mededkg.matching import gazetteer, names

EQUAL = 100.0
EQUAL_BUT_SPACES = 98.0
SAME_PINYIN = 97.0
PLACE_DROPPED = 95.0
FOLDED = 94.0
SAME_READING = 92.0
#: Points off a fuzzy similarity, so that no fuzzy pair reaches a rule's score.
FUZZY_PENALTY = 5.0
#: Points off a pair whose matching name is an alias or former name.
ALIAS_PENALTY = 4.0

# The kind of institution a Chinese name's suffix says, and the proper part before it.
_ZH_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"(?:{pattern})$"), kind)
    for pattern, kind in (
        (r"中医药大学|中医药学院|中医学院|中医大学", "tcm"),
        (r"医科大学|医学院|医学大学", "medical"),
        (r"药科大学|药学院", "pharma"),
        (r"职业技术大学|职业技术学院|职业大学|职业学院", "vocational"),
        (r"大学|学院", ""),
    )
)
# The same kinds said in English; longest phrases first.
_EN_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), kind)
    for pattern, kind in (
        (r"traditional chinese medicine|chinese medicine", "tcm"),
        (r"medical|medicine", "medical"),
        (r"pharmaceutical|pharmacy", "pharma"),
        (r"vocational and technical|vocational|polytechnic", "vocational"),
    )
)
#: Words of an English name that say neither which institution nor what kind.
_EN_GENERIC = frozenset(
    {"university", "college", "institute", "of", "the", "and", "for"}
)
#: The fewest letters of a proper part a reading may rest on ("Qi" is not enough).
_MIN_PROPER = 4


@dataclass(frozen=True)
class NameKeys:
    """The comparison keys of one name (:func:`keys`)."""

    text: str
    norm: str
    folded: str
    chinese: bool
    #: toneless pinyin without spaces: of the characters (Chinese), or the letters
    #: of a Latin-script name ("Liáoníng Yīxuéyuàn" → ``liaoningyixueyuan``).
    pinyin: str
    #: (kind, proper part in Latin letters), or ``("", "")`` when the name has none.
    reading: tuple[str, str]


@dataclass(frozen=True)
class Similarity:
    """A score (0–100) and why."""

    score: float
    why: str


@functools.lru_cache(maxsize=65536)
def pinyin(text: str) -> str:
    """Toneless pinyin of a name, syllables joined, for comparing transliterations.

    >>> pinyin("辽宁医学院"), pinyin("Liáoníng Yīxuéyuàn"), pinyin("Xúzhōu yī xuéyuàn")
    ('liaoningyixueyuan', 'liaoningyixueyuan', 'xuzhouyixueyuan')
    """
    key = names.normalise(text)
    if names.is_chinese(key):
        return "".join(names.syllables(key)).replace(" ", "")
    return key.replace(" ", "")


@functools.lru_cache(maxsize=65536)
def initials(text: str) -> str:
    """The first letters of a Chinese name's pinyin syllables (``""`` for a name
    without Chinese characters), as people type them to search.

    >>> initials("首都医科大学")
    'sdykdx'
    """
    key = names.normalise(text)
    if not names.is_chinese(key):
        return ""
    return "".join(names.syllables(key, initials=True)).replace(" ", "")


@functools.lru_cache(maxsize=65536)
def reading(text: str) -> tuple[str, str]:
    """The kind of institution a name says and its proper part in Latin letters.

    >>> reading("锦州医科大学"), reading("Jinzhou Medical University")
    (('medical', 'jinzhou'), ('medical', 'jinzhou'))
    >>> reading("黄淮学院"), reading("Huang Huai College")
    (('', 'huanghuai'), ('', 'huanghuai'))
    >>> reading("Henan University of Technology")
    ('', 'henantechnology')
    """
    key = names.normalise(text)
    if not key:
        return ("", "")
    if names.is_chinese(key):
        kind, proper = next(
            ((k, p.sub("", key)) for p, k in _ZH_KINDS if p.search(key)), ("", "")
        )
        if not proper or not names.is_chinese(proper) or re.search(r"[a-z0-9]", proper):
            return ("", "")
        return (kind, "".join(names.syllables(proper)))
    found = ""
    for pattern, kind in _EN_KINDS:
        if pattern.search(key):
            key, found = pattern.sub(" ", key), kind
            break
    words = [w for w in key.split() if w not in _EN_GENERIC]
    proper = "".join(words)
    if len(proper) < _MIN_PROPER:
        return ("", "")
    return (found, proper)


def keys(texts: Iterable[str]) -> tuple[NameKeys, ...]:
    """The comparison keys of each name of *texts* that has any."""
    return tuple(_key(t) for t in texts if names.normalise(t))


def completion_rank(typed: str, name: NameKeys) -> tuple[int, int] | None:
    """How well *name* completes *typed* (already :func:`~names.normalise`-d): 0 when
    the name starts with it, 1 when it contains it, 2 when the pinyin of a Chinese
    name starts with it (``shoudu``, ``Shǒudū`` or ``shouduyike`` finds 首都医科大学);
    then the length, shorter first. ``None`` when it does not complete it. The one
    ranking of the suggest services and the query editor's completion.

    >>> completion_rank("shoudu", _key("首都医科大学"))
    (2, 15)
    >>> completion_rank("首都医科", _key("首都醫科大學"))
    (0, 6)
    >>> completion_rank("x", _key("a")) is None
    True
    """
    norm = name.norm
    if norm.startswith(typed) or norm.replace(" ", "").startswith(typed):
        return (0, len(norm))
    if typed in norm:
        return (1, len(norm))
    compact = typed.replace(" ", "")
    if name.chinese and not names.is_chinese(typed) and name.pinyin.startswith(compact):
        return (2, len(name.pinyin))
    return None


@functools.lru_cache(maxsize=65536)
def _key(text: str) -> NameKeys:
    return NameKeys(
        text,
        names.normalise(text),
        names.fold(text),
        names.is_chinese(text),
        pinyin(text),
        reading(text),
    )


def best(
    left: Sequence[NameKeys],
    right: Sequence[NameKeys],
    *,
    aliases: frozenset[str] = frozenset(),
    places: frozenset[str] = frozenset(),
) -> Similarity:
    """The best :func:`pair` of two name lists; *aliases* are the normalised names of
    the right side that are aliases or former names (:data:`ALIAS_PENALTY`)."""
    found = Similarity(0.0, "")
    for a in left:
        for b in right:
            sim = pair(a, b, places)
            if sim.score and b.norm in aliases:
                sim = Similarity(
                    sim.score - ALIAS_PENALTY,
                    sim.why + " (an alias or former name of the record)",
                )
            if sim.score > found.score:
                found = sim
    return found


def pair(a: NameKeys, b: NameKeys, places: frozenset[str] = frozenset()) -> Similarity:
    """How alike two names are (0–100), with why; *places* are place keys the
    candidate is located in (for :data:`PLACE_DROPPED`)."""
    if a.norm == b.norm:
        return Similarity(
            EQUAL, f"name “{a.text}” equals “{b.text}” after normalisation"
        )
    if a.norm.replace(" ", "") == b.norm.replace(" ", ""):
        return Similarity(
            EQUAL_BUT_SPACES, f"name “{a.text}” equals “{b.text}” but for spaces"
        )
    if a.chinese != b.chinese:
        if a.pinyin and a.pinyin == b.pinyin:
            return Similarity(
                SAME_PINYIN, f"“{a.text}” and “{b.text}” read the same in pinyin"
            )
        return _reading(a, b)
    for shorter, longer in ((a, b), (b, a)):
        if len(longer.norm) <= len(shorter.norm) or not (
            longer.norm.startswith(shorter.norm) or longer.norm.endswith(shorter.norm)
        ):
            continue  # the cheap test first: one name must hold the other
        dropped = _drop_place(longer.norm, places, chinese=a.chinese)
        if dropped and dropped == shorter.norm:
            return Similarity(
                PLACE_DROPPED,
                f"“{a.text}” equals “{b.text}” once the place name is dropped "
                "(the candidate is located there)",
            )
    if a.folded and a.folded == b.folded:
        return Similarity(
            FOLDED,
            f"“{a.text}” and “{b.text}” are equal after folding institution-type "
            "variants",
        )
    scorer = fuzz.ratio if a.chinese else fuzz.token_sort_ratio
    ratio = float(max(scorer(a.folded, b.folded), scorer(a.norm, b.norm)))
    text = f"“{a.text}” ~ “{b.text}” (similarity {ratio / 100:.2f})"
    return Similarity(ratio - FUZZY_PENALTY, text)


def _reading(a: NameKeys, b: NameKeys) -> Similarity:
    """A Chinese and a Latin-script name: equal readings (kind and proper part)."""
    if a.reading[1] and a.reading == b.reading:
        zh, en = (a, b) if a.chinese else (b, a)
        kind = f" + {a.reading[0]}" if a.reading[0] else ""
        return Similarity(
            SAME_READING,
            f"“{zh.text}” reads “{a.reading[1]}”{kind}, as “{en.text}” does",
        )
    return Similarity(0.0, "")


def _drop_place(norm: str, places: frozenset[str], *, chinese: bool = False) -> str:
    """*norm* without a leading or trailing place name in *places* (Chinese: only a
    trailing one, 苏州大学苏州市), or ``""``."""
    if chinese:
        for cut in range(len(norm) - 2, 1, -1):
            if gazetteer.place_key(norm[cut:]) in places:
                return norm[:cut]
        return ""
    words = norm.split()
    for k in (1, 2):
        if len(words) > k:
            if gazetteer.place_key(" ".join(words[-k:])) in places:
                return " ".join(words[:-k])
            if gazetteer.place_key(" ".join(words[:k])) in places:
                return " ".join(words[k:])
    return ""
