"""Differential fuzz of egress: SERVICE, LOAD and FROM hidden every way the grammar
allows (escapes in IRIs and keywords, prefixed names, BASE-relative IRIs, comments,
strings, nested groups, EXISTS, subqueries, variables bound by VALUES/BIND) — and a
canary listener on loopback that must see no connection at all.

At least 10,000 generated texts: 9,000 queries through the real server (default
settings, so through the isolated query workers) and 1,000 updates through the same
isolated child process the update path uses (a sample of them through ``/update``
itself). The old hand-written tokeniser let several of these shapes through.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mededkg import isolation
from mededkg.query.sandbox import run_isolated
from mededkg.settings import Config
from tests.conftest import _serve, make_config, private_store
from tests.test_safety import Canary

pytestmark = pytest.mark.server

TOKEN = "fuzz-token"
QUERY_BATCHES, QUERY_BATCH = 180, 50  # 9,000 queries
UPDATE_BATCHES, UPDATE_BATCH = 10, 100  # 1,000 updates
SENT = {"queries": 0, "updates": 0}


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def url(
    fixture_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("egress-fuzz")
    store_path = private_store(fixture_config, folder)
    config = make_config(
        fixture_config.root,
        store_path,
        update_token=TOKEN,
        rate_limit="0",
        query_timeout="2",
        client_queries="4",
    )
    from webapp import create_app

    yield from _serve(create_app(config))


def _escape(text: str, draw: st.DrawFn) -> str:
    """Write some characters of *text* as ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes."""
    out = []
    for char in text:
        if char.isalnum() and draw(st.integers(0, 4)) == 0:
            out.append(
                draw(st.sampled_from([f"\\u{ord(char):04X}", f"\\U{ord(char):08x}"]))
            )
        else:
            out.append(char)
    return "".join(out)


@st.composite
def targets(draw: st.DrawFn, port: int) -> tuple[str, str]:
    """A way to name the canary: (prologue, term)."""
    iri = f"http://127.0.0.1:{port}/{draw(st.sampled_from(['', 'sparql', 'a/b']))}"
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return "", f"<{iri}>"
    if kind == 1:
        return "", f"<{_escape(iri, draw)}>"
    if kind == 2:
        return f"PREFIX c: <http://127.0.0.1:{port}/>\n", "c:sparql"
    if kind == 3:
        return f"BASE <http://127.0.0.1:{port}/>\n", "<sparql>"
    return "", "?endpoint"


DECOYS = [
    r"BIND(<http://x/\u0041,#> AS ?z)",
    r"VALUES ?z { <http://x/\u0041,#> }",
    '?s <http://e/p> "SERVICE <http://127.0.0.1:9/>" .',
    "?s <http://e/p> '''#' .",
    '?s <http://e/p> "}#" .',
    "# SERVICE <http://127.0.0.1:9/> { }\n",
    "?s <http://e/a>.SERVICE<x> ?o .",
    'FILTER(REGEX(STR(?s), "#"))',
    "OPTIONAL { ?s ?p ?o }",
]


@st.composite
def service_block(draw: st.DrawFn, term: str) -> str:
    keyword = draw(
        st.sampled_from(
            ["SERVICE", "service", "SeRvIcE", r"\u0053ERVICE", "SERV\\u0049CE"]
        )
    )
    silent = draw(st.sampled_from(["", "SILENT ", "silent "]))
    block = f"{keyword} {silent}{term} {{ ?s ?p ?o }}"
    wrap = draw(st.integers(0, 5))
    if wrap == 1:
        block = "{ " + block + " }"
    elif wrap == 2:
        block = f"FILTER EXISTS {{ {block} }}"
    elif wrap == 3:
        block = f"{{ SELECT * WHERE {{ {block} }} }}"
    elif wrap == 4:
        block = f"{{ }} UNION {{ {block} }}"
    elif wrap == 5:
        block = f"MINUS {{ {block} }}"
    return block


@st.composite
def queries(draw: st.DrawFn, port: int) -> str:
    prologue, term = draw(targets(port))
    bind = ""
    if term == "?endpoint":
        bind = draw(
            st.sampled_from(
                [
                    f"VALUES ?endpoint {{ <http://127.0.0.1:{port}/> }}",
                    f"BIND(<http://127.0.0.1:{port}/> AS ?endpoint)",
                    f'BIND(IRI("http://127.0.0.1:{port}/") AS ?endpoint)',
                ]
            )
        )
    decoys = draw(st.lists(st.sampled_from(DECOYS), max_size=3))
    body = " ".join([*decoys, bind, draw(service_block(term))])
    form = draw(st.integers(0, 3))
    if form == 1:
        return f"{prologue}ASK {{ {body} }}"
    if form == 2:
        return f"{prologue}CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {body} }}"
    if form == 3:
        graph = draw(targets(port))[1].replace("?endpoint", "<http://e/g>")
        return f"{prologue}SELECT * FROM {graph} FROM NAMED {graph} WHERE {{ {body} }}"
    return f"{prologue}SELECT * WHERE {{ {body} }}"


@st.composite
def updates(draw: st.DrawFn, port: int) -> str:
    prologue, term = draw(targets(port))
    source = term if term != "?endpoint" else f"<http://127.0.0.1:{port}/>"
    load = draw(st.sampled_from(["LOAD", "load", r"L\u004FAD"]))
    silent = draw(st.sampled_from(["", "SILENT "]))
    into = draw(st.sampled_from(["", " INTO GRAPH <http://e/g>"]))
    operations = [
        f"{load} {silent}{source}{into}",
        "INSERT { ?s ?p ?o } WHERE { " + draw(service_block(term)) + " }",
        r"INSERT DATA { <http://x/\u0041,#> <http://e/p> 1 }",
        "DELETE WHERE { ?s <http://e/none> ?o }",
    ]
    if term == "?endpoint":
        operations[1] = (
            "INSERT { ?s ?p ?o } WHERE { VALUES ?endpoint { <http://127.0.0.1:"
            f"{port}/> }} " + draw(service_block(term)) + " }"
        )
    chosen = draw(st.lists(st.sampled_from(operations), min_size=1, max_size=3))
    decoy = draw(st.sampled_from(["", "# LOAD <http://127.0.0.1:9/>\n"]))
    return prologue + decoy + " ;\n".join(chosen)


def _engine_applies(texts: list[str]) -> int:
    """In a child cut off the network exactly as the update path cuts it, apply each
    update to an empty store; count the ones the engine accepted."""
    if not isolation.cut_network().closed:
        raise AssertionError("this child kept the network")
    accepted = 0
    for text in texts:
        try:
            ox.Store().update(text)
            accepted += 1
        except (SyntaxError, OSError, RuntimeError, ValueError):
            pass
    return accepted


def test_generated_queries_never_reach_the_canary(url: str, canary: Canary) -> None:
    port = canary.port
    http = requests.Session()

    @settings(
        max_examples=QUERY_BATCHES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(st.lists(queries(port), min_size=QUERY_BATCH, max_size=QUERY_BATCH))
    def run(batch: list[str]) -> None:
        for text in batch:
            response = http.post(
                url + "/sparql",
                data=text.encode(),
                headers={"Content-Type": "application/sparql-query"},
                timeout=30,
            )
            SENT["queries"] += 1
            assert response.status_code in (200, 400), (text, response.text)
        assert canary.hits == 0, batch

    run()
    assert SENT["queries"] >= 9000
    assert canary.hits == 0


def test_generated_updates_never_reach_the_canary(url: str, canary: Canary) -> None:
    port = canary.port
    http = requests.Session()
    through_http = 0

    @settings(
        max_examples=UPDATE_BATCHES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(st.lists(updates(port), min_size=UPDATE_BATCH, max_size=UPDATE_BATCH))
    def run(batch: list[str]) -> None:
        nonlocal through_http
        run_isolated(_engine_applies, batch)
        SENT["updates"] += len(batch)
        for text in batch[:5]:  # and a sample through /update itself
            response = http.post(
                url + "/update",
                data=text.encode(),
                headers={
                    "Content-Type": "application/sparql-update",
                    "Authorization": f"Bearer {TOKEN}",
                },
                timeout=120,
            )
            through_http += 1
            assert response.status_code in (204, 400), (text, response.text)
        assert canary.hits == 0, batch

    run()
    assert SENT["updates"] >= 1000 and through_http >= 50
    assert canary.hits == 0
    assert SENT["queries"] + SENT["updates"] >= 10_000 or SENT["queries"] == 0
