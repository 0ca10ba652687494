"""HTML pages: the dataset home page (with a JSON twin) and the ontology documentation
(HTML for browsers, RDF for RDF clients — the ontology IRI dereferences here)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, abort, jsonify, render_template, request
from rdflib import Graph

from mededkg.export import serialize_quads
from mededkg.formats import RDF_FORMATS, RdfFormat
from mededkg.load import ONTOLOGY_GRAPH, SHAPES_GRAPH, graph_iri, graph_name
from mededkg.ontodoc import describe, render_html
from mededkg.stats import stats
from mededkg.store import Store
from mededkg.terms import to_rdflib
from webapp.context import state

bp = Blueprint("pages", __name__)


@bp.route("/")
def home() -> Response | str:
    """What the graph is: triples per named graph, classes with instance counts."""
    summary = stats(state().store)
    wants_json = request.args.get("format") == "json" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"])
        == "application/json"
    )
    if wants_json:
        return jsonify(asdict(summary))
    base = state().config.base_iri
    return render_template(
        "home.html",
        stats=summary,
        graph_name=lambda iri: graph_name(base, iri),
    )


@bp.route("/ontology")
def ontology() -> Response:
    """The ontology: documentation for browsers, the ontology graph for RDF clients."""
    store, base = state().store, state().config.base_iri
    rdf = _rdf_format_requested()
    if rdf is not None:
        quads = list(store.quads(str(graph_iri(base, ONTOLOGY_GRAPH))))
        response = Response(serialize_quads(quads, rdf), content_type=rdf.media_type)
    else:
        doc = describe(
            _graph(store, str(graph_iri(base, ONTOLOGY_GRAPH))),
            _graph(store, str(graph_iri(base, SHAPES_GRAPH))),
        )
        response = Response(render_html(doc), content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = ", ".join(
        f'</ontology?format={f.name}>; rel="alternate"; type="{f.media_type}"'
        for f in RDF_FORMATS
    )
    return response


def _rdf_format_requested() -> RdfFormat | None:
    name = request.args.get("format")
    if name:
        for fmt in RDF_FORMATS:
            if fmt.name == name:
                return fmt
        abort(
            400,
            f"unknown format {name!r}; choose one of: "
            f"{', '.join(f.name for f in RDF_FORMATS)}",
        )
    offered = ["text/html", *(m for f in RDF_FORMATS for m in f.media_types)]
    best = request.accept_mimetypes.best_match(offered, default="text/html")
    if best in (None, "text/html"):
        return None
    return next(f for f in RDF_FORMATS if best in f.media_types)


def _graph(store: Store, iri: str) -> Graph:
    graph = Graph()
    for quad in store.quads(iri):
        graph.add(
            (
                to_rdflib(quad.subject),
                to_rdflib(quad.predicate),
                to_rdflib(quad.object),
            )
        )
    return graph
