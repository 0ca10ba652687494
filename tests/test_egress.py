"""Issue 14's reproductions, each a regression test against a real server with the
default settings: no query or update reaches a canary listener on loopback, however
SERVICE or LOAD is hidden; no single request kills a worker or the server; output is
well-formed or refused; one client cannot hold every worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests

from mededkg import isolation
from mededkg.settings import Config
from tests.conftest import _serve, make_config, private_store
from tests.test_safety import Canary
from webapp import create_app
from webapp.context import EXTENSION, AppState

pytestmark = pytest.mark.server

TOKEN = "egress-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Accept": "application/sparql-results+json"}
PATHOLOGICAL = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
    "?m ?n2 ?o }"
)


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def server(
    fixture_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, AppState]]:
    """`mededkg serve`'s app with the default settings over a private store copy,
    writes on (token), no rate limit."""
    folder = tmp_path_factory.mktemp("egress")
    store_path = private_store(fixture_config, folder)
    config = make_config(
        fixture_config.root, store_path, update_token=TOKEN, rate_limit="0"
    )
    app = create_app(config)
    app_state = app.extensions[EXTENSION]
    assert isinstance(app_state, AppState)
    for url in _serve(app):
        yield url, app_state


def _query(url: str, text: str, accept: str = JSON["Accept"]) -> requests.Response:
    return requests.post(
        url + "/sparql",
        data=text.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": accept},
        timeout=60,
    )


def _update(url: str, text: str) -> requests.Response:
    return requests.post(
        url + "/update",
        data=text.encode(),
        headers={"Content-Type": "application/sparql-update", **AUTH},
        timeout=120,
    )


def _hidden_services(endpoint: str) -> list[str]:
    """The issue's bypasses of the old tokeniser, and their SILENT/VALUES kin."""
    return [
        rf"SELECT ?a {{ BIND(<http://x/\u0041,#> AS ?z) SERVICE <{endpoint}> "
        "{ ?a ?b ?c } }",
        rf"SELECT ?a {{ BIND(<http://x/\u0041,#> AS ?z) SERVICE SILENT <{endpoint}> "
        "{ ?a ?b ?c } }",
        rf"SELECT ?a {{ VALUES ?z {{ <http://x/\u0041,#> }} SERVICE <{endpoint}> "
        "{ ?a ?b ?c } }",
        "PREFIX ex: <http://e/> SELECT ?a { ?a ex:a>.SERVICE<x> ?c . SERVICE "
        f"<{endpoint}> {{ ?a ?b ?c }} }}",
        f"SELECT * {{ SERVICE <{endpoint}> {{ ?a ?b ?c }} }}",
        f"SELECT * {{ \\u0053ERVICE <{endpoint}> {{ ?a ?b ?c }} }}",
        f"SELECT * {{ VALUES ?e {{ <{endpoint}> }} SERVICE ?e {{ ?a ?b ?c }} }}",
    ]


def test_this_host_isolates_query_workers_by_kernel() -> None:
    found = isolation.probe()
    assert found.closed, found
    assert found.namespace or found.seccomp


def test_server_says_how_its_workers_are_isolated(
    server: tuple[str, AppState],
) -> None:
    _, app_state = server
    assert app_state.isolation.closed
    assert "no network" in app_state.isolation.describe()


@pytest.mark.parametrize("index", range(7))
def test_hidden_service_never_reaches_the_canary(
    server: tuple[str, AppState], canary: Canary, index: int
) -> None:
    url, _ = server
    text = _hidden_services(f"http://127.0.0.1:{canary.port}/internal")[index]
    response = _query(url, text)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:  # SILENT: an empty answer, nothing fetched
        assert response.json()["results"]["bindings"] in ([], [{}])
    assert canary.hits == 0


def test_load_after_an_escaped_iri_never_reaches_the_canary(
    server: tuple[str, AppState], canary: Canary
) -> None:
    url, _ = server
    target = f"http://127.0.0.1:{canary.port}/data.ttl"
    for text in (
        rf"INSERT DATA {{ <http://x/\u0041,#> <http://e/p> 1 }} ; "
        f"LOAD SILENT <{target}>",
        f"LOAD <{target}>",
        f"LOAD SILENT <{target}> INTO GRAPH <http://e/g>",
        "INSERT { ?s ?p ?o } WHERE { SERVICE <" + target + "> { ?s ?p ?o } }",
    ):
        response = _update(url, text)
        assert response.status_code in (204, 400), response.text
    assert canary.hits == 0


