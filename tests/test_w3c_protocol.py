"""The W3C SPARQL 1.1 Protocol and Graph Store Protocol test suites, against a live
server.

Each manifest entry becomes one test, named by the test's local name. A test gets its
own store (the fixture project plus the test's ``ut:graphData`` in the named graphs it
names), its own app with an update token, and a real waitress server; its requests
are sent in order on one HTTP connection, with the manifest's placeholder paths mapped
to ours: ``/sparql/`` → ``/sparql`` for queries and ``/update`` for updates, ``/gsp``
and ``$GRAPHSTORE$`` → ``/graph-store``. Requests to ``/update`` and
``/graph-store`` carry ``Authorization: Bearer <token>``.

The suite is copied, with its W3C licence and provenance, into
``tests/data/w3c-sparql11-protocol``. The service-description manifest has no
machine-readable actions and is tested separately (``test_describe.py``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pyoxigraph as ox
import pytest
from pyparsing import ParseException
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.query import Result

from mededkg.pipeline.build import build
from mededkg.settings import Config
from tests.conftest import FIXTURE_ROOT, _serve, make_config
from tests.w3c_manifest import (
    ExpectedResponse,
    GraphData,
    HttpRequest,
    ProtocolTest,
    read_manifest,
)
from webapp import create_app

#: The suite's copy (W3C test-suite licence: see its LICENSE.md and PROVENANCE.md).
SUITE = Path(__file__).parent / "data" / "w3c-sparql11-protocol"
MANIFESTS = (
    "protocol/manifest.ttl",
    "graph-store-protocol/manifest-direct.ttl",
    "graph-store-protocol/manifest-indirect.ttl",
)
TOKEN = "w3c-protocol-test-token"
#: The optional Graph Store features (``mf:requires``) our endpoint implements.
SUPPORTED_FEATURES = frozenset(
    {"DirectGraphIdentification", "IndirectGraphIdentification", "POSTGraphCreation"}
)

#: The path prefixes the manifests use for the endpoint under test, and ours.
QUERY_PLACEHOLDER = "/sparql/"
GRAPH_STORE_PLACEHOLDERS = ("$GRAPHSTORE$", "/gsp")
QUERY_PATH = "/sparql"
UPDATE_PATH = "/update"
GRAPH_STORE_PATH = "/graph-store"

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"

#: Media types of the SPARQL results formats (SPARQL 1.1 Query Results XML, JSON,
#: CSV/TSV), by the ``mf:expectedFormat`` that may carry them. CSV and TSV have no
#: boolean form.
RESULT_MEDIA_TYPES: dict[str, frozenset[str]] = {
    "boolean": frozenset(
        {"application/sparql-results+json", "application/sparql-results+xml"}
    ),
    "tabular": frozenset(
        {
            "application/sparql-results+json",
            "application/sparql-results+xml",
            "text/csv",
            "text/tab-separated-values",
        }
    ),
}
#: RDF media types a client can read a graph result in.
RDF_MEDIA_TYPES = frozenset(
    {
        "text/turtle",
        "application/rdf+xml",
        "application/n-triples",
        "application/ld+json",
        "text/n3",
    }
)


def _suite_tests() -> list[ProtocolTest]:
    if not SUITE.is_dir():
        return []
    return [test for name in MANIFESTS for test in read_manifest(SUITE / name)]


TESTS = _suite_tests()


def test_the_w3c_protocol_suite_is_present() -> None:
    assert len(TESTS) == 34 + 4 + 9, f"the W3C protocol suite in {SUITE} is incomplete"


# --- one private server per test ----------------------------------------------------
@dataclass
class Server:
    """A live server over a private store, and the template variables (``$LOCATION$``)
    its responses have set."""

    url: str
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def authority(self) -> str:
        """``host:port`` of the server."""
        return urlsplit(self.url).netloc


def _graph_data_file(graph_data: tuple[GraphData, ...], folder: Path) -> Path:
    """One N-Quads file putting each graph-data file into the graph the test names;
    a build keeps the graph names of quad files."""
    path = folder / "w3c-graph-data.nq"
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(data.graph))
        for data in graph_data
        for t in ox.parse(path=data.source, format=ox.RdfFormat.N_TRIPLES)
    ]
    path.write_bytes(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"")
    return path


@contextlib.contextmanager
def _private_server(test: ProtocolTest, folder: Path) -> Iterator[Server]:
    """A store built in *folder* from the fixture project and the test's graph data,
    served with an update token by waitress on a free loopback port."""
    config: Config = make_config(
        FIXTURE_ROOT, folder / "store", update_token=TOKEN, query_workers=1
    )
    add = [_graph_data_file(test.graph_data, folder)] if test.graph_data else []
    build(config, add)
    for url in _serve(create_app(config), threads=2):
        yield Server(url)


# --- mapping the manifest's requests onto our endpoints -----------------------------
def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _form_keys(text: str) -> set[str]:
    return set(parse_qs(text, keep_blank_values=True))


def _parses(parser: Callable[[str], object], text: str) -> bool:
    try:
        parser(text)
    except ParseException:
        return False
    return True


def is_update(request: HttpRequest) -> bool:
    """Whether *request* is meant for the update operation: its media type says so,
    its parameters carry ``update``, or its body is a SPARQL Update and no query."""
    media_type = _media_type(request.header("content-type"))
    if media_type in (SPARQL_UPDATE, SPARQL_QUERY):
        return media_type == SPARQL_UPDATE
    keys = _form_keys(urlsplit(request.path).query)
    if request.body is not None:
        keys |= _form_keys(request.body)
    if keys & {"update", "query"}:
        return "update" in keys
    body = request.body or ""
    if not body.strip():
        return False
    return not _parses(parseQuery, body) and _parses(parseUpdate, body)


def target_path(request: HttpRequest, variables: dict[str, str]) -> str:
    """Our path for the manifest's ``ht:absolutePath`` (template variables filled)."""
    path = _fill(request.path, variables)
    if path.startswith(QUERY_PLACEHOLDER):
        rest = path.removeprefix(QUERY_PLACEHOLDER)
        return (UPDATE_PATH if is_update(request) else QUERY_PATH) + (
            rest if not rest or rest.startswith("?") else "/" + rest
        )
    for placeholder in GRAPH_STORE_PLACEHOLDERS:
        if path.startswith(placeholder):
            return GRAPH_STORE_PATH + path.removeprefix(placeholder)
    raise ValueError(f"unexpected request path {request.path!r}")


