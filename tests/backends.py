"""Test plugin: the three store back-ends, with a real Oxigraph server for ``remote``.

Load it with ``pytest_plugins = ["tests.backends"]``. The ``oxigraph`` package (test
extra) ships the server binary; one server runs for the session on a free loopback
port, in a temporary folder, and is stopped afterwards; it is emptied before each test
that uses it.

Test modules also import its helpers, so pytest cannot rewrite its asserts (it has
none that need it): PYTEST_DONT_REWRITE.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest

from mededkg.settings import Config
from mededkg.storage import BACKENDS, Backend, MemoryBackend, backend_for
from mededkg.storage.remote import Http, RemoteBackend


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` server executable installed beside this Python, or on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return str(beside)
    return shutil.which("oxigraph")


def wait_for(url: str, *, seconds: float = 30.0) -> None:
    """Wait until *url* answers HTTP at all (any status)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], *, seconds: float) -> None:
    """Terminate a server process; kill it if it has not stopped after *seconds*."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class OxigraphServer:
    """A running ``oxigraph serve``: its base URL and process."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def query(self) -> str:
        """The SPARQL query endpoint."""
        return self.url + "/query"


def run_oxigraph(folder: Path, *options: str) -> Iterator[OxigraphServer]:
    """Run ``oxigraph serve`` with its data in *folder* on a free loopback port until
    the generator is closed."""
    binary = oxigraph_binary()
    if binary is None:
        pytest.fail("the oxigraph server is missing: pip install -e '.[test]'")
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "serve",
            "--location",
            str(folder / "data"),
            "--bind",
            f"127.0.0.1:{port}",
            # The server's own limit stops queries a client gave up on.
            "--timeout-s",
            "10",
            *options,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/query?query=ASK%7B%7D")
        yield OxigraphServer(url, process)
    finally:
        stop(process, seconds=10)
        log.close()


@pytest.fixture(scope="session")
def oxigraph_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OxigraphServer]:
    """A real Oxigraph server (the PyPI ``oxigraph`` package) for the session."""
    yield from run_oxigraph(tmp_path_factory.mktemp("oxigraph-server"))


@pytest.fixture(scope="session")
def oxigraph_union_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OxigraphServer]:
    """An Oxigraph server whose default graph is the union of its graphs, as
    ``remote_union_default_graph`` expects."""
    folder = tmp_path_factory.mktemp("oxigraph-union-server")
    yield from run_oxigraph(folder, "--union-default-graph")


@dataclass(frozen=True)
class VirtuosoServer:
    """A running Virtuoso 7 (Debian's ``virtuoso-opensource``): its HTTP base URL."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def query(self) -> str:
        """The SPARQL endpoint (queries and updates)."""
        return self.url + "/sparql"

    @property
    def graph_store(self) -> str:
        """The Graph Store Protocol endpoint."""
        return self.url + "/sparql-graph-crud"


#: The committed configuration (folder and ports filled in), docs/backends.md's recipe.
VIRTUOSO_INI = Path(__file__).parent / "data" / "virtuoso" / "virtuoso.ini"
VIRTUOSO_MISSING = (
    "Virtuoso is missing: apt-get install virtuoso-opensource (`make test` installs "
    "it when run as root)"
)


def run_virtuoso(folder: Path) -> Iterator[VirtuosoServer]:
    """Run a private Virtuoso with its database in *folder*, on free loopback ports,
    anonymous SPARQL updates allowed, until the generator is closed."""
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if binary is None or isql is None:
        # CI (and root, who `make test` installs it for) must run it: a skip there
        # would pass without testing; elsewhere the skip names what to install.
        if os.environ.get("CI") or os.geteuid() == 0:
            pytest.fail(VIRTUOSO_MISSING)
        pytest.skip(VIRTUOSO_MISSING)
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(
        Template(VIRTUOSO_INI.read_text("utf-8")).substitute(
            folder=folder, sql_port=sql_port, http_port=http_port
        ),
        "utf-8",
    )
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [binary, "-c", str(ini), "+foreground"],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_for(url + "/sparql?query=ASK%7B%7D", seconds=120)
        grants = (
            'grant SPARQL_UPDATE to "SPARQL"; '
            "DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);"
        )
        subprocess.run(
            [isql, f"127.0.0.1:{sql_port}", "dba", "dba", f"exec={grants}"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield VirtuosoServer(url, process)
    finally:
        stop(process, seconds=30)
        log.close()


@pytest.fixture(scope="session")
def virtuoso_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[VirtuosoServer]:
    """A real Virtuoso 7 for the session (Debian's package, started from the
    committed ``virtuoso.ini``)."""
    yield from run_virtuoso(tmp_path_factory.mktemp("virtuoso"))


def virtuoso_config(config: Config, server: VirtuosoServer) -> Config:
    """*config* on the remote back-end, on Virtuoso: one URL for queries and updates,
    its Graph Store endpoint, and its default graph as the union of the graphs
    (with a list of default graphs, Virtuoso 7 miscounts some aggregates:
    docs/backends.md)."""
    return config.replace(
        store_backend="remote",
        remote_endpoint=server.query,
        remote_update_endpoint=server.query,
        remote_graph_store=server.graph_store,
        remote_union_default_graph=True,
    )


def backend_config(
    name: str, config: Config, server: OxigraphServer | None = None
) -> Config:
    """*config* switched to the back-end *name* (remote: on *server*)."""
    if name == "remote":
        assert server is not None
        return config.replace(store_backend="remote", remote_endpoint=server.query)
    return config.replace(store_backend=name)


def clear_server(server: OxigraphServer) -> None:
    """Drop every graph on *server*."""
    request = urllib.request.Request(
        server.url + "/update",
        data=b"DROP ALL",
        headers={"Content-Type": "application/sparql-update"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def fast_backend(config: Config) -> Backend:
    """The back-end of *config*, with quick retries for remote (tests)."""
    backend = backend_for(config)
    if isinstance(backend, RemoteBackend):
        backend.http = Http(backoff=0.01)
    return backend


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each back-end in turn: embedded, memory, remote."""
    name: str = request.param
    return name


@pytest.fixture
def backend_config_for(
    backend_name: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Config]:
    """Settings for a fresh, empty dataset on the current back-end.

    The remote back-end gets the session's Oxigraph server (started on first use,
    emptied for each test); the memory back-end's dataset is dropped afterwards.
    """
    from tests.conftest import FIXTURE_ROOT, make_config

    store_path = tmp_path / "store"
    config = make_config(FIXTURE_ROOT, store_path, query_workers="0")
    server = None
    if backend_name == "remote":
        server = request.getfixturevalue("oxigraph_server")
        clear_server(server)
    config = backend_config(backend_name, config, server)
    yield config
    backend = backend_for(config)
    if isinstance(backend, MemoryBackend):
        backend.discard()
