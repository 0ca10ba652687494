"""Hospitals and medical units from ROR, how each is tied to an institution of the MOE
list and on which evidence, and ROR's facts about every organization the graph holds.

Rules (documented in docs/data.md and tested with the records that motivated them):

* **Hospital**: an active ROR ``healthcare`` record that joins no MOE institution (ROR
  types some medical colleges ``healthcare``) and whose name names a place of care
  (医院, 疗养院, 眼科中心, 肿瘤防治中心; hospital, medical/cancer/ophthalmic center,
  clinic, sanatorium). Centres for disease control, academies, associations and
  hospital groups are reported, not typed hospitals.
* **Medical unit** (→ ``UniversityMedicalSchool``): an active ROR ``education`` record
  that joins no MOE institution, whose name is a medical-school name of a joined
  institution (its Chinese name + 医学院/医学部/医学中心/健康科学中心, or
  ``Medical College`` / ``School of Medicine`` / ``Medical School`` / ``College of
  Medicine`` / ``Health Science Center`` before or after ``of`` its English name), and
  which ROR relates to that institution.
* **Ties** between a hospital and an institution (or unit), each an evidence node:
  ROR ``parent``/``child`` → part of and affiliated with; a name saying 附属 /
  第N附属 of the institution (Chinese, optionally through its 医学院/医学部) or
  "Affiliated … of/to" its English name → affiliated with; a ROR ``related`` link alone
  → works with. An institution with any tie, or with a unit, teaches medicine.
* **Province from ROR**: an organization without a province from the MOE list gets the
  Chinese province that the graph's joined institutions with the same GeoNames division
  (else city) have by the authority rule.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef

from mededkg.importer.common import en, source, zh
from mededkg.importer.institutions import (
    MOE,
    ROR,
    JoinResult,
    add_evidence,
    add_province,
    evidence_iri,
    institution_iri,
    is_medical,
    organization_iri,
    provinces_of,
)
from mededkg.importer.ror import RorRecord
from mededkg.namespaces import DCTERMS, GEO, ID, MEDEDKG, PROV, SCHEMA, SKOS

HOSPITAL_ZH = re.compile("医院|疗养院|眼科中心|肿瘤防治中心")
HOSPITAL_EN = re.compile(
    r"\b(hospital|medical cent(er|re)|cancer cent(er|re)|ophthalmic cent(er|re)"
    r"|clinic|sanatorium)\b",
    re.I,
)
UNIT_ZH = "(?:医学院|医学部|医学中心|健康科学中心)"
UNIT_EN = (
    r"(?:Medical College|School of Medicine|Medical School|College of Medicine"
    r"|Health Science Cent(?:er|re))"
)
ORDINAL = "第[一二三四五六七八九十]+"
#: A Chinese name shorter than this is never matched inside a hospital's name.
MIN_NAME = 4

RULES = {
    "ror-part-of": MEDEDKG.RorPartOfRule,
    "affiliated-name": MEDEDKG.AffiliatedNameRule,
    "ror-related": MEDEDKG.RorRelatedRule,
    "ror-medical-unit": MEDEDKG.RorMedicalUnitRule,
}


@dataclass(frozen=True)
class Tie:
    """One piece of evidence tying a hospital (or unit) to an institution (or unit)."""

    rule: str  # a key of RULES
    organization: str  # ROR id of the hospital or unit
    target: str  # MOE code, or the ROR id of a unit
    origins: tuple[str, ...]  # the ROR records (and MOE row seq) it comes from
    note: str


@dataclass
class Found:
    """Everything this module finds in the extract."""

    hospitals: dict[str, RorRecord] = field(default_factory=dict)
    units: dict[str, tuple[RorRecord, str]] = field(default_factory=dict)
    ties: list[Tie] = field(default_factory=list)
    not_hospitals: list[tuple[str, str, str]] = field(default_factory=list)
    untied: list[tuple[str, str, str]] = field(default_factory=list)
    outside: list[tuple[str, str, str, str]] = field(default_factory=list)


def hospital_reason(record: RorRecord, joined: set[str]) -> str:
    """Why a ROR record is not a hospital of the graph (``""`` if it is one)."""
    if not record.has_type("healthcare"):
        return "not typed healthcare"
    if not record.active:
        return f"ROR status {record.status}"
    if record.ror_id in joined:
        return "joins an institution of the MOE list"
    names = [n.value for n in record.names if n.kind != "acronym"]
    if any(HOSPITAL_ZH.search(n) for n in names) or any(
        HOSPITAL_EN.search(n) for n in names
    ):
        return ""
    return "its names name no place of care (hospital, clinic, medical center)"


def find(
    records: dict[str, RorRecord],
    rows: list[dict[str, str]],
    result: JoinResult,
) -> Found:
    """Hospitals, units and ties in the extract, for the joined institutions."""
    found = Found()
    joined = {r.ror_id: code for code, r in result.matched.items()}
    for record in sorted(records.values(), key=lambda r: r.ror_id):
        if not record.has_type("healthcare") or not record.active:
            continue
        reason = hospital_reason(record, set(joined))
        if reason:
            found.not_hospitals.append((record.ror_id, record.display, reason))
        else:
            found.hospitals[record.ror_id] = record
    names = {r["moe_code"]: r["name_zh"] for r in rows}
    pairs = _pairs(records)
    _units(found, records, pairs, joined, names)
    targets = dict(joined)
    targets.update({unit: unit for unit in found.units})
    _ror_ties(found, records, pairs, targets)
    _name_ties(found, records, rows, result)
    tied = {t.organization for t in found.ties}
    for ror_id, record in sorted(found.hospitals.items()):
        if ror_id not in tied:
            links = "; ".join(
                f"{r.type} {r.target} ({r.label})" for r in record.relationships
            )
            found.untied.append((ror_id, record.display, links))
    found.ties.sort(key=lambda t: (t.target, t.organization, t.rule))
    return found


Pair = tuple[str, str, str]  # (lower record, upper record, "part-of" or "related")


def _pairs(records: dict[str, RorRecord]) -> dict[Pair, list[str]]:
    """Every relationship of the extract as (lower, upper, kind) → the records stating
    it: ``parent``/``child`` give (child, parent, "part-of"); ``related`` gives both
    orders."""
    found: dict[Pair, list[str]] = defaultdict(list)
    for ror_id, record in sorted(records.items()):
        for rel in record.relationships:
            if rel.type == "parent":
                keys = [(ror_id, rel.target, "part-of")]
            elif rel.type == "child":
                keys = [(rel.target, ror_id, "part-of")]
            elif rel.type == "related":
                keys = [
                    (ror_id, rel.target, "related"),
                    (rel.target, ror_id, "related"),
                ]
            else:
                continue
            for key in keys:
                if ror_id not in found[key]:
                    found[key].append(ror_id)
    return found


def _unit_pattern(name_zh: str, university: RorRecord) -> re.Pattern[str]:
    """The names a medical school of *university* may have."""
    zh_names = "|".join(map(re.escape, [name_zh, *university.chinese_labels()]))
    forms = [f"(?:{zh_names}){UNIT_ZH}"]
    en_names = "|".join(map(re.escape, university.english_names()))
    if en_names:
        forms += [
            f"(?:{en_names}) {UNIT_EN}",
            f"(?:[\\w-]+ )*{UNIT_EN} of (?:the )?(?:{en_names})",
        ]
    return re.compile("^(?:" + "|".join(forms) + ")$", re.I)


def _units(
    found: Found,
    records: dict[str, RorRecord],
    pairs: dict[Pair, list[str]],
    joined: dict[str, str],
    names: dict[str, str],
) -> None:
    for (lower, upper, kind_), stated_by in sorted(pairs.items()):
        unit, university = records.get(lower), records.get(upper)
        if (
            unit is None
            or university is None
            or upper not in joined
            or lower in joined
            or lower in found.units
            or not unit.active
            or not unit.has_type("education")
            or unit.has_type("healthcare")
        ):
            continue
        code = joined[upper]
        pattern = _unit_pattern(names[code], university)
        if not any(pattern.match(n.value) for n in unit.names if n.kind != "acronym"):
            continue
        found.units[lower] = (unit, code)
        relation = "part of" if kind_ == "part-of" else "related to"
        found.ties.append(
            Tie(
                "ror-medical-unit",
                lower,
                code,
                tuple(stated_by),
                f"ROR names a medical school of {names[code]}: {unit.display} "
                f"({unit.suffix}), {relation} {university.display} "
                f"({university.suffix})",
            )
        )


def _ror_ties(
    found: Found,
    records: dict[str, RorRecord],
    pairs: dict[Pair, list[str]],
    targets: dict[str, str],
) -> None:
    for (lower, upper, kind_), stated_by in sorted(pairs.items()):
        if lower not in found.hospitals:
            continue
        hospital = found.hospitals[lower]
        if upper not in targets:
            if upper not in records:
                found.outside.append((lower, hospital.display, kind_, upper))
            continue
        other = records[upper]
        rule = "ror-part-of" if kind_ == "part-of" else "ror-related"
        said = " and ".join(records[s].suffix for s in stated_by)
        relation = "a child of" if kind_ == "part-of" else "related to"
        found.ties.append(
            Tie(
                rule,
                lower,
                targets[upper],
                tuple(stated_by),
                f"{hospital.display} ({hospital.suffix}) is {relation} "
                f"{other.display} ({other.suffix}), as ROR record(s) {said} state",
            )
        )


def _name_ties(
    found: Found,
    records: dict[str, RorRecord],
    rows: list[dict[str, str]],
    result: JoinResult,
) -> None:
    """The affiliated-name rule, over every hospital and every institution's names."""
    zh_owner: dict[str, set[str]] = defaultdict(set)
    en_owner: dict[str, set[str]] = defaultdict(set)
    seq = {r["moe_code"]: r for r in rows}
    for row in rows:
        zh_owner[row["name_zh"]].add(row["moe_code"])
    for code, record in result.matched.items():
        for text in record.chinese_names():
            if len(text) >= MIN_NAME:
                zh_owner[text].add(code)
        for text in record.english_names():
            if len(text.split()) >= 2:
                en_owner[text.lower()].add(code)
    zh_names = sorted(zh_owner, key=lambda n: (-len(n), n))
    zh_pattern = re.compile(
        "("
        + "|".join(map(re.escape, zh_names))
        + f")(?:医学院|医学部)?(?:{ORDINAL})?附属"
    )
    en_names = sorted(en_owner, key=lambda n: (-len(n), n))
    en_pattern = re.compile(
        r"\bAffiliated\b[^;()]*?\b(?:of|to)\s+(?:the\s+)?("
        + "|".join(map(re.escape, en_names))
        + f")(?: {UNIT_EN})?\\s*(?:$|[,;()（）])",
        re.I,
    )
    for ror_id, hospital in sorted(found.hospitals.items()):
        seen: set[str] = set()
        # Chinese names first: the rule is about 附属, English is the fallback
        for name in sorted(hospital.names, key=lambda n: not n.chinese):
            if name.kind == "acronym":
                continue
            pattern, owners = (
                (zh_pattern, zh_owner) if name.chinese else (en_pattern, en_owner)
            )
            for match in pattern.finditer(name.value):
                key = match.group(1) if name.chinese else match.group(1).lower()
                codes = owners.get(key, set())
                if len(codes) != 1:
                    if codes:
                        found.outside.append(
                            (ror_id, hospital.display, "ambiguous name", key)
                        )
                    continue
                code = next(iter(codes))
                if code in seen:
                    continue
                seen.add(code)
                found.ties.append(
                    Tie(
                        "affiliated-name",
                        ror_id,
                        code,
                        (ror_id, f"row-{seq[code]['seq']}"),
                        f"the name “{name.value}” of {hospital.display} "
                        f"({hospital.suffix}) says it is affiliated with "
                        f"{seq[code]['name_zh']} "
                        f"(“{match.group(0).rstrip(' ,;()（）')}”)",
                    )
                )


