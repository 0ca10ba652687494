"""The write path: ``/update`` (SPARQL 1.1 Update) and the core of every write —
staged, reasoned, SHACL-validated, committed atomically, durable across ``kill -9``."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from mededkg.namespaces import graph_iri
from mededkg.pipeline.build import build
from mededkg.pipeline.write import (
    UpdateError,
    WriteError,
    post_graph,
    prepare_update,
    run_update,
)
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore
from mededkg.storage.embedded import builds_dir, write_lock
from tests.conftest import FIXTURE_ROOT, _serve, make_config
from tests.serving import kill_session, start_serve
from webapp import create_app

TOKEN = "s3cret-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UPDATE = "application/sparql-update"
M = "https://w3id.org/mededkg/ontology#"
BASE = "https://w3id.org/mededkg/"
EXTRA = f"{BASE}graph/extra"


def insert(iri: str, code: str = "1234567890", graph: str = EXTRA) -> str:
    """An INSERT DATA of one medical university with MOE code *code*."""
    return (
        f"PREFIX m: <{M}> INSERT DATA {{ GRAPH <{graph}> {{ <{iri}> a "
        f'm:MedicalUniversity ; m:moeCode "{code}" }} }}'
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture project built once; each test gets a copy of this build."""
    config = make_config(FIXTURE_ROOT, tmp_path_factory.mktemp("template") / "store")
    build(config)
    return config.store_path.resolve()


def fresh_config(template: Path, folder: Path, **overrides: object) -> Config:
    """Settings over a private copy of the built fixture store in *folder*."""
    store_path = folder / "store"
    target = builds_dir(store_path) / "copy"
    shutil.copytree(template, target)
    os.symlink(os.path.relpath(target, folder), store_path)
    settings: dict[str, object] = {"update_token": TOKEN, "query_workers": 0}
    settings.update(overrides)
    return make_config(FIXTURE_ROOT, store_path, **settings)


@pytest.fixture
def config(template: Path, tmp_path: Path) -> Config:
    """Settings with a token, over a private store."""
    return fresh_config(template, tmp_path)


@pytest.fixture
def client(config: Config) -> FlaskClient:
    """A test client of an app that accepts writes."""
    return create_app(config).test_client()


