"""The endpoint describes itself: SPARQL 1.1 Service Description at ``GET /sparql``,
VoID at ``/.well-known/void``, and CORS on the read endpoints — through the real app,
with counts checked against counts made independently (through ``/sparql`` or from
the store's quads and the SSSOM files)."""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from pyshacl import validate
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, VOID
from rdflib.term import Node
from werkzeug.test import TestResponse

from mededkg.matching.sssom import expand, read_sssom
from mededkg.pipeline.void import void_description
from mededkg.query.formats import RDF_FORMATS, RESULT_FORMATS, RdfFormat
from mededkg.resources import default_root
from mededkg.settings import Config
from mededkg.storage import Store
from mededkg.terms import to_rdflib
from tests.conftest import sparql_select
from webapp import create_app
from webapp.urls import CONFIG_KEY

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
W3C_FORMATS = "http://www.w3.org/ns/formats/"
BASE = "https://w3id.org/mededkg/"
DATASET = URIRef(BASE + "dataset")

#: Every term of the SD vocabulary (https://www.w3.org/ns/sparql-service-description).
SD_TERMS = {
    "Aggregate",
    "Dataset",
    "EntailmentProfile",
    "EntailmentRegime",
    "Feature",
    "Function",
    "Graph",
    "GraphCollection",
    "Language",
    "NamedGraph",
    "Service",
    "availableGraphs",
    "defaultDataset",
    "defaultEntailmentRegime",
    "defaultGraph",
    "defaultSupportedEntailmentProfile",
    "endpoint",
    "entailmentRegime",
    "extensionAggregate",
    "extensionFunction",
    "feature",
    "graph",
    "inputFormat",
    "languageExtension",
    "name",
    "namedGraph",
    "propertyFeature",
    "resultFormat",
    "supportedEntailmentProfile",
    "supportedLanguage",
    "SPARQL10Query",
    "SPARQL11Query",
    "SPARQL11Update",
    "BasicFederatedQuery",
    "DereferencesURIs",
    "EmptyGraphs",
    "RequiresDataset",
    "UnionDefaultGraph",
}
#: Every term of the VoID vocabulary, as rdflib's closed namespace lists them.
VOID_TERMS = {str(VOID[t]) for t in [*VOID.__annotations__, *VOID._extras]}
#: The format IRIs W3C defines for the formats MedEdKG serves.
FORMAT_IRIS = {
    W3C_FORMATS + name
    for name in (
        "Turtle",
        "TriG",
        "N-Triples",
        "N-Quads",
        "JSON-LD",
        "RDF_XML",
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
    )
}

#: The SD schema's domains and ranges (sd.ttl) as SHACL, for "conforms to schema".
SD_SCHEMA = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix void: <http://rdfs.org/ns/void#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix s: <urn:test:shapes#> .

s:Service a sh:NodeShape ;
  sh:targetClass sd:Service ;
  sh:property [ sh:path sd:endpoint ; sh:minCount 1 ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path sd:supportedLanguage ; sh:minCount 1 ;
                sh:in ( sd:SPARQL10Query sd:SPARQL11Query sd:SPARQL11Update ) ] ;
  sh:property [ sh:path sd:feature ;
                sh:in ( sd:DereferencesURIs sd:UnionDefaultGraph sd:RequiresDataset
                        sd:EmptyGraphs sd:BasicFederatedQuery ) ] ;
  sh:property [ sh:path sd:resultFormat ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path sd:defaultDataset ; sh:maxCount 1 ; sh:class sd:Dataset ] .
s:Dataset a sh:NodeShape ;
  sh:targetClass sd:Dataset ;
  sh:property [ sh:path sd:defaultGraph ; sh:maxCount 1 ; sh:class sd:Graph ] ;
  sh:property [ sh:path sd:namedGraph ; sh:class sd:NamedGraph ] .
s:NamedGraph a sh:NodeShape ;
  sh:targetClass sd:NamedGraph ;
  sh:property [ sh:path sd:name ; sh:minCount 1 ; sh:maxCount 1 ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path sd:graph ; sh:maxCount 1 ; sh:class sd:Graph ] .
s:Graph a sh:NodeShape ;
  sh:targetClass sd:Graph ;
  sh:property [ sh:path void:triples ; sh:maxCount 1 ; sh:datatype xsd:integer ] .