# --- graphs -------------------------------------------------------------------------
def subject_of(target: str) -> URIRef:
    """The resource of a tie's target: an institution (MOE code) or a unit (ROR id)."""
    if target.startswith("https://ror.org/"):
        return organization_iri(target)
    return institution_iri(target)


def _key(target: str) -> str:
    return "ror-" + target.rsplit("/", 1)[-1] if "/" in target else target


def _origin(origin: str) -> URIRef:
    if origin.startswith("row-"):
        return URIRef(f"{source(MOE)}#{origin}")
    return URIRef(origin)


def hospitals_graph(found: Found, rows: list[dict[str, str]]) -> Graph:
    """Hospitals, medical units, their ties to institutions and the evidence of each
    (graph ``hospitals``); institutions with a tie are medical education institutions.
    """
    graph = Graph()
    src = source(ROR)
    for ror_id in sorted(found.hospitals):
        hospital = organization_iri(ror_id)
        graph.add((hospital, RDF.type, MEDEDKG.Hospital))
        graph.add((hospital, DCTERMS.source, src))
    for ror_id, (_unit, code) in sorted(found.units.items()):
        unit = organization_iri(ror_id)
        graph.add((unit, RDF.type, MEDEDKG.UniversityMedicalSchool))
        graph.add((unit, MEDEDKG.partOf, institution_iri(code)))
        graph.add((unit, DCTERMS.source, src))
    medical = {r["moe_code"] for r in rows if is_medical(r["name_zh"])}
    rules_by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    for tie in found.ties:
        rules_by_pair[(tie.organization, tie.target)].add(tie.rule)
        target = subject_of(tie.target)
        organization = organization_iri(tie.organization)
        evidence = evidence_iri(_key(tie.target), tie.rule, _key(tie.organization))
        graph.add((target, MEDEDKG.medicalEducationEvidence, evidence))
        sources = [src] if tie.rule != "affiliated-name" else [src, source(MOE)]
        add_evidence(
            graph,
            evidence,
            RULES[tie.rule],
            [_origin(o) for o in tie.origins],
            tie.note,
            sources,
            via=organization,
        )
        if tie.rule == "ror-medical-unit":
            # the unit's own evidence of teaching medicine is the same claim
            graph.add((organization, MEDEDKG.medicalEducationEvidence, evidence))
        if not tie.target.startswith("https://") and tie.target not in medical:
            graph.add((target, RDF.type, MEDEDKG.MedicalEducationInstitution))
    for (organization_id, target_id), rules in sorted(rules_by_pair.items()):
        if organization_id in found.units:
            continue
        hospital, target = organization_iri(organization_id), subject_of(target_id)
        if "ror-part-of" in rules:
            graph.add((hospital, MEDEDKG.partOf, target))
        if rules & {"ror-part-of", "affiliated-name"}:
            graph.add((hospital, MEDEDKG.affiliatedWith, target))
        elif "ror-related" in rules:
            graph.add((hospital, MEDEDKG.worksWith, target))
    return graph


