"""The SPARQL query editor at ``/query``, with the JSON it needs: the prefix map
(``/api/prefixes``) and the text of each named query (``/api/queries/<name>.rq``).

The page itself is static HTML plus ``static/query.js``; queries run against
``/sparql`` and ``/api/queries/<name>`` like any other client's.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, render_template, request

from mededkg.errors import QueryNotFound
from mededkg.namespaces import PREFIXES
from mededkg.resources import queries_dir
from webapp.context import state
from webapp.i18n import messages, ui_language

bp = Blueprint("editor", __name__)

SPARQL_QUERY = "application/sparql-query"

#: The query shown when the page is opened without one.
DEFAULT_QUERY = """\
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?class (COUNT(?instance) AS ?instances) ?label
WHERE {
  ?instance a ?class .
  OPTIONAL { ?class rdfs:label ?label FILTER(LANG(?label) = "en") }
}
GROUP BY ?class ?label
ORDER BY DESC(?instances)
LIMIT 20
"""

#: The editor's own words are the interface strings with this key prefix (in
#: ``webapp/translations``); the page's ``data-strings`` attribute carries them, prefix
#: dropped, to the script.
STRINGS_PREFIX = "editor_"


@bp.route("/query")
def query_page() -> str:
    """The query editor page."""
    lang = ui_language()
    return render_template(
        "query.html",
        t=messages(STRINGS_PREFIX, lang),
        lang=lang,
        query=request.args.get("query") or _example_text(request.args.get("example")),
        base_iri=state().config.base_iri,
        build=_current_build(),
    )


@bp.route("/api/prefixes")
def prefixes() -> Response:
    """The one prefix map, as ``{prefix: namespace}``."""
    return jsonify(PREFIXES)


@bp.route("/api/queries/<name>.rq")
def query_text(name: str) -> Response:
    """The text of the named query *name* (``application/sparql-query``).

    Raises:
        QueryNotFound: (404) if there is no such named query.
    """
    path = _query_file(name)
    if path is None:
        raise QueryNotFound(f"no query named {name!r}; GET /api/queries lists them")
    return Response(path.read_text(encoding="utf-8"), mimetype=SPARQL_QUERY)


def _current_build() -> str:
    """The name of the build the store serves now ("" on back-ends without builds);
    the page compares it with the build that answered each query of its history."""
    app_state = state()
    app_state.refresh()
    return app_state.build or ""


def _query_file(name: str | None) -> Path | None:
    """The file of the named query *name* directly in ``queries/``, if there is one."""
    if not name or name.startswith("."):
        return None
    folder = queries_dir(state().config.root)
    path = folder / f"{name}.rq"
    return path if path.parent == folder and path.is_file() else None


def _example_text(name: str | None) -> str:
    """The text of the named query *name*, or the default query if there is none."""
    path = _query_file(name)
    return path.read_text(encoding="utf-8") if path else DEFAULT_QUERY