s:Domains a sh:NodeShape ;
  sh:targetSubjectsOf sd:endpoint, sd:supportedLanguage, sd:feature, sd:resultFormat,
      sd:defaultDataset ;
  sh:class sd:Service .
"""

PREFLIGHT = {
    "Origin": "https://elsewhere.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


# --- helpers ------------------------------------------------------------------------
def parse(response: TestResponse | requests.Response, fmt: RdfFormat) -> Graph:
    """Parse an RDF response (any format of the table) into an rdflib graph."""
    data = response.data if isinstance(response, TestResponse) else response.content
    graph = Graph()
    for quad in ox.parse(data, format=fmt.oxigraph):
        graph.add(
            (
                to_rdflib(quad.subject),
                to_rdflib(quad.predicate),
                to_rdflib(quad.object),
            )
        )
    return graph


def turtle(response: TestResponse) -> Graph:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/turtle"
    return parse(response, RDF_FORMATS[0])


def one(graph: Graph, subject: Node, predicate: URIRef) -> Node:
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, (subject, predicate, values)
    return values[0]


def count(graph: Graph, subject: Node, predicate: URIRef) -> int:
    value = one(graph, subject, predicate)
    assert isinstance(value, Literal)
    return int(str(value))


def service(graph: Graph) -> Node:
    services = list(graph.subjects(RDF.type, SD.Service))
    assert len(services) == 1
    return services[0]


def state_store(app: Flask) -> Store:
    store = app.extensions["mededkg"].store
    assert isinstance(store, Store)
    return store


def union_triples(store: Store) -> set[ox.Triple]:
    return {quad.triple for quad in store.quads()}


def graph_counts(client: FlaskClient) -> dict[str, int]:
    rows = sparql_select(
        client,
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
    )
    return {row["g"]: int(row["n"]) for row in rows}


def namespace(iri: str) -> str:
    return iri[: max(iri.rfind("/"), iri.rfind("#")) + 1]


def configured_app(config: Config, store: Store, **changes: object) -> Flask:
    return create_app(config.replace(query_workers=0, **changes), store=store)


# --- SPARQL 1.1 Service Description: the three W3C tests ---------------------------
def test_returns_rdf_get_on_endpoint_returns_turtle_by_default(
    client: FlaskClient,
) -> None:
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "text/turtle"}):
        graph = turtle(client.get("/sparql", headers=headers))
        assert len(graph) > 0
        service(graph)


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
def test_returns_rdf_in_every_rdf_format(client: FlaskClient, fmt: RdfFormat) -> None:
    expected = turtle(client.get("/sparql"))
    by_accept = client.get("/sparql", headers={"Accept": fmt.media_type})
    by_param = client.get("/sparql", query_string={"format": fmt.name})
    for response in (by_accept, by_param):
        assert response.status_code == 200
        assert response.mimetype == fmt.media_type
        assert isomorphic(parse(response, fmt), expected)


@pytest.mark.server
def test_has_endpoint_triple_matching_the_url_on_a_live_server(live_url: str) -> None:
    response = requests.get(
        live_url + "/sparql", headers={"Accept": "text/turtle"}, timeout=10
    )
    assert response.status_code == 200
    graph = parse(response, RDF_FORMATS[0])
    assert one(graph, service(graph), SD.endpoint) == URIRef(live_url + "/sparql")


def test_endpoint_triple_ignores_the_requested_host(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/sparql", base_url="https://evil.example:8443/mirror/")
    graph = turtle(response)
    endpoint = str(one(graph, service(graph), SD.endpoint))
    assert endpoint == app.config[CONFIG_KEY] + "sparql"
    assert "evil.example" not in response.get_data(as_text=True)


def test_endpoint_and_dumps_follow_public_base_url(fixture_config: Config) -> None:
    app = create_app(
        fixture_config.replace(
            query_workers=0, public_base_url="https://kg.example.org:8443/mirror/"
        )
    )
    client = app.test_client()
    graph = turtle(client.get("/sparql", base_url="http://evil.example/"))
    assert one(graph, service(graph), SD.endpoint) == URIRef(
        "https://kg.example.org:8443/mirror/sparql"
    )
    void = turtle(client.get("/.well-known/void", base_url="http://evil.example/"))
    dumps = {str(d) for d in void.objects(DATASET, VOID.dataDump)}
    assert dumps and all(
        d.startswith("https://kg.example.org:8443/mirror/downloads/") for d in dumps
    )


def test_conforms_to_schema(client: FlaskClient) -> None:
    graph = turtle(client.get("/sparql"))
    shapes = Graph().parse(data=SD_SCHEMA, format="turtle")
    conforms, _, report = validate(graph, shacl_graph=shapes)
    assert conforms, report
    used = {
        str(term)
        for triple in graph
        for term in triple
        if isinstance(term, URIRef) and str(term).startswith(str(SD))
    }
    assert used, "no SD terms at all"
    assert {iri[len(str(SD)) :] for iri in used} <= SD_TERMS
    void_terms = VOID_TERMS
    assert {str(p) for p in graph.predicates() if str(p).startswith(str(VOID))} <= (
        void_terms
    )


# --- what the description says -------------------------------------------------------
def test_languages_formats_and_features_by_default(client: FlaskClient) -> None:
    graph = turtle(client.get("/sparql"))
    node = service(graph)
    assert set(graph.objects(node, SD.supportedLanguage)) == {SD.SPARQL11Query}
    assert set(graph.objects(node, SD.feature)) == {SD.UnionDefaultGraph}
    formats = {str(f) for f in graph.objects(node, SD.resultFormat)}
    assert formats == FORMAT_IRIS
    assert len(formats) == len(RDF_FORMATS) + len(RESULT_FORMATS)


def test_update_and_federation_only_when_configured(
    fixture_config: Config, fixture_store: Store
) -> None:
    app = configured_app(
        fixture_config,
        fixture_store,
        update_token="secret",
        service_allowlist=("https://query.wikidata.org/sparql",),
    )
    graph = turtle(app.test_client().get("/sparql"))
    node = service(graph)
    assert set(graph.objects(node, SD.supportedLanguage)) == {
        SD.SPARQL11Query,
        SD.SPARQL11Update,
    }
    assert set(graph.objects(node, SD.feature)) == {
        SD.UnionDefaultGraph,
        SD.BasicFederatedQuery,
    }


def test_dataset_counts_match_counts_through_sparql(
    repo_app: Flask, repo_client: FlaskClient
) -> None:
    graph = turtle(repo_client.get("/sparql"))
    dataset = one(graph, service(graph), SD.defaultDataset)
    assert dataset == DATASET
    assert one(graph, dataset, URIRef("http://www.w3.org/2000/01/rdf-schema#seeAlso"))
    default = one(graph, dataset, SD.defaultGraph)
    expected_total = len(union_triples(state_store(repo_app)))
    assert one(graph, default, VOID.triples) == Literal(expected_total)
    described = {
        str(one(graph, named, SD.name)): count(
            graph, one(graph, named, SD.graph), VOID.triples
        )
        for named in graph.objects(dataset, SD.namedGraph)
    }
    counts = graph_counts(repo_client)
    assert described == counts
    assert BASE + "graph/links" in counts and BASE + "graph/inferred" in counts


def test_post_without_a_query_is_still_400(client: FlaskClient) -> None:
    response = client.post("/sparql", data={"default-graph-uri": BASE + "graph/x"})
    assert response.status_code == 400
    assert response.get_json()["error"]["status"] == 400
    empty = client.get("/sparql", query_string={"query": ""})
    assert empty.status_code == 400
    assert client.get("/sparql?query=" + quote("ASK {}")).status_code == 200


@pytest.mark.parametrize(
    ("path", "form"), [("/sparql", True), ("/.well-known/void", False)]
)
def test_browsers_get_a_page(client: FlaskClient, path: str, form: bool) -> None:
    response = client.get(
        path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert ('<form method="get" action="/sparql">' in page) is form
    assert ("sd:endpoint" if form else "void:sparqlEndpoint") in page


def test_unknown_format_and_unacceptable_type(client: FlaskClient) -> None:
    bad = client.get("/sparql", query_string={"format": "csv"})
    assert bad.status_code == 400
    assert "turtle" in bad.get_json()["error"]["message"]
    assert client.get("/sparql", headers={"Accept": "image/png"}).status_code == 406


@pytest.mark.parametrize("path", ["/sparql", "/.well-known/void"])
def test_media_type_parameters_do_not_change_the_format(
    client: FlaskClient, path: str
) -> None:
    """The same reading of ``Accept`` as query results and the Graph Store get."""
    accept = "application/n-triples; charset=utf-8, text/html;q=0.1"
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/n-triples"


# --- VoID -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def void_graph(repo_app: Flask) -> Graph:
    response = repo_app.test_client().get("/.well-known/void")
    return turtle(response)


def test_void_dataset_basics(void_graph: Graph) -> None:
    assert (DATASET, RDF.type, VOID.Dataset) in void_graph
    endpoint = str(one(void_graph, DATASET, VOID.sparqlEndpoint))
    # the public base: http://HOST:PORT/ of the settings (or of a live server)
    assert endpoint.startswith("http://127.0.0.1:") and endpoint.endswith("/sparql")
    assert one(void_graph, DATASET, VOID.uriSpace) == Literal(BASE)
    assert one(void_graph, DATASET, DCTERMS.title)
    # the whole-dataset dumps that keep the graphs: TriG, N-Quads, JSON-LD
    assert len(list(void_graph.objects(DATASET, VOID.dataDump))) == 3
    void_terms = VOID_TERMS
    used = {
        str(term)
        for triple in void_graph
        for term in triple
        if isinstance(term, URIRef) and str(term).startswith(str(VOID))
    }
    assert used <= void_terms


def test_void_totals_match_the_store(repo_app: Flask, void_graph: Graph) -> None:
    triples = union_triples(state_store(repo_app))
    assert one(void_graph, DATASET, VOID.triples) == Literal(len(triples))
    subjects = {t.subject for t in triples}
    objects = {t.object for t in triples}
    properties = {t.predicate for t in triples}
    assert one(void_graph, DATASET, VOID.distinctSubjects) == Literal(len(subjects))
    assert one(void_graph, DATASET, VOID.distinctObjects) == Literal(len(objects))
    assert one(void_graph, DATASET, VOID.properties) == Literal(len(properties))


def test_void_partitions_match_counts_through_sparql(
    repo_app: Flask, repo_client: FlaskClient, void_graph: Graph
) -> None:
    rows = sparql_select(
        repo_client,
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(isIRI(?c)) } "
        "GROUP BY ?c",
    )
    expected_classes = {row["c"]: int(row["n"]) for row in rows}
    classes = {
        str(one(void_graph, p, VOID["class"])): count(void_graph, p, VOID.entities)
        for p in void_graph.objects(DATASET, VOID.classPartition)
    }
    assert classes == expected_classes
    assert one(void_graph, DATASET, VOID.classes) == Literal(len(expected_classes))
    assert classes[BASE + "ontology#Hospital"] > 0

    by_property = Counter(
        t.predicate.value for t in union_triples(state_store(repo_app))
    )
    properties = {
        str(one(void_graph, p, VOID.property)): count(void_graph, p, VOID.triples)
        for p in void_graph.objects(DATASET, VOID.propertyPartition)
    }
    assert properties == dict(by_property)
    vocabularies = {str(v) for v in void_graph.objects(DATASET, VOID.vocabulary)}
    assert {namespace(p) for p in by_property} <= vocabularies
    assert "http://www.w3.org/2004/02/skos/core#" in vocabularies


def test_void_subsets_are_the_named_graphs_with_their_descriptions(
    repo_client: FlaskClient, void_graph: Graph
) -> None:
    counts = graph_counts(repo_client)
    subsets = {
        str(s): count(void_graph, s, VOID.triples)
        for s in void_graph.objects(DATASET, VOID.subset)
    }
    assert subsets == counts
    sources = Graph().parse(default_root() / "data" / "sources.ttl")
    hospitals = URIRef(BASE + "graph/hospitals")
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.license):
        assert set(void_graph.objects(hospitals, prop)) == set(
            sources.objects(hospitals, prop)
        )
        assert set(void_graph.objects(hospitals, prop))


def test_void_linksets_match_the_sssom_files(void_graph: Graph) -> None:
    # distinct links over all mapping sets (two sets may state the same link);
    # a negated mapping (predicate_modifier Not) gives no triple
    links = set()
    for path in sorted((default_root() / "data" / "links").glob("*.sssom.tsv")):
        mappings = read_sssom(path)
        links |= {
            (
                expand(row["subject_id"], mappings.curie_map),
                expand(row["predicate_id"], mappings.curie_map),
                expand(row["object_id"], mappings.curie_map),
            )
            for row in mappings.rows
            if row.get("predicate_modifier") != "Not"
        }
    expected: Counter[tuple[str, str]] = Counter(
        (namespace(str(obj)), str(link_predicate)) for _, link_predicate, obj in links
    )
    links_graph = URIRef(BASE + "graph/links")
    linksets = {}
    for linkset in void_graph.objects(links_graph, VOID.subset):
        assert (linkset, RDF.type, VOID.Linkset) in void_graph
        assert one(void_graph, linkset, VOID.subjectsTarget) == DATASET
        target = one(void_graph, linkset, VOID.objectsTarget)
        assert set(void_graph.objects(linkset, VOID.target)) == {DATASET, target}
        space = str(one(void_graph, target, VOID.uriSpace))
        predicate = str(one(void_graph, linkset, VOID.linkPredicate))
        linksets[(space, predicate)] = count(void_graph, linkset, VOID.triples)
    assert linksets == dict(expected)
    spaces = {space for space, _ in linksets}
    assert {"https://ror.org/", "http://www.wikidata.org/entity/"} <= spaces


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
def test_void_in_every_rdf_format(client: FlaskClient, fmt: RdfFormat) -> None:
    expected = turtle(client.get("/.well-known/void"))
    for response in (
        client.get("/.well-known/void", query_string={"format": fmt.name}),
        client.get("/.well-known/void", headers={"Accept": fmt.media_type}),
    ):
        assert response.status_code == 200
        assert response.mimetype == fmt.media_type
        assert isomorphic(parse(response, fmt), expected)


def test_void_unknown_format_is_400_in_the_error_shape(client: FlaskClient) -> None:
    response = client.get("/.well-known/void", query_string={"format": "yaml"})
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"status", "title", "message"}


def test_void_lists_the_dumps_it_is_given(fixture_store: Store) -> None:
    dumps = ["https://example.org/mededkg.nq.gz", "https://example.org/mededkg.ttl"]
    graph = void_description(
        fixture_store, base_iri=BASE, endpoint="https://example.org/sparql", dumps=dumps
    )
    assert {str(d) for d in graph.objects(DATASET, VOID.dataDump)} == set(dumps)
    assert one(graph, DATASET, VOID.sparqlEndpoint) == URIRef(
        "https://example.org/sparql"
    )


def test_void_follows_the_base_iri(fixture_store: Store) -> None:
    graph = void_description(
        fixture_store, base_iri="https://kg.example.org/", endpoint="http://h/sparql"
    )
    dataset = URIRef("https://kg.example.org/dataset")
    assert one(graph, dataset, VOID.uriSpace) == Literal("https://kg.example.org/")


# --- CORS -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    ["/sparql", "/api/queries", "/api/queries/hospitals", "/.well-known/void"],
)
def test_preflight_from_another_origin(client: FlaskClient, path: str) -> None:
    response = client.options(path, headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    methods = {
        m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")
    }
    assert {"GET", "OPTIONS"} <= methods <= {"GET", "POST", "OPTIONS"}
    assert response.headers["Access-Control-Allow-Headers"] == "Accept, Content-Type"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/sparql?query=nonsense", 400),
        ("POST", "/sparql", 415),
        ("PUT", "/sparql", 405),
        ("GET", "/api/queries/no-such-query", 404),
        ("GET", "/.well-known/void?format=yaml", 400),
        ("GET", "/api/openapi.json", 200),
        ("GET", "/.well-known/void", 200),
    ],
)
def test_allow_origin_on_every_response_including_errors(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method, headers={"Origin": PREFLIGHT["Origin"]})
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_no_cross_origin_on_the_write_side(client: FlaskClient) -> None:
    response = client.options("/update", headers=PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Origin" not in client.get("/").headers


@pytest.mark.server
def test_preflight_on_a_live_server(live_url: str) -> None:
    response = requests.options(live_url + "/sparql", headers=PREFLIGHT, timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    actual = requests.post(
        live_url + "/sparql",
        data={"query": "ASK {}"},
        headers={"Origin": PREFLIGHT["Origin"]},
        timeout=10,
    )
    assert actual.headers["Access-Control-Allow-Origin"] == "*"
