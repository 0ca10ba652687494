"""The endpoint's hot path (webapp/fastpath.py) answers exactly as the Flask view.

Each request goes once through the app as served (the fast path in front) and once
through the Flask app alone; status, headers and body must be the same, byte for
byte. A spy on the fast path's hand-over proves which requests it answered itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mededkg.settings import Config
from tests.conftest import make_config
from webapp import create_app
from webapp.fastpath import FastQueries

JSON = "application/sparql-results+json"
SELECT = "SELECT ?s WHERE { ?s a ?class } LIMIT 3"
Request = dict[str, Any]

#: Requests the fast path answers itself.
FAST: list[tuple[str, Request]] = [
    (
        "select posted as sparql-query",
        {
            "method": "POST",
            "data": SELECT.encode(),
            "headers": {"Content-Type": "application/sparql-query", "Accept": JSON},
        },
    ),
    (
        "select by GET as CSV",
        {"query_string": {"query": SELECT}, "headers": {"Accept": "text/csv"}},
    ),
    (
        "ask as XML",
        {
            "query_string": {"query": "ASK { ?s ?p ?o }"},
            "headers": {"Accept": "application/sparql-results+xml"},
        },
    ),
    (
        "construct as Turtle",
        {
            "query_string": {"query": "CONSTRUCT WHERE { ?s a ?c } LIMIT 2"},
            "headers": {"Accept": "text/turtle"},
        },
    ),
    ("no Accept header", {"query_string": {"query": SELECT}}),
    (
        "form-encoded POST",
        {"method": "POST", "data": {"query": SELECT}, "headers": {"Accept": JSON}},
    ),
    (
        "malformed query (400 from the worker)",
        {"query_string": {"query": "SELECT WHERE {"}, "headers": {"Accept": JSON}},
    ),
    (
        "SERVICE not allowed (400)",
        {
            "query_string": {
                "query": "SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
            }
        },
    ),
    (
        "select where only RDF is acceptable (406)",
        {"query_string": {"query": SELECT}, "headers": {"Accept": "text/turtle"}},
    ),
    (
        "construct where only results are acceptable (406)",
        {
            "query_string": {"query": "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1"},
            "headers": {"Accept": "text/csv"},
        },
    ),
]

#: Requests the fast path leaves to Flask.
HANDED_OVER: list[tuple[str, Request]] = [
    (
        "format parameter",
        {"query_string": {"query": SELECT, "format": "csv"}},
    ),
    (
        "dataset parameter",
        {
            "query_string": {
                "query": SELECT,
                "default-graph-uri": "https://w3id.org/mededkg/graph/no-such-graph",
            }
        },
    ),
    (
        "form-encoded POST with another parameter",
        {
            "method": "POST",
            "data": {"query": SELECT, "format": "csv"},
            "headers": {"Accept": JSON},
        },
    ),
    (
        "query string that is not UTF-8 (400)",
        {"path": "/sparql?query=SELECT%FF", "headers": {"Accept": JSON}},
    ),
    (
        "latin-1 charset (415)",
        {
            "method": "POST",
            "data": SELECT.encode(),
            "headers": {"Content-Type": "application/sparql-query; charset=latin-1"},
        },
    ),
    (
        "body that is not UTF-8 (400)",
        {
            "method": "POST",
            "data": b'SELECT * { ?s ?p "\xff" }',
            "headers": {"Content-Type": "application/sparql-query"},
        },
    ),
    (
        "empty query (400)",
        {"query_string": {"query": "  "}},
    ),
    (
        "nothing acceptable (406)",
        {"query_string": {"query": SELECT}, "headers": {"Accept": "image/png"}},
    ),
    ("service description", {"headers": {"Accept": "text/turtle"}}),
    ("another path", {"path": "/api/queries"}),
]


def _call(app: Callable[..., Iterable[bytes]], request: Request) -> tuple[Any, ...]:
    request = {"path": "/sparql", **request}
    environ = EnvironBuilder(**request).get_environ()
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    return status, sorted(headers.items()), b"".join(body)


@pytest.fixture
def spied(app: Flask) -> tuple[FastQueries, list[str]]:
    """A fast path over the fixture app that records every hand-over to Flask."""
    fast = FastQueries(app)
    plain = fast.flask
    handed: list[str] = []

    def flask(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        handed.append(environ["PATH_INFO"])
        return plain(environ, start_response)

    fast.flask = flask
    return fast, handed


@pytest.mark.parametrize(("name", "request_"), FAST, ids=[n for n, _ in FAST])
def test_fast_path_answers_as_the_flask_view_does(
    spied: tuple[FastQueries, list[str]], name: str, request_: Request
) -> None:
    fast, handed = spied
    through_fast = _call(fast, request_)
    assert handed == [], f"{name}: handed to Flask"
    assert through_fast == _call(fast.flask, request_)


@pytest.mark.parametrize(
    ("name", "request_"), HANDED_OVER, ids=[n for n, _ in HANDED_OVER]
)
def test_other_requests_go_to_flask_unchanged(
    spied: tuple[FastQueries, list[str]], name: str, request_: Request
) -> None:
    fast, handed = spied
    through_fast = _call(fast, request_)
    assert len(handed) == 1, f"{name}: answered by the fast path"
    assert through_fast == _call(fast.flask, request_)


def test_fast_path_success_carries_the_security_and_cors_headers(app: Flask) -> None:
    status, headers, _ = _call(app.wsgi_app, FAST[0][1])
    names = dict(headers)
    assert status == "200 OK"
    assert names["Content-Security-Policy"].startswith("default-src 'self'")
    assert names["Access-Control-Allow-Origin"] == "*"
    assert names["Content-Type"] == JSON + "; charset=utf-8"


@pytest.fixture
def strict_app(fixture_config: Config, tmp_path: Path) -> Flask:
    """The fixture store with one request per client, a 2-row limit, no workers."""
    config = make_config(
        fixture_config.root,
        fixture_config.store_path,
        rate_limit="0.001",
        rate_burst="1",
        result_limit="2",
        query_workers="0",
    )
    return create_app(config)


def test_fast_path_truncates_and_then_rate_limits_like_flask(strict_app: Flask) -> None:
    request = {
        "method": "POST",
        "data": b"SELECT * WHERE { ?s ?p ?o } LIMIT 5",
        "headers": {"Content-Type": "application/sparql-query"},
    }
    status, headers, _ = _call(strict_app.wsgi_app, request)
    assert status == "200 OK"
    assert dict(headers)["MedEdKG-Result-Truncated"] == "true; limit=2"
    status, headers, body = _call(strict_app.wsgi_app, request)
    assert status == "429 TOO MANY REQUESTS"
    assert dict(headers)["Retry-After"]
    assert b"requests a second from your address" in body
