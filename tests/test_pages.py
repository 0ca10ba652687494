"""Pages: the home page and the ontology documentation, with their data twins."""

from __future__ import annotations

from flask.testing import FlaskClient
from rdflib import Graph, URIRef


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
