"""China's provinces and prefecture cities, read from the sources, and the rule that
tells two institutions apart by the places their names name.

Built only from ``data/sources`` (see ``docs/linking.md``, "The place gazetteer"):

* **provinces** — the MOE list's ``authority`` values that are a provincial
  government (the name ends in 省, 自治区 or 市 with nothing after it: 河南省,
  广西壮族自治区, 北京市); the GB/T 2260 code of each is digits 2–3 of the MOE
  codes of the institutions it supervises;
* **cities** — the MOE list's ``location`` values (郑州市, 延边朝鲜族自治州,
  喀什地区), each in the province its institutions' MOE codes give;
* **Latin forms** — ROR records are read as pairs: a place whose Chinese name occurs in
  a record's Chinese name is paired with that record's ``province`` (for a province)
  or ``city`` (for a city) — ROR's geonames ``country_subdivision_name`` and ``name``
  (``ror_cn_flat.csv``). The form paired most often, and strictly more often than any
  other, is the place's English name (河南 ↔ Henan, 陕西 ↔ Shaanxi, 锦州 ↔ Jinzhou).
  The plain pinyin of the Chinese name (``pypinyin``) is a further form, unless the
  place has a ROR form of its own and the pinyin is another place's ROR form (陕西 is
  "Shaanxi", not "Shanxi": ROR pairs that with 山西). Homophones ROR does not spell
  apart (泰州 and 台州, "Taizhou") share the form and so never conflict.

Latin forms are compared as :func:`mededkg.matching.names.normalise` gives them without
spaces, so tone marks, case and apostrophes do not count ("Xī'ān" = "Xi'an" = "xian").
"""

from __future__ import annotations

import csv
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mededkg.matching.names import is_chinese, normalise, syllables
from mededkg.resources import data_dir, default_root

#: Results of :func:`compare`.
NONE = "none"
EQUAL = "equal"
CONTAINED = "contained"
CONFLICT = "conflict"

_PROVINCE_AUTHORITY = re.compile(r"^(.+?)(?:(?:壮族|回族|维吾尔)?自治区|省|市)$")
_CITY_SUFFIX = re.compile(r"(?:市|地区|盟|自治州)$")
_LONGEST_LATIN = 3  # words in the longest Latin place name ("nei mongol zizhiqu")


@dataclass(frozen=True, order=True)
class Place:
    """A province-level division or a city of the gazetteer.

    Attributes:
        zh: the Chinese name without its administrative suffix (河南, 郑州, 延边).
        level: ``province`` or ``city``.
        province: the ``zh`` of the province the place is in (itself for one).
    """

    zh: str
    level: str
    province: str


