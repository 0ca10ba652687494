"""Load: 32 concurrent clients on loopback — cheap lookups, named (competency)
queries and a few pathological queries — against a real ``mededkg serve``.

Cheap queries keep answering while the pathological ones are cut off at the time
limit (504); no other error; the server's process tree stays under a memory cap; a
client that floods the endpoint gets 429 with ``Retry-After``. Latencies (p50, p99)
are recorded and printed, not asserted: a wall-clock bound fails on a loaded machine
(the latency target is measured by ``bench/``). Every client has its own loopback
source address (127.0.0.x), so the server's per-IP rate limit sees 32 clients, as it
would in production.

The harness is bounded in time and requests and stops by itself; CI runs it for
``MEDEDKG_LOAD_SECONDS`` (default 10) seconds, ``bench/load.py`` for longer.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from requests.adapters import HTTPAdapter

from mededkg.settings import Config
from tests.serving import kill_session, start_serve

SECONDS = float(os.environ.get("MEDEDKG_LOAD_SECONDS", "10"))
CLIENTS = 32
#: Server sizing: 4 query workers (one may be busy with a pathological query, three
#: serve the rest), 16 HTTP threads, a 3 s time limit (a cheap query must not meet it
#: on a loaded machine), 20 requests/s per client.
SERVER_OPTIONS = {
    "query-workers": "4",
    "threads": "16",
    "query-timeout": "3",
    "queue-timeout": "5",
    "rate-limit": "20",
    "rate-burst": "20",
    "worker-memory-mb": "1024",
}
#: Connections the flooding client opens at once.
FLOOD_CONNECTIONS = 4
#: Cap on the resident memory of the server and its workers together.
MEMORY_CAP_MB = 1024 + 4 * 512
PATHOLOGICAL = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
    "?m ?n2 ?o }"
)
CHEAP = (
    "ASK { <https://w3id.org/mededkg/id/organization/ror-example> ?p ?o }",
    "SELECT ?label WHERE { <https://w3id.org/mededkg/id/organization/ror-example> "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label }",
    "SELECT ?s WHERE { ?s a <https://w3id.org/mededkg/ontology#Hospital> } LIMIT 5",
)


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a given local address (each client its own 127.0.0.x)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_session(address: str) -> requests.Session:
    """A session whose connections come from *address*."""
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(address))
    return session


@dataclass
class Record:
    """Latencies and statuses by kind of request."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    retry_after: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, response: requests.Response) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses.setdefault(kind, Counter())[response.status_code] += 1
            if response.status_code == 429:
                self.retry_after.append(response.headers.get("Retry-After", ""))
            elif response.status_code not in (200, 504) and len(self.errors) < 20:
                self.errors.append(f"{kind} {response.status_code}: {response.text}")


def p99(values: list[float]) -> float:
    """The 99th percentile of *values* (0 when empty)."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def start_server(store: Path, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``mededkg serve`` over *store* on a free loopback port; its URL without the
    final ``/``."""
    options = [item for k, v in SERVER_OPTIONS.items() for item in (f"--{k}", v)]
    served = start_serve("--root", str(root), "--store-path", str(store), *options)
    SERVER_LOGS[served.process.pid] = served.log
    return served.process, served.url.rstrip("/")


#: The last lines each server (by pid) wrote to stderr after starting, to explain a
#: failure.
SERVER_LOGS: dict[int, list[str]] = {}

#: Stop the server and its query workers (``bench/load.py`` uses it too).
stop_server = kill_session


