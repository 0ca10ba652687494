"""Every institution of the MOE list, the rules that say which teach medicine by their
name, where each is located, and the join of the list to ROR.

Rules (documented in docs/data.md and tested with the rows that motivated them):

* **Higher-education institution**: every row of the list (2,756).
* **Medical (name rule)**: the Chinese name contains 医, 药, 护 (not in 保护), 卫生 or
  中医, once 兽医/兽药 (veterinary) are set aside — 山东畜牧兽医职业学院 is a
  veterinary college.
* **Kind**, first rule that matches the name: 中医/中药/中西医 → TCM university;
  护理 → nursing college; 药科, 药学 (not in 医药学) or 药品 → pharmacy college;
  卫生, or 医药 at the 专科 level → health vocational college; 医 → medical university
  or college; otherwise the general class.
* **Province**, first rule that applies: the supervising authority when it is a
  province-level government (ends in 省 or 自治区 once 教育厅/教育委员会/教委 is
  dropped, or a municipality equal to the location); else the location, when it is
  itself a province-level division of the list or a city the list places in exactly one
  province; else ROR's GeoNames location (:mod:`mededkg.importer.hospitals`).
* **Location noise**: a location ending in 教育厅 names the city before it
  (``南昌市教育厅`` → ``南昌市``).
* **ROR join**: normalised Chinese name equal to a Chinese label of an active ROR
  record, else to one of its aliases; else an accepted ``skos:exactMatch`` of
  ``mededkg link`` (``data/links/institutions-ror.sssom.tsv``). Several candidates, or
  one record for several rows, are reported, never guessed.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, RDFS, Graph, Literal, URIRef

from mededkg.importer.common import en, iri, normalise_name, read_csv, source, zh
from mededkg.importer.ror import RorRecord
from mededkg.matching.sssom import expand, read_sssom
from mededkg.namespaces import DCTERMS, MEDEDKG, PROV, SKOS

MOE = "china-heis-moe"
ROR = "ror-china"
# 护 ("nursing"), but not in 保护 ("protection", as in 环境保护 colleges).
MEDICAL = re.compile("医|药|(?<!保)护|卫生|中医")
# 兽医 / 兽药: veterinary medicine and drugs, not human medicine.
VETERINARY = re.compile("兽医|兽药")
KIND_RULES: tuple[tuple[re.Pattern[str], URIRef], ...] = (
    (re.compile("中医|中药|中西医"), MEDEDKG.TCMUniversity),
    (re.compile("护理"), MEDEDKG.NursingCollege),
    # 医药学院 ("college of medicine [and pharmacy]") is a medical college, not a
    # pharmaceutical one: 药学 counts only where 医 does not stand before it.
    (re.compile("药科|(?<!医)药学|药品"), MEDEDKG.PharmacyCollege),
    (re.compile("卫生"), MEDEDKG.HealthVocationalCollege),
)
AUTHORITY_SUFFIX = re.compile("(教育厅|教育委员会|教委)$")
LOCATION_NOISE = re.compile("教育厅$")
ROR_LINKSET = "institutions-ror.sssom.tsv"


def is_medical(name_zh: str) -> bool:
    """The name rule: does an MOE row's Chinese name say it teaches medicine?

    >>> is_medical("首都医科大学"), is_medical("清华大学")
    (True, False)
    >>> is_medical("广东环境保护工程职业学院"), is_medical("山东畜牧兽医职业学院")
    (False, False)
    """
    return bool(MEDICAL.search(VETERINARY.sub("", name_zh)))


def kind(name_zh: str, level: str) -> URIRef:
    """The institution class derived from the name (and the 本科/专科 level).

    >>> kind("北京中医药大学", "本科").fragment
    'TCMUniversity'
    >>> kind("江苏医药职业学院", "专科").fragment
    'HealthVocationalCollege'
    >>> kind("湖北医药学院", "本科").fragment, kind("中国药科大学", "本科").fragment
    ('MedicalUniversity', 'PharmacyCollege')
    """
    for pattern, cls in KIND_RULES:
        if pattern.search(name_zh):
            return cls
    if "医药" in name_zh and level == "专科":
        return MEDEDKG.HealthVocationalCollege
    if "医" in name_zh:
        return MEDEDKG.MedicalUniversity
    return MEDEDKG.MedicalEducationInstitution


def location(raw: str) -> str:
    """The location column without its noise.

    >>> location("南昌市教育厅"), location("南京市")
    ('南昌市', '南京市')
    """
    return LOCATION_NOISE.sub("", raw.strip())


def province(authority: str, place: str) -> str | None:
    """The authority rule: the province-level government that supervises the row.

    >>> province("河北省", "石家庄市"), province("北京市", "北京市")
    ('河北省', '北京市')
    >>> province("天津市教委", "天津市"), province("广西壮族自治区教育厅", "南宁市")
    ('天津市', '广西壮族自治区')
    >>> province("教育部", "北京市") is None
    True
    >>> province("上海市 中国科学院", "上海市")
    '上海市'
    """
    for part in authorities(authority):
        name = AUTHORITY_SUFFIX.sub("", part)
        if name.endswith(("省", "自治区")):
            return name
        if name.endswith("市") and name == location(place):
            return name
    return None


def authorities(authority: str) -> list[str]:
    """The supervising authorities a row names: one, or several separated by spaces
    (上海科技大学 is run by 上海市 and 中国科学院 together).

    >>> authorities("上海市 中国科学院"), authorities("教育部")
    (['上海市', '中国科学院'], ['教育部'])
    """
    return authority.split()


@dataclass(frozen=True)
class Places:
    """What the list itself says about places: its province-level divisions, and the
    cities it places in exactly one of them."""

    provinces: frozenset[str]
    cities: dict[str, str]
    spellings: dict[str, str] = field(default_factory=dict)

    def canonical(self, name: str) -> str:
        """The list's usual spelling of a province (广西自治区 → 广西壮族自治区).

        >>> places = Places(frozenset(), {}, {"广西自治区": "广西壮族自治区"})
        >>> places.canonical("广西自治区")
        '广西壮族自治区'
        """
        return self.spellings.get(name, name)

    def named_by(self, authority: str) -> str | None:
        """The province an authority that is not a province-level government is named
        after: its name begins with the first two characters of exactly one province.

        >>> places = Places(frozenset({"新疆维吾尔自治区", "江苏省"}), {})
        >>> places.named_by("新疆生产建设兵团"), places.named_by("教育部")
        ('新疆维吾尔自治区', None)
        """
        found = {p for p in self.provinces if authority.startswith(p[:2])}
        return found.pop() if len(found) == 1 else None

    def province_of(self, place: str) -> str | None:
        """The location rule.

        >>> places = Places(frozenset({"北京市", "江苏省"}), {"南京市": "江苏省"})
        >>> places.province_of("北京市"), places.province_of("南京市")
        ('北京市', '江苏省')
        >>> places.province_of("石河子市") is None
        True
        """
        place = location(place)
        if place in self.provinces:
            return place
        return self.cities.get(place)


def places(rows: list[dict[str, str]]) -> Places:
    """The provinces the authority rule finds (each in the list's usual spelling: of
    two spellings with the same first two characters and ending, the one more rows
    use), and each city whose rows (where the rule applies) all name the same one."""
    counts: Counter[str] = Counter(
        found for row in rows if (found := province(row["authority"], row["location"]))
    )
    spellings: dict[str, str] = {}
    for name in counts:
        same = [
            other
            for other in counts
            if other[:2] == name[:2] and other[-2:] == name[-2:]
        ]
        usual = max(same, key=lambda n: (counts[n], n))
        if usual != name:
            spellings[name] = usual
    seen: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        found = province(row["authority"], row["location"])
        if found:
            seen[location(row["location"])].add(spellings.get(found, found))
    cities = {city: next(iter(p)) for city, p in seen.items() if len(p) == 1}
    provinces = frozenset(spellings.get(n, n) for n in counts)
    return Places(provinces, cities, spellings)


@dataclass(frozen=True)
class Located:
    """An institution's province, the rule that gave it and what the rule saw."""

    province: str
    rule: str  # "authority" or "location"
    note: str


