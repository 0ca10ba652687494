"""One error shape for every HTTP error: JSON by default, plain text on request.

``{"error": {"status": 400, "title": "Bad Request", "message": "…"}}`` — at most 2 KB,
never a stack trace or a server path.
"""

from __future__ import annotations

import json

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from mededkg.errors import MedEdKGError, QueryNotFound, QueryTimeout
from mededkg.pipeline.payload import UnsupportedMediaType
from mededkg.pipeline.write import GraphNotFound, ReservedGraph, WriteNotConforming
from mededkg.query.answers import NotRepresentable, OutOfMemory, WorkerFailed
from mededkg.query.sandbox import ClientBusy, Overloaded
from webapp.auth import NotAuthorized, WritesDisabled
from webapp.negotiate import without_parameters

MAX_MESSAGE = 1500


def error_response(status: int, title: str, message: str) -> Response:
    """Build the error response in the form the client accepts."""
    message = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " …"
    accept = without_parameters(request.accept_mimetypes)
    best = accept.best_match(["application/json", "text/plain"])
    if best == "text/plain" and accept["text/plain"] > accept["application/json"]:
        response = Response(f"{status} {title}: {message}\n", mimetype="text/plain")
    else:
        response = jsonify(
            {"error": {"status": status, "title": title, "message": message}}
        )
    response.status_code = status
    return response


def register(app: Flask) -> None:
    """Route every HTTP error through :func:`error_response`."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = error_response(status, error.name, error.description or error.name)
        for header in ("Allow", "Retry-After"):
            value = error.get_response().headers.get(header)
            if value:
                response.headers[header] = value
        return response

    @app.errorhandler(MedEdKGError)
    def input_error(error: MedEdKGError) -> Response:
        status, title = _STATUS.get(type(error), (400, "Bad Request"))
        response = error_response(status, title, str(error))
        if status in (429, 503):
            response.headers["Retry-After"] = "5"
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="MedEdKG writes"'
        if isinstance(error, WriteNotConforming) and response.is_json:
            # The one error shape, plus the SHACL results a client needs to fix it.
            payload = response.get_json()
            payload["conforms"] = False
            payload["results"] = [r.__dict__ for r in error.report.results]
            response.set_data(json.dumps(payload, ensure_ascii=False))
        return response


_STATUS: dict[type[MedEdKGError], tuple[int, str]] = {
    QueryTimeout: (504, "Query Timeout"),
    QueryNotFound: (404, "Not Found"),
    Overloaded: (503, "Service Unavailable"),
    ClientBusy: (429, "Too Many Requests"),
    NotRepresentable: (406, "Not Acceptable"),
    WorkerFailed: (503, "Service Unavailable"),
    OutOfMemory: (503, "Service Unavailable"),
    NotAuthorized: (401, "Unauthorized"),
    WritesDisabled: (403, "Forbidden"),
    ReservedGraph: (403, "Forbidden"),
    GraphNotFound: (404, "Not Found"),
    UnsupportedMediaType: (415, "Unsupported Media Type"),
    WriteNotConforming: (422, "Unprocessable Content"),
}
