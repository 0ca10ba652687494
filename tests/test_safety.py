"""Safety of the public endpoint: hard time limits, overload, concurrency, and no
request that makes the server open a connection or read a file."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask

from mededkg.settings import Config
from tests.conftest import _serve
from webapp import create_app

# A five-way cartesian product under COUNT: no row until the end, which never comes.
PATHOLOGICAL = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
    "?m ?n2 ?o }"
)
CHEAP = "ASK { ?s ?p ?o }"


@pytest.fixture(scope="module")
def limited_url(fixture_config: Config) -> Iterator[str]:
    app = create_app(
        fixture_config.replace(
            query_timeout=2.0,
            query_workers=2,
            queue_timeout=1.0,
            rate_limit=0,
            client_queries=8,  # one test client plays several (per-client cap: 429)
        )
    )
    yield from _serve(app)


class Canary:
    """A listener on loopback that records every connection made to it."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.hits = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.server.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


def _service_query(endpoint: str) -> str:
    return f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}"


def _get(url: str, query: str, timeout: float = 30) -> requests.Response:
    return requests.get(
        url + "/sparql",
        params={"query": query},
        timeout=timeout,
        headers={"Accept": "application/sparql-results+json"},
    )


def _wait_for_workers(url: str, workers: int) -> None:
    """Until *workers* cheap queries at once are all answered 200 (bounded)."""
    for _ in range(120):
        with ThreadPoolExecutor(max_workers=workers) as pool:
            statuses = list(
                pool.map(lambda _: _get(url, CHEAP).status_code, range(workers))
            )
        if statuses == [200] * workers:
            return
        time.sleep(0.5)
    raise AssertionError(f"{workers} query workers never answered together")


@pytest.mark.server
def test_pathological_query_is_stopped_and_others_keep_answering(
    limited_url: str,
) -> None:
    _wait_for_workers(limited_url, 2)  # both up (slow to start on a loaded machine)
    outcome: dict[str, object] = {}

    def attack() -> None:
        start = time.monotonic()
        response = _get(limited_url, PATHOLOGICAL)
        outcome["status"] = response.status_code
        outcome["seconds"] = time.monotonic() - start
        outcome["body"] = response.json()

    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(0.2)
    latencies = []
    while attacker.is_alive():
        start = time.monotonic()
        cheap = _get(limited_url, CHEAP)
        assert cheap.status_code == 200, cheap.text
        assert cheap.json()["boolean"] is True
        latencies.append(time.monotonic() - start)
    attacker.join()
    print(
        f"\nstopped after {outcome['seconds']:.2f} s; {len(latencies)} cheap "
        f"queries meanwhile, the slowest {max(latencies, default=0):.3f} s"
    )
    assert outcome["status"] == 504
    assert "time limit" in outcome["body"]["error"]["message"]  # type: ignore[index]
    assert latencies  # each answered true (asserted in the loop) while it ran
    # the killed worker was replaced: the endpoint still answers
    assert _get(limited_url, CHEAP).status_code == 200


@pytest.mark.server
def test_saturated_workers_give_503_with_retry_after(limited_url: str) -> None:
    _wait_for_workers(limited_url, 2)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: _get(limited_url, PATHOLOGICAL), range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert 503 in statuses and 504 in statuses
    overloaded = next(r for r in responses if r.status_code == 503)
    assert overloaded.headers["Retry-After"] == "5"


@pytest.mark.server
def test_32_simultaneous_first_queries_all_succeed(fixture_config: Config) -> None:
    app = create_app(fixture_config.replace(queue_timeout=30.0, client_queries=32))
    query = "SELECT ?s WHERE { ?s a ?type } ORDER BY ?s LIMIT 5"
    for url in _serve(app):
        with ThreadPoolExecutor(max_workers=32) as pool:
            responses = list(pool.map(_get, [url] * 32, [query] * 32))
        assert [r.status_code for r in responses] == [200] * 32
        assert len({r.text for r in responses}) == 1


def test_service_is_refused_and_never_connects(
    client_app: Flask, canary: Canary
) -> None:
    query = _service_query(f"http://127.0.0.1:{canary.port}/sparql")
    response = client_app.test_client().get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    time.sleep(0.3)
    assert canary.hits == 0


def test_from_external_iri_is_not_fetched(
    client_app: Flask, canary: Canary, tmp_path: Path
) -> None:
    secret = tmp_path / "canary.ttl"
    secret.write_text('<http://e/s> <http://e/p> "CANARY-FILE-CONTENT" .\n')
    for source in (f"http://127.0.0.1:{canary.port}/data.ttl", secret.as_uri()):
        query = f"SELECT * FROM <{source}> WHERE {{ ?s ?p ?o }}"
        response = client_app.test_client().get(
            "/sparql", query_string={"query": query}
        )
        assert response.status_code == 200
        assert "CANARY" not in response.get_data(as_text=True)
        assert response.get_json()["results"]["bindings"] == []
    time.sleep(0.3)
    assert canary.hits == 0


def test_allow_listed_service_reaches_that_endpoint_only(
    fixture_config: Config, live_url: str, canary: Canary
) -> None:
    remote = live_url + "/sparql"
    app = create_app(
        fixture_config.replace(service_allowlist=(remote,), query_workers=0)
    )
    query = (
        f"SELECT ?h WHERE {{ SERVICE <{remote}> {{ ?h a "
        "<https://w3id.org/mededkg/ontology#Hospital> } }"
    )
    response = app.test_client().get("/sparql", query_string={"query": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["results"]["bindings"]) == 1
    other = _service_query(f"http://127.0.0.1:{canary.port}/sparql")
    assert (
        app.test_client().get("/sparql", query_string={"query": other}).status_code
        == 400
    )
    assert canary.hits == 0


def test_error_bodies_are_small_and_hide_internals(client_app: Flask) -> None:
    huge = "SELECT * WHERE { " + "?s ?p ?o . " * 5000 + " BROKEN"
    response = client_app.test_client().post("/sparql", data={"query": huge})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert len(body.encode()) <= 2048
    for leak in ("Traceback", "/work/", "site-packages", '.py"'):
        assert leak not in body


def test_body_too_large_is_413(client_app: Flask) -> None:
    response = client_app.test_client().post(
        "/sparql",
        data="ASK {} #" + "x" * (2 * 1024 * 1024),
        content_type="application/sparql-query",
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413


@pytest.fixture(scope="module")
def client_app(fixture_config: Config) -> Flask:
    return create_app(fixture_config.replace(query_workers=0))


def test_named_query_url_never_reads_another_file(
    client_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.rq").write_text("#+ title: secret\nASK { ?s ?p ?o }\n")
    for name in ("secret.rq", "..%2Fsecret", "hospitals"):
        response = client_app.test_client().get(f"/api/queries/{name}")
        expected = 200 if name == "hospitals" else 404
        assert response.status_code == expected, name
