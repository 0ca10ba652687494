"""``webapp.wsgi:create`` behind a WSGI server that is not waitress (granian, a real
process): the app's own guarantees hold whoever speaks HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pytest
import requests
from SPARQLWrapper import JSON, SPARQLWrapper

from mededkg.errors import StoreNotFound
from mededkg.settings import Config
from tests.conftest import FIXTURE_ROOT
from tests.serving import kill_session
from tests.test_safety import PATHOLOGICAL, Canary
from webapp.security import HEADERS
from webapp.wsgi import create

GRANIAN = Path(sys.executable).parent / "granian"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _granian(fixture_config: Config, folder: Path, **settings: str) -> Iterator[str]:
    """The fixture store served by granian through ``webapp.wsgi:create``, with
    *settings* (``MEDEDKG_<NAME>``) over the defaults. A free port can be taken by
    another server before granian binds it: then it exits, and another port is
    tried (its stderr is in the message if all three fail)."""
    env = dict(
        os.environ,
        MEDEDKG_ROOT=str(FIXTURE_ROOT),
        MEDEDKG_STORE_PATH=str(fixture_config.store_path),
        **{"MEDEDKG_" + name.upper(): value for name, value in settings.items()},
    )
    said = ""
    for attempt in range(3):
        log_path = folder / f"stderr-{attempt}.txt"
        with log_path.open("wb") as log:
            process, url = _start_granian(env, log)
        try:
            if _answers(process, url):
                yield url
                return
        finally:
            kill_session(process)
        said = log_path.read_text(errors="replace")
    raise AssertionError("granian did not serve the app: " + said[-3000:])


@pytest.fixture(scope="module")
def granian_url(
    fixture_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app behind granian with the default settings but a 2-s time limit and
    results cut at 5 rows."""
    folder = tmp_path_factory.mktemp("granian")
    yield from _granian(fixture_config, folder, query_timeout="2", result_limit="5")


@pytest.fixture(scope="module")
def busy_granian_url(
    fixture_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Two query workers, 1 s in the queue at most, no rate limit: as
    test_safety's ``limited_url``, behind granian."""
    folder = tmp_path_factory.mktemp("granian-busy")
    yield from _granian(
        fixture_config,
        folder,
        query_timeout="2",
        query_workers="2",
        queue_timeout="1",
        rate_limit="0",
        client_queries="8",
    )


@pytest.fixture(scope="module")
def rate_limited_granian_url(
    fixture_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One query a second per client, bursts of three."""
    folder = tmp_path_factory.mktemp("granian-rate")
    yield from _granian(fixture_config, folder, rate_limit="1", rate_burst="3")


def _start_granian(
    env: dict[str, str], log: IO[bytes]
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(GRANIAN), "--interface", "wsgi", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "webapp.wsgi:create"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        start_new_session=True,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}/"


def _answers(process: subprocess.Popen[bytes], url: str) -> bool:
    """Wait up to 60 s for *url* to answer; False if the process exited first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            requests.get(url + "sparql?query=ASK%7B%7D", timeout=5)
            return True
        except requests.ConnectionError:
            time.sleep(0.2)
    return False


def test_a_sparql_client_gets_answers_through_granian(granian_url: str) -> None:
    client = SPARQLWrapper(granian_url + "sparql")
    client.setQuery("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    client.setReturnFormat(JSON)
    result = client.query().convert()
    assert isinstance(result, dict)
    assert int(result["results"]["bindings"][0]["n"]["value"]) > 0


def test_security_headers_and_the_parser_message_through_granian(
    granian_url: str,
) -> None:
    response = requests.get(
        granian_url + "sparql", params={"query": "SELEC * {"}, timeout=10
    )
    assert response.status_code == 400
    assert "malformed query" in response.text
    for name, value in HEADERS.items():
        assert response.headers[name] == value


def test_the_hard_time_limit_holds_through_granian(granian_url: str) -> None:
    response = requests.get(
        granian_url + "sparql", params={"query": PATHOLOGICAL}, timeout=30
    )
    assert response.status_code == 504
    after = requests.get(granian_url + "sparql?query=ASK%7B%7D", timeout=10)
    assert after.status_code == 200


def test_a_result_is_cut_at_the_row_limit_and_flagged_through_granian(
    granian_url: str,
) -> None:
    response = requests.get(
        granian_url + "sparql",
        params={"query": "SELECT * WHERE { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) == 5
    assert response.headers["MedEdKG-Result-Truncated"] == "true; limit=5"


def test_a_body_over_the_limit_is_refused_through_granian(granian_url: str) -> None:
    response = requests.post(
        granian_url + "sparql",
        data=b"ASK {}" + b" " * (2 * 1024 * 1024),  # request_body_mb is 1
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["status"] == 413


def test_the_public_endpoint_stays_read_only_through_granian(granian_url: str) -> None:
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    refused = requests.post(granian_url + "sparql", data={"update": update}, timeout=10)
    assert refused.status_code == 400 and "does not run updates" in refused.text
    no_token = requests.post(
        granian_url + "update", data={"update": update}, timeout=10
    )
    assert no_token.status_code == 403  # no update_token configured: no writes at all


def test_create_names_the_store_that_was_never_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDEDKG_STORE_PATH", str(tmp_path / "nothing"))
    with pytest.raises(StoreNotFound, match="nothing"):
        create()


def test_a_flooding_client_gets_429_with_retry_after_through_granian(
    rate_limited_granian_url: str,
) -> None:
    statuses = []
    for _ in range(10):
        response = requests.get(
            rate_limited_granian_url + "sparql",
            params={"query": "ASK { ?s ?p ?o }"},
            timeout=10,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["status"] == 429
            for name, value in HEADERS.items():
                assert response.headers[name] == value
    assert statuses[0] == 200
    assert 429 in statuses


def test_saturated_workers_give_503_with_retry_after_through_granian(
    busy_granian_url: str,
) -> None:
    def endless(_: int) -> requests.Response:
        return requests.get(
            busy_granian_url + "sparql",
            params={"query": PATHOLOGICAL},
            headers={"Accept": "application/sparql-results+json"},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(endless, range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert 503 in statuses and 504 in statuses, statuses
    overloaded = next(r for r in responses if r.status_code == 503)
    assert overloaded.headers["Retry-After"] == "5"
    after = requests.get(busy_granian_url + "sparql?query=ASK%7B%7D", timeout=10)
    assert after.status_code == 200


@pytest.fixture
def canary() -> Iterator[Canary]:
    """A loopback listener that counts the connections made to it."""
    listener = Canary()
    yield listener
    listener.close()


def test_service_is_refused_and_never_connects_through_granian(
    granian_url: str, canary: Canary
) -> None:
    query = (
        f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{canary.port}/sparql> "
        "{ ?s ?p ?o } }"
    )
    response = requests.get(granian_url + "sparql", params={"query": query}, timeout=10)
    assert response.status_code == 400
    # the isolated worker's system call was refused: the engine's own error says so
    assert "service_allowlist" in response.json()["error"]["message"]
    time.sleep(0.3)
    assert canary.hits == 0