def test_load_is_refused_with_a_clear_message(server: tuple[str, AppState]) -> None:
    url, _ = server
    response = _update(url, "LOAD <http://127.0.0.1:9/data.ttl>")
    assert response.status_code == 400
    assert "LOAD is not allowed" in response.json()["error"]["message"]


def test_unescapable_character_in_rdfxml_is_406_and_the_worker_lives(
    server: tuple[str, AppState],
) -> None:
    url, app_state = server
    assert app_state.pool is not None
    crashes = app_state.pool.crashes
    text = (
        'CONSTRUCT { <http://e/s> <http://e/p> ?o } WHERE { BIND("a\\u0000b" AS ?o) }'
    )
    response = _query(url, text, "application/rdf+xml")
    assert response.status_code == 406, response.text
    assert "JSON" in response.json()["error"]["message"]
    assert _query(url, "ASK {}").status_code == 200
    assert app_state.pool.crashes == crashes


def test_predicate_without_a_local_name_is_refused_not_ill_formed(
    server: tuple[str, AppState],
) -> None:
    url, _ = server
    text = "CONSTRUCT { <http://e/s> <http://e/1> 1 } WHERE {}"
    response = _query(url, text, "application/rdf+xml")
    if response.status_code == 200:
        ElementTree.fromstring(response.content)  # well-formed, or the test fails
    else:
        assert response.status_code == 406, response.text


def test_control_characters_never_reach_xml_results(
    server: tuple[str, AppState],
) -> None:
    url, _ = server
    for char in ("\\u0000", "\\u0001"):
        text = f'SELECT ?o WHERE {{ BIND("a{char}b" AS ?o) }}'
        response = _query(url, text, "application/sparql-results+xml")
        assert response.status_code == 406, response.text
        assert _query(url, text).status_code == 200  # JSON carries it


@pytest.mark.parametrize("opening", ["(", "{", "["])
def test_deep_nesting_is_400_before_parsing_and_no_worker_dies(
    server: tuple[str, AppState], opening: str
) -> None:
    url, app_state = server
    assert app_state.pool is not None
    crashes = app_state.pool.crashes
    closing = {"(": ")", "{": "}", "[": "]"}[opening]
    text = (
        "SELECT * WHERE { BIND(" + opening * 5000 + "1" + closing * 5000 + " AS ?x) }"
    )
    response = _query(url, text)
    assert response.status_code == 400
    assert "query_max_depth" in response.json()["error"]["message"]
    assert app_state.pool.crashes == crashes


def _hidden_nesting(units: int = 280) -> str:
    """An expression ``units * 60`` parentheses deep that the depth count sees as at
    most 60 deep: after each 60 openers, a string of 60 closers brings the count
    back to 0 (about 52 KB, under the size limit)."""
    unit = "(" * 60 + '"' + ")" * 60 + '" + '
    return unit * units + "1" + ")" * (60 * units)


def test_nesting_hidden_from_the_bound_still_loses_no_worker(
    server: tuple[str, AppState],
) -> None:
    """The depth count is fooled; the engine then parses 16,800 levels, on a stack
    sized for any text the size limit admits: an answer, no crash."""
    url, app_state = server
    assert app_state.pool is not None
    crashes = app_state.pool.crashes
    text = "SELECT * WHERE { BIND(" + _hidden_nesting() + " AS ?x) }"
    assert len(text.encode()) < 64 * 1024
    response = _query(url, text)
    assert response.status_code in (200, 400), response.text
    assert _query(url, "ASK {}").status_code == 200
    assert app_state.pool.crashes == crashes


def test_deep_update_is_400_and_the_server_lives(server: tuple[str, AppState]) -> None:
    url, _ = server
    text = "INSERT { ?s ?p ?o } WHERE { " + "{" * 5000 + "?s ?p ?o" + "}" * 5000 + " }"
    response = _update(url, text)
    assert response.status_code == 400
    assert _query(url, "ASK {}").status_code == 200


