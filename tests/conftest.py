"""Shared fixtures: a tiny fixture project and the real repository, each built once per
session into a temporary store, served through Flask's test client and through a real
waitress server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from flask import Flask
from flask.testing import FlaskClient
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from mededkg.pipeline.build import build
from mededkg.resources import default_root
from mededkg.settings import Config, load_config
from mededkg.storage import EmbeddedStore, Store
from mededkg.storage.embedded import builds_dir
from webapp import create_app
from webapp.context import EXTENSION, AppState
from webapp.server import make_server

TESTS = Path(__file__).parent
FIXTURE_ROOT = TESTS / "data" / "project"

#: Test files that take a minute or more (owlrl on the real graph, the real graph on
#: three back-ends, a wheel in a fresh venv, the fuzzers, the benchmark's smoke run),
#: longest first. ``make test`` runs the files on two workers (pytest-xdist,
#: ``--dist loadfile --no-loadscope-reorder``), each taking the next file when it is
#: free: starting with these keeps one worker from being left with a long file at
#: the end while the other is idle. A scheduling hint only: order never changes
#: what a test checks.
SLOW_FIRST = (
    "test_fast_reasoner.py",
    "test_backends.py",
    "test_wheel.py",
    "test_egress_fuzz.py",
    "test_bench.py",
    "test_reconcile.py",
    "test_other_engines.py",
    "test_competency_queries.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files of :data:`SLOW_FIRST` first, the others in their usual order."""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def make_config(root: Path, store_path: Path, **overrides: Any) -> Config:
    """Settings for a test: a project root and a store path, nothing from the env."""
    return load_config(
        {"root": str(root), "store_path": str(store_path), **overrides}, {}
    )


def private_store(source: Config, folder: Path) -> Path:
    """A store link in *folder* to a private copy of *source*'s current build, for a
    test that writes (the session's fixture store stays untouched)."""
    store_path = folder / "store"
    target = builds_dir(store_path) / "copy"
    shutil.copytree(source.store_path.resolve(), target)
    os.symlink(os.path.relpath(target, folder), store_path)
    return store_path


# --- the tiny fixture project -------------------------------------------------------
@pytest.fixture(scope="session")
def fixture_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Settings of the fixture project, with its store built once."""
    config = make_config(FIXTURE_ROOT, tmp_path_factory.mktemp("fixture") / "store")
    build(config)
    return config


@pytest.fixture(scope="session")
def fixture_store(fixture_config: Config) -> Store:
    """The fixture project's built store, opened read-only."""
    return EmbeddedStore.open(fixture_config.store_path)


@pytest.fixture(scope="session")
def app(fixture_config: Config, fixture_store: Store) -> Flask:
    """The real Flask app over the fixture store."""
    return create_app(fixture_config, store=fixture_store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask's test client for the fixture app."""
    return app.test_client()


@pytest.fixture(scope="session")
def live_url(app: Flask) -> Iterator[str]:
    """Base URL of the fixture app served by a real waitress server on loopback."""
    yield from _serve(app)


# --- the real repository ------------------------------------------------------------
@pytest.fixture(scope="session")
def repo_config(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Config:
    """Settings of the real repository (ontology/, data/), with its store built once
    per run: pytest-xdist's workers share one build, in their common temporary folder
    (the first worker to take the lock builds, the others wait and read it; tests that
    write do so in a :func:`private_store`)."""
    if worker_id == "master":  # one process
        config = make_config(default_root(), tmp_path_factory.mktemp("repo") / "store")
        build(config)
        return config
    shared = tmp_path_factory.getbasetemp().parent / "repo"
    config = make_config(default_root(), shared / "store")
    with FileLock(f"{shared}.lock"):
        if not (shared / "built").exists():
            build(config)
            (shared / "built").touch()
    return config


@pytest.fixture(scope="session")
def repo_app(repo_config: Config) -> Flask:
    """The real Flask app over the real graph."""
    return create_app(repo_config)


@pytest.fixture
def repo_client(repo_app: Flask) -> FlaskClient:
    """Flask's test client over the real graph."""
    return repo_app.test_client()


@pytest.fixture(scope="session")
def repo_live_url(repo_app: Flask) -> Iterator[str]:
    """Base URL of a real waitress server over the real graph."""
    yield from _serve(repo_app)


def _close_sockets(server: BaseWSGIServer) -> None:
    """Close *server*'s listening socket and connections and empty its map, so its
    loop ends; leave its wake-up pipe open."""
    for dispatcher in list(server._map.values()):
        if dispatcher is server.trigger:
            continue
        if isinstance(dispatcher, HTTPChannel):
            dispatcher.handle_close()  # also wakes a task thread waiting to write
        else:
            wasyncore.dispatcher.close(dispatcher)  # not server.close(): the pipe
    server._map.clear()


def _serve(app: Flask, *, threads: int = 8) -> Iterator[str]:
    """Serve *app* with waitress on a free loopback port, with the HTTP limits of its
    settings (as ``mededkg serve`` does); stop it and its query workers afterwards."""
    config = app.config["MEDEDKG"]
    assert isinstance(config, Config)
    server = make_server(app, config, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Close the sockets from the server's own loop thread (closing them from here
        # races with its select(): EBADF in the thread), all but its wake-up pipe:
        # task threads still finishing a request pull that, and a closed pipe's number
        # may already belong to another file (the "x" would be written into it). The
        # pipe is closed once the task threads have stopped.
        server.trigger.pull_trigger(lambda: _close_sockets(server))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        server.trigger.close()
        state = app.extensions.get(EXTENSION)
        if isinstance(state, AppState):
            state.close()  # the query pool and its networked twin, if any


def sparql_select(
    client: FlaskClient, query: str, **params: str
) -> list[dict[str, str]]:
    """Run a SELECT through ``/sparql``; return the rows as ``{var: value}`` dicts."""
    response = client.post(
        "/sparql",
        data={"query": query, **params},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    payload = response.get_json()
    return [
        {var: binding["value"] for var, binding in row.items()}
        for row in payload["results"]["bindings"]
    ]


def run_named(client: FlaskClient, name: str, **params: str) -> list[dict[str, str]]:
    """Run the named query *name* through ``/api/queries/<name>`` with *params*; return
    the rows as ``{var: value}`` dicts."""
    response = client.get(
        f"/api/queries/{name}",
        query_string=params,
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return [
        {var: binding["value"] for var, binding in row.items()}
        for row in response.get_json()["results"]["bindings"]
    ]