def _fill(text: str, variables: dict[str, str]) -> str:
    for name, value in variables.items():
        text = text.replace(name, value)
    return text


def _needs_token(path: str) -> bool:
    """Both the update operation and the Graph Store (reads included) are behind the
    update token."""
    return path.startswith((UPDATE_PATH, GRAPH_STORE_PATH))


@dataclass(frozen=True)
class Exchange:
    """A request as sent and the response received."""

    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes

    def describe(self) -> str:
        """A short account for a failure message."""
        text = self.body[:600].decode("utf-8", "replace")
        return f"{self.method} {self.path} → {self.status} {self.headers}\n{text}"


def send(connection: HTTPConnection, request: HttpRequest, server: Server) -> Exchange:
    """Send one manifest request to *server* on *connection*."""
    path = target_path(request, server.variables)
    headers = {name: _fill(value, server.variables) for name, value in request.headers}
    if _needs_token(path):
        headers["Authorization"] = f"Bearer {TOKEN}"
    body = (
        None
        if request.body is None
        else _fill(request.body, server.variables).encode(request.encoding)
    )
    connection.request(request.method, path, body=body, headers=headers)
    response: HTTPResponse = connection.getresponse()
    return Exchange(
        request.method,
        path,
        response.status,
        {k.lower(): v for k, v in response.getheaders()},
        response.read(),
    )


