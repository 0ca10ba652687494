"""The importer: same sources → byte-identical files; rules applied to the full list,
each tested with the source rows that motivated it; programme CSVs checked row by
row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef

from mededkg.errors import LoadError
from mededkg.importer import import_all, import_programmes
from mededkg.importer.institutions import (
    authorities,
    is_medical,
    kind,
    location,
    province,
    provinces_of,
    read_rows,
)
from mededkg.importer.ror import clean_names, read_records
from mededkg.namespaces import MEDEDKG
from mededkg.resources import default_root

DATA = default_root() / "data"
SOURCES = DATA / "sources"
GENERATED = [
    "institutions.ttl",
    "ror.ttl",
    "hospitals.ttl",
    "hipo.ttl",
    "disciplines.ttl",
    "isced.ttl",
    "sources.ttl",
    "links/ror-wikidata.sssom.tsv",
    "reports/ror-join-unmatched.csv",
    "reports/ror-healthcare-not-hospitals.csv",
    "reports/hospitals-untied.csv",
    "reports/hospital-ties-outside.csv",
    "reports/institutions-without-province.csv",
    "reports/institutions-without-point.csv",
]
ID = "https://w3id.org/mededkg/id/"
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")


def institution(code: str) -> URIRef:
    return URIRef(f"{ID}institution/{code}")


def organization(ror: str) -> URIRef:
    return URIRef(f"{ID}organization/ror-{ror}")


def test_regenerating_gives_the_committed_bytes(tmp_path: Path) -> None:
    written = import_all(SOURCES, tmp_path, DATA / "links")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(
        GENERATED
    )
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_two_runs_are_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    import_all(SOURCES, first, DATA / "links")
    import_all(SOURCES, second, DATA / "links")
    for name in GENERATED:
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    """Everything the importer generates from the sources, as one graph."""
    out = tmp_path_factory.mktemp("imported")
    import_all(SOURCES, out, DATA / "links")
    graph = Graph()
    for name in ("institutions", "ror", "hospitals", "hipo"):
        graph.parse(out / f"{name}.ttl")
    return graph


def _rules(graph: Graph, subject: URIRef, via: URIRef | None = None) -> set[str]:
    """The evidence rules (local names) of *subject*, only those through *via*."""
    found = set()
    for evidence in graph.objects(subject, MEDEDKG.medicalEducationEvidence):
        if via is None or (evidence, MEDEDKG.via, via) in graph:
            rule = graph.value(evidence, MEDEDKG.evidenceRule)
            found.add(str(rule).rsplit("#", 1)[-1])
    return found


# --- every row of the MOE list ----------------------------------------------------
def test_every_row_is_a_higher_education_institution(imported: Graph) -> None:
    rows = read_rows(SOURCES / "china-heis-moe")
    assert len(rows) == 2756
    found = set(imported.subjects(RDF.type, MEDEDKG.HigherEducationInstitution))
    assert found == {institution(r["moe_code"]) for r in rows}
    pku = institution("4111010001")  # 北京大学, row 1
    assert (pku, RDFS.label, Literal("北京大学", lang="zh")) in imported
    assert (pku, MEDEDKG.educationLevel, Literal("本科")) in imported


@pytest.mark.parametrize(
    ("name", "medical"),
    [
        ("首都医科大学", True),
        ("北京协和医学院", True),
        ("广东食品药品职业学院", True),
        ("北京大学", False),
        # 环境保护: 护 in 保护 is "protection", not nursing
        ("广东环境保护工程职业学院", False),
        # 兽医: veterinary (rows 1417 and 2676 of the MOE list)
        ("山东畜牧兽医职业学院", False),
        ("青海畜牧兽医职业技术学院", False),
    ],
)
def test_name_rule(name: str, medical: bool) -> None:
    assert is_medical(name) is medical


def test_veterinary_colleges_are_not_medical(imported: Graph) -> None:
    for code in ("4137012947", "4163012972"):  # 山东/青海畜牧兽医…
        assert (
            institution(code),
            RDF.type,
            MEDEDKG.HigherEducationInstitution,
        ) in imported
        assert not list(
            imported.objects(institution(code), MEDEDKG.medicalEducationEvidence)
        )
        kinds = set(imported.objects(institution(code), RDF.type))
        assert kinds == {MEDEDKG.HigherEducationInstitution}


@pytest.mark.parametrize(
    ("name", "level", "expected"),
    [
        ("北京中医药大学", "本科", "TCMUniversity"),
        ("天津医学高等专科学校", "专科", "MedicalUniversity"),
        ("郑州黄河护理职业学院", "专科", "NursingCollege"),
        ("中国药科大学", "本科", "PharmacyCollege"),
        ("甘肃卫生职业学院", "专科", "HealthVocationalCollege"),
        ("江苏医药职业学院", "专科", "HealthVocationalCollege"),
        ("首都医科大学", "本科", "MedicalUniversity"),
        ("湖北医药学院", "本科", "MedicalUniversity"),
        ("广东药科大学", "本科", "PharmacyCollege"),
    ],
)
def test_kind_rule(name: str, level: str, expected: str) -> None:
    assert kind(name, level) == MEDEDKG[expected]


def test_authority_rule() -> None:
    assert province("广西壮族自治区教育厅", "南宁市") == "广西壮族自治区"
    assert province("国家卫生健康委员会", "北京市") is None
    assert province("天津市教委", "天津市") == "天津市"  # 教委 dropped too
    assert authorities("上海市 中国科学院") == ["上海市", "中国科学院"]
    assert location("南昌市教育厅") == "南昌市"


@pytest.mark.parametrize(
    ("code", "expected", "rule"),
    [
        # the five medical institutions the first release left without a province
        ("4111010023", "北京市", "location"),  # 北京协和医学院, 国家卫生健康委员会
        ("4111010026", "北京市", "location"),  # 北京中医药大学, 教育部
        ("4132010316", "江苏省", "location"),  # 中国药科大学, 教育部, 南京市
        ("4112013661", "天津市", "authority"),  # 天津医科大学临床医学院, 天津市教委
        ("4150014576", "重庆市", "authority"),  # 重庆护理职业学院, 重庆市教委
        # 南宁学院: authority 广西自治区教育厅, a variant spelling of 广西壮族自治区
        ("4145011549", "广西壮族自治区", "authority"),
        # 石河子大学: 新疆生产建设兵团, named after 新疆维吾尔自治区
        ("4165010759", "新疆维吾尔自治区", "authority"),
        ("4131014423", "上海市", "authority"),  # 上海科技大学, 上海市 中国科学院
    ],
)
def test_province_rules(code: str, expected: str, rule: str) -> None:
    located = provinces_of(read_rows(SOURCES / "china-heis-moe"))
    assert (located[code].province, located[code].rule) == (expected, rule)


def test_every_institution_has_a_province_of_the_list_with_its_evidence(
    imported: Graph,
) -> None:
    rows = read_rows(SOURCES / "china-heis-moe")
    authorities_ = {province(r["authority"], r["location"]) for r in rows} - {None}
    found = {}
    for row in rows:
        subject = institution(row["moe_code"])
        values = [
            v
            for v in imported.objects(subject, MEDEDKG.province)
            if isinstance(v, Literal) and v.language == "zh"
        ]
        assert len(values) == 1, row
        found[row["moe_code"]] = str(values[0])
        evidence = imported.value(subject, MEDEDKG.provinceEvidence)
        assert imported.value(evidence, MEDEDKG.evidenceRule) is not None
    # 31 province-level divisions, each spelled as the list usually spells it
    assert set(found.values()) == authorities_ - {"广西自治区"}
    assert len(set(found.values())) == 31


def test_programme_rows_become_triples(tmp_path: Path) -> None:
    out = import_programmes(
        DATA / "examples" / "programmes-example.csv", tmp_path / "p.ttl"
    )
    text = out.read_text(encoding="utf-8")
    assert text.count("a mededkg:Programme") == 3
    assert "EXAMPLE" in text


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("institution", "Peking", "MOE code or a ROR id"),
        ("programme_kind", "surgery", "programme_kind"),
        ("discipline_code", "10020", "2, 4 or 6 digits"),
        ("catalogue_edition", "2030", "catalogue_edition"),
        ("source_url", "", "needs its source"),
        ("start_year", "21", "start_year"),
    ],
)
def test_bad_programme_row_names_file_and_line(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    source = DATA / "examples" / "programmes-example.csv"
    lines = source.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index(column)] = value
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\n".join([lines[0], lines[1], ",".join(cells)]) + "\n", encoding="utf-8"
    )
    with pytest.raises(LoadError, match=message) as caught:
        import_programmes(bad, tmp_path / "out.ttl")
    assert caught.value.line == 3
    assert not (tmp_path / "out.ttl").exists()


def test_missing_column_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("institution,programme_kind\n4111010025,nursing\n", encoding="utf-8")
    with pytest.raises(LoadError, match="missing column"):
        import_programmes(bad, tmp_path / "out.ttl")


def test_sources_are_self_contained(tmp_path: Path) -> None:
    # The importer reads only data/sources (and the linker's links, when there are
    # any): a copy of that folder alone is enough.
    copy = tmp_path / "sources"
    shutil.copytree(SOURCES, copy)
    assert import_all(copy, tmp_path / "out")


# --- ROR names --------------------------------------------------------------------
def test_ror_names_are_split_and_cleaned() -> None:
    records = read_records(SOURCES / "ror-china")
    # 000jtc944's Chinese label is "河南财经学院;",
    # 050agvb10's "版权所有 运城市中心医院"
    assert records["https://ror.org/000jtc944"].chinese_labels() == ["河南财经学院"]
    yuncheng = records["https://ror.org/050agvb10"]
    assert yuncheng.chinese_labels() == ["运城市中心医院"]
    assert [n.raw for n in yuncheng.names if n.cleaned] == ["版权所有 运城市中心医院"]
    assert clean_names("中国平安;平安金融") == ["中国平安", "平安金融"]


def test_no_label_holds_several_names_or_noise(imported: Graph) -> None:
    for predicate in (RDFS.label, SKOS.altLabel):
        for value in imported.objects(None, predicate):
            assert ";" not in value and "版权所有" not in value, value
    yuncheng = organization("050agvb10")
    assert (yuncheng, RDFS.label, Literal("运城市中心医院", lang="zh")) in imported
    notes = " ".join(imported.objects(yuncheng, SKOS.editorialNote))
    assert "版权所有 运城市中心医院" in notes  # the raw value, kept


def test_a_chinese_alias_names_a_hospital_without_a_chinese_label(
    imported: Graph,
) -> None:
    # ROR 04cjrj888 has its Chinese names only as aliases
    airport = organization("04cjrj888")
    assert (airport, RDFS.label, Literal("四川大学华西空港医院", lang="zh")) in imported
    assert (airport, SKOS.altLabel, Literal("成都市双流区第一人民医院", lang="zh")) in (
        imported
    )


def test_ror_names_become_alternative_labels(imported: Graph) -> None:
    # 安徽中医药大学 joins ROR 0139j4p80 through mededkg link; ROR has its former name
    anhui = institution("4134010369")
    assert (anhui, MEDEDKG.rorId, Literal("0139j4p80")) in imported
    assert (anhui, SKOS.altLabel, Literal("安徽中医学院", lang="zh")) in imported
    # 锦州医科大学's ROR record also lists 辽宁医学院 (its name until 2016)
    jinzhou = institution("4121010160")
    assert (jinzhou, SKOS.altLabel, Literal("辽宁医学院", lang="zh")) in imported
    # Hipo's name for 温州医科大学, from the linker's Hipo links
    wenzhou = institution("4133010343")
    assert (wenzhou, SKOS.altLabel, Literal("Wenzhou Medical College", lang="en")) in (
        imported
    )


def test_rejected_links_give_no_names(imported: Graph) -> None:
    # the linker's Hipo link 宿州学院 → suda.edu.cn (苏州大学) is rejected in review
    suzhou = institution("4134010379")
    assert (suzhou, SKOS.altLabel, Literal("Suzhou University", lang="en")) not in (
        imported
    )


# --- hospitals, units and ties ----------------------------------------------------
@pytest.mark.parametrize(
    ("ror", "hospital"),
    [
        ("007mrxy13", True),  # West China Hospital of Sichuan University
        ("003regz62", True),  # Beijing Tian Tan Hospital
        ("02z2yec16", True),  # Zhongshan Ophthalmic Center (眼科中心)
        ("00g2rqs52", False),  # Southwest Medical University, typed healthcare
        ("01c4jmp52", False),  # Chengdu Medical College: joins 成都医学院
        ("003hq2245", False),  # a centre for disease control
    ],
)
def test_hospital_rule(imported: Graph, ror: str, hospital: bool) -> None:
    assert ((organization(ror), RDF.type, MEDEDKG.Hospital) in imported) is hospital


def test_medical_units_are_the_ones_ror_names(imported: Graph) -> None:
    units = set(imported.subjects(RDF.type, MEDEDKG.UniversityMedicalSchool))
    assert units == {organization("01zntxs11"), organization("02gxych78")}
    fudan, shantou = institution("4131010246"), institution("4144010560")
    assert (organization("01zntxs11"), MEDEDKG.partOf, fudan) in imported
    assert (organization("02gxych78"), MEDEDKG.partOf, shantou) in imported
    assert _rules(imported, shantou) == {"RorMedicalUnitRule"}
    # a State Key Laboratory, child of Fudan, is no medical school
    assert (organization("00nn53y54"), None, None) not in imported


def test_ror_related_alone_gives_works_with(imported: Graph) -> None:
    west_china, sichuan = organization("007mrxy13"), institution("4151010610")
    assert (west_china, MEDEDKG.worksWith, sichuan) in imported
    assert (west_china, MEDEDKG.affiliatedWith, None) not in imported
    assert _rules(imported, sichuan, west_china) == {"RorRelatedRule"}
    assert (sichuan, RDF.type, MEDEDKG.MedicalEducationInstitution) in imported
    tiantan = organization("003regz62")  # related to Capital Medical University
    assert (tiantan, MEDEDKG.worksWith, institution("4111010025")) in imported
    assert (tiantan, MEDEDKG.affiliatedWith, None) not in imported


@pytest.mark.parametrize(
    ("ror", "code", "rules"),
    [
        # 温州医科大学附属眼视光医院 (and ROR related)
        ("000sxmx78", "4133010343", {"AffiliatedNameRule", "RorRelatedRule"}),
        # 蚌埠医学院第一附属医院
        ("04v043n92", "4134010367", {"AffiliatedNameRule", "RorRelatedRule"}),
        # 复旦大学附属中山医院
        ("032x22645", "4131010246", {"AffiliatedNameRule", "RorRelatedRule"}),
        # 上海交通大学医学院附属瑞金医院: through its 医学院
        ("01hv94n30", "4131010248", {"AffiliatedNameRule", "RorRelatedRule"}),
        # Xinghua People's Hospital Affiliated to Yangzhou University (English)
        ("05ht7qn52", "4132011117", {"AffiliatedNameRule"}),
    ],
)
def test_affiliated_name_rule(
    imported: Graph, ror: str, code: str, rules: set[str]
) -> None:
    hospital, target = organization(ror), institution(code)
    assert (hospital, MEDEDKG.affiliatedWith, target) in imported
    assert _rules(imported, target, hospital) == rules


def test_english_name_must_end_with_the_institution(imported: Graph) -> None:
    # "Second Affiliated Hospital of Guangzhou University of Traditional Chinese
    # Medicine" is not a hospital of 广州大学
    hospital, guangzhou = organization("01gb3y148"), institution("4144011078")
    assert (hospital, MEDEDKG.affiliatedWith, guangzhou) not in imported
    assert not _rules(imported, guangzhou)


def test_ror_parent_child_gives_part_of_and_affiliated(imported: Graph) -> None:
    # Yuncheng Central Hospital is a child of Shanxi Medical University in ROR
    hospital, shanxi = organization("050agvb10"), institution("4114010114")
    assert (hospital, MEDEDKG.partOf, shanxi) in imported
    assert (hospital, MEDEDKG.affiliatedWith, shanxi) in imported
    assert _rules(imported, shanxi, hospital) == {"RorPartOfRule"}


def test_every_affiliation_has_name_or_parent_child_evidence(imported: Graph) -> None:
    statements = list(imported.subject_objects(MEDEDKG.affiliatedWith))
    assert statements
    for hospital, target in statements:
        assert isinstance(hospital, URIRef) and isinstance(target, URIRef)
        rules = _rules(imported, target, hospital)
        assert rules & {"AffiliatedNameRule", "RorPartOfRule"}, (hospital, target)


def test_ror_locations_become_city_level_points_with_their_source(
    imported: Graph,
) -> None:
    # Every ROR record the graph describes gives its GeoNames place's coordinates,
    # as ROR has them, as a WKT point (CRS84, the default) marked city-level, citing
    # the place and the record; the expected point is read from the source.
    geo = Namespace("http://www.opengis.net/ont/geosparql#")
    records = read_records(default_root() / "data" / "sources" / "ror-china")
    described = [
        (s, r)
        for s in imported.subjects(MEDEDKG.rorId, None)
        if (
            r := records.get("https://ror.org/" + str(imported.value(s, MEDEDKG.rorId)))
        )
    ]
    assert len(described) > 800
    for subject, record in described:
        (geometry,) = imported.objects(subject, geo.hasGeometry)
        (wkt,) = imported.objects(geometry, geo.asWKT)
        assert str(wkt) == f"POINT({record.lng} {record.lat})"
        assert wkt.datatype == geo.wktLiteral
        assert imported.value(geometry, MEDEDKG.spatialLevel) == MEDEDKG.CityLevel
        assert (geometry, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"),
                URIRef(record.ror_id)) in imported  # fmt: skip
        assert (
            geometry,
            URIRef("http://purl.org/dc/terms/source"),
            URIRef(f"https://sws.geonames.org/{record.geonames_id}/"),
        ) in imported


def test_an_institution_without_ror_gets_its_citys_point_from_ror(
    imported: Graph,
) -> None:
    # 厦门工学院 has no ROR record; the MOE list locates it in 厦门市. ROR's records
    # in Xiamen give the GeoNames place Xiamen (the city, not the prefecture "Xiamen
    # Shi" one record gives); its point is read from the source here.
    geo = Namespace("http://www.opengis.net/ont/geosparql#")
    prov = Namespace("http://www.w3.org/ns/prov#")
    records = read_records(default_root() / "data" / "sources" / "ror-china")
    xiamen = {
        (r.geonames_id, r.lng, r.lat)
        for r in records.values()
        if r.city == "Xiamen" and r.subdivision == "Fujian" and r.lat is not None
    }
    ((geonames_id, lng, lat),) = xiamen
    college = institution("4135013115")
    assert imported.value(college, MEDEDKG.rorId) is None
    (geometry,) = imported.objects(college, geo.hasGeometry)
    assert str(imported.value(geometry, geo.asWKT)) == f"POINT({lng} {lat})"
    assert imported.value(geometry, MEDEDKG.spatialLevel) == MEDEDKG.CityLevel
    place = URIRef(f"https://sws.geonames.org/{geonames_id}/")
    assert imported.value(geometry, URIRef("http://purl.org/dc/terms/source")) == place
    (record,) = imported.objects(geometry, prov.wasDerivedFrom)
    assert records[str(record)].city == "Xiamen"
    evidence = imported.value(geometry, MEDEDKG.geometryEvidence)
    assert imported.value(evidence, MEDEDKG.evidenceRule) == (
        MEDEDKG.CityPointFromLocationRule
    )
    origins = set(imported.objects(evidence, prov.wasDerivedFrom))
    assert {record, place} < origins
    (row,) = [
        r for r in read_rows(SOURCES / "china-heis-moe") if r["name_zh"] == "厦门工学院"
    ]
    assert URIRef(f"{ID}source/china-heis-moe#row-{row['seq']}") in origins
    assert "厦门市" in str(imported.value(evidence, SKOS.note))


def test_an_institution_with_a_ror_point_keeps_its_own(imported: Graph) -> None:
    # 厦门大学 joins ROR: its point is its record's, with no city-point evidence.
    geo = Namespace("http://www.opengis.net/ont/geosparql#")
    university = institution("4135010384")
    ror_id = imported.value(university, MEDEDKG.rorId)
    assert ror_id is not None
    (geometry,) = imported.objects(university, geo.hasGeometry)
    assert str(geometry).endswith(f"/geometry/ror-{ror_id}")
    assert imported.value(geometry, MEDEDKG.geometryEvidence) is None


def test_every_institution_has_a_point_or_a_reported_reason(imported: Graph) -> None:
    geo = Namespace("http://www.opengis.net/ont/geosparql#")
    codes = {str(c) for c in imported.objects(None, MEDEDKG.moeCode)}
    located = {
        str(imported.value(s, MEDEDKG.moeCode))
        for s in imported.subjects(geo.hasGeometry, None)
        if imported.value(s, MEDEDKG.moeCode) is not None
    }
    report = (DATA / "reports" / "institutions-without-point.csv").read_text("utf-8")
    missing = {line.split(",")[0] for line in report.splitlines()[1:]}
    assert located.isdisjoint(missing)
    assert located | missing == codes