def ror_graph(
    records: dict[str, RorRecord],
    rows: list[dict[str, str]],
    result: JoinResult,
    found: Found,
    has_province: set[str],
) -> Graph:
    """ROR's facts about every joined institution, unit and hospital (graph ``ror``):
    ids, names (cleaned, split, the raw value noted), Wikidata id, year, place, web
    site — and the province from GeoNames where the MOE list gives none."""
    graph = Graph()
    src = source(ROR)
    names = {r["moe_code"]: r["name_zh"] for r in rows}
    subjects: list[tuple[URIRef, RorRecord, str, str]] = [
        (institution_iri(code), record, code, names[code])
        for code, record in sorted(result.matched.items())
    ]
    subjects += [
        (organization_iri(i), r, "ror-" + r.suffix, "")
        for i, (r, _code) in sorted(found.units.items())
    ]
    subjects += [
        (organization_iri(i), r, "ror-" + r.suffix, "")
        for i, r in sorted(found.hospitals.items())
    ]
    geonames = geonames_provinces(rows, result)
    joined = {record.ror_id for _, record, _, _ in subjects}
    succeeded = predecessors(records)
    for subject, record, key, moe_name in subjects:
        _ror_facts(graph, subject, record, moe_name, src)
        formers = succeeded.get(record.ror_id, [])
        _former_names(graph, subject, record, formers, joined, src)
        if key in has_province:
            continue
        for place, kind_ in ((record.subdivision, "division"), (record.city, "city")):
            chinese = geonames.get((kind_, place))
            if place and chinese:
                add_province(
                    graph,
                    subject,
                    key,
                    chinese,
                    "geonames",
                    f"GeoNames {kind_} “{place}” of ROR record {record.suffix}, "
                    f"where the graph's institutions with that {kind_} are",
                    [URIRef(record.ror_id)],
                    [src],
                )
                break
    return graph


