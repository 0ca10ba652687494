"""A Chinese → English word table learned from names that sources give in both
scripts, and how fully one name translates another.

Chinese institution names are translated word by word more often than they are
transliterated: 长春工程学院 is "Changchun Institute of Technology", 中国药科大学
"China Pharmaceutical University". No fixed table is typed here: :func:`learn` counts,
over pairs of names of one organisation (a ROR record's Chinese label and its English
name), how often a Chinese character sequence and an English word occur together, and
keeps the pairs whose Dice coefficient is high (工程 → engineering, technology;
药科 → pharmaceutical). :func:`translation` then says how much of a Chinese name
and of an English name explain each other: each English word by a Chinese sequence
the table pairs it with, or by a sequence it transliterates (大连 → "Dalian", 杉达 →
"Shanda"); the score is the smaller of the two covered shares. A name that leaves a
character or a word unexplained (北京第二外国语学院 / "Beijing Foreign Studies
University": 第二) does not translate fully.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mededkg.matching import names

#: The longest Chinese sequence the table pairs with a word (职业技术 → vocational).
MAX_SEQUENCE = 4
#: Pairs seen fewer times than this are chance.
MIN_COUNT = 2
#: The least Dice coefficient of a kept pair.
MIN_DICE = 0.3
#: English words that carry no meaning of their own in a name.
STOP_WORDS = frozenset({"of", "the", "and", "for", "in", "at", "s"})

_CJK_ONLY = re.compile(r"[^\u3400-\u9fff]")


@dataclass(frozen=True)
class Lexicon:
    """Chinese sequence → English word → Dice coefficient (:func:`learn`)."""

    table: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: How many name pairs it was learned from.
    pairs: int = 0

    def __len__(self) -> int:
        return sum(len(words) for words in self.table.values())


@dataclass(frozen=True)
class Translation:
    """How fully two names translate each other: the smaller covered share (0–1),
    and the pieces that explain each other."""

    coverage: float
    pieces: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return ", ".join(f"{zh} → {en}" for zh, en in self.pieces)


def chinese_part(text: str) -> str:
    """The Chinese characters of a name, simplified (punctuation, digits and Latin
    letters dropped)."""
    return _CJK_ONLY.sub("", names.normalise(text))


def words(text: str) -> tuple[str, ...]:
    """The meaningful words of an English name, normalised, in order."""
    return tuple(
        w
        for w in names.normalise(text).replace("'", " ").split()
        if w not in STOP_WORDS
    )


def _sequences(zh: str) -> set[str]:
    return {
        zh[i:j]
        for i in range(len(zh))
        for j in range(i + 1, min(len(zh), i + MAX_SEQUENCE) + 1)
    }


def pairs(name_lists: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """Every (Chinese name, English name) pair of each organisation's names."""
    found: list[tuple[str, str]] = []
    for names_of_one in name_lists:
        zh = [n for n in names_of_one if names.is_chinese(n)]
        en = [n for n in names_of_one if n.strip() and not names.is_chinese(n)]
        found += [(z, e) for z in zh for e in en]
    return found


def learn(
    name_pairs: Iterable[tuple[str, str]],
    *,
    min_count: int = MIN_COUNT,
    min_dice: float = MIN_DICE,
    min_given: float = 0.5,
) -> Lexicon:
    """The word table of (Chinese name, English name) pairs, each of one
    organisation (:func:`pairs`)."""
    seq_count: Counter[str] = Counter()
    word_count: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    n = 0
    for zh_name, en_name in name_pairs:
        zh, en = _unspelled(chinese_part(zh_name), words(en_name))
        if not zh or not en or names.is_chinese(en_name):
            continue
        n += 1
        seqs = _sequences(zh)
        seq_count.update(seqs)
        word_count.update(en)
        both.update((s, w) for s in seqs for w in en)
    table: dict[str, dict[str, float]] = {}
    for (seq, word), count in both.items():
        if count < min_count:
            continue
        dice = 2 * count / (seq_count[seq] + word_count[word])
        given = count / seq_count[seq]
        strength = max(dice, given if given >= min_given else 0.0)
        if strength >= min_dice:
            table.setdefault(seq, {})[word] = round(strength, 4)
    return Lexicon(table, n)


def _unspelled(zh: str, en: Iterable[str]) -> tuple[str, set[str]]:
    """*zh* and the words *en* without the pieces that spell each other (places and
    proper names say nothing about the words around them)."""
    left: set[str] = set()
    for word in en:
        found = _spelling(zh, word)
        if found is None:
            left.add(word)
        else:
            start, seq = found
            zh = zh[:start] + "|" + zh[start + len(seq) :]
    return zh.replace("|", ""), left


def _spelling(zh: str, word: str) -> tuple[int, str] | None:
    """The longest sequence of *zh* whose pinyin is *word* (its start and text)."""
    if len(word) < 2:
        return None
    for size in range(min(len(zh), MAX_SEQUENCE), 0, -1):
        for i in range(len(zh) - size + 1):
            if "|" not in zh[i : i + size] and _spelled(zh[i : i + size]) == word:
                return i, zh[i : i + size]
    return None


@functools.lru_cache(maxsize=65536)
def _spelled(seq: str) -> str:
    return "".join(names.syllables(seq))


def translation(lexicon: Lexicon, zh_name: str, en_name: str) -> Translation:
    """How fully *zh_name* and *en_name* explain each other (see the module text):
    the share of Chinese characters covered times the mean strength with which each
    English word is explained (1 for a spelling, the table's strength for a word,
    0 for a word nothing explains)."""
    zh, en = chinese_part(zh_name), words(en_name)
    if not zh or not en:
        return Translation(0.0, ())
    covered: set[int] = set()
    pieces: list[tuple[str, str]] = []
    strength = 0.0
    for word in en:
        found = _explain(lexicon, zh, word)
        if found is None:
            continue
        weight, start, seq = found
        strength += weight
        covered.update(range(start, start + len(seq)))
        pieces.append((seq, word))
    coverage = strength / len(en) * len(covered) / len(zh)
    return Translation(round(coverage, 4), tuple(pieces))


def _explain(lexicon: Lexicon, zh: str, word: str) -> tuple[float, int, str] | None:
    """The sequence of *zh* that explains *word* best: the longest that spells it in
    pinyin (strength 1), else the one the table pairs with it most strongly, longer
    first on equal strength (its strength, start and text)."""
    found = _spelling(zh, word)
    if found is not None:
        return (1.0, *found)
    best: tuple[float, int, str] | None = None
    for size in range(min(len(zh), MAX_SEQUENCE), 0, -1):
        for i in range(len(zh) - size + 1):
            weight = lexicon.table.get(zh[i : i + size], {}).get(word, 0.0)
            if weight and (best is None or weight > best[0]):
                best = (weight, i, zh[i : i + size])
    return best
