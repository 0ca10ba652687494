"""The SPARQL 1.1 Protocol query operation at ``/sparql``.

GET with ``query=``, POST form-encoded, POST ``application/sparql-query``; the
protocol's ``default-graph-uri`` and ``named-graph-uri``; results by content
negotiation (``Accept``) or a ``format=`` parameter. Queries run on the store's engine
(Oxigraph) within the configured time and row limits.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.datastructures import MultiDict

from mededkg.sandbox import Job
from webapp.context import state
from webapp.negotiate import TRUNCATED_HEADER, negotiate, respond

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"


@bp.route("/sparql", methods=["GET", "POST"])
def query() -> Response:
    """Answer one SPARQL query."""
    query, params = _query_and_params()
    results_format, rdf_format = negotiate(params.get("format"))
    job = Job(
        query,
        results_format,
        rdf_format,
        default_graph=tuple(params.getlist("default-graph-uri")),
        named_graphs=tuple(params.getlist("named-graph-uri")),
    )
    return respond(state().run(job), state().limits.max_rows)


@bp.after_request
def allow_cross_origin(response: Response) -> Response:
    """Let browser clients on other origins read the endpoint (CORS)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = TRUNCATED_HEADER
    return response


def _query_and_params() -> tuple[str, MultiDict[str, str]]:
    if request.method == "GET":
        params: MultiDict[str, str] = MultiDict(request.args)
        queries = params.getlist("query")
    else:
        mimetype = request.mimetype
        if mimetype == FORM:
            params = MultiDict(request.form)
            params.update(request.args)
            queries = params.getlist("query")
        elif mimetype == SPARQL_QUERY:
            params = MultiDict(request.args)
            if "query" in params:
                abort(
                    400,
                    "a query sent as application/sparql-query must not also "
                    "be given as a 'query' parameter",
                )
            queries = [request.get_data(as_text=True)]
        else:
            abort(
                415,
                f"POST a query as {FORM} or {SPARQL_QUERY}, "
                f"not {mimetype or 'no content type'}",
            )
    if len(queries) != 1 or not queries[0].strip():
        abort(
            400,
            "give exactly one non-empty 'query' parameter"
            if len(queries) != 1
            else "the query is empty",
        )
    return queries[0], params
