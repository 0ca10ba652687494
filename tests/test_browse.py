"""Browsers: institutions (filters, search, pinyin), the discipline tree per edition,
degree types and the CQ08 comparison — each with its JSON/CSV twin, checked against
SPARQL through /sparql and the named queries."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from flask.testing import FlaskClient

from tests.conftest import run_named, sparql_select

MEDEDKG = "https://w3id.org/mededkg/ontology#"
INFERRED = "https://w3id.org/mededkg/graph/inferred"


def institutions(client: FlaskClient, **params: str) -> list[dict[str, str]]:
    """The rows of /institutions' JSON twin for *params*."""
    response = client.get("/institutions", query_string={**params, "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["count"] == len(payload["rows"])
    rows: list[dict[str, str]] = payload["rows"]
    return rows


def count(client: FlaskClient, where: str) -> int:
    """``COUNT(DISTINCT ?org)`` over the institutions of the MOE list, medical
    education institutions and hospitals."""
    query = f"""
        PREFIX mededkg: <{MEDEDKG}>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT (COUNT(DISTINCT ?org) AS ?n) WHERE {{
          VALUES ?top {{ mededkg:HigherEducationInstitution
                        mededkg:MedicalEducationInstitution mededkg:Hospital }}
          ?org a ?top . {where}
        }}"""
    return int(sparql_select(client, query)[0]["n"])


def test_fixture_table_lists_institution_and_hospital(client: FlaskClient) -> None:
    rows = institutions(client)
    assert {r["name_en"] for r in rows} == {
        "Capital Medical University",
        "Example Hospital",
    }
    page = client.get("/institutions").get_data(as_text=True)
    assert 'id="institutions-table"' in page and "首都医科大学" in page


def test_all_rows_match_a_sparql_count(repo_client: FlaskClient) -> None:
    assert len(institutions(repo_client)) == count(repo_client, "")


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"kind": MEDEDKG + "NursingCollege"}, "?org a mededkg:NursingCollege ."),
        ({"kind": "mededkg:Hospital"}, "?org a mededkg:Hospital ."),
        (
            {"province": "河南省"},
            '?org mededkg:province "河南省"@zh .',
        ),
        (
            {"authority": "https://w3id.org/mededkg/id/government-body/教育部"},
            "?org mededkg:supervisingAuthority "
            "<https://w3id.org/mededkg/id/government-body/教育部> .",
        ),
        (
            {"q": "中医药"},
            '?org rdfs:label|skos:altLabel ?l FILTER(CONTAINS(?l, "中医药"))',
        ),
        (
            {"q": "Medical University"},
            "?org rdfs:label|skos:altLabel ?l"
            ' FILTER(CONTAINS(LCASE(?l), "medical university"))',
        ),
        (
            {"teaches": "yes"},
            "?org a mededkg:MedicalEducationInstitution .",
        ),
        (
            {"teaches": "no"},
            "?org a mededkg:HigherEducationInstitution"
            " FILTER NOT EXISTS { ?org a mededkg:MedicalEducationInstitution }",
        ),
        (
            {"teaches": "name-rule"},
            "?org mededkg:medicalEducationEvidence/mededkg:evidenceRule"
            " mededkg:MedicalNameRule .",
        ),
        (
            {"teaches": "units-or-hospitals"},
            "?org a mededkg:MedicalEducationInstitution FILTER NOT EXISTS {"
            " ?org mededkg:medicalEducationEvidence/mededkg:evidenceRule"
            " mededkg:MedicalNameRule }",
        ),
        (
            {"evidence": "mededkg:RorRelatedRule"},
            "{ ?org mededkg:medicalEducationEvidence/mededkg:evidenceRule"
            " mededkg:RorRelatedRule } UNION { ?org a mededkg:Hospital ."
            " ?e mededkg:via ?org ; mededkg:evidenceRule mededkg:RorRelatedRule }",
        ),
    ],
    ids=[
        "kind-iri",
        "kind-curie",
        "province",
        "authority",
        "q-chinese",
        "q-english",
        "teaches",
        "teaches-not",
        "teaches-by-name",
        "teaches-through-units-or-hospitals",
        "evidence",
    ],
)
def test_filters_match_sparql(
    repo_client: FlaskClient, params: dict[str, str], where: str
) -> None:
    rows = institutions(repo_client, **params)
    assert rows, params
    assert len(rows) == count(repo_client, where)


def test_comprehensive_universities_teach_through_units_or_hospitals(
    repo_client: FlaskClient,
) -> None:
    rows = institutions(repo_client, teaches="units-or-hospitals", province="四川省")
    sichuan = next(r for r in rows if r["name_zh"] == "四川大学")
    assert sichuan["teaches_medicine"] == "yes"
    assert sichuan["evidence"] == "mededkg:RorRelatedRule"
    assert sichuan["kind"] == MEDEDKG + "MedicalEducationInstitution"
    units = institutions(repo_client, evidence=MEDEDKG + "RorMedicalUnitRule")
    assert {r["name_zh"] or r["name_en"] for r in units} == {
        "复旦大学",
        "汕头大学",
        "复旦大学上海医学院",
        "Shantou University Medical College",
    }
    # the HTML table has pages; the JSON twin has every row
    page = repo_client.get("/institutions?page=2").get_data(as_text=True)
    assert 'id="institutions-pages"' in page and 'rel="prev"' in page
    assert repo_client.get("/institutions?page=999").status_code == 400
    # a university with no evidence is listed, as not teaching medicine
    (tsinghua,) = institutions(repo_client, q="清华大学")
    assert (tsinghua["teaches_medicine"], tsinghua["evidence"]) == ("no", "")
    assert repo_client.get("/institutions?teaches=maybe").status_code == 400


