"""`mededkg serve` — the quick start's run command — as a real process."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
import requests

from mededkg.settings import Config
from tests.conftest import FIXTURE_ROOT
from tests.serving import kill_session, start_serve


@pytest.mark.server
def test_serve_builds_when_there_is_no_store_then_answers(tmp_path: Path) -> None:
    served = start_serve(
        "--root", str(FIXTURE_ROOT), "--store-path", str(tmp_path / "store")
    )
    url = served.url
    try:
        assert any("building it first" in line for line in served.startup)
        response = requests.get(
            url + "sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D",
            headers={"Accept": "application/sparql-results+json"},
            timeout=10,
        )
        assert response.json()["boolean"] is True
        home = requests.get(url, timeout=10)
        assert home.status_code == 200 and "Named graphs" in home.text
    finally:
        kill_session(served.process)


@pytest.mark.server
def test_query_workers_die_with_the_server_even_killed_mid_query(
    fixture_config: Config,
) -> None:
    """SIGKILL the server while a worker runs a query that would never end: no
    worker may go on without a parent to enforce the time limit."""
    served = start_serve(
        "--root", str(FIXTURE_ROOT), "--store-path", str(fixture_config.store_path)
    )
    try:
        assert any("query workers have no network" in line for line in served.startup)
        server = psutil.Process(served.process.pid)
        workers = _workers(server)
        assert workers
        endless = (
            "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
            "?j ?k ?l . ?m ?n2 ?o }"
        )
        with contextlib.suppress(requests.RequestException):
            requests.get(served.url + "sparql", params={"query": endless}, timeout=1)
        os.kill(served.process.pid, signal.SIGKILL)
        served.process.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == [], [p.pid for p in alive]
    finally:
        kill_session(served.process)


def _workers(server: psutil.Process) -> list[psutil.Process]:
    """The server's query workers (spawned Python children, once they are up)."""
    for _ in range(100):
        found = [
            child
            for child in server.children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        if len(found) >= 4:
            return found
        time.sleep(0.1)
    return found
