"""HTTP limits at the door (:mod:`webapp.server`): the real waitress server refuses
oversized bodies from their headers and oversized header blocks, and half-sent
requests do not keep other clients out."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from mededkg.settings import Config
from tests.conftest import _serve
from webapp import create_app
from webapp.server import body_limit

#: Seconds a raw socket waits for an answer: a guard against hanging, not a bound
#: the test checks.
PATIENCE = 30
ASK = {"query": "ASK { ?s ?p ?o }"}


@pytest.fixture(scope="module")
def door_url(fixture_config: Config) -> Iterator[str]:
    """A live server over the fixture store with the default HTTP limits, its own
    (so the connections these tests hold open reach no other test)."""
    app = create_app(fixture_config.replace(query_workers=0, rate_limit=0))
    yield from _serve(app)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _exchange(url: str, head: bytes) -> bytes:
    """Send *head* on a new connection and read until the server closes it."""
    with socket.create_connection(_address(url), timeout=PATIENCE) as sock:
        # The server may answer and hang up before it has read all of *head*.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def test_flask_body_limit_is_the_setting(fixture_config: Config) -> None:
    app = create_app(fixture_config.replace(query_workers=0, request_body_mb=0.25))
    assert (
        app.config["MAX_CONTENT_LENGTH"]
        == 256 * 1024
        == body_limit(fixture_config.replace(request_body_mb=0.25))
    )
    response = app.test_client().post(
        "/sparql",
        data=b"ASK {}" + b" " * (256 * 1024),
        content_type="application/sparql-query",
    )
    assert response.status_code == 413


@pytest.mark.server
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/sparql", "application/sparql-query"),
        ("/sparql", "application/x-www-form-urlencoded"),
        ("/update", "application/sparql-update"),
    ],
    ids=["sparql-direct", "sparql-form", "update"],
)
def test_50_mb_body_is_refused_before_it_is_sent(
    door_url: str, path: str, content_type: str
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: kg\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
    ).encode()
    answer = _exchange(door_url, head)  # not a byte of the body
    assert _status(answer) == 413, answer[:300]
    assert requests.get(door_url + "/sparql", params=ASK, timeout=PATIENCE).ok


@pytest.mark.server
def test_a_body_within_the_limit_is_read(door_url: str) -> None:
    query = b"ASK { ?s ?p ?o }" + b" " * (32 * 1024)
    response = requests.post(
        door_url + "/sparql",
        data=query,
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
        timeout=PATIENCE,
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["boolean"] is True


@pytest.mark.server
def test_64_kb_header_block_is_refused(door_url: str) -> None:
    head = (
        "GET /sparql HTTP/1.1\r\nHost: kg\r\n"
        + "".join(f"X-Padding-{i}: {'a' * 1000}\r\n" for i in range(64))
        + "\r\n"
    ).encode()
    answer = _exchange(door_url, head)
    assert _status(answer) in (400, 431), answer[:300]
    assert requests.get(door_url + "/sparql", params=ASK, timeout=PATIENCE).ok


@pytest.mark.server
def test_huge_accept_language_is_refused_at_the_door(door_url: str) -> None:
    response = requests.get(
        door_url + "/degrees",
        headers={"Accept-Language": "zh;q=0.5, " * 24_000},
        timeout=PATIENCE,
    )
    assert response.status_code in (400, 431)


@pytest.mark.server
def test_150_half_sent_requests_do_not_keep_a_get_out(door_url: str) -> None:
    idle = []
    try:
        for _ in range(150):
            sock = socket.create_connection(_address(door_url), timeout=PATIENCE)
            sock.sendall(b"GET /sparql HTTP/1.1\r\nHost: kg\r\nX-Slow: ")
            idle.append(sock)
        response = requests.get(
            door_url + "/sparql",
            params=ASK,
            headers={"Accept": "application/sparql-results+json"},
            timeout=PATIENCE,
        )
        assert response.status_code == 200
        assert response.json()["boolean"] is True
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.server
def test_idle_connections_are_closed_after_the_channel_timeout(
    fixture_config: Config,
) -> None:
    app = create_app(fixture_config.replace(query_workers=0, channel_timeout=1))
    for url in _serve(app):
        with socket.create_connection(_address(url), timeout=PATIENCE) as sock:
            sock.sendall(b"GET /sparql HTTP/1.1\r\nHost: kg\r\n")
            # The server closes the half-sent request: end of stream, no answer.
            assert sock.recv(1024) == b""