def tree_rss_mb(pid: int) -> float:
    """Resident memory of process *pid* and its children, in MB."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 1024 / 1024


def run_load(
    url: str,
    *,
    seconds: float,
    server_pid: int,
    named: tuple[str, ...] = ("hospitals",),
    flood_from: float = 0.4,
    flood_for: float = 3.0,
    pause: tuple[float, float] = (0.05, 0.25),
    seed: int = 7,
) -> dict[str, Any]:
    """Drive *url* with :data:`CLIENTS` clients for *seconds*; return the figures.

    Clients 0–1 send the pathological query (then think 0.5 s); the others pick a
    cheap lookup (70 %) or a named query (30 %) and think *pause* seconds (50–250 ms
    by default), as a person or a polite script would. One extra client
    (127.0.0.250) floods cheap queries with no pause over :data:`FLOOD_CONNECTIONS`
    connections at once from ``flood_from × seconds`` for *flood_for* seconds. (Over
    one connection a flood is only as fast as the server answers: on a loaded machine
    that can stay under the rate limit, and then nothing is wrong in being served.)
    """
    record = Record()
    stop = time.monotonic() + seconds
    memory: list[float] = []

    def client(number: int) -> None:
        rng = random.Random(seed + number)
        session = client_session(f"127.0.0.{10 + number}")
        with session:
            while time.monotonic() < stop:
                if number < 2:
                    kind, params, path = (
                        "pathological",
                        {"query": PATHOLOGICAL},
                        "/sparql",
                    )
                elif rng.random() < 0.7:
                    kind, params, path = (
                        "cheap",
                        {"query": rng.choice(CHEAP)},
                        "/sparql",
                    )
                else:
                    kind, params, path = (
                        "named",
                        {},
                        f"/api/queries/{rng.choice(named)}",
                    )
                start = time.monotonic()
                response = session.get(
                    url + path,
                    params=params,
                    headers={"Accept": "application/sparql-results+json"},
                    timeout=30,
                )
                record.add(kind, time.monotonic() - start, response)
                time.sleep(0.5 if number < 2 else rng.uniform(*pause))

    def flooder() -> None:
        time.sleep(seconds * flood_from)
        end = min(stop, time.monotonic() + flood_for)
        with client_session("127.0.0.250") as session:
            while time.monotonic() < end:
                start = time.monotonic()
                response = session.get(
                    url + "/sparql", params={"query": "ASK {}"}, timeout=30
                )
                record.add("flood", time.monotonic() - start, response)

    def sampler() -> None:
        while time.monotonic() < stop:
            memory.append(tree_rss_mb(server_pid))
            time.sleep(0.25)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    threads += [threading.Thread(target=flooder) for _ in range(FLOOD_CONNECTIONS)]
    threads.append(threading.Thread(target=sampler))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    cheap = record.latencies.get("cheap", [])
    named_latencies = record.latencies.get("named", [])
    return {
        "seconds": seconds,
        "clients": CLIENTS,
        "pause_s": list(pause),
        "server": SERVER_OPTIONS,
        "requests": {k: sum(v.values()) for k, v in record.statuses.items()},
        "statuses": {
            k: {str(s): n for s, n in sorted(v.items())}
            for k, v in record.statuses.items()
        },
        "cheap_p50_ms": round(statistics.median(cheap) * 1000, 1) if cheap else None,
        # over the whole run, which contains the flood and the pathological queries
        "cheap_p99_ms": round(p99(cheap) * 1000, 1),
        "named_p99_ms": round(p99(named_latencies) * 1000, 1),
        "pathological_max_s": round(max(record.latencies.get("pathological", [0])), 2),
        "retry_after": sorted(set(record.retry_after)),
        "unexpected": record.errors,
        "server_log": [
            line
            for line in SERVER_LOGS.get(server_pid, [])
            if "queue depth" not in line
        ][-10:],
        "memory_max_mb": round(max(memory), 1) if memory else None,
        "memory_cap_mb": MEMORY_CAP_MB,
    }


@pytest.fixture(scope="module")
def load_server(fixture_config: Config) -> Iterator[tuple[str, int]]:
    """A real ``mededkg serve`` over the fixture store, sized for the load test."""
    process, url = start_server(fixture_config.store_path, fixture_config.root)
    try:
        yield url, process.pid
    finally:
        stop_server(process)


@pytest.fixture(scope="module")
def figures(load_server: tuple[str, int]) -> dict[str, Any]:
    """One bounded load run (warmed up first)."""
    url, pid = load_server
    with client_session("127.0.0.9") as warm:
        for query in CHEAP:
            warm.get(url + "/sparql", params={"query": query}, timeout=30)
    result = run_load(url, seconds=SECONDS, server_pid=pid)
    print("\nload:", result)
    return result


@pytest.mark.server
def test_cheap_queries_answer_while_pathological_ones_are_cut_off(
    figures: dict[str, Any],
) -> None:
    assert figures["statuses"]["pathological"].get("504", 0) > 0
    assert figures["statuses"]["cheap"].get("200", 0) > 0, figures


@pytest.mark.server
def test_only_the_intended_timeouts_and_429s_occur(figures: dict[str, Any]) -> None:
    statuses = figures["statuses"]
    assert set(statuses["cheap"]) == {"200"}, statuses
    assert set(statuses["named"]) == {"200"}, statuses
    assert set(statuses["pathological"]) <= {"504"}, statuses
    assert set(statuses["flood"]) <= {"200", "429"}, statuses


@pytest.mark.server
def test_a_flooding_client_gets_429_with_retry_after(figures: dict[str, Any]) -> None:
    assert figures["statuses"]["flood"].get("429", 0) > 0
    assert figures["retry_after"] and all(
        value.isdigit() and int(value) >= 1 for value in figures["retry_after"]
    )


@pytest.mark.server
def test_server_memory_stays_under_the_cap(figures: dict[str, Any]) -> None:
    assert figures["memory_max_mb"] is not None
    assert figures["memory_max_mb"] < MEMORY_CAP_MB


def test_rate_limit_is_per_client_address(fixture_config: Config) -> None:
    from webapp import create_app

    app = create_app(
        fixture_config.replace(query_workers=0, rate_limit=1, rate_burst=2)
    )
    client = app.test_client()
    query = {"query": "ASK {}"}
    flooder = [
        client.get(
            "/sparql", query_string=query, environ_base={"REMOTE_ADDR": "10.9.9.9"}
        )
        for _ in range(4)
    ]
    assert [r.status_code for r in flooder] == [200, 200, 429, 429]
    assert flooder[-1].headers["Retry-After"] == "1"
    assert flooder[-1].get_json()["error"]["status"] == 429
    other = client.get(
        "/sparql", query_string=query, environ_base={"REMOTE_ADDR": "10.1.1.1"}
    )
    assert other.status_code == 200
    page = client.get("/", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert page.status_code == 429  # pages run queries too: the same bucket
    static = client.get("/static/mededkg.css", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    static.close()  # a file response: close it here, not in some later test's GC
    assert static.status_code == 200


def test_every_response_carries_the_security_headers(fixture_config: Config) -> None:
    from webapp import create_app

    client = create_app(fixture_config.replace(query_workers=0)).test_client()
    for path in ("/", "/sparql?query=ASK%7B%7D", "/api/queries", "/nope"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"]