def provinces_of(rows: list[dict[str, str]]) -> dict[str, Located]:
    """MOE code → province, by the first rule that applies (authority, the province
    an authority is named after, location); rows where none applies are absent."""
    where = places(rows)
    found: dict[str, Located] = {}
    for row in rows:
        authority, place = row["authority"], row["location"]
        raw = province(authority, place)
        named_after = where.named_by(authority)
        by_location = where.province_of(place)
        if raw:
            found[row["moe_code"]] = Located(
                where.canonical(raw),
                "authority",
                f"supervising authority “{authority}”"
                + ("" if where.canonical(raw) == raw else f" (spelled “{raw}”)"),
            )
        elif named_after:
            found[row["moe_code"]] = Located(
                named_after,
                "authority",
                f"supervising authority “{authority}”, named after the only province "
                f"whose name begins with “{named_after[:2]}”",
            )
        elif by_location:
            where_ = (
                ""
                if location(place) in where.provinces
                else f", a city the list places only in {by_location}"
            )
            found[row["moe_code"]] = Located(
                by_location, "location", f"location “{place}”{where_}"
            )
    return found


def read_rows(folder: Path) -> list[dict[str, str]]:
    """Every row of the MOE list, in list order."""
    return read_csv(folder / "china_heis_moe_list.csv")


