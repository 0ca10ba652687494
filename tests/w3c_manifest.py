"""Read the W3C SPARQL 1.1 Protocol and Graph Store Protocol test manifests.

The manifests describe each test as an ``ht:Connection`` with an ordered list of
``ht:Request`` nodes (W3C HTTP-in-RDF vocabulary): method, path, headers and body
(``cnt:chars``), and an ``ht:resp`` with the expectations (``mf:expectedStatus``,
``mf:expectedFormat``, ``mf:expectedBoolean``, ``mf:expectedLocation``, and for Graph
Store GETs the expected ``content-type`` and body). This module turns them into frozen
records a harness can send; it knows nothing about the server under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from rdflib import RDFS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

#: ``hts:`` local names of status classes, e.g. ``StatusCode2xx``.
_CLASS_PREFIX = "StatusCode"
#: ``hts:`` local names of single codes are their reason phrases in CamelCase
#: (``hts:NoContent`` = 204); derived from :class:`http.HTTPStatus`.
_CODES: dict[str, int] = {
    "".join(s.phrase.replace("-", " ").split()): s.value for s in HTTPStatus
}


@dataclass(frozen=True)
class GraphData:
    """A file whose triples a test expects in the named graph *graph* beforehand."""

    source: Path
    graph: str


@dataclass(frozen=True)
class ExpectedResponse:
    """What the response to one request must look like."""

    statuses: tuple[str, ...]
    """Allowed ``hts:`` local names (``OK``, ``StatusCode4xx`` …); any one matches."""
    result_format: str | None = None
    """``boolean``, ``tabular`` or ``RDF``: the kind of result the body must carry."""
    boolean: bool | None = None
    location_variable: str | None = None
    """Template variable (``$LOCATION$``) that takes the ``Location`` header."""
    content_type: str | None = None
    body: str | None = None
    """Expected RDF content, compared by graph isomorphism."""

    def allows(self, status: int) -> bool:
        """Whether *status* is one of the expected codes or classes.

        >>> ExpectedResponse(("Created", "StatusCode4xx")).allows(404)
        True
        >>> ExpectedResponse(("OK", "NoContent")).allows(201)
        False
        """
        return any(status_matches(name, status) for name in self.statuses)


@dataclass(frozen=True)
class HttpRequest:
    """One request of a test, as the manifest writes it (example host and paths)."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: str | None
    encoding: str
    expected: ExpectedResponse

    def header(self, name: str) -> str | None:
        """The value of header *name* (case-insensitive), if the request has it."""
        return next(
            (value for key, value in self.headers if key.lower() == name.lower()),
            None,
        )


@dataclass(frozen=True)
class ProtocolTest:
    """One entry of a manifest: its requests, sent in order on one connection."""

    name: str
    """The local name of the test IRI, e.g. ``query_post_form``."""
    title: str
    manifest: str
    graph_data: tuple[GraphData, ...]
    requests: tuple[HttpRequest, ...]
    requires: tuple[str, ...]


def status_matches(name: str, status: int) -> bool:
    """Whether HTTP *status* matches the ``hts:`` term with local name *name*.

    >>> status_matches("StatusCode2xx", 204), status_matches("NotFound", 404)
    (True, True)

    Raises:
        ValueError: if *name* is not a status term this module knows.
    """
    if name.startswith(_CLASS_PREFIX):
        return str(status)[0] == name.removeprefix(_CLASS_PREFIX)[0]
    if name not in _CODES:
        raise ValueError(f"unknown HTTP status term hts:{name}")
    return status == _CODES[name]


def read_manifest(path: Path) -> list[ProtocolTest]:
    """The tests in the ``mf:entries`` list of the manifest at *path*, in order."""
    graph = Graph().parse(path, format="turtle")
    manifest = URIRef(path.resolve().as_uri())
    entries = graph.value(manifest, MF.entries)
    if entries is None:
        return []
    return [
        _test(graph, entry, path.parent.name + "/" + path.name)
        for entry in Collection(graph, entries)
    ]


def local_name(node: Node) -> str:
    """The part of an IRI after its last ``#`` or ``/``.

    >>> local_name(URIRef("http://www.w3.org/2011/http-statusCodes#NoContent"))
    'NoContent'
    """
    text = str(node)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rsplit("/", 1)[-1]


def _test(graph: Graph, entry: Node, manifest: str) -> ProtocolTest:
    action = _one(graph, entry, MF.action)
    requests = _one(graph, action, HT.requests)
    return ProtocolTest(
        name=local_name(entry),
        title=str(graph.value(entry, MF.name) or ""),
        manifest=manifest,
        graph_data=tuple(_graph_data(graph, entry)),
        requests=tuple(_request(graph, r) for r in Collection(graph, requests)),
        requires=tuple(
            sorted(local_name(r) for r in graph.objects(entry, MF.requires))
        ),
    )


def _graph_data(graph: Graph, entry: Node) -> Iterator[GraphData]:
    for node in graph.objects(entry, UT.graphData):
        source = _one(graph, node, UT.graph)
        label = _one(graph, node, RDFS.label)
        yield GraphData(_file_path(source), str(label))


def _request(graph: Graph, node: Node) -> HttpRequest:
    body = graph.value(node, HT.body)
    chars = graph.value(body, CNT.chars) if body is not None else None
    encoding = graph.value(body, CNT.characterEncoding) if body is not None else None
    return HttpRequest(
        method=str(_one(graph, node, HT.methodName)),
        path=str(_one(graph, node, HT.absolutePath)),
        headers=_headers(graph, node),
        body=None if chars is None else str(chars),
        encoding=str(encoding or "UTF-8"),
        expected=_response(graph, _one(graph, node, HT.resp)),
    )


def _response(graph: Graph, node: Node) -> ExpectedResponse:
    boolean = graph.value(node, MF.expectedBoolean)
    result_format = graph.value(node, MF.expectedFormat)
    location = graph.value(node, MF.expectedLocation)
    body = graph.value(node, HT.body)
    chars = graph.value(body, CNT.chars) if body is not None else None
    content_type = dict((k.lower(), v) for k, v in _headers(graph, node)).get(
        "content-type"
    )
    return ExpectedResponse(
        statuses=tuple(
            sorted(local_name(s) for s in graph.objects(node, MF.expectedStatus))
        ),
        result_format=None if result_format is None else str(result_format),
        boolean=(bool(boolean.toPython()) if isinstance(boolean, Literal) else None),
        location_variable=None if location is None else str(location),
        content_type=content_type,
        body=None if chars is None else str(chars),
    )


def _headers(graph: Graph, node: Node) -> tuple[tuple[str, str], ...]:
    headers = graph.value(node, HT.headers)
    if headers is None:
        return ()
    return tuple(
        (
            str(_one(graph, header, HT.fieldName)),
            str(_one(graph, header, HT.fieldValue)),
        )
        for header in Collection(graph, headers)
    )


def _one(graph: Graph, subject: Node, predicate: URIRef) -> Node:
    value = graph.value(subject, predicate)
    if value is None:
        raise ValueError(f"{subject} has no {predicate}")
    return value


def _file_path(node: Node) -> Path:
    parts = urlsplit(str(node))
    if parts.scheme != "file":
        raise ValueError(f"graph data {node} is not a local file")
    return Path(url2pathname(parts.path))