@dataclass(frozen=True)
class Gazetteer:
    """Places by their Chinese and Latin names, and the provinces' GB/T codes.

    Attributes:
        by_zh: Chinese name (no suffix) → the places of that name (吉林 is both a
            province and a city).
        by_latin: Latin form (normalised, no spaces) → the places of that form.
        latin: place → its Latin forms, the ROR form first.
        codes: province ``zh`` → GB/T 2260 code (``41``).
        english: place → its ROR form as ROR writes it (``Inner Mongolia``).
    """

    by_zh: Mapping[str, frozenset[Place]]
    by_latin: Mapping[str, frozenset[Place]]
    latin: Mapping[Place, tuple[str, ...]]
    codes: Mapping[str, str]
    english: Mapping[Place, str]

    def places_in(self, text: str) -> frozenset[Place]:
        """The places a name or a place value names: Chinese names found by longest
        match, Latin forms as runs of up to three words.

        >>> g = default()
        >>> sorted(p.zh for p in g.places_in("Henan University of Chinese Medicine"))
        ['河南']
        >>> sorted(p.zh for p in g.places_in("锦州医科大学"))
        ['锦州']
        """
        key = normalise(text)
        if not key:
            return frozenset()
        if is_chinese(key):
            longest = max((len(z) for z in self.by_zh), default=0)
            return _longest_matches(list(key), self.by_zh, longest, shortest=2)
        return _longest_matches(key.split(), self.by_latin, _LONGEST_LATIN, shortest=1)

    def province_code(self, text: str) -> str | None:
        """The GB/T 2260 code of the one province *text* names, or ``None``.

        >>> g = default()
        >>> g.province_code("河南省"), g.province_code("Shaanxi"), g.province_code("x")
        ('41', '61', None)
        """
        codes = {
            self.codes[p.zh]
            for p in self.places_in(text)
            if p.level == "province" and p.zh in self.codes
        }
        return codes.pop() if len(codes) == 1 else None

    def province(self, code: str) -> Place | None:
        """The province with GB/T 2260 *code*, or ``None``."""
        for zh, number in self.codes.items():
            if number == code:
                return next(p for p in self.by_zh[zh] if p.level == "province")
        return None

    def name(self, place: Place, lang: str = "zh") -> str:
        """The place's name in Chinese (``zh``), or in English as ROR writes it (else
        its pinyin, capitalised).

        >>> g = default()
        >>> g.name(g.province("15"), "en"), g.name(g.province("15"))
        ('Inner Mongolia', '内蒙古')
        """
        if lang == "zh":
            return place.zh
        forms = self.latin.get(place, ())
        return self.english.get(place) or (forms[0].capitalize() if forms else place.zh)

    def key(self, text: str) -> str:
        """A place value as one comparable key: the first Latin form of the one place
        it names, else its normalised letters (pinyin for Chinese).

        >>> g = default()
        >>> g.key("陕西省") == g.key("Shaanxi") != g.key("山西")
        True
        """
        found = sorted(self.places_in(text), key=lambda p: p.level != "city")
        if found and found[0] in self.latin:
            return self.latin[found[0]][0]
        key = normalise(text)
        if is_chinese(key):
            key = _CITY_SUFFIX.sub("", _PROVINCE_AUTHORITY.sub(r"\1", key))
            return "".join(syllables(key))
        return re.sub(r"[^a-z]", "", key)

    def province_keys(self) -> frozenset[str]:
        """The Latin forms of every province."""
        return frozenset(
            form
            for place, forms in self.latin.items()
            if place.level == "province"
            for form in forms
        )


def compare(
    query: Iterable[Place],
    candidate: Iterable[Place],
    *,
    query_located: Iterable[Place] = (),
    candidate_located: Iterable[Place] = (),
) -> str:
    """How the places named in a query's name agree with those of a candidate.

    *query* and *candidate* are the places their **names** name; ``*_located`` the
    places they are known to be in (a stated province or city, the province of an
    MOE code). Level by level — provinces (a city counts as its province), then
    cities — the two are different institutions (:data:`CONFLICT`) when both names
    name places at that level and neither side's named places are among the other
    side's places, named or located (the located places clear a conflict: "…,
    Sun Yat-sen University, Guangzhou" names Guangzhou, 中山大学 names 中山 but is
    located in Guangzhou). A location alone never makes a conflict: names name
    places their institutions are not in too often (Xi'an Jiaotong-Liverpool
    University is in Suzhou; 暨南大学 "Jinan University" is in Guangzhou).

    Otherwise :data:`EQUAL` (the names name the same places), :data:`CONTAINED`
    (the query's named places are among the candidate's places, or the reverse) or
    :data:`NONE` (nothing to compare or to agree on).

    >>> henan = Place("河南", "province", "河南")
    >>> hunan = Place("湖南", "province", "湖南")
    >>> zhengzhou = Place("郑州", "city", "河南")
    >>> compare({henan}, {hunan}), compare({henan}, {henan}), compare({henan}, set())
    ('conflict', 'equal', 'none')
    >>> compare({zhengzhou}, {henan})
    'contained'
    >>> compare({henan}, set(), candidate_located={hunan})
    'none'
    """
    q, c = frozenset(query), frozenset(candidate)
    q_all = q | frozenset(query_located)
    c_all = c | frozenset(candidate_located)
    levels = ("province", "city")
    for level in levels:
        qn, cn = _at(q, level), _at(c, level)
        qa, ca = _at(q_all, level), _at(c_all, level)
        if qn and cn and not qn & ca and not cn & qa:
            return CONFLICT
    if not q or not c_all:
        return NONE
    if q == c:
        return EQUAL
    if all(_at(q, v) <= _at(c_all, v) for v in levels) or (
        c and all(_at(c, v) <= _at(q_all, v) for v in levels)
    ):
        return CONTAINED
    return NONE