def medical_rows(folder: Path) -> list[dict[str, str]]:
    """The MOE rows the name rule selects, in list order."""
    return [r for r in read_rows(folder) if is_medical(r["name_zh"])]


def institution_iri(moe_code: str) -> URIRef:
    """An institution, by its MOE code."""
    return iri("institution", moe_code)


def organization_iri(ror_url: str) -> URIRef:
    """An organization known only from ROR, by its ROR id."""
    return iri("organization", "ror-" + ror_url.rsplit("/", 1)[-1])


def authority_iri(name: str) -> URIRef:
    """A supervising government body, by its Chinese name."""
    return iri("government-body", name)


def evidence_iri(subject: str, rule: str, via: str = "") -> URIRef:
    """An evidence node: about *subject* (MOE code or ``ror-…``), by *rule*, through
    *via* (``ror-…``) if any.

    >>> str(evidence_iri("4151010001", "ror-related", "ror-007mrxy13"))
    'https://w3id.org/mededkg/id/evidence/4151010001-ror-related-ror-007mrxy13'
    """
    return iri("evidence", "-".join([subject, rule, *([via] if via else [])]))


def row_iri(row: dict[str, str]) -> URIRef:
    """The row of the MOE list a statement comes from."""
    return URIRef(f"{source(MOE)}#row-{row['seq']}")


def moe_graph(rows: list[dict[str, str]]) -> Graph:
    """The MOE list's facts about every institution (graph ``institutions``): what it
    is, where, under whom, and — by the name rule — whether it teaches medicine."""
    graph = Graph()
    src = source(MOE)
    provinces = provinces_of(rows)
    for row in rows:
        code = row["moe_code"]
        subject = institution_iri(code)
        graph.add((subject, RDF.type, MEDEDKG.HigherEducationInstitution))
        graph.add((subject, RDFS.label, zh(row["name_zh"])))
        graph.add((subject, MEDEDKG.moeCode, Literal(code)))
        graph.add((subject, MEDEDKG.city, zh(location(row["location"]))))
        graph.add((subject, MEDEDKG.educationLevel, Literal(row["level"])))
        if row["note"] not in ("", "None"):
            graph.add((subject, MEDEDKG.ownership, Literal(row["note"])))
        for name in authorities(row["authority"]):
            authority = authority_iri(name)
            graph.add((subject, MEDEDKG.supervisingAuthority, authority))
            graph.add((authority, RDF.type, MEDEDKG.GovernmentBody))
            graph.add((authority, RDFS.label, zh(name)))
            graph.add((authority, DCTERMS.source, src))
        graph.add((subject, DCTERMS.source, src))
        graph.add((subject, PROV.wasDerivedFrom, row_iri(row)))
        located = provinces.get(code)
        if located:
            add_province(
                graph,
                subject,
                code,
                located.province,
                located.rule,
                located.note,
                [row_iri(row)],
                [src],
            )
        if is_medical(row["name_zh"]):
            graph.add((subject, RDF.type, kind(row["name_zh"], row["level"])))
            evidence = evidence_iri(code, "name-rule")
            graph.add((subject, MEDEDKG.medicalEducationEvidence, evidence))
            add_evidence(
                graph,
                evidence,
                MEDEDKG.MedicalNameRule,
                [row_iri(row)],
                f"the Chinese name “{row['name_zh']}” says medicine",
                [src],
            )
    return graph


PROVINCE_RULES = {
    "authority": MEDEDKG.ProvinceFromAuthorityRule,
    "location": MEDEDKG.ProvinceFromLocationRule,
    "geonames": MEDEDKG.ProvinceFromGeonamesRule,
}


