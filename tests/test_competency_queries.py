"""Every competency question, through the HTTP endpoint, against the real graph.

Expected answers are computed from the source files in data/sources (not copied from
query output), so a wrong query or a wrong import both fail here.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mededkg.importer.institutions import is_medical
from mededkg.matching.sssom import expand, read_sssom
from mededkg.pipeline.build import build
from mededkg.resources import default_root
from mededkg.settings import Config
from tests.conftest import make_config, run_named, sparql_select
from webapp import create_app

ROOT = default_root()
SOURCES = ROOT / "data" / "sources"
MED = "https://w3id.org/mededkg/ontology#"
ID = "https://w3id.org/mededkg/id/"
CAPITAL = ID + "institution/4111010025"  # 首都医科大学, MOE list row 22
FUDAN = ID + "institution/4131010246"  # 复旦大学
SICHUAN = ID + "institution/4151010610"  # 四川大学
GENERAL = {"MedicalEducationInstitution"}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def moe_medical() -> list[dict[str, str]]:
    rows = _csv(SOURCES / "china-heis-moe" / "china_heis_moe_list.csv")
    return [r for r in rows if is_medical(r["name_zh"])]


@pytest.fixture(scope="module")
def example_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """The real graph plus the example programmes (invented rows, for CQ04/CQ12)."""
    config: Config = make_config(ROOT, tmp_path_factory.mktemp("examples") / "store")
    build(config, [ROOT / "data" / "examples" / "programmes-example.ttl"])
    app: Flask = create_app(config)
    yield app.test_client()


def test_cq01_every_medical_row_is_an_institution_of_one_kind(
    repo_client: FlaskClient, moe_medical: list[dict[str, str]]
) -> None:
    rows = run_named(repo_client, "cq01-institutions-by-type")
    kinds = {r["kind"].removeprefix(MED): int(r["institutions"]) for r in rows}
    nursing = sum(
        "护理" in r["name_zh"] and not re.search("中医|中药|中西医", r["name_zh"])
        for r in moe_medical
    )
    assert kinds["NursingCollege"] == nursing
    tcm = sum(bool(re.search("中医|中药|中西医", r["name_zh"])) for r in moe_medical)
    assert kinds["TCMUniversity"] == tcm
    # every row the name rule selects has a specific kind; comprehensive universities
    # that teach through units or hospitals have the general class; the two units
    by_name = sum(n for k, n in kinds.items() if k not in GENERAL)
    assert by_name - kinds["UniversityMedicalSchool"] == len(moe_medical) == 206
    assert kinds["UniversityMedicalSchool"] == 2
    teaching = run_named(repo_client, "cq16-medical-education-evidence")
    without_name_rule = {r["institution"] for r in teaching} - {
        ID + "institution/" + r["moe_code"] for r in moe_medical
    }
    assert kinds["MedicalEducationInstitution"] == len(without_name_rule)
    only_nursing = run_named(
        repo_client, "cq01-institutions-by-type", kind=MED + "NursingCollege"
    )
    assert [r["kind"] for r in only_nursing] == [MED + "NursingCollege"]


def test_cq02_supervising_authority_as_in_the_moe_list(
    repo_client: FlaskClient, moe_medical: list[dict[str, str]]
) -> None:
    rows = run_named(repo_client, "cq02-establishment-and-parts")
    by_institution = {r["institution"]: r for r in rows}
    expected = {
        ID + "institution/" + r["moe_code"]: r["authority"] for r in moe_medical
    }
    assert {i: by_institution[i]["authority_name"] for i in expected} == expected
    assert not any("established_by" in r for r in rows)
    # the medical units ROR names are part of their university
    parts = {r["institution"]: r["part_of"] for r in rows if "part_of" in r}
    assert parts == {
        ID + "organization/ror-01zntxs11": ID + "institution/4131010246",  # 复旦大学
        ID + "organization/ror-02gxych78": ID + "institution/4144010560",  # 汕头大学
    }


def test_cq03_duties_entailed_and_continuing_education_not_invented(
    repo_client: FlaskClient,
) -> None:
    rows = run_named(repo_client, "cq03-duties", institution=CAPITAL)
    assert sorted(r["duty_en"] for r in rows) == [
        "education",
        "research",
        "services",
        "training",
    ]
    assert run_named(repo_client, "cq03-duties", duty=MED + "ContinuingEducation") == []


def test_cq04_programmes_with_level_and_orientation(
    example_client: FlaskClient,
) -> None:
    rows = run_named(example_client, "cq04-programmes", institution=CAPITAL)
    assert sorted(
        (r["code"], r.get("level_en"), r.get("orientation_en")) for r in rows
    ) == [
        ("1001", "master", "academic"),
        ("100201", "master", "professional"),
    ]


def test_cq05_hospitals_follow_ror_relationships(repo_client: FlaskClient) -> None:
    ror = _csv(SOURCES / "ror-china" / "ror_cn_flat.csv")
    capital = next(r for r in ror if r["ror_id"] == "https://ror.org/013xs5b60")
    healthcare = {
        r["ror_id"]
        for r in ror
        if "healthcare" in r["types"] and r["status"] == "active"
    }
    related = {
        rel.split("|")[1]
        for rel in capital["relationships"].split(" || ")
        if rel.split("|")[0].lower() in ("related", "child")
    }
    expected = {
        ID + "organization/ror-" + i.rsplit("/", 1)[1] for i in related & healthcare
    }
    rows = run_named(repo_client, "cq05-hospitals", institution=CAPITAL)
    assert {r["hospital"] for r in rows} >= expected
    relation = {r["hospital"]: r["relation"] for r in rows}
    # Tian Tan: ROR says "related", its names say nothing more → works with
    assert relation[ID + "organization/ror-003regz62"] == MED + "worksWith"
    # 首都医科大学附属北京同仁医院 says 附属 → affiliated with (the most specific)
    assert relation[ID + "organization/ror-013e4n276"] == MED + "affiliatedWith"
    assert set(relation.values()) <= {MED + "affiliatedWith", MED + "worksWith"}


def test_cq06_differences_come_from_the_ontology(repo_client: FlaskClient) -> None:
    rows = run_named(repo_client, "cq06-institution-vs-hospital")
    by_kind: dict[str, set[str]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"].removeprefix(MED), set()).add(r["value_en"])
    assert by_kind["Hospital"] == {
        "provide medical services",
        "independent medical institution",
        "patients",
    }
    assert {"educate and train medical students", "medical students", "teachers"} <= (
        by_kind["MedicalEducationInstitution"]
    )
    assert all(
        r["source"].endswith("seed-medical-education-institutions") for r in rows
    )


def test_cq07_typical_services_and_departments(repo_client: FlaskClient) -> None:
    rows = run_named(repo_client, "cq07-hospital-services")
    items = {(r["kind"], r["item_en"]) for r in rows}
    assert items == {
        ("service", "outpatient service"),
        ("service", "surgery"),
        ("service", "hospitalization"),
        ("department", "internal medicine"),
        ("department", "surgery department"),
        ("department", "gynecology"),
    }


def test_cq08_master_degrees_side_by_side(repo_client: FlaskClient) -> None:
    rows = {
        r["orientation_en"]: r
        for r in run_named(repo_client, "cq08-master-degrees-compared")
    }
    assert rows["professional"]["environment_en"] == "rotations in hospital departments"
    assert float(rows["professional"]["duration_years"]) == 3
    assert rows["professional"]["careers"] == "doctor in direct contact with patients"
    assert rows["academic"]["environment_en"] == "laboratory"
    assert float(rows["academic"]["minimum_clinical_months"]) == 6
    assert "medical scientist" in rows["academic"]["careers"]


def test_cq09_levels_map_to_isced_and_masters_share_a_level(
    repo_client: FlaskClient,
) -> None:
    levels = _csv(SOURCES / "isced" / "isced2011-levels.csv")
    names = {r["level"]: r["name_en"] for r in levels}
    rows = run_named(repo_client, "cq09-degree-levels")
    by_level = {(r["level_en"], r["isced_code"], r["isced_en"]) for r in rows}
    assert by_level == {
        ("bachelor", "6", names["6"]),
        ("master", "7", names["7"]),
        ("doctorate", "8", names["8"]),
    }
    masters = [r for r in rows if r["level_en"] == "master"]
    assert {r["degree_en"] for r in masters} == {
        "academic master's degree of medicine",
        "professional master's degree of medicine",
    }
    assert all("same_level_as" in r for r in masters)


def test_cq10_counts_per_category_and_edition_match_the_catalogue(
    repo_client: FlaskClient,
) -> None:
    catalogue = _csv(SOURCES / "china-discipline-catalog" / "disciplines.csv")
    expected = Counter(
        (r["edition_id"], r["parent_code"])
        for r in catalogue
        if r["level"] == "first_level"
    )
    rows = run_named(repo_client, "cq10-categories-per-edition")
    assert len(rows) == sum(r["level"] == "category" for r in catalogue)
    for row in rows:
        edition = row["edition"].rsplit("/", 1)[1]
        assert int(row["first_level"]) == expected[(edition, row["code"])], row
    medicine_1997 = next(
        r for r in rows if r["edition"].endswith("/1997") and r["code"] == "10"
    )
    assert int(medicine_1997["second_level"]) == sum(
        r["edition_id"] == "1997" and r["level"] == "second_level" for r in catalogue
    )


def test_catalogue_completeness_compares_stated_and_present(
    repo_client: FlaskClient,
) -> None:
    rows = run_named(repo_client, "catalogue-completeness")
    first_2011 = next(
        r
        for r in rows
        if r.get("edition", "").endswith("/2011-2018")
        and r["level"].endswith("FirstLevelDiscipline")
    )
    assert (first_2011["stated"], first_2011["present"]) == ("110", "97")
    seed = [r for r in rows if "edition" not in r]
    assert {r["stated"] for r in seed} == {"13", "88", "300", "760"}


def test_cq11_broader_up_to_the_category_and_narrower(repo_client: FlaskClient) -> None:
    internal = ID + "discipline/1997/100201"
    rows = run_named(repo_client, "cq11-broader-narrower", discipline=internal)
    assert {(r["direction"], r["code"]) for r in rows} == {
        ("broader", "1002"),
        ("broader", "10"),
    }
    medicine = run_named(
        repo_client, "cq11-broader-narrower", discipline=ID + "discipline/1997/10"
    )
    assert {r["code"] for r in medicine if r["direction"] == "narrower"} >= {
        "1002",
        "100201",
    }


def test_cq12_category_finds_programmes_filed_under_second_level(
    example_client: FlaskClient,
) -> None:
    rows = run_named(
        example_client,
        "cq12-institutions-under-discipline",
        discipline=ID + "discipline/1997/10",
    )
    assert [(r["institution"], r["filed_under"]) for r in rows] == [
        (CAPITAL, ID + "discipline/1997/100201")
    ]


def test_cq13_states_the_seed_figure_and_lists_no_invented_unit(
    repo_client: FlaskClient,
) -> None:
    rows = run_named(repo_client, "cq13-self-established-disciplines")
    assert [(r.get("unit"), r["stated"], r["qualifier"]) for r in rows] == [
        (None, "760", "more than")
    ]


def test_cq14_links_with_justification_and_the_unlinked(
    repo_client: FlaskClient,
) -> None:
    rows = run_named(repo_client, "cq14-external-links")
    capital = {
        (r["predicate"], r["target"], r["justification"])
        for r in rows
        if r["entity"] == CAPITAL
    }
    skos, semapv = (
        "http://www.w3.org/2004/02/skos/core#",
        "https://w3id.org/semapv/vocab/",
    )
    assert (
        skos + "exactMatch",
        "https://ror.org/013xs5b60",
        semapv + "LexicalMatching",
    ) in capital
    assert (
        skos + "exactMatch",
        "http://www.wikidata.org/entity/Q5035687",
        semapv + "MappingChaining",
    ) in capital
    # not linked = the institutions of the list that no mapping set links
    linked: set[str] = set()
    for path in sorted((ROOT / "data" / "links").glob("*.sssom.tsv")):
        mapping_set = read_sssom(path)
        linked |= {
            str(expand(r["subject_id"], mapping_set.curie_map))
            for r in mapping_set.rows
            if not r.get("predicate_modifier")
        }
    every = {
        ID + "institution/" + r["moe_code"]
        for r in _csv(SOURCES / "china-heis-moe" / "china_heis_moe_list.csv")
    }
    not_linked = {r["entity"] for r in rows if r["status"] == "not linked"}
    assert linked and not_linked == every - linked
    assert any(r["target"] == "https://schema.org/Hospital" for r in rows)


def test_cq15_isced_field_finds_chinese_disciplines(repo_client: FlaskClient) -> None:
    rows = run_named(repo_client, "cq15-isced-fields", field=ID + "isced-f-2013/091")
    codes = {r["code"] for r in rows}
    assert {"1002", "1011", "1007", "1051"} <= codes
    nursing = run_named(
        repo_client, "cq15-isced-fields", field=ID + "isced-f-2013/0913"
    )
    assert {r["name"] for r in nursing} == {"护理学", "护理"}


def test_cq16_who_teaches_medicine_on_which_evidence(
    repo_client: FlaskClient, moe_medical: list[dict[str, str]]
) -> None:
    rows = run_named(repo_client, "cq16-medical-education-evidence")
    teaching = {r["institution"] for r in rows}
    by_name = {ID + "institution/" + r["moe_code"] for r in moe_medical}
    assert by_name <= teaching and len(teaching) >= 230
    rules = {(r["institution"], r["rule"].removeprefix(MED)) for r in rows}
    assert all((i, "MedicalNameRule") in rules for i in by_name)
    # comprehensive universities through their units and hospitals
    assert (FUDAN, "RorMedicalUnitRule") in rules
    assert (SICHUAN, "RorRelatedRule") in rules
    west_china = next(
        r
        for r in rows
        if r["institution"] == SICHUAN and r.get("via", "").endswith("ror-007mrxy13")
    )
    assert west_china["via_name"] == "West China Hospital of Sichuan University"
    assert "007mrxy13" in west_china["note"]
    # per province: the counts agree with the rows, and with the whole list
    provinces = {
        r["province"]: (int(r["teaching"]), int(r["institutions"]), int(r["percent"]))
        for r in rows
    }
    for teaching_n, total, percent in provinces.values():
        assert 0 < teaching_n <= total and percent == round(100 * teaching_n / total)
    assert sum(
        len({r["institution"] for r in rows if r["province"] == p}) for p in provinces
    ) == len(teaching)
    shanghai = run_named(
        repo_client, "cq16-medical-education-evidence", province="上海市@zh"
    )
    assert {r["province"] for r in shanghai} == {"上海市"}
    assert FUDAN in {r["institution"] for r in shanghai}
    units = run_named(
        repo_client,
        "cq16-medical-education-evidence",
        rule=MED + "RorMedicalUnitRule",
    )
    assert {(r["institution"], r["via"]) for r in units} == {
        (FUDAN, ID + "organization/ror-01zntxs11"),
        (ID + "institution/4144010560", ID + "organization/ror-02gxych78"),
    }


def test_cq16_province_totals_cover_the_whole_list(repo_client: FlaskClient) -> None:
    rows = run_named(repo_client, "cq16-medical-education-evidence")
    totals = {r["province"]: int(r["institutions"]) for r in rows}
    query = """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT ?p (COUNT(DISTINCT ?i) AS ?n) WHERE {
          ?i a mededkg:HigherEducationInstitution ; mededkg:province ?p } GROUP BY ?p"""
    counted = {r["p"]: int(r["n"]) for r in sparql_select(repo_client, query)}
    assert totals == {p: n for p, n in counted.items() if p in totals}
    assert sum(counted.values()) == 2756


def test_cq17_hospitals_by_relation_and_evidence(repo_client: FlaskClient) -> None:
    rows = run_named(repo_client, "cq17-hospitals-by-relation", institution=FUDAN)
    found = {
        (
            r["hospital"].rsplit("-", 1)[1],
            r["relation"].removeprefix(MED),
            r["rule"].removeprefix(MED),
        )
        for r in rows
    }
    assert found == {
        # 复旦大学附属中山医院: its name says 附属; ROR relates it too
        ("032x22645", "affiliatedWith", "AffiliatedNameRule"),
        ("032x22645", "worksWith", "RorRelatedRule"),
        # Huashan Hospital: only a ROR related link
        ("05201qm87", "worksWith", "RorRelatedRule"),
    }
    sichuan = run_named(repo_client, "cq17-hospitals-by-relation", institution=SICHUAN)
    assert {r["relation"] for r in sichuan} == {MED + "worksWith"}
    every = run_named(repo_client, "cq17-hospitals-by-relation")
    # a ROR related link alone never makes an affiliated hospital
    assert not [
        r
        for r in every
        if r["relation"] == MED + "affiliatedWith"
        and r["rule"] == MED + "RorRelatedRule"
    ]
    part_of = {r["hospital"] for r in every if r["relation"] == MED + "partOf"}
    assert ID + "organization/ror-050agvb10" in part_of  # child of 山西医科大学
    works = run_named(
        repo_client,
        "cq17-hospitals-by-relation",
        institution=FUDAN,
        relation=MED + "worksWith",
    )
    assert {r["hospital"].rsplit("-", 1)[1] for r in works} == {
        "032x22645",
        "05201qm87",
    }