def geonames_provinces(
    rows: list[dict[str, str]], result: JoinResult
) -> dict[tuple[str, str], str]:
    """(``division`` or ``city``, GeoNames English name) → the Chinese province that
    every joined institution located there has by the authority rule."""
    seen: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    located = provinces_of(rows)
    for code, record in result.matched.items():
        if code not in located or located[code].rule != "authority":
            continue
        chinese = located[code].province
        if record.subdivision:
            seen[("division", record.subdivision)][chinese] += 1
        if record.city:
            seen[("city", record.city)][chinese] += 1
    return {key: next(iter(c)) for key, c in seen.items() if len(c) == 1}


def predecessors(records: dict[str, RorRecord]) -> dict[str, list[RorRecord]]:
    """ROR id → the records ROR says it succeeded (its ``predecessor`` relationships
    and the records that name it as their ``successor``), in ROR-id order."""
    found: dict[str, set[str]] = defaultdict(set)
    for record in records.values():
        for r in record.relationships:
            if r.type.lower() == "predecessor":
                found[record.ror_id].add(r.target)
            elif r.type.lower() == "successor":
                found[r.target].add(record.ror_id)
    return {
        ror_id: [records[i] for i in sorted(ids) if i in records]
        for ror_id, ids in found.items()
    }


def _former_names(
    graph: Graph,
    subject: URIRef,
    record: RorRecord,
    formers: list[RorRecord],
    joined: set[str],
    src: URIRef,
) -> None:
    """The names of *formers* (the records ROR lists as *record*'s predecessors,
    :func:`predecessors`) as former names (``skos:altLabel`` and a
    ``skos:historyNote`` saying which record), unless that record is a resource of
    the graph itself."""
    have = {str(o) for o in graph.objects(subject, RDFS.label)}
    have |= {str(o) for o in graph.objects(subject, SKOS.altLabel)}
    for former in formers:
        if former.ror_id in joined:
            continue
        for name in former.names:
            if name.kind == "acronym" or name.value in have:
                continue
            have.add(name.value)
            lang = "zh" if name.chinese else ("en" if name.lang == "en" else "")
            graph.add((subject, SKOS.altLabel, Literal(name.value, lang=lang or None)))
            graph.add(
                (
                    subject,
                    SKOS.historyNote,
                    en(
                        f"former name “{name.value}”: the {name.kind} of ROR record "
                        f"{former.suffix}, which ROR lists as a predecessor of "
                        f"{record.suffix}"
                    ),
                )
            )
        graph.add((subject, PROV.wasDerivedFrom, URIRef(former.ror_id)))