def add_province(
    graph: Graph,
    subject: URIRef,
    key: str,
    name: str,
    rule: str,
    note: str,
    derived_from: list[URIRef],
    sources: list[URIRef],
) -> None:
    """State *subject*'s province with its evidence (*rule*: ``authority``,
    ``location`` or ``geonames``)."""
    evidence = evidence_iri(key, "province")
    graph.add((subject, MEDEDKG.province, zh(name)))
    graph.add((subject, MEDEDKG.provinceEvidence, evidence))
    add_evidence(
        graph,
        evidence,
        PROVINCE_RULES[rule],
        derived_from,
        f"{name} from the {note}",
        sources,
    )


def add_evidence(
    graph: Graph,
    evidence: URIRef,
    rule: URIRef,
    derived_from: list[URIRef],
    note: str,
    sources: list[URIRef],
    via: URIRef | None = None,
) -> None:
    """One evidence node: rule, source rows or records, note, sources, and *via*."""
    graph.add((evidence, RDF.type, MEDEDKG.Evidence))
    graph.add((evidence, MEDEDKG.evidenceRule, rule))
    for origin in derived_from:
        graph.add((evidence, PROV.wasDerivedFrom, origin))
    graph.add((evidence, SKOS.note, en(note)))
    for src in sources:
        graph.add((evidence, DCTERMS.source, src))
    if via is not None:
        graph.add((evidence, MEDEDKG.via, via))


# --- the ROR join ------------------------------------------------------------------
@dataclass
class JoinResult:
    """What the join found: ROR record per MOE code and how, and what did not join."""

    matched: dict[str, RorRecord] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)


def linked_records(links_dir: Path | None) -> dict[str, str]:
    """MOE code → ROR id of the accepted ``skos:exactMatch`` rows of ``mededkg link``
    (none if *links_dir* is None or has no such file)."""
    path = links_dir / ROR_LINKSET if links_dir else None
    if path is None or not path.is_file():
        return {}
    mapping_set = read_sssom(path)
    found: dict[str, str] = {}
    prefix = str(institution_iri(""))
    for row in mapping_set.rows:
        if row["predicate_id"] != "skos:exactMatch" or row.get("predicate_modifier"):
            continue
        subject = str(expand(row["subject_id"], mapping_set.curie_map))
        target = str(expand(row["object_id"], mapping_set.curie_map))
        if subject.startswith(prefix) and target.startswith("https://ror.org/"):
            found[subject[len(prefix) :]] = target
    return found


def join(
    rows: list[dict[str, str]],
    records: dict[str, RorRecord],
    linked: dict[str, str] | None = None,
) -> JoinResult:
    """Join MOE rows to active ROR records by normalised Chinese name, then aliases,
    then the accepted links of ``mededkg link``."""
    by_name: dict[str, list[RorRecord]] = defaultdict(list)
    by_alias: dict[str, list[RorRecord]] = defaultdict(list)
    for record in records.values():
        if not record.active:
            continue
        for name in record.names:
            if not name.chinese or name.kind == "acronym":
                continue
            index = by_alias if name.kind == "alias" else by_name
            if record not in index[normalise_name(name.value)]:
                index[normalise_name(name.value)].append(record)
    result = JoinResult()
    reasons: dict[str, str] = {}
    for row in rows:
        code, key = row["moe_code"], normalise_name(row["name_zh"])
        for how, index in (("chinese-name", by_name), ("alias", by_alias)):
            candidates = index.get(key, [])
            if len(candidates) == 1:
                result.matched[code] = candidates[0]
                result.how[code] = how
                break
            if len(candidates) > 1:
                ids = " ".join(sorted(c.ror_id for c in candidates))
                reasons[code] = f"ambiguous: {ids}"
                break
        if code in result.matched or code in reasons:
            continue
        target = (linked or {}).get(code)
        if target in records and records[target].active:
            result.matched[code] = records[target]
            result.how[code] = "linker"
        else:
            reasons[code] = "no active ROR record with this Chinese name or alias"
    shared = Counter(r.ror_id for r in result.matched.values())
    for code, record in list(result.matched.items()):
        if shared[record.ror_id] > 1:
            codes = sorted(c for c, r in result.matched.items() if r is record)
            reasons[code] = (
                f"{record.ror_id} has the name of several rows: {' '.join(codes)}"
            )
    for code in reasons:
        result.matched.pop(code, None)
        result.how.pop(code, None)
    names = {r["moe_code"]: r["name_zh"] for r in rows}
    result.unmatched = sorted((c, names[c], why) for c, why in reasons.items())
    return result