def _at(places: frozenset[Place], level: str) -> set[str]:
    if level == "province":
        return {p.province for p in places}
    return {p.zh for p in places if p.level == "city"}


# --- building ------------------------------------------------------------------------
def build(
    moe_rows: Iterable[Mapping[str, str]], ror_rows: Iterable[Mapping[str, str]]
) -> Gazetteer:
    """Build the gazetteer from the rows of the MOE list and of ``ror_cn_flat.csv``.

    Args:
        moe_rows: rows with ``moe_code``, ``authority``, ``location``, ``name_zh``.
        ror_rows: rows with ``name_zh``, ``city``, ``province``.
    """
    moe = list(moe_rows)
    # Provinces: provincial governments among the authorities, coded by MOE codes.
    code_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for row in moe:
        match = _PROVINCE_AUTHORITY.match(row["authority"].strip())
        if match and len(row["moe_code"]) == 10:
            code_votes[match.group(1)][row["moe_code"][2:4]] += 1
    codes = {zh: votes.most_common(1)[0][0] for zh, votes in code_votes.items()}
    by_code = {code: zh for zh, code in codes.items()}
    places: set[Place] = {Place(zh, "province", zh) for zh in codes}
    # Cities: locations, in the province of their institutions' codes.
    located: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in moe:
        if (
            _CITY_SUFFIX.search(row["location"].strip())
            and "教育" not in row["location"]
        ):
            located[row["location"].strip()].append(dict(row))
    for location, rows in located.items():
        votes = Counter(r["moe_code"][2:4] for r in rows if len(r["moe_code"]) == 10)
        province = by_code.get(votes.most_common(1)[0][0]) if votes else None
        if province:
            places.add(Place(_short(location, rows), "city", province))
    by_zh: dict[str, set[Place]] = defaultdict(set)
    for place in places:
        by_zh[place.zh].add(place)
    zh_only = Gazetteer({k: frozenset(v) for k, v in by_zh.items()}, {}, {}, codes, {})
    # Latin forms: ROR's province / city of records whose Chinese name names the place.
    pinyin = {place: normalise("".join(syllables(place.zh))) for place in places}
    pinyin_of: dict[str, set[str]] = defaultdict(set)
    for place, form in pinyin.items():
        pinyin_of[form].add(place.zh)
    pairs: dict[Place, Counter[str]] = defaultdict(Counter)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for row in ror_rows:
        named = zh_only.places_in(row.get("name_zh") or "")
        cities = {p.zh for p in named if p.level == "city"}
        for place in named:
            column = "province" if place.level == "province" else "city"
            written = (row.get(column) or "").strip()
            form = _latin(written)
            if form in (pinyin[place] + "shi", pinyin[place] + "city"):
                form = pinyin[place]  # "Yulinshi": the suffix glued on
            if column == "city" and len(cities) > 1:
                continue  # which of the named cities is the record's city?
            if form and place.zh in pinyin_of.get(form, {place.zh}):
                pairs[place][form] += 1
                spellings[form][written] += 1
    sourced: dict[Place, str] = {}
    for place, votes in pairs.items():
        ranked = votes.most_common(2)
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            sourced[place] = ranked[0][0]
    taken = {form: place for place, form in sourced.items()}
    latin: dict[Place, tuple[str, ...]] = {}
    for place in sorted(places):
        forms = [sourced[place]] if place in sourced else []
        plain = pinyin[place]
        owner = taken.get(plain)
        # ROR spells a homophone apart (陕西 "Shaanxi", 山西 "Shanxi"): then the
        # pinyin is the other place's only. Homophones ROR does not tell apart
        # (泰州 and 台州, both "Taizhou") share the form, so they never conflict.
        spelt_apart = bool(forms) and owner is not None and owner.zh != place.zh
        if plain and plain not in forms and not spelt_apart:
            forms.append(plain)
        if forms:
            latin[place] = tuple(forms)
    by_latin: dict[str, set[Place]] = defaultdict(set)
    for place, written_forms in latin.items():
        for form in written_forms:
            by_latin[form].add(place)
    english = {
        place: spellings[form].most_common(1)[0][0] for place, form in sourced.items()
    }
    return Gazetteer(
        zh_only.by_zh,
        {k: frozenset(v) for k, v in by_latin.items()},
        latin,
        codes,
        english,
    )