def test_filters_combine(repo_client: FlaskClient) -> None:
    rows = institutions(
        repo_client, kind=MEDEDKG + "TCMUniversity", province="河南省", q="中医"
    )
    assert [r["name_zh"] for r in rows] == ["河南中医药大学"]


def test_pinyin_search(repo_client: FlaskClient) -> None:
    pytest.importorskip("pypinyin")
    full = {r["name_zh"] for r in institutions(repo_client, q="beijingxiehe")}
    assert full == {"北京协和医学院"}
    initials = {r["name_zh"] for r in institutions(repo_client, q="sdyk")}
    assert "首都医科大学" in initials


def test_search_compares_names_as_reconciliation_does(
    repo_client: FlaskClient,
) -> None:
    # tone marks, traditional characters, full-width letters and case do not count
    for query in ("Shǒudū yīkē", "首都醫科大學", "ＣＡＰＩＴＡＬ medical"):
        found = {r["name_zh"] for r in institutions(repo_client, q=query)}
        assert "首都医科大学" in found, query
    # a former name ROR gives (辽宁医学院 for 锦州医科大学) is a name too
    former = {r["name_zh"] for r in institutions(repo_client, q="辽宁医学院")}
    assert former == {"锦州医科大学"}


def test_csv_twin(repo_client: FlaskClient) -> None:
    response = repo_client.get("/institutions?format=csv&province=北京市")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["name_zh"] for r in rows} == {
        r["name_zh"] for r in institutions(repo_client, province="北京市")
    }
    assert "ror" in rows[0]


def test_unknown_twin_format_is_400(client: FlaskClient) -> None:
    response = client.get("/institutions?format=xlsx")
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"status", "title", "message"}


@pytest.mark.parametrize("edition", ["1997", "2011-2018", "2022"])
def test_discipline_tree_counts_match_cq10(
    repo_client: FlaskClient, edition: str
) -> None:
    iri = f"https://w3id.org/mededkg/id/discipline-catalogue/{edition}"
    expected = {
        row["code"]: (
            int(row["first_level"]),
            int(row["professional_degree"]),
            int(row["second_level"]),
        )
        for row in run_named(repo_client, "cq10-categories-per-edition", edition=iri)
    }
    payload = repo_client.get(f"/disciplines?edition={edition}&format=json").get_json()
    assert payload["edition"]["iri"] == iri
    shown = {
        c["code"]: (c["first_level"], c["professional_degree"], c["second_level"])
        for c in payload["categories"]
    }
    assert shown == expected


def test_discipline_page_links_nodes_and_switches_editions(
    repo_client: FlaskClient,
) -> None:
    page = repo_client.get("/disciplines?edition=2022").get_data(as_text=True)
    assert 'id="discipline-tree"' in page and 'id="edition-switcher"' in page
    assert 'href="/id/discipline/2022/1002"' in page  # 临床医学
    assert 'href="/disciplines?edition=1997"' in page
    assert repo_client.get("/disciplines?edition=1850").status_code == 404


def test_degrees_compare_masters_like_cq08(repo_client: FlaskClient) -> None:
    cq08 = run_named(repo_client, "cq08-master-degrees-compared")
    payload = repo_client.get("/degrees?format=json&lang=en").get_json()
    by_iri = {d["iri"]: d for d in payload["degrees"]}
    assert set(payload["masters_compared"]) == {row["degree"] for row in cq08}
    for row in cq08:
        shown = by_iri[row["degree"]]
        assert shown["name"] == row["degree_en"]
        assert shown["orientation"] == [row["orientation_en"]]
        if "environment_en" in row:
            assert shown["environment"] == [row["environment_en"]]
        if "duration_years" in row:
            assert float(shown["duration"][0]) == float(row["duration_years"])
        if row.get("careers"):
            assert set(shown["careers"]) == set(row["careers"].split(" | "))
    page = repo_client.get("/degrees").get_data(as_text=True)
    assert 'id="masters-compared"' in page and 'id="degrees-table"' in page


# --- the catalogue through time ------------------------------------------------------
def test_timeline_follows_each_concept_through_the_editions_of_the_named_query(
    repo_client: FlaskClient,
) -> None:
    response = repo_client.get("/disciplines/timeline?category=10&format=json")
    assert response.status_code == 200
    payload = response.get_json()
    assert payload["editions"] == ["1997", "2011-2018", "2022"]
    clinical = [
        line
        for line in payload["lineages"]
        if line["cells"].get("2022", {}).get("code") == "1002"
    ]
    (line,) = clinical
    assert [
        (e, c["code"], c["name"], c["change"]) for e, c in line["cells"].items()
    ] == [
        ("1997", "1002", "临床医学", "first"),
        ("2011-2018", "1002", "临床医学", "same"),
        ("2022", "1002", "临床医学", "same"),
    ]
    # Every step of every line is a continuation the named query reports (the page
    # adds none), and every concept the query lists for medicine is on one line.
    rows = run_named(repo_client, "catalogue-timeline", category="10")
    steps = {(r["concept"], r["next"]) for r in rows if "next" in r}
    shown = set()
    for line in payload["lineages"]:
        cells = list(line["cells"].values())
        shown |= {c["iri"] for c in cells}
        for before, after in itertools.pairwise(cells):
            assert (before["iri"], after["iri"]) in steps
    assert shown == {r["concept"] for r in rows}


def test_timeline_of_an_unknown_category_is_404_listing_the_codes(
    repo_client: FlaskClient,
) -> None:
    response = repo_client.get("/disciplines/timeline?category=99")
    assert response.status_code == 404
    assert "10" in response.get_data(as_text=True)
    page = repo_client.get("/disciplines/timeline").get_data(as_text=True)
    assert 'id="discipline-timeline"' in page and 'data-code="1002"' in page
