"""The remote back-end's HTTP client (mededkg.storage.remote.http) against a real
HTTP server on loopback: what is repeated, what is not, and how errors read."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pyoxigraph as ox
import pytest

from mededkg.storage.remote import Http, RemoteHTTPError, RemoteUnavailable
from mededkg.storage.remote.reader import _BlankNodeLabels
from tests.backends import free_port


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 with ``Retry-After: 0`` to the first request, then 200."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append(self.command)
        if len(self.seen) == 1:
            body = b"busy, come back later"
            self.send_response(503)
            self.send_header("Retry-After", "0")
        else:
            body = b"ok"
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/query"
    finally:
        server.shutdown()
        server.server_close()


def test_an_idempotent_request_is_repeated_after_a_503(flaky: str) -> None:
    http = Http(backoff=0.01)
    response = http.open("POST", flaky, body=b"q", timeout=10, idempotent=True)
    assert response.status == 200
    assert response.read() == b"ok"
    assert http.retries == 1
    assert _Flaky.seen == ["POST", "POST"]


def test_a_request_that_may_not_repeat_reports_the_503(flaky: str) -> None:
    http = Http(backoff=0.01)
    with pytest.raises(RemoteHTTPError) as caught:
        http.open("POST", flaky, body=b"update", timeout=10, idempotent=False)
    assert caught.value.status == 503
    assert "busy, come back later" in str(caught.value)
    assert http.retries == 0
    assert _Flaky.seen == ["POST"]


def test_no_retry_starts_after_the_deadline(flaky: str) -> None:
    # the deadline has passed already: the 503 is the answer, nothing is repeated
    http = Http(backoff=0.01)
    with pytest.raises(RemoteHTTPError):
        http.open("GET", flaky, timeout=10, idempotent=True, deadline=0.0)
    assert _Flaky.seen == ["GET"]


def test_a_refused_connection_is_unavailable_not_a_timeout() -> None:
    # urllib3 files a refused connection under its timeouts; it is not one
    url = f"http://127.0.0.1:{free_port()}/query"
    http = Http(attempts=2, backoff=0.01)
    with pytest.raises(RemoteUnavailable, match="cannot reach the SPARQL server"):
        http.open("POST", url, body=b"q", timeout=10, idempotent=False)
    assert http.retries == 1  # never sent, so repeated even though not idempotent


# --- Virtuoso's blank-node labels in JSON results ------------------------------------
VIRTUOSO_JSON = (
    b'{ "head": { "link": [], "vars": ["s", "o"] },\n'
    b'  "results": { "distinct": false, "ordered": true, "bindings": [\n'
    b'    { "s": { "type": "bnode", "value": "nodeID://b10024" },'
    b' "o": { "type": "literal", "value": "\\"type\\": \\"bnode\\", nodeID://x" }},\n'
    b'    { "s": { "type": "bnode", "value": "nodeID://b10024" },'
    b' "o": { "type": "bnode", "value": "nodeID://b10025" }} ] } }'
)


class _Chunks(io.RawIOBase):
    """A body that arrives *size* bytes at a time."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__()
        self.data, self.size = data, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(self.size, len(buffer))
        out, self.data = self.data[:size], self.data[size:]
        buffer[: len(out)] = out
        return len(out)


@pytest.mark.parametrize("size", [1, 2, 7, 37, 38, 39, 64, 4096])
def test_virtuoso_blank_node_labels_parse_whatever_the_chunks(size: int) -> None:
    stream = io.BufferedReader(_BlankNodeLabels(_Chunks(VIRTUOSO_JSON, size)))
    rows = list(ox.parse_query_results(stream, ox.QueryResultsFormat.JSON))
    first, second = rows
    assert isinstance(first["s"], ox.BlankNode) and first["s"] == second["s"]
    assert isinstance(second["o"], ox.BlankNode) and second["o"] != second["s"]
    # A literal that reads like a label is left as it was.
    assert first["o"] == ox.Literal('"type": "bnode", nodeID://x')


@pytest.mark.parametrize("size", [1, 5, 40])
def test_virtuoso_blank_node_labels_read_in_small_pieces_lose_nothing(
    size: int,
) -> None:
    raw = _BlankNodeLabels(_Chunks(VIRTUOSO_JSON, 4096))
    pieces = []
    while piece := raw.read(size):
        pieces.append(piece)
    expected = VIRTUOSO_JSON.replace(_BlankNodeLabels.LABEL, _BlankNodeLabels.READABLE)
    assert b"".join(pieces) == expected
    assert max(len(p) for p in pieces) <= size
