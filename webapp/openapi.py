"""The OpenAPI 3 document of the app, generated from its registries.

Paths come from the app's URL map (so a new route is never missing), named queries
from ``queries/*.rq`` (one path each, its ``#+ params:`` as typed query parameters),
media types and ``format=`` values from the one table of formats, and parameter
schemas from the parameter types of :mod:`mededkg.query.namedqueries`.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.routing import Map, Rule

from mededkg.query.formats import RDF_FORMATS, RESULT_FORMATS
from mededkg.query.namedqueries import NamedQuery, Param

OPENAPI_VERSION = "3.0.3"

Document = dict[str, Any]

#: JSON Schema of each named-query parameter type (keys as in ``PARAM_TYPES``).
PARAM_SCHEMAS: dict[str, Document] = {
    "iri": {"type": "string", "format": "uri"},
    "string": {"type": "string"},
    "langstring": {
        "type": "string",
        "pattern": r"^.+@[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$",
        "example": "临床医学@zh",
    },
    "integer": {"type": "integer"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "gYear": {
        "type": "string",
        "pattern": r"^-?\d{4,}(Z|[+-]\d{2}:\d{2})?$",
        "example": "1952",
    },
}

#: Statuses the app's errors use, with the reason each stands for.
ERRORS: dict[str, str] = {
    "400": "Bad request: a malformed query, parameter or format name.",
    "404": "Not found.",
    "406": "None of the accepted media types is available.",
    "415": "Unsupported request content type.",
    "503": "All query workers are busy (see Retry-After).",
    "504": "The query ran past the time limit.",
}

_RULE_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_RESULT_MEDIA = [m for f in RESULT_FORMATS for m in f.media_types]
_RDF_MEDIA = [m for f in RDF_FORMATS for m in f.media_types]
_FORMAT_NAMES = sorted({f.name for f in RESULT_FORMATS} | {f.name for f in RDF_FORMATS})
_RDF_NAMES = [f.name for f in RDF_FORMATS]


def openapi_document(
    url_map: Map,
    view_functions: Mapping[str, Callable[..., Any]],
    queries: Mapping[str, NamedQuery],
    *,
    server_url: str,
    reserved: frozenset[str] = frozenset({"format"}),
) -> Document:
    """Build the OpenAPI document for every route of an app.

    Args:
        url_map: the app's URL map (every route becomes a path).
        view_functions: the app's views, whose docstrings summarize unknown routes.
        queries: the named queries, by name (one path each).
        server_url: the base URL the app is served at, without a trailing slash.
        reserved: parameter names of the query API itself (a query parameter with
            such a name could not be given).

    Returns:
        The document as JSON-ready data.
    """
    paths: dict[str, Document] = {}
    for rule in sorted(url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        if rule.endpoint == "api.run_query":
            for query in queries.values():
                paths[f"/api/queries/{query.name}"] = _named_query(query, reserved)
            continue
        build = _KNOWN.get(rule.endpoint)
        path = _RULE_VARIABLE.sub(r"{\1}", rule.rule)
        paths[path] = (
            build() if build else _generic(rule, view_functions.get(rule.endpoint))
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "MedEdKG",
            "version": _version(),
            "description": (
                "An open knowledge graph of medical education: a SPARQL 1.1 endpoint, "
                "named queries as an API, and descriptions of the service (SPARQL "
                "Service Description) and the dataset (VoID)."
            ),
            "license": {"name": "MIT (code); data: see /.well-known/void"},
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": _ERROR_SCHEMA, "NamedQuery": _NAMED_QUERY_SCHEMA},
        },
    }


def param_schema(param: Param) -> Document:
    """The JSON Schema of a named-query parameter (plain string for unknown types).

    >>> param_schema(Param("year", "gYear", ""))["pattern"]
    '^-?\\\\d{4,}(Z|[+-]\\\\d{2}:\\\\d{2})?$'
    """
    return dict(PARAM_SCHEMAS.get(param.type, {"type": "string"}))


def _version() -> str:
    try:
        return importlib.metadata.version("mededkg")
    except importlib.metadata.PackageNotFoundError:
        return "0"


# --- pieces -------------------------------------------------------------------------
_ERROR_SCHEMA: Document = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "title", "message"],
            "properties": {
                "status": {"type": "integer"},
                "title": {"type": "string"},
                "message": {"type": "string"},
            },
        }
    },
}

_NAMED_QUERY_SCHEMA: Document = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "params": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "type": {"type": "string", "enum": sorted(PARAM_SCHEMAS)},
                    "description": {"type": "string"},
                },
            },
        },
        "url": {"type": "string"},
    },
}


def _errors(*statuses: str) -> Document:
    return {
        status: {
            "description": ERRORS[status],
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
        for status in statuses
    }


def _content(media_types: list[str]) -> Document:
    return {media: {"schema": {"type": "string"}} for media in media_types}


def _query_results(description: str) -> Document:
    return {
        "description": description,
        "headers": {
            "MedEdKG-Result-Truncated": {
                "description": "Present when the row limit cut the result.",
                "schema": {"type": "string"},
            },
            "MedEdKG-Build": {
                "description": "The build (store folder) that answered; absent on "
                "back-ends without build folders.",
                "schema": {"type": "string"},
            },
        },
        "content": _content(_RESULT_MEDIA + _RDF_MEDIA),
    }


def _format_param(names: list[str], description: str) -> Document:
    return {
        "name": "format",
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "enum": names},
    }


def _graph_params() -> list[Document]:
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": description,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": {"type": "string", "format": "uri"}},
        }
        for name, description in (
            ("default-graph-uri", "Graphs whose union is the default graph."),
            ("named-graph-uri", "Graphs available to GRAPH patterns."),
        )
    ]


_RESULTS_FORMAT = (
    "Result format, instead of Accept: a SPARQL results format for SELECT/ASK, an "
    "RDF format for CONSTRUCT/DESCRIBE."
)


def _sparql() -> Document:
    query_param = {
        "name": "query",
        "in": "query",
        "required": False,
        "description": (
            "The SPARQL 1.1 query. Without it, GET returns the SPARQL Service "
            "Description of the endpoint (RDF, Turtle by default)."
        ),
        "schema": {"type": "string"},
    }
    form_properties: Document = {
        "query": {"type": "string"},
        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
        "format": {"type": "string", "enum": _FORMAT_NAMES},
    }
    ok = _query_results(
        "Query results, or (GET without a query) the service description."
    )
    ok["content"]["text/html"] = {"schema": {"type": "string"}}
    return {
        "get": {
            "operationId": "sparqlQueryGet",
            "summary": "SPARQL 1.1 query by GET, or the service description",
            "tags": ["SPARQL"],
            "parameters": [
                query_param,
                *_graph_params(),
                _format_param(_FORMAT_NAMES, _RESULTS_FORMAT),
            ],
            "responses": {"200": ok, **_errors("400", "406", "503", "504")},
        },
        "post": {
            "operationId": "sparqlQueryPost",
            "summary": "SPARQL 1.1 query by POST (form or direct)",
            "tags": ["SPARQL"],
            "parameters": [
                *_graph_params(),
                _format_param(_FORMAT_NAMES, _RESULTS_FORMAT),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["query"],
                            "properties": form_properties,
                        }
                    },
                    "application/sparql-query": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "200": _query_results("Query results."),
                **_errors("400", "406", "415", "503", "504"),
            },
        },
    }


def _list_queries() -> Document:
    return {
        "get": {
            "operationId": "listQueries",
            "summary": "The named queries with their titles and parameters",
            "tags": ["Named queries"],
            "responses": {
                "200": {
                    "description": "Every named query.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/NamedQuery"},
                            }
                        }
                    },
                }
            },
        }
    }


def _named_query(query: NamedQuery, reserved: frozenset[str]) -> Document:
    params = [p for p in query.params if p.name not in reserved]
    parameters = [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "description": f"{p.description} ({p.type}; empty = unbound)".lstrip(),
            "schema": param_schema(p),
        }
        for p in params
    ]
    format_param = _format_param(_FORMAT_NAMES, _RESULTS_FORMAT)
    form: Document = {
        "type": "object",
        "properties": {
            **{p.name: param_schema(p) for p in params},
            "format": format_param["schema"],
        },
    }
    operation: Document = {
        "summary": query.title,
        "description": query.description or query.title,
        "tags": ["Named queries"],
        "responses": {
            "200": _query_results("Query results."),
            **_errors("400", "406", "503", "504"),
        },
    }
    return {
        "get": {
            **operation,
            "operationId": f"query-{query.name}-get",
            "parameters": [*parameters, format_param],
        },
        "post": {
            **operation,
            "operationId": f"query-{query.name}-post",
            "requestBody": {
                "required": False,
                "content": {"application/x-www-form-urlencoded": {"schema": form}},
            },
        },
    }


def _rdf_document(
    operation_id: str, summary: str, *, html: bool, description: str
) -> Document:
    content = _content(_RDF_MEDIA)
    if html:
        content = {"text/html": {"schema": {"type": "string"}}, **content}
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["Descriptions"],
            "parameters": [_format_param(_RDF_NAMES, "RDF format, instead of Accept.")],
            "responses": {
                "200": {"description": description, "content": content},
                **_errors("400", "406"),
            },
        }
    }


def _void() -> Document:
    return _rdf_document(
        "void",
        "VoID description of the dataset",
        html=True,
        description="The dataset: counts, partitions, subsets, linksets.",
    )


def _ontology() -> Document:
    return _rdf_document(
        "ontology",
        "The ontology: documentation, or the ontology graph as RDF",
        html=True,
        description="The ontology.",
    )


def _home() -> Document:
    return {
        "get": {
            "operationId": "home",
            "summary": "The dataset: triples per named graph, instances per class",
            "tags": ["Descriptions"],
            "parameters": [_format_param(["json"], "json for the JSON twin.")],
            "responses": {
                "200": {
                    "description": "The home page or its JSON twin.",
                    "content": {
                        "text/html": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "object"}},
                    },
                }
            },
        }
    }


def _openapi() -> Document:
    return {
        "get": {
            "operationId": "openapi",
            "summary": "This OpenAPI document",
            "tags": ["Descriptions"],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }


def _generic(rule: Rule, view: Callable[..., Any] | None) -> Document:
    """An operation for a route this module has no details of: its methods, path
    variables and the first line of its view's docstring."""
    doc = (view.__doc__ or rule.endpoint).strip().splitlines()[0] if view else ""
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _RULE_VARIABLE.findall(rule.rule)
    ]
    methods = sorted((rule.methods or {"GET"}) - {"HEAD", "OPTIONS"})
    return {
        method.lower(): {
            "operationId": _operation_id(method, rule.rule),
            "summary": doc or rule.endpoint,
            **({"parameters": parameters} if parameters else {}),
            "responses": {"default": {"description": "See the project's README."}},
        }
        for method in methods
    }


def _operation_id(method: str, rule: str) -> str:
    """A unique id from the method and the route (two routes may share a view).

    >>> _operation_id("DELETE", "/graph-store/<path:_path>")
    'delete-graph-store-_path'
    """
    words = re.findall(r"[A-Za-z0-9_]+", _RULE_VARIABLE.sub(r"\1", rule))
    return "-".join([method.lower(), *words])


_KNOWN: dict[str, Callable[[], Document]] = {
    "sparql.query": _sparql,
    "api.list_queries": _list_queries,
    "describe.void": _void,
    "describe.openapi": _openapi,
    "pages.home": _home,
    "pages.ontology": _ontology,
}