def _ror_facts(
    graph: Graph, subject: URIRef, record: RorRecord, moe_name: str, src: URIRef
) -> None:
    graph.add((subject, MEDEDKG.rorId, Literal(record.suffix)))
    display = record.display
    if display:
        graph.add((subject, RDFS.label, en(display)))
    # a record whose Chinese names are all aliases (04cjrj888, 四川大学华西空港医院) is
    # named by the first of them
    chinese = record.chinese_labels() or [
        n.value for n in record.names if n.lang == "zh" and n.kind == "alias"
    ]
    if chinese and not moe_name:
        graph.add((subject, RDFS.label, zh(chinese[0])))
    labelled = {display, moe_name or (chinese[0] if chinese else "")}
    for name in record.names:
        if name.value in labelled or name.kind == "display":
            continue
        labelled.add(name.value)
        lang = name.lang if name.lang in ("zh", "en") else ""
        if name.kind == "label" and not lang:
            lang = "zh" if name.chinese else ""
        graph.add((subject, SKOS.altLabel, Literal(name.value, lang=lang or None)))
    for name in record.names:
        if name.cleaned:
            graph.add(
                (
                    subject,
                    SKOS.editorialNote,
                    en(
                        f"ROR {record.suffix} has the {name.kind} “{name.raw}”; "
                        f"recorded as “{name.value}” (several names split at ';', "
                        f"a copyright notice 版权所有 removed)"
                    ),
                )
            )
    if record.wikidata:
        graph.add((subject, MEDEDKG.wikidataId, Literal(record.wikidata)))
    if re.fullmatch(r"\d{4}", record.established):
        graph.add(
            (
                subject,
                MEDEDKG.foundingYear,
                Literal(record.established, datatype=XSD.gYear),
            )
        )
    if record.city:
        graph.add((subject, MEDEDKG.city, en(record.city)))
    _geometry(graph, subject, record)
    if record.website.startswith("http"):
        graph.add((subject, SCHEMA.url, URIRef(record.website.strip())))
    graph.add((subject, DCTERMS.source, src))
    graph.add((subject, PROV.wasDerivedFrom, URIRef(record.ror_id)))


def _geometry(graph: Graph, subject: URIRef, record: RorRecord) -> None:
    """The record's location as a GeoSPARQL point: the coordinates ROR gives for the
    GeoNames place of the record (its city), so marked city-level, with the GeoNames
    place as source and the record it came from."""
    if record.lat is None or record.lng is None:
        return
    geometry = ID[f"geometry/ror-{record.suffix}"]
    graph.add((subject, GEO.hasGeometry, geometry))
    graph.add((geometry, RDF.type, GEO.Geometry))
    # No CRS IRI before the point: GeoSPARQL reads a WKT literal without one in
    # CRS84 (longitude, latitude), and Virtuoso 7 refuses a literal that has one.
    wkt = f"POINT({record.lng} {record.lat})"
    graph.add((geometry, GEO.asWKT, Literal(wkt, datatype=GEO.wktLiteral)))
    graph.add((geometry, MEDEDKG.spatialLevel, MEDEDKG.CityLevel))
    if record.geonames_id.isdigit():
        graph.add(
            (
                geometry,
                DCTERMS.source,
                URIRef(f"https://sws.geonames.org/{record.geonames_id}/"),
            )
        )
    graph.add((geometry, PROV.wasDerivedFrom, URIRef(record.ror_id)))
