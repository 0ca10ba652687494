"""The SPARQL 1.1 Protocol query operation at ``/sparql``.

GET with ``query=``, POST form-encoded, POST ``application/sparql-query``; the
protocol's ``default-graph-uri`` and ``named-graph-uri``; results by content
negotiation (``Accept``) or a ``format=`` parameter. Queries run on the store's engine
(Oxigraph) within the configured time and row limits. A GET without ``query`` returns
the SPARQL 1.1 Service Description (:mod:`webapp.describe`). The read endpoints answer
CORS preflight requests and allow every origin.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.datastructures import MultiDict

from mededkg.query.answers import Job
from mededkg.storage.embedded import graph_nodes
from webapp import protocol
from webapp.context import state
from webapp.describe import service_description_response
from webapp.negotiate import EXPOSED_HEADERS, negotiate, respond

bp = Blueprint("sparql", __name__)

FORM = protocol.FORM
SPARQL_QUERY = protocol.SPARQL_QUERY

#: Paths any web page may read (CORS): the endpoint, the API and the VoID.
CORS_PATHS = ("/sparql", "/.well-known/void")
CORS_PREFIXES = ("/api/",)
#: Request headers a cross-origin reader may send (no Authorization: read only).
CORS_HEADERS = "Accept, Content-Type"
CORS_MAX_AGE = "86400"


@bp.route("/sparql", methods=["GET", "POST"])
def query() -> Response:
    """Answer one SPARQL query; describe the service to a GET without one.

    Raises:
        400: an ``update`` parameter (updates go to ``POST /update``), no or several
            queries.
    """
    params = _parameters()
    _refuse_update(params)
    if request.method in ("GET", "HEAD") and "query" not in params:
        return service_description_response()
    try:
        query = protocol.text_of(params)
    except protocol.ProtocolError as error:
        abort(error.status, error.message)
    results_format, rdf_format = negotiate(params.get("format"))
    for parameter in ("default-graph-uri", "named-graph-uri"):
        graph_nodes(params.getlist(parameter), parameter)  # 400 before any back-end
    job = Job(
        query,
        results_format,
        rdf_format,
        default_graph=tuple(params.getlist("default-graph-uri")),
        named_graphs=tuple(params.getlist("named-graph-uri")),
        base_iri=request.base_url,
    )
    answer = state().run(job, request.remote_addr or "")
    return respond(answer, state().limits.max_rows, build=state().build)


@bp.after_app_request
def allow_cross_origin(response: Response) -> Response:
    """Let browser clients on other origins read the read endpoints (CORS), errors
    included, and answer their preflight ``OPTIONS`` requests."""
    path = request.path
    if path not in CORS_PATHS and not path.startswith(CORS_PREFIXES):
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        allowed = request.url_rule.methods if request.url_rule else None
        methods = [m for m in ("GET", "POST", "OPTIONS") if m in (allowed or {})]
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def _parameters() -> MultiDict[str, str]:
    """The request's parameters as the protocol reads them (:mod:`webapp.protocol`,
    shared with the fast path)."""
    try:
        return protocol.of_request(request)
    except protocol.ProtocolError as error:
        abort(error.status, error.message)


def _refuse_update(params: MultiDict[str, str]) -> None:
    """Refuse an ``update`` parameter (in the URL or a form body): this path only
    queries, and answering the service description instead would look like success."""
    if "update" in params:
        abort(
            400,
            "/sparql does not run updates: send a SPARQL update with POST /update "
            "(form parameter 'update' or application/sparql-update)",
        )
