"""Pages: the home page and the ontology documentation, with their data twins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from rdflib import Graph, URIRef

from mededkg.pipeline.build import build
from mededkg.pipeline.stats import Stats
from mededkg.storage import Store
from tests.conftest import FIXTURE_ROOT, _serve, make_config, sparql_select
from webapp import create_app, pages


def test_home_lists_graphs_and_classes(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Named graphs" in page and "hospitals" in page
    twin = client.get("/?format=json").get_json()
    assert {g["iri"].rsplit("/", 1)[1] for g in twin["graphs"]} >= {
        "hospitals",
        "inferred",
    }


def test_ontology_page_for_browsers(repo_client: FlaskClient) -> None:
    response = repo_client.get("/ontology", headers={"Accept": "text/html"})
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "医院" in page and "mededkg:Hospital" in page and "<script" not in page


def test_ontology_iri_dereferences_to_turtle_for_rdf_clients(
    repo_client: FlaskClient,
) -> None:
    response = repo_client.get("/ontology", headers={"Accept": "text/turtle"})
    assert response.mimetype == "text/turtle"
    graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
    ontology = URIRef("https://w3id.org/mededkg/ontology")
    assert (ontology, None, None) in graph
    assert 'rel="alternate"' in response.headers["Link"]
    as_xml = repo_client.get("/ontology?format=xml")
    assert as_xml.mimetype == "application/rdf+xml"


def test_home_has_sources_charts_and_links(repo_client: FlaskClient) -> None:
    page = repo_client.get("/").get_data(as_text=True)
    assert 'id="sources-table"' in page and "CC0-1.0" in page
    assert 'id="chart-provinces"' in page and 'id="chart-categories"' in page
    for href in ('"/downloads"', '"/.well-known/void"', '"/ontology"', '"/sparql"'):
        assert f"href={href}" in page
    twin = repo_client.get("/?format=json").get_json()
    provinces = twin["institutions_per_province"]
    query = """
        PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
        SELECT (COUNT(DISTINCT ?org) AS ?n)
        WHERE { ?org a mededkg:%s ; mededkg:moeCode ?code }"""
    teaching = int(
        sparql_select(repo_client, query % "MedicalEducationInstitution")[0]["n"]
    )
    every = int(
        sparql_select(repo_client, query % "HigherEducationInstitution")[0]["n"]
    )
    assert sum(sum(split.values()) for split in provinces.values()) == every == 2756
    assert (
        sum(s["name-rule"] + s["units-or-hospitals"] for s in provinces.values())
        == teaching
    )
    assert provinces["四川省"]["units-or-hospitals"] >= 1  # 四川大学, through 华西
    # each segment of the chart links to the institutions it counts
    assert (
        "/institutions?province=%E5%9B%9B%E5%B7%9D%E7%9C%81&amp;teaches=units-or-hospitals"
        in page
    )
    assert any(g.endswith("/institutions") for g in twin["sources"])


def test_every_page_has_the_layout_and_no_inline_script(
    repo_client: FlaskClient,
) -> None:
    for path in ("/", "/ontology", "/institutions", "/disciplines", "/degrees"):
        page = repo_client.get(path).get_data(as_text=True)
        assert 'class="lang-switch"' in page, path
        assert 'href="/query"' in page and 'href="/downloads"' in page, path
        # Scripts only from files of this server (the home page's map), none inline.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        assert all('src="/static/' in a and not body for a, body in scripts), path
        assert page.count("<script") == len(scripts), path
        assert " onclick=" not in page, path
        assert " style=" not in page, path


@pytest.mark.server
def test_home_counts_are_computed_once_per_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(FIXTURE_ROOT, tmp_path / "store", query_workers=0)
    build(config)
    counted: list[Stats] = []

    def counting_stats(store: Store) -> Stats:
        counted.append(real_stats(store))
        return counted[-1]

    real_stats = pages.stats
    monkeypatch.setattr(pages, "stats", counting_stats)
    for url in _serve(create_app(config)):
        before = requests.get(url + "/?format=json", timeout=30).json()
        for _ in range(3):
            assert requests.get(url + "/", timeout=30).status_code == 200
        assert len(counted) == 1
        extra = tmp_path / "extra.ttl"
        extra.write_text('<https://example.org/s> <https://example.org/p> "o" .\n')
        build(config, [extra])  # a new build: the store link moves
        after = requests.get(url + "/?format=json", timeout=30).json()
        assert len(counted) == 2
        assert after["triples"] > before["triples"]
        assert requests.get(url + "/", timeout=30).status_code == 200
        assert len(counted) == 2


@pytest.mark.server
def test_page_queries_pass_the_same_gate_as_every_query(tmp_path: Path) -> None:
    # A resource page's queries carry the client's IRI: they run in a query worker
    # under the settings' limits, so a row limit below what the page needs refuses
    # the page with a message naming the setting (before, pages queried the store
    # directly, without any limit).
    config = make_config(FIXTURE_ROOT, tmp_path / "store", result_limit=3)
    build(config)
    for url in _serve(create_app(config)):
        page = requests.get(
            url + "/id/institution/4111010025",
            headers={"Accept": "text/html"},
            timeout=60,
        )
        assert page.status_code >= 400
        assert "result_limit" in page.text
    roomy = make_config(FIXTURE_ROOT, tmp_path / "store")
    for url in _serve(create_app(roomy)):
        page = requests.get(
            url + "/id/institution/4111010025",
            headers={"Accept": "text/html"},
            timeout=60,
        )
        assert page.status_code == 200
