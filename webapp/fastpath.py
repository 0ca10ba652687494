"""The hot path of the SPARQL endpoint, below Flask.

A cheap query (a lookup of one resource) spends more time in Flask's request and
response machinery than in the engine. :class:`FastQueries` is WSGI middleware that
answers the common request itself — a query that is the request's only parameter (a
GET, a form POST or ``application/sparql-query``), answered successfully — with the
same protocol parser (:mod:`webapp.protocol`), the same rate limit, the same
negotiation, the same worker pool and the same headers as the Flask view.
Everything else (other paths, other parameters, a refused rate, an unacceptable
``Accept``, any error) is handled by the Flask app, which defines the behaviour; a
test holds both paths to byte-identical responses.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response
from werkzeug.wsgi import get_current_url

from mededkg.errors import MedEdKGError
from mededkg.query.answers import Answer, Job
from webapp import protocol, security
from webapp.context import EXTENSION, AppState
from webapp.negotiate import (
    BUILD_HEADER,
    EXPOSED_HEADERS,
    TRUNCATED_HEADER,
    accepted_formats,
    respond,
)
from webapp.ratelimit import TokenBuckets

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Headers every fast answer carries, as the Flask hooks add them (security, CORS).
_STATIC_HEADERS = [
    ("Vary", "Accept"),
    *security.HEADERS.items(),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
]


class FastQueries:
    """WSGI middleware answering plain SPARQL query requests without Flask.

    Args:
        app: the MedEdKG Flask app (its state, rate limit and error handlers).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask: WSGIApplication = app.wsgi_app
        state = app.extensions[EXTENSION]
        buckets = app.extensions["mededkg.ratelimit"]
        assert isinstance(state, AppState) and isinstance(buckets, TokenBuckets)
        self.state = state
        self.buckets = buckets
        self.max_body = int(app.config["MAX_CONTENT_LENGTH"])

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/sparql":
            return self.flask(environ, start_response)
        query = self._query(environ)
        if query is None:
            return self.flask(environ, start_response)
        results, rdf = accepted_formats(environ.get("HTTP_ACCEPT", ""))
        if (results is None and rdf is None) or self.buckets.take(
            environ.get("REMOTE_ADDR") or ""
        ):
            return self.flask(environ, start_response)  # 406 or 429, from Flask
        job = Job(query, results, rdf, base_iri=_base_url(environ))
        max_rows = self.state.limits.max_rows
        try:
            answer = self.state.run(job, environ.get("REMOTE_ADDR", ""))
        except MedEdKGError as error:
            make = functools.partial(_raise, error)
            return self._in_flask(environ, start_response, make)
        if not answer.media_type:  # nothing acceptable for this kind: 406, by Flask
            make = functools.partial(respond, answer, max_rows)
            return self._in_flask(environ, start_response, make)
        return _answer(answer, max_rows, self.state.build, start_response)

    def _query(self, environ: WSGIEnvironment) -> str | None:
        """The query of a plain request, read by the one protocol parser
        (:mod:`webapp.protocol`), or ``None`` to leave the request to Flask
        (with its body put back): any error, any parameter besides the query —
        ``update`` included, which Flask refuses with 400 — and any body the Flask
        app must refuse by size sends the request there."""
        method = environ.get("REQUEST_METHOD", "")
        if method not in ("GET", "POST"):
            return None
        body = b""
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or -1)
            except ValueError:
                return None
            if not 0 < length <= self.max_body:
                return None
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)  # Flask may still read it
        try:
            params = protocol.parameters(
                method,
                environ.get("QUERY_STRING", "").encode("latin-1"),
                environ.get("CONTENT_TYPE", ""),
                lambda: body,
            )
            text = protocol.text_of(params)
        except protocol.ProtocolError:
            return None
        if list(params) != ["query"] or len(params.getlist("query")) != 1:
            return None
        return text

    def _in_flask(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        make: Callable[[], Response],
    ) -> Iterable[bytes]:
        """Answer with the response *make* returns, or with the Flask app's error
        response for what it raises, in a Flask request context and through the
        app's after-request hooks."""
        app = self.app
        with app.request_context(environ):
            try:
                response = make()
            except Exception as error:  # rendered by Flask's handlers
                response = app.make_response(app.handle_user_exception(error))
            return app.process_response(response)(environ, start_response)


def _raise(error: Exception) -> Response:
    raise error


def _answer(
    answer: Answer, max_rows: int, build: str | None, start_response: StartResponse
) -> Iterable[bytes]:
    charset = "" if answer.media_type.endswith("+xml") else "; charset=utf-8"
    headers = [
        ("Content-Type", answer.media_type + charset),
        ("Content-Length", str(len(answer.body))),
        *_STATIC_HEADERS,
    ]
    if answer.truncated:
        headers.append((TRUNCATED_HEADER, f"true; limit={max_rows}"))
    if build is not None:
        headers.append((BUILD_HEADER, build))
    start_response("200 OK", headers)
    return [answer.body]


def _base_url(environ: WSGIEnvironment) -> str:
    return _cached_base_url(
        environ["wsgi.url_scheme"],
        environ.get("HTTP_HOST", ""),
        environ.get("SERVER_NAME", ""),
        environ.get("SERVER_PORT", ""),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
    )


@functools.lru_cache(maxsize=256)
def _cached_base_url(
    scheme: str, host: str, server: str, port: str, script: str, path: str
) -> str:
    environ = {
        "wsgi.url_scheme": scheme,
        "SERVER_NAME": server,
        "SERVER_PORT": port,
        "SCRIPT_NAME": script,
        "PATH_INFO": path,
    }
    if host:
        environ["HTTP_HOST"] = host
    return get_current_url(environ, strip_querystring=True)