def test_update_that_crashes_the_engine_loses_only_its_process(
    server: tuple[str, AppState],
) -> None:
    """16,800 levels hidden from the depth count: the engine parses them in the
    update's own process (8 MB stack: it crashes); the server answers 400 and keeps
    serving, and the store is unchanged."""
    url, _ = server
    before = _query(url, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").json()
    text = "INSERT { <http://e/s> <http://e/p> ?x } WHERE { BIND("
    response = _update(url, text + _hidden_nesting() + " AS ?x) }")
    assert 400 <= response.status_code < 500, response.text
    assert _query(url, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").json() == before


def test_answer_over_the_byte_limit_is_refused_cleanly(
    fixture_config: Config,
) -> None:
    """The issue's 400-byte query that doubles a string: capped, not 537 MB."""
    doubling = "?s0"
    binds = ['BIND("0123456789abcdef" AS ?s0)']
    for level in range(1, 18):  # 16 B * 2^17 = 2 MB
        binds.append(f"BIND(CONCAT(?s{level - 1}, ?s{level - 1}) AS ?s{level})")
        doubling = f"?s{level}"
    text = "SELECT " + doubling + " WHERE { " + " ".join(binds) + " }"
    app = create_app(fixture_config.replace(response_limit_mb=1.0, rate_limit=0))
    for url in _serve(app):
        response = _query(url, text)
        assert response.status_code == 400, response.status_code
        assert "response_limit_mb" in response.json()["error"]["message"]
        assert len(response.content) < 4096


def test_one_client_cannot_hold_every_worker(fixture_config: Config) -> None:
    app = create_app(
        fixture_config.replace(
            query_workers=2,
            client_queries=1,
            query_timeout=2.0,
            queue_timeout=0.5,
            rate_limit=0,
        )
    )
    for url in _serve(app):
        with ThreadPoolExecutor(max_workers=3) as pool:
            attacks = [pool.submit(_query, url, PATHOLOGICAL) for _ in range(3)]
            statuses = sorted(a.result().status_code for a in attacks)
        assert statuses.count(504) == 1, statuses  # one ran into the time limit
        assert statuses.count(429) == 2, statuses  # the others waited their turn
        thread = threading.Thread(target=_query, args=(url, PATHOLOGICAL))
        thread.start()
        # another client (another loopback address) still gets a worker
        session = requests.Session()
        session.mount("http://", _SourceAddress("127.0.0.2"))
        response = session.post(
            url + "/sparql", data={"query": "ASK {}"}, headers=JSON, timeout=30
        )
        assert response.status_code == 200
        thread.join()


class _SourceAddress(requests.adapters.HTTPAdapter):
    """Connect from another loopback address: another client to the server."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]


def test_service_from_a_non_allow_listed_worker_query_names_the_setting(
    server: tuple[str, AppState],
) -> None:
    url, _ = server
    response = _query(url, "SELECT * { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }")
    assert response.status_code == 400
    assert "service_allowlist" in response.json()["error"]["message"]


def test_allow_listed_service_runs_on_the_networked_twin_only(
    fixture_config: Config, live_url: str, canary: Canary
) -> None:
    remote = live_url + "/sparql"
    app = create_app(fixture_config.replace(service_allowlist=(remote,), rate_limit=0))
    app_state = app.extensions[EXTENSION]
    assert app_state.federation_pool is not None
    query = (
        f"SELECT ?h WHERE {{ SERVICE <{remote}> {{ ?h a "
        "<https://w3id.org/mededkg/ontology#Hospital> } }"
    )
    for url in _serve(app):
        response = _query(url, query)
        assert response.status_code == 200, response.text
        assert len(response.json()["results"]["bindings"]) == 1
        hidden = _hidden_services(f"http://127.0.0.1:{canary.port}/internal")
        for text in [*hidden, query.replace(remote, remote + "x")]:
            assert _query(url, text).status_code in (200, 400)
    assert canary.hits == 0


def test_workers_answer_every_engine_error_and_never_crash_here(
    server: tuple[str, AppState],
) -> None:
    url, app_state = server
    assert app_state.pool is not None
    crashes = app_state.pool.crashes
    for text in (
        "SELECT * WHERE { BIND(<http://e/\\uZZZZ> AS ?x) }",
        'SELECT (REGEX("a", "(") AS ?x) WHERE {}',
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
        "DESCRIBE <http://127.0.0.1:9/x>",
        "CONSTRUCT { <http://e/s> <http://e/p> ?o } WHERE { "
        'BIND(STRDT("x", <http://www.w3.org/2001/XMLSchema#int>) AS ?o) }',
    ):
        for accept in (JSON["Accept"], "application/sparql-results+xml", "text/csv"):
            response = _query(url, text, accept)
            assert response.status_code < 500, (text, response.text)
    assert app_state.pool.crashes == crashes


def test_dataset_iri_is_never_fetched(
    server: tuple[str, AppState], canary: Canary, tmp_path: Path
) -> None:
    url, _ = server
    response = _query(
        url, f"SELECT * FROM <http://127.0.0.1:{canary.port}/g> WHERE {{ ?s ?p ?o }}"
    )
    assert response.status_code == 200
    assert canary.hits == 0
