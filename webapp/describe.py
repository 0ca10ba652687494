"""The endpoint describes itself: SPARQL 1.1 Service Description at ``GET /sparql``
(no query), VoID at ``/.well-known/void`` and OpenAPI at ``/api/openapi.json``.

Descriptions are RDF by content negotiation (``Accept`` or ``format=``, any format of
the one table, Turtle by default) and a small HTML page for browsers; every number in
them is counted on the store being served.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    url_for,
)
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import VOID

from mededkg.namespaces import FORMATS, PREFIXES, SD
from mededkg.pipeline.dumps import dumps_folder, read_index
from mededkg.pipeline.export import serialize_quads
from mededkg.pipeline.void import dataset_iri, default_graph_triples, graph_sizes
from mededkg.pipeline.void import void_description as build_void
from mededkg.query.formats import RDF_FORMATS, RESULT_FORMATS, RdfFormat
from mededkg.query.namedqueries import named_queries
from mededkg.resources import queries_dir
from mededkg.storage import Store
from mededkg.terms import to_oxigraph
from webapp.api import RESERVED
from webapp.context import state
from webapp.i18n import tr
from webapp.negotiate import rdf_format
from webapp.openapi import openapi_document
from webapp.urls import public_url, public_url_for

bp = Blueprint("describe", __name__)

#: W3C format IRIs of the RDF formats of :data:`mededkg.query.formats.RDF_FORMATS`.
RDF_FORMAT_IRIS: dict[str, URIRef] = {
    "turtle": FORMATS.Turtle,
    "trig": FORMATS.TriG,
    "nt": FORMATS["N-Triples"],
    "nq": FORMATS["N-Quads"],
    "jsonld": FORMATS["JSON-LD"],
    "xml": FORMATS.RDF_XML,
}

#: W3C format IRIs of the results formats of
#: :data:`mededkg.query.formats.RESULT_FORMATS`.
RESULT_FORMAT_IRIS: dict[str, URIRef] = {
    "json": FORMATS.SPARQL_Results_JSON,
    "xml": FORMATS.SPARQL_Results_XML,
    "csv": FORMATS.SPARQL_Results_CSV,
    "tsv": FORMATS.SPARQL_Results_TSV,
}

EXAMPLE_QUERY = (
    "SELECT ?graph (COUNT(*) AS ?triples)\nWHERE { GRAPH ?graph { ?s ?p ?o } }\n"
    "GROUP BY ?graph"
)


def service_description(
    store: Store,
    *,
    endpoint: str,
    base_iri: str,
    void_url: str,
    update: bool = False,
    federated: bool = False,
    egress: str = "",
) -> Graph:
    """Describe the SPARQL service at *endpoint* with the Service Description terms.

    Args:
        store: the store the endpoint serves (named graphs and their sizes).
        endpoint: the endpoint URL (``sd:endpoint``).
        base_iri: the base IRI; the default dataset is the VoID dataset under it.
        void_url: where the VoID description is served (``rdfs:seeAlso``).
        update: whether SPARQL Update is enabled (an update token is set).
        federated: whether ``SERVICE`` may call other endpoints (an allow-list).
        egress: how queries are kept off the network (``rdfs:comment``).
    """
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    service = BNode()
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    if update:
        graph.add((service, SD.supportedLanguage, SD.SPARQL11Update))
    for iri in (*_result_format_iris(), *_rdf_format_iris()):
        graph.add((service, SD.resultFormat, iri))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    if federated:
        graph.add((service, SD.feature, SD.BasicFederatedQuery))
    if egress:
        graph.add((service, RDFS.comment, Literal(egress, lang="en")))

    dataset = dataset_iri(base_iri)
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, RDFS.seeAlso, URIRef(void_url)))
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(default_graph_triples(store))))
    for size in graph_sizes(store):
        named, inner = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(size.iri)))
        graph.add((named, SD.graph, inner))
        graph.add((inner, RDF.type, SD.Graph))
        graph.add((inner, VOID.triples, Literal(size.triples)))
    return graph


def service_description_response() -> Response:
    """The response to ``GET /sparql`` without a query: the service description."""
    fmt = rdf_format(html=True)
    config = state().config
    graph = service_description(
        state().store,
        endpoint=public_url_for("sparql.query"),
        base_iri=config.base_iri,
        void_url=public_url_for("describe.void"),
        update=bool(config.update_token),
        federated=bool(config.service_allowlist),
        egress=state().egress(),
    )
    return _rdf_response(
        graph,
        fmt,
        title="sd_title",
        intro="sd_intro",
        form=True,
    )


@bp.route("/.well-known/void")
def void() -> Response:
    """The VoID description of the dataset."""
    fmt = rdf_format(html=True)
    graph = build_void(
        state().store,
        base_iri=state().config.base_iri,
        endpoint=public_url_for("sparql.query"),
        dumps=dumps(),
    )
    return _rdf_response(
        graph,
        fmt,
        title="void_title",
        intro="void_intro",
        form=False,
    )


@bp.route("/api/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of every HTTP operation of the app."""
    document = openapi_document(
        current_app.url_map,
        current_app.view_functions,
        named_queries(queries_dir(state().config.root)),
        server_url=public_url().rstrip("/"),
        reserved=frozenset(RESERVED),
    )
    return jsonify(document)


def dumps() -> Sequence[str]:
    """URLs of the whole-dataset dumps written at build time (``void:dataDump``):
    the formats that keep the named graphs."""
    location = state().store.location
    if location is None:
        return ()
    return [
        public_url("downloads/" + d.file)
        for d in read_index(dumps_folder(location))
        if d.graph is None and not d.graphs_merged
    ]


def _rdf_format_iris() -> list[URIRef]:
    return [RDF_FORMAT_IRIS[f.name] for f in RDF_FORMATS]


def _result_format_iris() -> list[URIRef]:
    return [RESULT_FORMAT_IRIS[f.name] for f in RESULT_FORMATS]


def _rdf_response(
    graph: Graph, fmt: RdfFormat | None, *, title: str, intro: str, form: bool
) -> Response:
    quads = _quads(graph)
    turtle = serialize_quads(quads, RDF_FORMATS[0])
    if fmt is None:
        page = render_template(
            "describe.html",
            title=tr(title),
            intro=tr(intro),
            endpoint=url_for("sparql.query") if form else "",
            formats=RDF_FORMATS,
            void=url_for("describe.void"),
            openapi=url_for("describe.openapi"),
            turtle=turtle.decode(),
            example=EXAMPLE_QUERY,
        )
        response = Response(page, content_type="text/html; charset=utf-8")
    else:
        body = turtle if fmt is RDF_FORMATS[0] else serialize_quads(quads, fmt)
        charset = "" if fmt.media_type.endswith("+xml") else "; charset=utf-8"
        response = Response(body, content_type=fmt.media_type + charset)
    response.headers["Vary"] = "Accept"
    return response


def _quads(graph: Graph) -> list[ox.Quad]:
    """The triples of *graph* as quads in the default graph, for the serializers."""
    quads = []
    for s, p, o in graph:
        subject, predicate = to_oxigraph(s), to_oxigraph(p)
        assert not isinstance(subject, ox.Literal)
        assert isinstance(predicate, ox.NamedNode)
        quads.append(ox.Quad(subject, predicate, to_oxigraph(o)))
    return quads
