"""Medical education institutions from the MOE list, joined to ROR, and the hospitals
that ROR relates to them.

Rules (documented in docs/data.md and tested against the sources):

* **Medical**: an MOE row is a medical education institution when its Chinese name
  contains 医, 药, 护 (not in 保护), 卫生 or 中医 — applied to the whole list of 2,756
  rows.
* **Kind**, first rule that matches the name: 中医/中药/中西医 → TCM university;
  护理 → nursing college; 药科, 药学 (not in 医药学) or 药品 → pharmacy college;
  卫生, or 医药 at the 专科 level → health vocational college; 医 → medical university
  or college; otherwise the general class.
* **Province**: the supervising authority when it is a province-level government
  (ends in 省 or 自治区, after dropping 教育厅/教育委员会), or a municipality whose
  name equals the location (北京市 in 北京市); otherwise none (ROR's province is kept in
  the ROR graph, in English).
* **ROR join**: normalised Chinese name equal to a ROR record's Chinese name, else to
  one of its aliases; more than one active candidate is ambiguous and reported, never
  guessed.
* **Hospitals**: active ROR ``healthcare`` records whose relationships (either side)
  link them to a joined institution: ``related`` → affiliated with; ``parent``/``child``
  → affiliated with and part of. 附属医院 naming is recorded as corroboration only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from mededkg.importer.common import (
    DCTERMS,
    PROV,
    SCHEMA,
    en,
    iri,
    normalise_name,
    read_csv,
    source,
    zh,
)
from mededkg.namespaces import MEDEDKG

MOE = "china-heis-moe"
ROR = "ror-china"
# 护 ("nursing"), but not in 保护 ("protection", as in 环境保护 colleges).
MEDICAL = re.compile("医|药|(?<!保)护|卫生|中医")
KIND_RULES: tuple[tuple[re.Pattern[str], URIRef], ...] = (
    (re.compile("中医|中药|中西医"), MEDEDKG.TCMUniversity),
    (re.compile("护理"), MEDEDKG.NursingCollege),
    # 医药学院 ("college of medicine [and pharmacy]") is a medical college, not a
    # pharmaceutical one: 药学 counts only where 医 does not stand before it.
    (re.compile("药科|(?<!医)药学|药品"), MEDEDKG.PharmacyCollege),
    (re.compile("卫生"), MEDEDKG.HealthVocationalCollege),
)
ROR_ID = re.compile(r"^https://ror\.org/(0[a-hj-km-np-tv-z0-9]{6}[0-9]{2})$")


@dataclass
class JoinResult:
    """What the join found: ROR row per MOE code, and what did not join, with why."""

    matched: dict[str, dict[str, str]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)


def is_medical(name_zh: str) -> bool:
    """The rule that decides "medical" on an MOE row's Chinese name.

    >>> is_medical("首都医科大学"), is_medical("清华大学")
    (True, False)
    >>> is_medical("广东环境保护工程职业学院")
    False
    """
    return bool(MEDICAL.search(name_zh))


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


def province(authority: str, location: str) -> str | None:
    """The province-level division implied by the supervising authority, if any.

    >>> province("河北省", "石家庄市"), province("北京市", "北京市")
    ('河北省', '北京市')
    >>> province("教育部", "北京市") is None
    True
    """
    name = re.sub("(教育厅|教育委员会)$", "", authority)
    if name.endswith(("省", "自治区")):
        return name
    if name.endswith("市") and name == location:
        return name
    return None


def medical_rows(folder: Path) -> list[dict[str, str]]:
    """The MOE rows the medical rule selects, in list order."""
    return [
        r
        for r in read_csv(folder / "china_heis_moe_list.csv")
        if is_medical(r["name_zh"])
    ]


def join(rows: list[dict[str, str]], ror_rows: list[dict[str, str]]) -> JoinResult:
    """Join MOE rows to ROR records by normalised Chinese name, then aliases."""
    by_name: dict[str, list[dict[str, str]]] = {}
    by_alias: dict[str, list[dict[str, str]]] = {}
    for record in ror_rows:
        if record["name_zh"]:
            by_name.setdefault(normalise_name(record["name_zh"]), []).append(record)
        for alias in record["aliases"].split(";"):
            if alias.strip():
                by_alias.setdefault(normalise_name(alias), []).append(record)
    result = JoinResult()
    for row in rows:
        key = normalise_name(row["name_zh"])
        for how, index in (("chinese-name", by_name), ("alias", by_alias)):
            candidates = index.get(key, [])
            active = [c for c in candidates if c["status"] == "active"] or candidates
            if len(active) == 1:
                result.matched[row["moe_code"]] = active[0]
                result.how[row["moe_code"]] = how
                break
            if len(active) > 1:
                ids = " ".join(sorted(c["ror_id"] for c in active))
                result.unmatched.append(
                    (row["moe_code"], row["name_zh"], f"ambiguous: {ids}")
                )
                break
        else:
            result.unmatched.append(
                (
                    row["moe_code"],
                    row["name_zh"],
                    "no ROR record with this Chinese name or alias",
                )
            )
    return result


def institution_iri(moe_code: str) -> URIRef:
    """An institution, by its MOE code."""
    return iri("institution", moe_code)


def organization_iri(ror_url: str) -> URIRef:
    """An organization known only from ROR, by its ROR id."""
    return iri("organization", "ror-" + ror_url.rsplit("/", 1)[-1])


def authority_iri(name: str) -> URIRef:
    """A supervising government body, by its Chinese name."""
    return iri("government-body", name)


def moe_graph(rows: list[dict[str, str]]) -> Graph:
    """The MOE list's facts about the medical institutions (graph ``institutions``)."""
    graph = Graph()
    src = source(MOE)
    for row in rows:
        subject = institution_iri(row["moe_code"])
        graph.add((subject, RDF.type, kind(row["name_zh"], row["level"])))
        graph.add((subject, RDFS.label, zh(row["name_zh"])))
        graph.add((subject, MEDEDKG.moeCode, Literal(row["moe_code"])))
        graph.add((subject, MEDEDKG.city, zh(row["location"])))
        graph.add((subject, MEDEDKG.educationLevel, Literal(row["level"])))
        prov_name = province(row["authority"], row["location"])
        if prov_name:
            graph.add((subject, MEDEDKG.province, zh(prov_name)))
        if row["note"] not in ("", "None"):
            graph.add((subject, MEDEDKG.ownership, Literal(row["note"])))
        authority = authority_iri(row["authority"])
        graph.add((subject, MEDEDKG.supervisingAuthority, authority))
        graph.add((authority, RDF.type, MEDEDKG.GovernmentBody))
        graph.add((authority, RDFS.label, zh(row["authority"])))
        graph.add((authority, DCTERMS.source, src))
        graph.add((subject, DCTERMS.source, src))
        graph.add((subject, PROV.wasDerivedFrom, URIRef(f"{src}#row-{row['seq']}")))
    return graph