# --- checking the responses ---------------------------------------------------------
def check(request: HttpRequest, exchange: Exchange, server: Server) -> None:
    """Assert that *exchange* meets every expectation of *request*'s ``ht:resp``."""
    expected = request.expected
    about = exchange.describe()
    assert expected.allows(exchange.status), (
        f"status {exchange.status} is none of {expected.statuses}: {about}"
    )
    if expected.location_variable is not None:
        location = exchange.headers.get("location")
        assert location, f"no Location header: {about}"
        request_url = f"{server.url}{exchange.path}"
        server.variables[expected.location_variable] = urljoin(request_url, location)
    if expected.result_format is not None:
        _check_result(expected.result_format, expected.boolean, exchange)
    if expected.content_type is not None:
        assert _media_type(exchange.headers.get("content-type")) == _media_type(
            expected.content_type
        ), f"expected {expected.content_type}: {about}"
    if expected.body is not None:
        actual = _parse_graph(exchange)
        wanted = Graph().parse(
            data=expected.body, format=_media_type(expected.content_type)
        )
        assert isomorphic(actual, wanted), (
            f"the graph differs from the expected one:\n"
            f"{actual.serialize(format='nt')}\n---\n{wanted.serialize(format='nt')}"
        )


def _check_result(kind: str, boolean: bool | None, exchange: Exchange) -> None:
    media_type = _media_type(exchange.headers.get("content-type"))
    about = exchange.describe()
    if kind == "RDF":
        assert media_type in RDF_MEDIA_TYPES, f"not an RDF media type: {about}"
        _parse_graph(exchange)
        return
    assert media_type in RESULT_MEDIA_TYPES[kind], f"not a {kind} result: {about}"
    result = Result.parse(io.BytesIO(exchange.body), content_type=media_type)
    assert result.type == ("ASK" if kind == "boolean" else "SELECT"), about
    if boolean is not None:
        assert result.askAnswer is boolean, about


def _parse_graph(exchange: Exchange) -> Graph:
    media_type = _media_type(exchange.headers.get("content-type"))
    assert media_type in RDF_MEDIA_TYPES, (
        f"not an RDF media type: {exchange.describe()}"
    )
    return Graph().parse(data=exchange.body, format=media_type)


# --- the suite ----------------------------------------------------------------------
@pytest.mark.server
@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_w3c_test_passes_against_a_live_server(
    test: ProtocolTest, tmp_path: Path
) -> None:
    assert set(test.requires) <= SUPPORTED_FEATURES, test.requires
    with _private_server(test, tmp_path) as server:
        host, port = server.authority.split(":")
        connection = HTTPConnection(host, int(port), timeout=60)
        try:
            for request in test.requests:
                check(request, send(connection, request, server), server)
        finally:
            connection.close()


def _request(path: str, body: str | None = None, content_type: str = "") -> HttpRequest:
    headers = (("content-type", content_type),) if content_type else ()
    return HttpRequest("POST", path, headers, body, "UTF-8", ExpectedResponse(()))


@pytest.mark.parametrize(
    ("request_", "path"),
    [
        (_request("/sparql/?query=ASK%20%7B%7D"), "/sparql?query=ASK%20%7B%7D"),
        (_request("/sparql/", "update=CLEAR+ALL", FORM), "/update"),
        (_request("/sparql/?update=CLEAR%20ALL"), "/update?update=CLEAR%20ALL"),
        (_request("/sparql/", "ASK {}", SPARQL_QUERY), "/sparql"),
        (
            _request("/sparql/?using-graph-uri=g", "CLEAR ALL", SPARQL_UPDATE),
            "/update?using-graph-uri=g",
        ),
        (_request("/sparql/", "CLEAR NAMED", "text/plain"), "/update"),
        (_request("/sparql/", "ASK {}", "text/plain"), "/sparql"),
        (_request("/gsp/person/1.ttl"), "/graph-store/person/1.ttl"),
        (_request("/gsp?default"), "/graph-store?default"),
        (_request("/gsp?graph=$LOCATION$"), "/graph-store?graph=http://h/g"),
        (_request("$GRAPHSTORE$?graph=g"), "/graph-store?graph=g"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.path,
)
def test_manifest_paths_map_to_our_endpoints(request_: HttpRequest, path: str) -> None:
    assert target_path(request_, {"$LOCATION$": "http://h/g"}) == path
