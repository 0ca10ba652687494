"""The /sparql endpoint: SPARQL 1.1 Protocol query operation, formats, errors — through
Flask's test client and through real SPARQL clients against a real waitress server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import requests
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from tests.conftest import sparql_select

HOSPITALS = """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
SELECT ?h ?i WHERE { ?h mededkg:affiliatedWith ?i }"""
CONSTRUCT = """PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
CONSTRUCT { ?i mededkg:hasAffiliate ?h } WHERE { ?h mededkg:affiliatedWith ?i }"""
CAPITAL = "https://w3id.org/mededkg/id/institution/4111010025"
HOSPITAL = "https://w3id.org/mededkg/id/organization/ror-example"


def test_get_returns_json_results(client: FlaskClient) -> None:
    response = client.get("/sparql?query=" + quote("ASK { ?s ?p ?o }"))
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-results+json"
    assert response.get_json() == {"head": {}, "boolean": True}


def test_post_form_and_direct_post_agree(client: FlaskClient) -> None:
    form = client.post("/sparql", data={"query": HOSPITALS})
    direct = client.post(
        "/sparql", data=HOSPITALS.encode(), content_type="application/sparql-query"
    )
    assert form.status_code == direct.status_code == 200
    assert form.get_json() == direct.get_json()
    assert sparql_select(client, HOSPITALS) == [{"h": HOSPITAL, "i": CAPITAL}]


@pytest.mark.parametrize(
    ("accept", "mimetype", "result_format"),
    [
        ("application/sparql-results+xml", "application/sparql-results+xml", "XML"),
        ("text/tab-separated-values", "text/tab-separated-values", "TSV"),
        ("application/sparql-results+json", "application/sparql-results+json", "JSON"),
    ],
)
def test_select_formats_by_accept_parse_back(
    client: FlaskClient, accept: str, mimetype: str, result_format: str
) -> None:
    response = client.get(
        "/sparql", query_string={"query": HOSPITALS}, headers={"Accept": accept}
    )
    assert response.mimetype == mimetype
    parsed = ox.parse_query_results(
        response.data, format=getattr(ox.QueryResultsFormat, result_format)
    )
    assert [(s["h"].value, s["i"].value) for s in parsed] == [(HOSPITAL, CAPITAL)]  # type: ignore[union-attr]


def test_csv_by_format_parameter(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": HOSPITALS, "format": "csv"})
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True) == f"h,i\r\n{HOSPITAL},{CAPITAL}\r\n"


@pytest.mark.parametrize(
    ("accept", "rdf_format"),
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ],
)
def test_construct_negotiates_rdf(
    client: FlaskClient, accept: str, rdf_format: ox.RdfFormat
) -> None:
    response = client.get(
        "/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": accept}
    )
    assert response.status_code == 200
    assert response.mimetype == accept
    triples = list(ox.parse(response.data, format=rdf_format))
    assert [(t.subject.value, t.object.value) for t in triples] == [(CAPITAL, HOSPITAL)]  # type: ignore[union-attr]


def test_malformed_query_is_400_with_the_parser_message(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": "SELECT ?x WHERE { ?x"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400
    assert "malformed query" in error["message"]
    assert "error at 1:" in error["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert "/work/" not in response.get_data(as_text=True)


def test_missing_and_duplicate_query_are_400(client: FlaskClient) -> None:
    assert client.post("/sparql", data={"foo": "1"}).status_code == 400
    twice = client.get("/sparql?query=ASK{}&query=ASK{}")
    assert twice.status_code == 400
    assert "exactly one" in twice.get_json()["error"]["message"]


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post("/sparql", data="ASK {}", content_type="text/plain")
    assert response.status_code == 415


def test_unacceptable_format_is_406(client: FlaskClient) -> None:
    response = client.get(
        "/sparql", query_string={"query": HOSPITALS}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 406


@pytest.mark.parametrize("accept", ["text/plain", "text/plain; charset=utf-8"])
def test_errors_in_plain_text_for_clients_that_ask(
    client: FlaskClient, accept: str
) -> None:
    response = client.get(
        "/sparql", query_string={"query": "nonsense"}, headers={"Accept": accept}
    )
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith(
        "400 Bad Request: malformed query"
    )


def test_default_and_named_graph_uri(client: FlaskClient) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    only_hospitals = client.get(
        "/sparql",
        query_string={
            "query": count,
            "default-graph-uri": "https://w3id.org/mededkg/graph/hospitals",
        },
    )
    n = only_hospitals.get_json()["results"]["bindings"][0]["n"]["value"]
    assert n == "3"
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    named = client.get(
        "/sparql",
        query_string={
            "query": graphs,
            "named-graph-uri": "https://w3id.org/mededkg/graph/institutions",
        },
    )
    rows = named.get_json()["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [
        "https://w3id.org/mededkg/graph/institutions"
    ]


def test_from_clause_defines_the_dataset(client: FlaskClient) -> None:
    hospitals = "https://w3id.org/mededkg/graph/hospitals"
    query = f"SELECT (COUNT(*) AS ?n) FROM <{hospitals}> WHERE {{ ?s ?p ?o }}"
    response = client.get("/sparql", query_string={"query": query})
    assert response.get_json()["results"]["bindings"][0]["n"]["value"] == "3"


def test_service_is_refused_by_default(client: FlaskClient) -> None:
    query = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "not allowed" in response.get_json()["error"]["message"]


def test_row_limit_cuts_and_flags_the_result(fixture_config: object) -> None:
    from webapp import create_app

    app = create_app(fixture_config.replace(result_limit=2))  # type: ignore[attr-defined]
    response = app.test_client().get(
        "/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"}
    )
    assert len(response.get_json()["results"]["bindings"]) == 2
    assert response.headers["MedEdKG-Result-Truncated"] == "true; limit=2"


def test_answers_name_the_build_that_answered(
    client: FlaskClient, fixture_config: object
) -> None:
    """Query answers carry the name of the store's build folder (MedEdKG-Build), by
    the Flask view, the hot path and the named queries alike; errors do not."""
    store_path = fixture_config.store_path  # type: ignore[attr-defined]
    build = store_path.resolve().name
    fast = client.get("/sparql", query_string={"query": "ASK {}"})
    viewed = client.get("/sparql", query_string={"query": "ASK {}", "format": "json"})
    named = client.get("/api/queries/hospitals")
    for response in (fast, viewed, named):
        assert response.status_code == 200
        assert response.headers["MedEdKG-Build"] == build
    assert "MedEdKG-Build" in fast.headers["Access-Control-Expose-Headers"]
    broken = client.get("/sparql", query_string={"query": "SELECT"})
    assert broken.status_code == 400 and "MedEdKG-Build" not in broken.headers


def test_cors_header(client: FlaskClient) -> None:
    response = client.get("/sparql?query=" + quote("ASK {}"))
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.server
def test_sparqlwrapper_against_a_live_server(live_url: str) -> None:
    client = SPARQLWrapper(live_url + "/sparql")
    client.setQuery(HOSPITALS)
    client.setReturnFormat(JSON)
    result = client.query().convert()
    assert isinstance(result, dict)
    rows = [(b["h"]["value"], b["i"]["value"]) for b in result["results"]["bindings"]]
    assert rows == [(HOSPITAL, CAPITAL)]


@pytest.mark.server
def test_sparqlwrapper_post_and_construct(live_url: str) -> None:
    client = SPARQLWrapper(live_url + "/sparql")
    client.setMethod("POST")
    client.setQuery(CONSTRUCT)
    graph = client.queryAndConvert()
    assert isinstance(graph, Graph)
    assert set(graph.subject_objects()) == {(URIRef(CAPITAL), URIRef(HOSPITAL))}


@pytest.mark.server
def test_rdflib_sparqlstore_against_a_live_server(live_url: str) -> None:
    graph = Graph(SPARQLStore(live_url + "/sparql", returnFormat="json"))
    rows = [(str(h), str(i)) for h, i in graph.query(HOSPITALS)]  # type: ignore[misc]
    assert rows == [(HOSPITAL, CAPITAL)]


@pytest.mark.server
def test_live_ask_as_in_the_readme(live_url: str) -> None:
    import requests

    response = requests.get(
        live_url + "/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D",
        headers={"Accept": "application/sparql-results+json"},
        timeout=10,
    )
    assert json.loads(response.text)["boolean"] is True


@pytest.mark.server
@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("get", {"params": {"update": "DROP ALL"}}),
        ("get", {"params": {"update": "DROP ALL", "query": "ASK {}"}}),
        ("post", {"data": {"update": "DROP ALL"}}),
        ("post", {"data": {"query": "ASK {}", "update": "DROP ALL"}}),
        (
            "post",
            {
                "params": {"update": "DROP ALL"},
                "data": "ASK {}",
                "headers": {"Content-Type": "application/sparql-query"},
            },
        ),
    ],
    ids=["get-update", "get-query-and-update", "form-update", "form-both", "direct"],
)
def test_update_parameter_is_refused_pointing_to_post_update(
    live_url: str, method: str, kwargs: dict[str, Any]
) -> None:
    response = requests.request(method, live_url + "/sparql", timeout=30, **kwargs)
    assert response.status_code == 400
    assert "POST /update" in response.json()["error"]["message"]
    still = requests.get(live_url + "/sparql", params={"query": "ASK {}"}, timeout=30)
    assert still.status_code == 200
