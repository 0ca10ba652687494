"""The write path: SPARQL 1.1 Update at ``/update`` and the Graph Store HTTP Protocol
at ``/graph-store``.

Both exist only with a configured ``update_token`` (403 otherwise) and every request
needs ``Authorization: Bearer <token>`` (401 otherwise). Each write is staged,
reasoned, SHACL-validated and committed atomically by :mod:`mededkg.pipeline.write`; a
write that violates the shapes is answered 422 with the report, and changes nothing.
"""

from __future__ import annotations

import uuid

import pyoxigraph as ox
from flask import Blueprint, Response, abort, request
from werkzeug.datastructures import MultiDict

from mededkg.pipeline.export import serialize_quads
from mededkg.pipeline.payload import parse_graph
from mededkg.pipeline.write import (
    GraphTarget,
    WriteResult,
    check_graph_iri,
    delete_graph,
    post_graph,
    put_graph,
    read_graph,
    run_update,
)
from webapp import protocol
from webapp.auth import authorize
from webapp.context import state
from webapp.negotiate import rdf_format
from webapp.urls import public_url

bp = Blueprint("update", __name__)

FORM = protocol.FORM
SPARQL_UPDATE = protocol.SPARQL_UPDATE
MULTIPART = "multipart/form-data"
GRAPH_STORE = "/graph-store"
_METHODS = ["GET", "PUT", "POST", "DELETE"]


class _Missing:
    """No graph named: only a POST to the bare endpoint, which creates one."""


_MISSING = _Missing()


@bp.before_request
def require_token() -> None:
    """Refuse every request without the configured bearer token (403/401)."""
    authorize(state().config, request.headers.get("Authorization"))


@bp.route("/update", methods=["GET", "POST"])
def update() -> Response:
    """Apply one SPARQL 1.1 update (form-encoded ``update=`` or a direct body)."""
    if request.method != "POST":
        abort(405, valid_methods=["POST"])
    text, params = _update_and_params()
    run_update(
        state().config,
        text,
        base_iri=request.base_url,
        using=params.getlist("using-graph-uri"),
        using_named=params.getlist("using-named-graph-uri"),
    )
    return _written(None)


@bp.route(GRAPH_STORE, methods=_METHODS)
@bp.route(f"{GRAPH_STORE}/<path:_path>", methods=_METHODS)
def graph_store(_path: str | None = None) -> Response:
    """Read, replace, merge into or delete one graph (SPARQL 1.1 Graph Store)."""
    target = _target(direct=_path is not None)
    config = state().config
    if request.method in ("GET", "HEAD"):
        return _get(_required(target))
    if request.method == "DELETE":
        delete_graph(config, _required(target))
        return Response(status=204)
    if request.method == "PUT":
        graph = _required(target)
        return _written(put_graph(config, graph, _body_triples(graph)))
    if isinstance(target, _Missing):
        # the server's public URL, never the request's Host header: this IRI is stored
        graph = public_url(f"{GRAPH_STORE[1:]}/{uuid.uuid4().hex}")
        post_graph(config, graph, _body_triples(graph))
        state().refresh()
        return Response(status=201, headers={"Location": graph})
    return _written(post_graph(config, target, _body_triples(target)))


def _written(result: WriteResult | None) -> Response:
    state().refresh()  # serve the new build from the next request on
    return Response(status=201 if result is not None and result.created else 204)


def _update_and_params() -> tuple[str, MultiDict[str, str]]:
    """The update and the parameters, read as :mod:`webapp.protocol` reads them."""
    try:
        params = protocol.of_request(request, protocol.UPDATE)
        return protocol.text_of(params, protocol.UPDATE), params
    except protocol.ProtocolError as error:
        abort(error.status, error.message)


def _target(*, direct: bool) -> GraphTarget | _Missing:
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if direct:
        if graphs or default:
            abort(400, "a graph URL under /graph-store/ takes no ?graph or ?default")
        return public_url(request.path)  # the server's public URL, not Host's
    if (graphs and default) or len(graphs) > 1:
        abort(400, "name one graph: ?graph=IRI or ?default")
    if default:
        return None
    if graphs:
        return check_graph_iri(graphs[0])
    return _MISSING


def _required(target: GraphTarget | _Missing) -> GraphTarget:
    if isinstance(target, _Missing):
        abort(
            400,
            "name the graph: /graph-store?graph=IRI, /graph-store?default, or "
            "/graph-store/<path>",
        )
    return target


def _body_triples(graph: GraphTarget) -> list[ox.Triple]:
    base = graph if graph is not None else request.base_url
    if request.mimetype == MULTIPART:
        triples: list[ox.Triple] = []
        for part in request.files.values():
            triples += parse_graph(
                part.read(),
                part.mimetype,
                base_iri=base,
                charset=part.mimetype_params.get("charset"),
            )
        return triples
    return parse_graph(
        request.get_data(),
        request.mimetype,
        base_iri=base,
        charset=request.mimetype_params.get("charset"),
    )


def _get(graph: GraphTarget) -> Response:
    fmt = rdf_format()
    quads = [
        ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
        for q in read_graph(state().store, graph)
    ]
    charset = "" if fmt.media_type.endswith("+xml") else "; charset=utf-8"
    return Response(
        serialize_quads(quads, fmt),
        content_type=fmt.media_type + charset,
        headers={"Vary": "Accept"},
    )
