"""Named queries as an API: ``/api/queries`` lists them; ``/api/queries/<name>`` runs
one with its declared parameters as typed URL parameters (bound as RDF terms)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from mededkg.query.answers import Job
from mededkg.query.namedqueries import NamedQuery, named_queries, named_query
from mededkg.resources import queries_dir
from webapp.context import state
from webapp.negotiate import negotiate, respond

bp = Blueprint("api", __name__, url_prefix="/api")

#: Parameters of the API itself, not of any query.
RESERVED = {"format"}


@bp.route("/queries")
def list_queries() -> Response:
    """Every named query with its title, description and parameters."""
    return jsonify(
        [_describe(q) for q in named_queries(queries_dir(state().config.root)).values()]
    )


@bp.route("/queries/<name>", methods=["GET", "POST"])
def run_query(name: str) -> Response:
    """Run the named query *name* with the request's parameter values."""
    named = named_query(name, queries_dir(state().config.root))
    repeated = sorted(k for k, v in request.values.lists() if len(v) > 1)
    if repeated:
        abort(400, f"give each parameter once; repeated: {', '.join(repeated)}")
    values = request.values.to_dict()
    bindings = named.bind({k: v for k, v in values.items() if k not in RESERVED})
    results_format, rdf_format = negotiate(values.get("format"))
    job = Job(
        named.text,
        results_format,
        rdf_format,
        substitutions=bindings,
        base_iri=request.base_url,
    )
    answer = state().run(job, request.remote_addr or "")
    return respond(answer, state().limits.max_rows, build=state().build)


def _describe(query: NamedQuery) -> dict[str, object]:
    return {
        "name": query.name,
        "title": query.title,
        "description": query.description,
        "params": [p.__dict__ for p in query.params],
        "url": f"/api/queries/{query.name}",
    }