def _short(location: str, rows: Iterable[Mapping[str, str]]) -> str:
    """The short Chinese name of a location: without 市; for a prefecture
    (自治州, 地区, 盟), the longest prefix its institutions' names use (延边朝鲜族自治州
    → 延边, from 延边大学), else the name without its suffix."""
    base = _CITY_SUFFIX.sub("", location)
    if location.endswith("市"):
        return base
    names = [r["name_zh"] for r in rows]
    for size in range(len(base), 1, -1):
        if any(base[:size] in n for n in names):
            return base[:size]
    return base


def _latin(text: str) -> str:
    """A Latin place form as compared: normalised, without a trailing "City" or
    "Shi", without spaces ("Baise City" → ``baise``)."""
    key = normalise(text)
    if is_chinese(key):
        return ""
    return re.sub(r"(?: (?:city|shi|province|sheng))+$", "", key).replace(" ", "")


def read(sources: Path) -> Gazetteer:
    """Build the gazetteer from a ``data/sources`` folder."""
    with (
        (sources / "china-heis-moe" / "china_heis_moe_list.csv").open(
            encoding="utf-8", newline=""
        ) as moe,
        (sources / "ror-china" / "ror_cn_flat.csv").open(
            encoding="utf-8", newline=""
        ) as ror,
    ):
        return build(csv.DictReader(moe), csv.DictReader(ror))


@functools.lru_cache(maxsize=1)
def default() -> Gazetteer:
    """The gazetteer of the project's own sources, built once."""
    return read(data_dir(default_root()) / "sources")


def place_key(text: str) -> str:
    """:meth:`Gazetteer.key` of the project's gazetteer: a place value as one key.

    >>> place_key("石家庄市"), place_key("Shijiazhuang"), place_key("河北省")
    ('shijiazhuang', 'shijiazhuang', 'hebei')
    >>> place_key("内蒙古自治区") == place_key("Inner Mongolia")
    True
    """
    return default().key(text)


@functools.lru_cache(maxsize=1)
def province_keys() -> frozenset[str]:
    """:meth:`Gazetteer.province_keys` of the project's gazetteer.

    >>> {"shanxi", "shaanxi", "beijing"} <= province_keys()
    True
    """
    return default().province_keys()


def places_in(text: str) -> frozenset[Place]:
    """:meth:`Gazetteer.places_in` of the project's gazetteer."""
    return default().places_in(text)


def conflict(query: str, names: Iterable[str], located: Iterable[str] = ()) -> bool:
    """Whether the places named in *query* rule out a candidate with these *names*
    located at these place values (:func:`compare` says :data:`CONFLICT`).

    >>> conflict("Henan University of Chinese Medicine", ["湖南中医药大学"])
    True
    >>> conflict("Zhengzhou University", ["郑州大学"], ["Zhengzhou", "Henan"])
    False
    """
    g = default()
    named = frozenset().union(*(g.places_in(n) for n in names))
    at = frozenset().union(*(g.places_in(p) for p in located))
    return compare(g.places_in(query), named, candidate_located=at) == CONFLICT


def _longest_matches(
    units: list[str],
    table: Mapping[str, frozenset[Place]],
    longest: int,
    *,
    shortest: int,
) -> frozenset[Place]:
    """The places of *table* named by runs of *units* (characters or words, joined
    without spaces), scanning left to right and taking the longest run that is a key
    (from *longest* down to *shortest* units) at each position."""
    found: set[Place] = set()
    i = 0
    while i < len(units):
        for size in range(min(longest, len(units) - i), shortest - 1, -1):
            hit = table.get("".join(units[i : i + size]))
            if hit:
                found |= hit
                i += size
                break
        else:
            i += 1
    return frozenset(found)
