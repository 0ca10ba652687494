"""The SPARQL 1.1 Graph Store HTTP Protocol at ``/graph-store``: indirect and direct
identification, every method, content negotiation, safe body parsing."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from rdflib import Graph

from mededkg.pipeline.build import build
from mededkg.query.formats import RDF_FORMATS
from mededkg.settings import Config
from tests.conftest import FIXTURE_ROOT, _serve, make_config
from tests.test_write import AUTH, BASE, M, fresh_config
from webapp import create_app
from webapp.urls import public_url

TURTLE = "text/turtle; charset=utf-8"
PERSON = """
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<http://www.example/gsp/person/1> a foaf:Person ;
    foaf:businessCard [ a <http://www.w3.org/2006/vcard/ns#VCard> ;
                        <http://www.w3.org/2006/vcard/ns#fn> "John Doe" ] .
"""
MORE = """
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<http://www.example/gsp/person/1> foaf:givenName "John" .
"""
GRAPH = "/graph-store?graph=http%3A%2F%2Fwww.example%2Fgsp%2Fperson%2F1.ttl"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project built once; each test gets a copy of this build."""
    config = make_config(FIXTURE_ROOT, tmp_path_factory.mktemp("template") / "store")
    build(config)
    return config.store_path.resolve()


@pytest.fixture
def config(template: Path, tmp_path: Path) -> Config:
    """Settings with a token, over a private store."""
    return fresh_config(template, tmp_path)


@pytest.fixture
def client(config: Config) -> FlaskClient:
    """A test client of an app that accepts writes."""
    return create_app(config).test_client()


def parsed(text: str, fmt: str = "turtle") -> Graph:
    return Graph().parse(data=text, format=fmt)


def fetched(client: FlaskClient, path: str, accept: str = "text/turtle") -> Graph:
    response = client.get(path, headers={**AUTH, "Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    fmt = next(f for f in RDF_FORMATS if response.mimetype in f.media_types)
    return parsed(response.get_data(as_text=True), fmt.rdflib)


def test_put_get_post_head_delete_round_trip(client: FlaskClient) -> None:
    def put() -> int:
        return client.put(
            GRAPH, data=PERSON, headers={**AUTH, "Content-Type": TURTLE}
        ).status_code

    assert put() == 201
    assert fetched(client, GRAPH).isomorphic(parsed(PERSON))
    assert put() == 204  # replaced, existed
    merged = client.post(GRAPH, data=MORE, headers={**AUTH, "Content-Type": TURTLE})
    assert merged.status_code == 204
    assert fetched(client, GRAPH).isomorphic(parsed(PERSON) + parsed(MORE))
    head = client.head(GRAPH, headers={**AUTH, "Accept": TURTLE})
    assert head.status_code == 200 and head.mimetype == "text/turtle"
    assert head.get_data() == b""
    assert client.delete(GRAPH, headers=AUTH).status_code == 204
    assert client.get(GRAPH, headers=AUTH).status_code == 404
    assert client.head(GRAPH, headers=AUTH).status_code == 404
    assert client.delete(GRAPH, headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "fmt", [f for f in RDF_FORMATS], ids=[f.name for f in RDF_FORMATS]
)
def test_get_negotiates_every_rdf_format(client: FlaskClient, fmt: object) -> None:
    client.put(GRAPH, data=PERSON, headers={**AUTH, "Content-Type": TURTLE})
    media_type = fmt.media_type  # type: ignore[attr-defined]
    graph = fetched(client, GRAPH, accept=media_type)
    assert graph.isomorphic(parsed(PERSON))


def test_get_reads_accept_without_its_parameters(client: FlaskClient) -> None:
    client.put(GRAPH, data=PERSON, headers={**AUTH, "Content-Type": TURTLE})
    accept = "application/n-triples; charset=utf-8"
    response = client.get(GRAPH, headers={**AUTH, "Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == "application/n-triples"


def test_get_with_nothing_acceptable_is_406(client: FlaskClient) -> None:
    client.put(GRAPH, data=PERSON, headers={**AUTH, "Content-Type": TURTLE})
    response = client.get(GRAPH, headers={**AUTH, "Accept": "image/png"})
    assert response.status_code == 406


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("application/n-triples", '<http://a> <http://b> "c" .\n'),
        (
            "application/rdf+xml",
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="http://a"><b xmlns="http://">c</b>'
            "</rdf:Description></rdf:RDF>",
        ),
        (
            "application/ld+json",
            '{"@context": {"b": "http://b"}, "@id": "http://a", "b": "c"}',
        ),
    ],
    ids=["n-triples", "rdf-xml", "json-ld-inline-context"],
)
def test_bodies_in_every_graph_format(
    client: FlaskClient, media_type: str, body: str
) -> None:
    path = "/graph-store?graph=http://ex/formats"
    response = client.put(path, data=body, headers={**AUTH, "Content-Type": media_type})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert fetched(client, path).isomorphic(parsed('<http://a> <http://b> "c" .'))


@pytest.mark.parametrize(
    ("media_type", "body", "status", "message"),
    [
        ("text/turtle", "<http://a> <http://b> .", 400, "does not parse"),
        ("image/png", "x", 415, "cannot read a graph"),
        (
            "application/n-quads",
            "<http://a> <http://b> <http://c> <http://g> .",
            415,
            "dataset",
        ),
        (
            "application/rdf+xml",
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
            400,
            "DOCTYPE",
        ),
        (
            "application/ld+json",
            '{"@context": "http://127.0.0.1:9/context.jsonld", "@id": "http://a"}',
            400,
            "remote @context",
        ),
        (
            "application/ld+json",
            '{"@context": [{"@import": "http://127.0.0.1:9/c"}], "@id": "http://a"}',
            400,
            "@import",
        ),
        (
            "application/ld+json",
            '{"@id": "http://g", "@graph": [{"@id": "http://a", "http://b": "c"}]}',
            400,
            "named graphs",
        ),
        ("text/turtle; charset=latin-1", "<http://a> <http://b> 1 .", 400, "UTF-8"),
    ],
    ids=[
        "bad-turtle",
        "unknown-type",
        "n-quads",
        "xml-entity",
        "jsonld-remote-context",
        "jsonld-import",
        "jsonld-named-graph",
        "not-utf-8",
    ],
)
def test_bad_bodies_change_nothing(
    client: FlaskClient,
    config: Config,
    media_type: str,
    body: str,
    status: int,
    message: str,
) -> None:
    before = config.store_path.resolve()
    response = client.put(
        "/graph-store?graph=http://ex/bad",
        data=body,
        headers={**AUTH, "Content-Type": media_type},
    )
    assert response.status_code == status
    assert message in response.get_json()["error"]["message"]
    assert config.store_path.resolve() == before


def public_base(client: FlaskClient) -> str:
    """The base of the app's absolute URLs (public_base_url, else host:port)."""
    with client.application.app_context():
        return public_url()


def test_post_to_the_endpoint_creates_a_graph(client: FlaskClient) -> None:
    response = client.post(
        "/graph-store",
        data=PERSON,
        headers={**AUTH, "Content-Type": TURTLE, "Host": "attacker.example"},
    )
    assert response.status_code == 201
    location = response.headers["Location"]
    # named under the server's own base URL, never the request's Host header
    assert location.startswith(public_base(client) + "graph-store/")
    assert "attacker.example" not in location
    assert fetched(client, f"/graph-store?graph={location}").isomorphic(parsed(PERSON))
    # the new graph is also its own direct URL
    direct = urlsplit(location).path
    assert fetched(client, direct).isomorphic(parsed(PERSON))


def test_direct_identification_names_the_graph_by_its_url(client: FlaskClient) -> None:
    response = client.put(
        "/graph-store/person/1.ttl",
        data=PERSON,
        headers={**AUTH, "Content-Type": TURTLE},
    )
    assert response.status_code == 201
    by_iri = f"/graph-store?graph={public_base(client)}graph-store/person/1.ttl"
    assert fetched(client, by_iri).isomorphic(parsed(PERSON))
    assert client.delete("/graph-store/person/1.ttl", headers=AUTH).status_code == 204
    assert client.get("/graph-store/person/1.ttl", headers=AUTH).status_code == 404


def test_the_default_graph(client: FlaskClient) -> None:
    empty = client.get("/graph-store?default", headers=AUTH)
    assert empty.status_code == 200
    response = client.put(
        "/graph-store?default", data=PERSON, headers={**AUTH, "Content-Type": TURTLE}
    )
    assert response.status_code == 204
    assert fetched(client, "/graph-store?default").isomorphic(parsed(PERSON))


def test_multipart_post_merges_every_part(client: FlaskClient) -> None:
    boundary = "a6fe4cd636164618814be9f8d3d1a0de"
    person = "<http://www.example/gsp/person/1>"
    parts = [
        f'{person} <http://xmlns.com/foaf/0.1/familyName> "Doe" .',
        f'{person} <http://xmlns.com/foaf/0.1/givenName> "Jane" .',
    ]
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="p{i}"; '
            f'filename="p{i}.ttl"\r\nContent-Type: {TURTLE}\r\n\r\n{part}\r\n'
            for i, part in enumerate(parts)
        )
        + f"--{boundary}--\r\n"
    )
    response = client.post(
        GRAPH,
        data=body,
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert fetched(client, GRAPH).isomorphic(parsed("\n".join(parts)))


@pytest.mark.parametrize("name", ["ontology", "shapes", "inferred"])
@pytest.mark.parametrize("method", ["put", "post", "delete"])
def test_reserved_graphs_are_read_only(
    client: FlaskClient, name: str, method: str
) -> None:
    path = f"/graph-store?graph={BASE}graph/{name}"
    response = getattr(client, method)(
        path, data=MORE, headers={**AUTH, "Content-Type": TURTLE}
    )
    assert response.status_code == 403
    assert "cannot be changed" in response.get_json()["error"]["message"]
    if name != "inferred":
        assert len(fetched(client, path)) > 0


def test_a_graph_violating_the_shapes_is_422(client: FlaskClient) -> None:
    bad = f'<{BASE}id/institution/x> a <{M}MedicalUniversity> ; <{M}moeCode> "123" .'
    path = "/graph-store?graph=http://ex/bad"
    response = client.put(path, data=bad, headers={**AUTH, "Content-Type": TURTLE})
    assert response.status_code == 422
    assert response.get_json()["results"][0]["focus_node"] == f"{BASE}id/institution/x"
    assert client.get(path, headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/graph-store?graph=a&graph=b",
        "/graph-store?graph=x&default",
        "/graph-store?graph=not-an-iri",
        "/graph-store/x?default",
        "/graph-store",
    ],
    ids=[
        "two-graphs",
        "graph-and-default",
        "relative-iri",
        "direct-and-default",
        "none",
    ],
)
def test_bad_graph_names_are_400(client: FlaskClient, path: str) -> None:
    assert (
        client.put(
            path, data=MORE, headers={**AUTH, "Content-Type": TURTLE}
        ).status_code
        == 400
    )


@pytest.mark.server
def test_round_trip_over_http(template: Path, tmp_path: Path) -> None:
    app = create_app(fresh_config(template, tmp_path, query_workers=1))
    for url in _serve(app):
        target = f"{url}/graph-store?graph=http://ex/live"
        assert requests.get(target, timeout=30).status_code == 401
        put = requests.put(
            target,
            data=PERSON.encode(),
            headers={**AUTH, "Content-Type": TURTLE},
            timeout=30,
        )
        assert put.status_code == 201
        got = requests.get(
            target, headers={**AUTH, "Accept": "text/turtle"}, timeout=30
        )
        assert parsed(got.text).isomorphic(parsed(PERSON))
        rows = requests.get(
            f"{url}/sparql",
            params={"query": "SELECT * { GRAPH <http://ex/live> { ?s ?p ?o } }"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=30,
        ).json()["results"]["bindings"]
        assert len(rows) == len(parsed(PERSON))