def ror_graph(
    result: JoinResult, ror_rows: list[dict[str, str]]
) -> tuple[Graph, list[dict[str, str]]]:
    """ROR's facts about the joined institutions and their hospitals (graph ``ror``),
    and the affiliation rows found (for the hospitals graph)."""
    graph = Graph()
    src = source(ROR)
    by_id = {r["ror_id"]: r for r in ror_rows}
    institution_of = {r["ror_id"]: code for code, r in result.matched.items()}
    for code, record in sorted(result.matched.items()):
        _ror_facts(graph, institution_iri(code), record, src)
    affiliations = _affiliations(ror_rows, by_id, institution_of)
    for hospital_id in sorted({a["hospital"] for a in affiliations}):
        _ror_facts(graph, organization_iri(hospital_id), by_id[hospital_id], src)
    return graph, affiliations


def hospitals_graph(
    affiliations: list[dict[str, str]],
    ror_rows: list[dict[str, str]],
    moe_names: dict[str, str],
) -> Graph:
    """Hospitals and their affiliations as ROR states them (graph ``hospitals``)."""
    graph = Graph()
    src = source(ROR)
    by_id = {r["ror_id"]: r for r in ror_rows}
    for item in affiliations:
        hospital = organization_iri(item["hospital"])
        institution = institution_iri(item["moe_code"])
        record = by_id[item["hospital"]]
        graph.add((hospital, RDF.type, MEDEDKG.Hospital))
        graph.add((hospital, DCTERMS.source, src))
        graph.add((hospital, MEDEDKG.affiliatedWith, institution))
        if item["relation"] in ("parent", "child"):
            graph.add((hospital, MEDEDKG.partOf, institution))
        graph.add((hospital, PROV.wasDerivedFrom, URIRef(item["evidence"])))
        parent_name = moe_names[item["moe_code"]]
        if record["name_zh"].startswith(parent_name + "附属"):
            graph.add(
                (
                    hospital,
                    MEDEDKG.nameCorroboration,
                    zh(f"名称以“{parent_name}附属”开头"),
                )
            )
    return graph