def ask(client: FlaskClient, query: str) -> bool:
    response = client.get(
        "/sparql",
        query_string={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return bool(response.get_json()["boolean"])


def post_update(client: FlaskClient, text: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/update",
        data=text.encode(),
        headers={**AUTH, "Content-Type": UPDATE, **headers},
    )


# --- switched off unless configured; bearer token ----------------------------------
def test_writes_are_refused_without_a_configured_token(
    template: Path, tmp_path: Path
) -> None:
    client = create_app(fresh_config(template, tmp_path, update_token="")).test_client()
    for response in (
        client.post("/update", data="CLEAR ALL", headers={"Content-Type": UPDATE}),
        client.put("/graph-store?default", data="", headers=AUTH),
        client.get("/graph-store?default", headers=AUTH),
    ):
        assert response.status_code == 403
        assert "read-only" in response.get_json()["error"]["message"]
        assert "update_token" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer"],
    ids=["missing", "wrong-token", "basic-scheme", "no-scheme", "empty-bearer"],
)
def test_a_write_without_the_right_token_is_401(
    client: FlaskClient, authorization: str | None
) -> None:
    headers = {"Content-Type": UPDATE}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.post("/update", data=insert(f"{BASE}id/x"), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not ask(client, f"ASK {{ <{BASE}id/x> ?p ?o }}")


# --- /update ----------------------------------------------------------------------
def test_insert_data_is_committed_reasoned_and_queryable(
    client: FlaskClient, config: Config
) -> None:
    before = config.store_path.resolve()
    response = post_update(client, insert(f"{BASE}id/institution/new"))
    assert response.status_code == 204
    assert config.store_path.resolve() != before  # a new build, swapped in
    assert ask(
        client, f"ASK {{ GRAPH <{EXTRA}> {{ <{BASE}id/institution/new> ?p ?o }} }}"
    )
    # the inferred graph was recomputed from the asserted data
    inferred = graph_iri(BASE, "inferred")
    assert ask(
        client,
        f"ASK {{ GRAPH <{inferred}> {{ <{BASE}id/institution/new> a "
        f"<{M}Organization> }} }}",
    )
    reopened = EmbeddedStore.open(config.store_path)
    assert any(reopened.quads(EXTRA))


def test_update_by_form_with_protocol_dataset(client: FlaskClient) -> None:
    setup = post_update(
        client,
        "INSERT DATA { GRAPH <http://ex/a> { <http://ex/s> a <http://ex/Doc> } "
        "GRAPH <http://ex/b> { <http://ex/t> a <http://ex/Doc> } }",
    )
    assert setup.status_code == 204
    response = client.post(
        "/update?using-graph-uri=http%3A%2F%2Fex%2Fa",
        data={
            "update": "INSERT { GRAPH <http://ex/out> { ?s a <http://ex/Seen> } } "
            "WHERE { ?s a <http://ex/Doc> }"
        },
        headers=AUTH,
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    assert ask(client, "ASK { GRAPH <http://ex/out> { <http://ex/s> ?p ?o } }")
    assert not ask(client, "ASK { GRAPH <http://ex/out> { <http://ex/t> ?p ?o } }")


def test_relative_iris_resolve_against_the_endpoint(client: FlaskClient) -> None:
    response = post_update(
        client,
        "INSERT DATA { GRAPH <http://ex/base> { <http://ex/s> <http://ex/p> <t> } }",
    )
    assert response.status_code == 204
    assert ask(client, "ASK { GRAPH <http://ex/base> { ?s ?p <http://localhost/t> } }")


@pytest.mark.parametrize(
    ("method", "kwargs", "status", "message"),
    [
        ("get", {"query_string": {"update": "CLEAR ALL"}}, 405, ""),
        ("post", {"data": "CLEAR ALL", "content_type": "text/plain"}, 415, "POST an"),
        ("post", {"data": "update=CLEAR+ALL"}, 415, "POST an"),
        (
            "post",
            {
                "data": "update=CLEAR%20NAMED&update=CLEAR%20DEFAULT",
                "content_type": "application/x-www-form-urlencoded",
            },
            400,
            "exactly one",
        ),
        (
            "post",
            {
                "data": "CLEAR NAMED".encode("utf-16"),
                "content_type": f"{UPDATE}; charset=UTF-16",
            },
            415,  # as /sparql answers a query in another charset (webapp.protocol)
            "UTF-8",
        ),
        ("post", {"data": b"CLEAR \xff", "content_type": UPDATE}, 400, "not UTF-8"),
        ("post", {"data": "CLEAR XYZ", "content_type": UPDATE}, 400, "malformed"),
        ("post", {"data": "  ", "content_type": UPDATE}, 400, "empty"),
        (
            "post",
            {"data": "LOAD <http://127.0.0.1:9/x.ttl>", "content_type": UPDATE},
            400,
            "LOAD is not allowed",
        ),
        (
            "post",
            {
                "data": "INSERT { ?s ?p ?o } WHERE "
                "{ SERVICE <http://127.0.0.1:9/s> { ?s ?p ?o } }",
                "content_type": UPDATE,
            },
            400,
            "not allowed",
        ),
        (
            "post",
            {"data": "DROP GRAPH <http://ex/none>", "content_type": UPDATE},
            400,
            "does not exist",
        ),
    ],
    ids=[
        "get",
        "text-plain",
        "form-without-type",
        "two-updates",
        "utf-16",
        "not-utf-8",
        "syntax",
        "empty",
        "load",
        "service",
        "drop-missing-graph",
    ],
)
def test_bad_update_requests(
    client: FlaskClient,
    config: Config,
    method: str,
    kwargs: dict[str, object],
    status: int,
    message: str,
) -> None:
    before = config.store_path.resolve()
    response = getattr(client, method)("/update", headers=AUTH, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in response.get_json()["error"]["message"]
    if status == 405:
        assert response.headers["Allow"] == "POST"
    assert config.store_path.resolve() == before


def test_dataset_given_twice_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/update?using-named-graph-uri=http%3A%2F%2Fexample%2Fpeople",
        data="WITH <http://example/addresses> DELETE { ?p <http://ex/n> 'Bill' } "
        "WHERE { ?p <http://ex/n> 'Bill' }",
        headers={**AUTH, "Content-Type": UPDATE},
    )
    assert response.status_code == 400
    assert "given twice" in response.get_json()["error"]["message"]


def test_using_clauses_go_before_every_top_level_where() -> None:
    text = prepare_update(
        "DELETE WHERE { ?a ?b ?c } ; INSERT { ?s ?p ?o } WHERE "
        "{ { SELECT * WHERE { ?s ?p ?o } } } # WHERE",
        using=["http://g"],
        using_named=["http://h"],
    )
    assert text.count("USING <http://g> USING NAMED <http://h> WHERE") == 1
    assert text.startswith("DELETE WHERE")
    with pytest.raises(UpdateError, match="absolute IRI"):
        prepare_update("INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }", using=["x> } <y"])


def test_a_write_that_violates_the_shapes_is_422_and_changes_nothing(
    client: FlaskClient, config: Config
) -> None:
    before = config.store_path.resolve()
    response = post_update(client, insert(f"{BASE}id/institution/bad", code="12"))
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["error"]["status"] == 422
    assert payload["conforms"] is False
    [result] = payload["results"]
    assert result["focus_node"] == f"{BASE}id/institution/bad"
    assert result["path"] == f"{M}moeCode"
    assert result["severity"] == "Violation"
    assert "10-digit" in result["message"]
    assert result["shape"]
    assert config.store_path.resolve() == before
    assert not ask(client, f"ASK {{ <{BASE}id/institution/bad> ?p ?o }}")


@pytest.mark.parametrize(
    "update",
    [
        insert(f"{BASE}id/x", graph=f"{BASE}graph/ontology"),
        f"DROP GRAPH <{BASE}graph/shapes>",
        f"INSERT DATA {{ GRAPH <{BASE}graph/inferred> {{ <http://a> <http://b> 1 }} }}",
        "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }",
        f"CLEAR ALL ; INSERT DATA {{ GRAPH <{BASE}graph/ontology> "
        "{ <http://a> <http://b> 1 } }",
    ],
    ids=[
        "insert-ontology",
        "drop-shapes",
        "insert-inferred",
        "delete-everything",
        "clear-all-then-insert",
    ],
)
def test_reserved_graphs_are_protected(
    client: FlaskClient, config: Config, update: str
) -> None:
    before = config.store_path.resolve()
    response = post_update(client, update)
    assert response.status_code == 403
    assert "cannot be changed" in response.get_json()["error"]["message"]
    assert config.store_path.resolve() == before


def test_clear_all_empties_the_data_graphs_and_keeps_the_reserved_ones(
    client: FlaskClient,
) -> None:
    assert post_update(client, "CLEAR ALL").status_code == 204
    assert not ask(client, f"ASK {{ GRAPH <{BASE}graph/institutions> {{ ?s ?p ?o }} }}")
    for name in ("ontology", "shapes"):
        assert ask(client, f"ASK {{ GRAPH <{BASE}graph/{name}> {{ ?s ?p ?o }} }}")


def test_the_write_lock_is_reentrant_and_shared_with_builds(config: Config) -> None:
    with write_lock(config.store_path), write_lock(config.store_path):
        run_update(config, insert(f"{BASE}id/institution/locked"))
    assert (builds_dir(config.store_path) / ".write.lock").is_file()


# --- over HTTP: a real waitress server with query workers ---------------------------
@pytest.mark.server
def test_writes_over_http_reach_the_query_workers(
    template: Path, tmp_path: Path
) -> None:
    app = create_app(fresh_config(template, tmp_path, query_workers=1))
    for url in _serve(app):
        query = {"query": f"ASK {{ <{BASE}id/institution/http> ?p ?o }}"}
        accept = {"Accept": "application/sparql-results+json"}
        assert (
            requests.get(
                f"{url}/sparql", params=query, headers=accept, timeout=30
            ).json()["boolean"]
            is False
        )
        assert (
            requests.post(
                f"{url}/update", data=insert(f"{BASE}id/institution/http"), timeout=30
            ).status_code
            == 401
        )
        response = requests.post(
            f"{url}/update",
            data=insert(f"{BASE}id/institution/http").encode(),
            headers={**AUTH, "Content-Type": UPDATE},
            timeout=30,
        )
        assert response.status_code == 204, response.text
        answer = requests.get(f"{url}/sparql", params=query, headers=accept, timeout=30)
        assert answer.json()["boolean"] is True


# --- durability: kill -9 ------------------------------------------------------------
def _start_server(config: Config) -> tuple[subprocess.Popen[bytes], str]:
    served = start_serve(
        "--root", str(config.root), "--store-path", str(config.store_path),
        "--update-token", TOKEN, "--query-workers", "0",
    )  # fmt: skip
    return served.process, served.url


@pytest.mark.server
def test_an_acknowledged_update_survives_kill_9_and_a_restart(config: Config) -> None:
    process, url = _start_server(config)
    try:
        response = requests.post(
            f"{url}update",
            data=insert(f"{BASE}id/institution/durable").encode(),
            headers={**AUTH, "Content-Type": UPDATE},
            timeout=30,
        )
        assert response.status_code == 204, response.text
    finally:
        kill_session(process)
    process, url = _start_server(config)
    try:
        answer = requests.get(
            f"{url}sparql",
            params={"query": f"ASK {{ <{BASE}id/institution/durable> ?p ?o }}"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=30,
        )
        assert answer.json()["boolean"] is True
    finally:
        kill_session(process)


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mededkg.settings import load_config
    from mededkg.pipeline.write import run_update

    config = load_config({"root": sys.argv[1], "store_path": sys.argv[2]}, {})
    for n in range(1000):
        run_update(config, "INSERT DATA { GRAPH <http://ex/k> { <http://ex/s> "
                   f"<http://ex/n{n}> {n} }} }}")
        print(n, flush=True)
    """
)


@pytest.mark.server
def test_kill_9_during_writes_leaves_a_complete_store(
    template: Path, tmp_path: Path
) -> None:
    config = fresh_config(template, tmp_path)
    original = EmbeddedStore.open(config.store_path)
    reserved = {
        name: len(list(original.quads(str(graph_iri(BASE, name)))))
        for name in ("ontology", "shapes", "institutions")
    }
    del original
    rng = random.Random(20261125)
    acknowledged = -1
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(config.root), str(config.store_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        first = writer.stdout.readline()  # imports done, one write committed
        time.sleep(rng.uniform(0.0, 0.4))
        writer.send_signal(signal.SIGKILL)
        out, _ = writer.communicate(timeout=10)
        done = [int(n) for n in (first + out).split()]
        store = EmbeddedStore.open(config.store_path)
        for name, count in reserved.items():
            assert len(list(store.quads(str(graph_iri(BASE, name))))) == count
        written = sorted(
            int(q.object.value)
            for q in store.quads("http://ex/k")  # type: ignore[union-attr]
        )
        # every commit of the killed writer is there in full, in order; the one it
        # was killed in is there entirely or not at all
        assert written == list(range(len(written)))
        if done:
            acknowledged = done[-1]
            assert len(written) - 1 in (acknowledged, acknowledged + 1)
        del store
        # the next writer starts again from n=0: its inserts add nothing new until
        # n passes the largest value already there, so reset the graph
        run_update(config, "DROP SILENT GRAPH <http://ex/k>")
    assert acknowledged >= 0, "no write finished in time; the test proved nothing"


def test_writes_on_a_back_end_they_cannot_reach_are_refused_with_a_reason(
    template: Path, tmp_path: Path
) -> None:
    # An update is applied in a child process without the network: it can neither
    # reach a remote store nor change the server's memory, so such a write is
    # refused up front (before, it failed on a store path the back-end does not use).
    config = fresh_config(template, tmp_path, store_backend="memory")
    with pytest.raises(WriteError, match="embedded store back-end, not 'memory'"):
        run_update(config, insert("https://example.org/u"))
    with pytest.raises(WriteError, match="embedded"):
        post_graph(config, EXTRA, [])
