"""The real repository: every file parses, counts match the sources, every identifier
in the graph appears in a source file, the build conforms, every query runs."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mededkg.pipeline.load import project_sources
from mededkg.query.federation import query_services
from mededkg.query.gate import Limits, SelectResult, execute
from mededkg.query.namedqueries import named_queries
from mededkg.resources import default_root, queries_dir
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore, Store
from webapp.negotiate import TRUNCATED_HEADER

ROOT = default_root()
SOURCES = ROOT / "data" / "sources"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _select(store: Store, query: str) -> list[tuple[str, ...]]:
    result = execute(store, query, limits=Limits(max_rows=100_000))
    assert isinstance(result, SelectResult)
    return [tuple("" if t is None else t.value for t in row) for row in result.rows]


@pytest.fixture(scope="module")
def store(repo_config: Config) -> Store:
    return EmbeddedStore.open(repo_config.store_path)


def test_every_source_file_is_loaded_into_a_named_graph() -> None:
    graphs = {s.graph for s in project_sources(ROOT)}
    assert {
        "ontology",
        "shapes",
        "institutions",
        "ror",
        "hospitals",
        "hipo",
        "disciplines",
        "isced",
        "sources",
        "degrees",
        "links",
    } <= graphs


def test_every_row_is_an_institution_and_the_name_rule_selects_its_rows(
    store: Store,
) -> None:
    moe = _csv(SOURCES / "china-heis-moe" / "china_heis_moe_list.csv")
    every = _select(
        store,
        """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT ?code WHERE {
          ?i a mededkg:HigherEducationInstitution ; mededkg:moeCode ?code }""",
    )
    assert {r[0] for r in every} == {r["moe_code"] for r in moe}
    assert len(every) == 2756
    # 兽医 (veterinary) is set aside before the rule looks for 医
    expected = {
        r["moe_code"]
        for r in moe
        if re.search("医|药|(?<!保)护|卫生|中医", re.sub("兽医|兽药", "", r["name_zh"]))
    }
    rows = _select(
        store,
        """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT ?code WHERE {
          ?i mededkg:moeCode ?code ; mededkg:medicalEducationEvidence ?e .
          ?e mededkg:evidenceRule mededkg:MedicalNameRule }""",
    )
    assert {r[0] for r in rows} == expected
    assert len(expected) == 206


def test_every_medical_institution_has_evidence_and_a_province(store: Store) -> None:
    rows = _select(
        store,
        """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT ?i WHERE {
          ?i a mededkg:MedicalEducationInstitution .
          FILTER(NOT EXISTS { ?i mededkg:medicalEducationEvidence ?e }
                 || NOT EXISTS { ?i mededkg:province ?p FILTER(LANG(?p) = "zh") }) }""",
    )
    assert rows == []


def test_no_label_joins_names_or_carries_a_copyright_notice(store: Store) -> None:
    """ROR joins names with ";" and one record's name starts with 版权所有: labels are
    split and cleaned; the catalogue title that used ";" inside one name says ","."""
    rows = _select(
        store,
        """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?s ?label WHERE {
          GRAPH ?g { ?s rdfs:label|skos:prefLabel|skos:altLabel ?label }
          FILTER(CONTAINS(?label, ";") || CONTAINS(?label, "版权所有")) }""",
    )
    assert rows == []


def test_every_ror_and_wikidata_id_appears_in_the_source(store: Store) -> None:
    ror = _csv(SOURCES / "ror-china" / "ror_cn_flat.csv")
    ror_ids = {r["ror_id"].rsplit("/", 1)[1] for r in ror}
    wikidata = {r["wikidata"] for r in ror if r["wikidata"]}
    rows = _select(
        store,
        """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT ?p ?v WHERE {
          VALUES ?p { mededkg:rorId mededkg:wikidataId } ?s ?p ?v }""",
    )
    assert rows
    for predicate, value in rows:
        assert value in (ror_ids if predicate.endswith("rorId") else wikidata), value
    targets = _select(
        store,
        """PREFIX owl: <http://www.w3.org/2002/07/owl#>
        SELECT ?t WHERE { ?a owl:annotatedTarget ?t }""",
    )
    for (target,) in targets:
        if target.startswith("https://ror.org/"):
            assert target.rsplit("/", 1)[1] in ror_ids
        if target.startswith("http://www.wikidata.org/entity/"):
            assert target.rsplit("/", 1)[1] in wikidata


def test_every_isced_and_discipline_code_appears_in_the_source(store: Store) -> None:
    fields = {r["code"] for r in _csv(SOURCES / "isced" / "isced-f-2013-fields.csv")}
    codes = {
        (r["edition_id"], r["code"])
        for r in _csv(SOURCES / "china-discipline-catalog" / "disciplines.csv")
    }
    rows = _select(
        store,
        """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?c ?n WHERE { ?c skos:notation ?n ; a skos:Concept }""",
    )
    for concept, notation in rows:
        if "/isced-f-2013/" in concept:
            assert notation in fields
        elif "/discipline/" in concept:
            edition = concept.split("/discipline/")[1].split("/")[0]
            assert (edition, notation) in codes


def test_unmatched_report_and_joined_institutions_partition_the_list(
    store: Store,
) -> None:
    report = _csv(ROOT / "data" / "reports" / "ror-join-unmatched.csv")
    joined = _select(
        store,
        """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT ?code WHERE { ?i mededkg:moeCode ?code ; mededkg:rorId ?r }""",
    )
    assert len(report) + len(joined) == 2756
    assert not {r["moe_code"] for r in report} & {r[0] for r in joined}


def test_every_sourced_resource_cites_a_described_source(store: Store) -> None:
    rows = _select(
        store,
        """PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT DISTINCT ?src WHERE { ?s dcterms:source ?src
          FILTER(STRSTARTS(STR(?src), "https://w3id.org/mededkg/id/source/")) }""",
    )
    described = {
        r[0]
        for r in _select(
            store,
            """PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?s WHERE { ?s dcterms:title ?t }""",
        )
    }
    assert {r[0] for r in rows} <= described


def test_every_named_query_runs_through_the_endpoint(repo_client: FlaskClient) -> None:
    queries = named_queries(queries_dir(ROOT))
    assert len([q for q in queries if q.startswith("cq")]) == 17
    for name, query in queries.items():
        response = repo_client.get(f"/api/queries/{name}")
        if query_services(query.text):
            # federated examples need their endpoint allow-listed (test_federation.py)
            assert response.status_code == 400, name
            assert "service_allowlist" in response.get_json()["error"]["message"]
            continue
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        assert TRUNCATED_HEADER not in response.headers