def _ror_facts(
    graph: Graph, subject: URIRef, record: dict[str, str], src: URIRef
) -> None:
    match = ROR_ID.match(record["ror_id"])
    assert match, record["ror_id"]
    graph.add((subject, MEDEDKG.rorId, Literal(match.group(1))))
    graph.add((subject, RDFS.label, en(record["name"])))
    if record["name_zh"]:
        graph.add((subject, RDFS.label, zh(record["name_zh"])))
    for alias in record["aliases"].split(";"):
        if alias.strip():
            graph.add((subject, SKOS_ALT, Literal(alias.strip())))
    for acronym in record["acronyms"].split(";"):
        if acronym.strip():
            graph.add((subject, SKOS_ALT, Literal(acronym.strip())))
    if record["wikidata"]:
        graph.add((subject, MEDEDKG.wikidataId, Literal(record["wikidata"])))
    if re.fullmatch(r"\d{4}", record["established"]):
        graph.add(
            (
                subject,
                MEDEDKG.foundingYear,
                Literal(record["established"], datatype=XSD.gYear),
            )
        )
    if record["city"]:
        graph.add((subject, MEDEDKG.city, en(record["city"])))
    if record["province"]:
        graph.add((subject, MEDEDKG.province, en(record["province"])))
    if record["website"].startswith("http"):
        graph.add((subject, SCHEMA.url, URIRef(record["website"].strip())))
    graph.add((subject, DCTERMS.source, src))
    graph.add((subject, PROV.wasDerivedFrom, URIRef(record["ror_id"])))


SKOS_ALT = URIRef("http://www.w3.org/2004/02/skos/core#altLabel")


def _affiliations(
    ror_rows: list[dict[str, str]],
    by_id: dict[str, dict[str, str]],
    institution_of: dict[str, str],
) -> list[dict[str, str]]:
    """Hospital ↔ joined institution pairs from ROR relationships, either side."""
    found: dict[tuple[str, str], dict[str, str]] = {}

    def is_hospital(ror_id: str) -> bool:
        record = by_id.get(ror_id)
        return bool(
            record
            and "healthcare" in record["types"].split(";")
            and record["status"] == "active"
        )

    for record in ror_rows:
        for relation in record["relationships"].split(" || "):
            if not relation:
                continue
            kind_, target, _label = [*relation.split("|"), "", ""][:3]
            kind_ = kind_.lower()
            if kind_ not in ("related", "parent", "child"):
                continue
            own = record["ror_id"]
            if (
                is_hospital(own)
                and target in institution_of
                and kind_ in ("related", "parent")
            ):
                hospital, institution = own, target
            elif (
                own in institution_of
                and is_hospital(target)
                and kind_ in ("related", "child")
            ):
                hospital, institution = target, own
            else:
                continue
            # parent/child (part of) wins over related when ROR states both
            relation_kind = "related" if kind_ == "related" else "parent"
            key = (hospital, institution)
            if key not in found or found[key]["relation"] == "related":
                found[key] = {
                    "hospital": hospital,
                    "moe_code": institution_of[institution],
                    "relation": relation_kind,
                    "evidence": own,
                }
    return [found[k] for k in sorted(found)]
