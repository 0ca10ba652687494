"""The three store back-ends pass the same tests: embedded (Oxigraph on disk), memory
(rdflib) and remote (a real Oxigraph server started from the ``oxigraph`` package, and
a real Virtuoso 7 from Debian's ``virtuoso-opensource``).

The fixture project is built once per test and back-end; the real graph is built once
(embedded) and its quads loaded into the others, then every competency query and
every export must agree across them (Virtuoso's literals by value: it keeps values, not
lexical forms).
"""

from __future__ import annotations

import http.server
import re
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from mededkg.cli import main
from mededkg.errors import ConfigError, QueryError, QueryTimeout, StoreNotFound
from mededkg.pipeline.build import build
from mededkg.pipeline.export import Canonical, select_quads, serialize_quads
from mededkg.query.formats import RDF_FORMATS, RdfFormat
from mededkg.query.gate import AskResult, GraphResult, Limits, SelectResult, execute
from mededkg.query.namedqueries import resolve_query
from mededkg.resources import default_root, queries_dir
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore, Store, backend_for, open_store
from mededkg.storage.remote import (
    Endpoints,
    Http,
    RemoteBackend,
    RemoteLoadFailed,
    RemoteStoreEmpty,
    RemoteUnavailable,
)
from tests.backends import (
    OxigraphServer,
    VirtuosoServer,
    backend_config,
    clear_server,
    fast_backend,
    free_port,
    virtuoso_config,
)
from tests.conftest import FIXTURE_ROOT, make_config
from webapp import create_app

pytest_plugins = ["tests.backends"]

G = "https://w3id.org/mededkg/graph/"
MED = "https://w3id.org/mededkg/ontology#"
HOSPITALS = G + "hospitals"
LIMITS = Limits(timeout=30.0, max_rows=100_000)
FIXTURE_GRAPHS = [
    G + n for n in ("hospitals", "inferred", "institutions", "ontology", "shapes")
]


def _values(
    result: SelectResult, concatenated: Sequence[str] = ()
) -> list[tuple[str, ...]]:
    """Rows as comparable text: blank nodes as ``_:`` (their labels differ), and the
    *concatenated* (GROUP_CONCAT) columns as their sorted parts without a language:
    SPARQL leaves the order open, and Oxigraph keeps a language tag all the parts
    share where rdflib (SPARQL 1.1) gives a simple literal."""
    positions = {result.variables.index(v) for v in concatenated}
    return sorted(
        tuple(
            ""
            if t is None
            else "_:"
            if isinstance(t, ox.BlankNode)
            else " | ".join(sorted(t.value.split(" | ")))
            if i in positions
            else str(t)
            for i, t in enumerate(row)
        )
        for row in result.rows
    )


def _count(store: Store, sparql: str, **options: object) -> int:
    result = execute(store, sparql, limits=LIMITS, **options)  # type: ignore[arg-type]
    assert isinstance(result, SelectResult)
    term = result.rows[0][0]
    assert isinstance(term, ox.Literal)
    return int(term.value)


# --- the fixture project on each back-end ---------------------------------------------
@pytest.fixture
def built(backend_config_for: Config) -> Store:
    """The fixture project built on the current back-end, opened for reading."""
    build(backend_config_for)
    return open_store(backend_config_for)


def test_build_writes_every_graph(built: Store, backend_name: str) -> None:
    assert built.backend == backend_name
    assert built.named_graphs() == FIXTURE_GRAPHS
    assert len(built) == 55
    assert len(list(built.quads(HOSPITALS))) == 3
    assert {q.graph_name for q in built.quads()} == {
        ox.NamedNode(g) for g in FIXTURE_GRAPHS
    }


def test_nothing_built_yet_is_store_not_found(backend_config_for: Config) -> None:
    with pytest.raises(StoreNotFound, match="build"):
        open_store(backend_config_for)


def test_a_second_build_replaces_the_first(backend_config_for: Config) -> None:
    backend = fast_backend(backend_config_for)
    backend.write_dataset(
        [
            ox.Quad(
                ox.NamedNode("http://ex/a"),
                ox.NamedNode("http://ex/p"),
                ox.Literal("x"),
                ox.NamedNode("http://ex/old"),
            )
        ]
    )
    build(backend_config_for)
    store = open_store(backend_config_for)
    assert "http://ex/old" not in store.named_graphs()
    assert len(store) == 55


QUERIES: list[tuple[str, str, dict[str, object], int | str]] = [
    ("count-union", "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", {}, 55),
    ("count-graph", "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }", {}, 55),
    (
        "default-graph-uri",
        "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
        {"default_graph": [HOSPITALS]},
        3,
    ),
    (
        "named-graph-uri",
        "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }",
        {"named_graphs": [HOSPITALS, G + "institutions"]},
        7,
    ),
    ("from", f"SELECT (COUNT(*) AS ?n) FROM <{HOSPITALS}> {{ ?s ?p ?o }}", {}, 3),
    (
        "from-unknown",
        "SELECT (COUNT(*) AS ?n) FROM <http://ex/nope> { ?s ?p ?o }",
        {},
        0,
    ),
    (
        "from-named",
        f"SELECT (COUNT(*) AS ?n) FROM NAMED <{HOSPITALS}> "
        "{ GRAPH ?g { ?s ?p ?o } }",
        {},
        3,
    ),
    (
        "substitution",
        "SELECT (COUNT(*) AS ?n) ?c { ?s a ?c } GROUP BY ?c",
        {"substitutions": {"c": ox.NamedNode(MED + "Hospital")}},
        f"SELECT (COUNT(*) AS ?n) {{ ?s a <{MED}Hospital> }}",
    ),
    (
        "base-iri",
        "SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(?o = <ontology#Hospital>) }",
        {"base_iri": "https://w3id.org/mededkg/sparql"},
        f"SELECT (COUNT(*) AS ?n) {{ ?s ?p ?o FILTER(?o = <{MED}Hospital>) }}",
    ),
]


@pytest.mark.parametrize(
    ("sparql", "options", "expected"),
    [q[1:] for q in QUERIES],
    ids=[q[0] for q in QUERIES],
)
def test_select_with_dataset_options(
    built: Store, sparql: str, options: dict[str, object], expected: int | str
) -> None:
    found = _count(built, sparql, **options)
    if isinstance(expected, str):  # the count of the same query written out
        expected = _count(built, expected)
        assert expected > 0
    assert found == expected


def test_ask_construct_and_describe(built: Store) -> None:
    ask = execute(built, f"ASK {{ ?h a <{MED}Hospital> }}", limits=LIMITS)
    assert ask == AskResult(True)
    assert execute(built, "ASK { ?s <http://ex/nope> ?o }", limits=LIMITS) == AskResult(
        False
    )
    graph = execute(
        built,
        f"CONSTRUCT {{ ?h a <{MED}Hospital> }} WHERE {{ ?h a <{MED}Hospital> }}",
        limits=LIMITS,
    )
    assert isinstance(graph, GraphResult)
    assert len(graph.triples) == 1
    assert all(isinstance(t, ox.Triple) for t in graph.triples)
    cut = execute(built, "CONSTRUCT WHERE { ?s ?p ?o }", limits=Limits(max_rows=5))
    assert isinstance(cut, GraphResult) and cut.truncated and len(cut.triples) == 5


def test_malformed_query_is_a_query_error(built: Store) -> None:
    with pytest.raises(QueryError):
        execute(built, "SELECT ?s WHERE { ?s ?p }", limits=LIMITS)


def test_service_allow_list_applies_before_any_back_end(built: Store) -> None:
    query = "SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    with pytest.raises(QueryError, match="not allowed"):
        execute(built, query, limits=LIMITS)


# --- the HTTP endpoint over each back-end ---------------------------------------------
def test_http_endpoint_over_each_back_end(
    backend_config_for: Config, built: Store
) -> None:
    client = create_app(backend_config_for).test_client()
    ask = client.get(
        "/sparql",
        query_string={"query": "ASK { ?s ?p ?o }"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert ask.status_code == 200 and ask.get_json()["boolean"] is True
    rows = client.post(
        "/sparql",
        data={
            "query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
            "default-graph-uri": HOSPITALS,
        },
        headers={"Accept": "application/sparql-results+json"},
    ).get_json()["results"]["bindings"]
    assert rows[0]["n"]["value"] == "3"
    turtle = client.get(
        "/sparql",
        query_string={"query": "CONSTRUCT WHERE { ?s a ?c }", "format": "turtle"},
    )
    assert turtle.status_code == 200 and b"Hospital" in turtle.data
    named = client.get(
        "/api/queries/hospitals",
        query_string={
            "institution": "https://w3id.org/mededkg/id/institution/4111010025"
        },
        headers={"Accept": "application/sparql-results+json"},
    )
    assert named.status_code == 200, named.get_data(as_text=True)
    assert len(named.get_json()["results"]["bindings"]) == 1
    bad = client.get(
        "/sparql",
        query_string={"query": "SELECT ?s {"},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 400
    assert client.get("/ontology", headers={"Accept": "text/turtle"}).status_code == 200
    assert client.get("/").status_code == 200


def test_writes_need_the_embedded_back_end(
    backend_config_for: Config, built: Store
) -> None:
    config = backend_config_for.replace(update_token="s3cret")
    if backend_config_for.store_backend == "embedded":
        create_app(config, store=built)
        return
    with pytest.raises(ConfigError, match="embedded"):
        create_app(config)


# --- the real graph: competency queries and exports agree ---------------------------
@pytest.fixture(scope="module")
def repo_stores(
    repo_config: Config,
    oxigraph_server: OxigraphServer,
    oxigraph_union_server: OxigraphServer,
    virtuoso_server: VirtuosoServer,
) -> Iterator[dict[str, Store]]:
    """The real graph on the three back-ends: built once (embedded), then the same
    quads loaded into memory, into the Oxigraph server (with and without its union
    default graph) and into Virtuoso; load times in ``LOAD_SECONDS``."""
    embedded = EmbeddedStore.open(repo_config.store_path)
    quads = list(embedded.quads())
    stores: dict[str, Store] = {"embedded": embedded}
    memory_config = repo_config.replace(
        store_backend="memory", store_path=repo_config.store_path.parent / "memory"
    )
    backend_for(memory_config).write_dataset(quads)
    stores["memory"] = open_store(memory_config)
    clear_server(oxigraph_server)
    remote_config = backend_config("remote", repo_config, oxigraph_server)
    start = time.perf_counter()
    backend_for(remote_config).write_dataset(quads)
    LOAD_SECONDS["remote"] = time.perf_counter() - start
    stores["remote"] = open_store(remote_config)
    union = backend_config("remote", repo_config, oxigraph_union_server).replace(
        remote_union_default_graph=True
    )
    backend_for(union).write_dataset(quads)
    stores["remote-union"] = open_store(union)
    virtuoso = virtuoso_config(repo_config, virtuoso_server)
    start = time.perf_counter()
    backend_for(virtuoso).write_dataset(quads)
    LOAD_SECONDS["virtuoso"] = time.perf_counter() - start
    stores["virtuoso"] = open_store(virtuoso)
    yield stores
    clear_server(oxigraph_server)


LOAD_SECONDS: dict[str, float] = {}


def _competency_runs() -> list[tuple[str, dict[str, str]]]:
    runs: list[tuple[str, dict[str, str]]] = []
    for path in sorted(queries_dir(default_root()).glob("cq*.rq")):
        runs.append((path.stem, {}))
        params = re.search(r"^#\+ params:(.*)$", path.read_text("utf-8"), re.M)
        examples = re.findall(
            r"(\w+) \(iri\):[^;]*?e\.g\. (\S+)", params.group(1) if params else ""
        )
        if examples:
            runs.append((path.stem, dict(examples)))
    return runs


@pytest.mark.parametrize(
    ("name", "params"),
    _competency_runs(),
    ids=[f"{n}{'-' + '-'.join(p) if p else ''}" for n, p in _competency_runs()],
)
def test_competency_queries_agree_across_back_ends(
    repo_stores: dict[str, Store], name: str, params: dict[str, str]
) -> None:
    named = resolve_query(name, queries_dir(default_root()))
    answers = {}
    for backend, store in repo_stores.items():
        start = time.perf_counter()
        result = execute(
            store, named.text, limits=LIMITS, substitutions=named.bind(params)
        )
        TIMINGS.setdefault(backend, []).append(time.perf_counter() - start)
        assert isinstance(result, SelectResult)
        concatenated = re.findall(r"GROUP_CONCAT\(.*?AS\s+\?(\w+)", named.text, re.S)
        answers[backend] = (result.variables, _values(result, concatenated))
    assert answers["memory"] == answers["embedded"]
    assert answers["remote"] == answers["embedded"]
    assert answers["remote-union"] == answers["embedded"]
    # Virtuoso keeps a literal's value, not its lexical form (docs/backends.md).
    variables, rows = answers["virtuoso"]
    assert (variables, _by_value(rows)) == (
        answers["embedded"][0],
        _by_value(answers["embedded"][1]),
    )


_XSD = "http://www.w3.org/2001/XMLSchema#"
_TYPED = re.compile(r'"([^"]*)"\^\^<' + re.escape(_XSD) + r"(boolean|double)>")


def _value_form(match: re.Match[str]) -> str:
    lexical, datatype = match.groups()
    if datatype == "boolean":
        value = str(lexical in ("true", "1")).lower()
    else:
        value = repr(float(lexical))
    return f'"{value}"^^<{_XSD}{datatype}>'


def _by_value(rows: Sequence[Sequence[str]]) -> list[tuple[str, ...]]:
    """Rows with every xsd:boolean and xsd:double literal in one form per value:
    Virtuoso stores values and writes ``true`` as ``1`` and ``1`` (a double) as
    ``1.0``, other engines keep the lexical form they were given."""
    return sorted(tuple(_TYPED.sub(_value_form, v) for v in row) for row in rows)


TIMINGS: dict[str, list[float]] = {}


@pytest.fixture(scope="module")
def exported(repo_stores: dict[str, Store]) -> dict[str, Canonical]:
    """Every quad as each back-end reads it, in canonical form (once per back-end:
    the formats are then serialised from it, as the dumps are)."""
    return {
        backend: Canonical(select_quads(store, []))
        for backend, store in repo_stores.items()
        if backend not in ("remote-union", "virtuoso")  # (the same reads as remote;
        # Virtuoso's literals are compared by value below)
    }


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
def test_exports_are_byte_identical_across_back_ends(
    exported: dict[str, Canonical], fmt: RdfFormat
) -> None:
    outputs = {
        backend: canonical.serialize(fmt) for backend, canonical in exported.items()
    }
    assert outputs["memory"] == outputs["embedded"]
    assert outputs["remote"] == outputs["embedded"]


def test_virtuoso_holds_the_same_statements_by_value(
    repo_stores: dict[str, Store],
) -> None:
    """Every quad read back from Virtuoso — blank nodes included, through the
    reader's label rewriting — equals the embedded store's, literals compared by
    value for xsd:boolean and xsd:double (Virtuoso writes ``1`` for ``true``, ``1.0``
    for the double ``1``) and WKT points as single-precision numbers (Virtuoso types
    them virtrdf:Geometry, in single precision): the same canonical N-Quads once both
    are in one form."""
    read = {
        name: [_literal_by_value(q) for q in select_quads(repo_stores[name], [])]
        for name in ("embedded", "virtuoso")
    }
    # Quads without blank nodes compare as they are; those with blank nodes (the
    # shapes') in canonical form, whose labels depend on the literals' forms.
    plain = {
        name: sorted(str(q) for q in quads if not _blank(q))
        for name, quads in read.items()
    }
    assert plain["virtuoso"] == plain["embedded"]
    nquads = RDF_FORMATS_BY["nq"]
    blank = {
        name: Canonical(q for q in quads if _blank(q)).serialize(nquads)
        for name, quads in read.items()
    }
    assert blank["virtuoso"] == blank["embedded"]


def _blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(
        quad.object, ox.BlankNode
    )


#: Virtuoso keeps a geo:wktLiteral as its own geometry type and gives it back so.
_VIRTUOSO_GEOMETRY = "http://www.openlinksw.com/schemas/virtrdf#Geometry"
_WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"


def _single(text: str) -> float:
    """*text*'s number rounded to single precision (float32)."""
    (value,) = struct.unpack("f", struct.pack("f", float(text)))
    return float(value)


def _literal_by_value(quad: ox.Quad) -> ox.Quad:
    term = quad.object
    if isinstance(term, ox.Literal) and term.datatype.value in (
        _VIRTUOSO_GEOMETRY,
        _WKT,
    ):
        # Virtuoso keeps coordinates in single precision (105.42575 comes back
        # 105.42575073242): both sides are compared as single-precision numbers.
        x, y = (_single(v) for v in term.value.removeprefix("POINT(")[:-1].split())
        text = f"POINT({x:.6f} {y:.6f})"
        wkt = ox.Literal(text, datatype=ox.NamedNode(_WKT))
        return ox.Quad(quad.subject, quad.predicate, wkt, quad.graph_name)
    if not isinstance(term, ox.Literal) or term.datatype.value not in (
        _XSD + "boolean",
        _XSD + "double",
    ):
        return quad
    datatype = term.datatype.value.removeprefix(_XSD)
    value = _TYPED.sub(_value_form, f'"{term.value}"^^<{_XSD}{datatype}>')
    lexical = value[1 : value.index('"^^')]
    return ox.Quad(
        quad.subject,
        quad.predicate,
        ox.Literal(lexical, datatype=term.datatype),
        quad.graph_name,
    )


RDF_FORMATS_BY = {f.name: f for f in RDF_FORMATS}


def test_report_timings(repo_stores: dict[str, Store]) -> None:
    """Not a check: prints the remote load time and CQ latencies (``-s`` shows it)."""
    for name, seconds in LOAD_SECONDS.items():
        print(f"\n{name} load of the real graph: {seconds:.2f} s")
    for backend, seconds in TIMINGS.items():
        print(
            f"{backend}: {len(seconds)} CQ runs, total {sum(seconds):.2f} s, "
            f"max {max(seconds):.3f} s"
        )


# --- remote: retries, failed loads, errors -----------------------------------------
Policy = Callable[[str, str, int], "int | str | None"]


class FlakyProxy:
    """An HTTP proxy in front of the Oxigraph server that fails requests on purpose.

    *policy(method, path, n)* sees the *n*-th request (from 1) and returns None to
    forward it, an HTTP status to answer instead, or ``"drop"`` to close the
    connection without an answer.
    """

    def __init__(self, target: str, policy: Policy) -> None:
        self.target = target
        self.policy = policy
        self.seen = 0
        self.failed = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen += 1
                verdict = proxy.policy(self.command, self.path, proxy.seen)
                if verdict == "drop":
                    proxy.failed += 1
                    self.close_connection = True
                    return
                if isinstance(verdict, int):
                    proxy.failed += 1
                    self.send_response(verdict)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("content-type", "accept")
                }
                request = urllib.request.Request(
                    proxy.target + self.path,
                    data=body,
                    headers=headers,
                    method=self.command,
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, data = response.status, response.read()
                        ctype = response.headers.get("Content-Type", "")
                except urllib.error.HTTPError as error:
                    status, data = error.code, error.read()
                    ctype = error.headers.get("Content-Type", "")
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def remote_config(oxigraph_server: OxigraphServer, tmp_path: Path) -> Config:
    """The fixture project on the (emptied) Oxigraph server."""
    clear_server(oxigraph_server)
    config = make_config(FIXTURE_ROOT, tmp_path / "store", query_workers="0")
    return backend_config("remote", config, oxigraph_server)


def _proxied(
    config: Config, proxy: FlakyProxy, *, batch_size: int = 10
) -> RemoteBackend:
    return RemoteBackend(
        Endpoints.derive(proxy.url + "/query"),
        base_iri=config.base_iri,
        batch_size=batch_size,
        http=Http(backoff=0.01),
    )


def _next_dataset(store: Store) -> list[ox.Quad]:
    """The store's quads with one graph fewer and one new graph (a later build)."""
    extra = [
        ox.Quad(
            ox.NamedNode(f"http://ex/s{i}"),
            ox.NamedNode("http://ex/p"),
            ox.Literal(str(i)),
            ox.NamedNode(G + "add/extra"),
        )
        for i in range(40)
    ]
    kept = [q for q in store.quads() if q.graph_name != ox.NamedNode(HOSPITALS)]
    return kept + extra


@pytest.mark.parametrize("failure", [500, "drop"], ids=["http-500", "connection-drop"])
def test_a_failed_remote_load_leaves_the_previous_graphs(
    remote_config: Config, oxigraph_server: OxigraphServer, failure: int | str
) -> None:
    build(remote_config)
    store = open_store(remote_config)
    before = sorted(str(q) for q in store.quads())
    dataset = _next_dataset(store)
    posts = 0

    def policy(method: str, path: str, n: int) -> int | str | None:
        nonlocal posts
        if path.startswith("/store") and method == "POST":
            posts += 1
            if posts >= 3:
                return failure  # every batch from the third on fails
        return None

    proxy = FlakyProxy(oxigraph_server.url, policy)
    try:
        with pytest.raises(RemoteLoadFailed, match="unchanged"):
            _proxied(remote_config, proxy).write_dataset(dataset)
    finally:
        proxy.close()
    assert proxy.failed >= 2  # the failing batch was retried
    after = open_store(remote_config)
    assert sorted(str(q) for q in after.quads()) == before
    assert after.named_graphs() == FIXTURE_GRAPHS
    leftovers = [
        g for g in _server_graphs(oxigraph_server) if g.startswith("urn:x-mededkg:")
    ]
    assert not leftovers  # the temporary graphs were dropped


def _server_graphs(server: OxigraphServer) -> list[str]:
    request = urllib.request.Request(
        server.query,
        data=b"SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }",
        headers={
            "Content-Type": "application/sparql-query",
            "Accept": "application/sparql-results+json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        results = ox.parse_query_results(response.read(), ox.QueryResultsFormat.JSON)
    return [row[0].value for row in results]  # type: ignore[union-attr]


def test_requests_are_retried_and_the_load_completes(
    remote_config: Config, oxigraph_server: OxigraphServer
) -> None:
    build(remote_config)
    dataset = _next_dataset(open_store(remote_config))
    failed_once: set[str] = set()

    def policy(method: str, path: str, n: int) -> int | str | None:
        key = f"{method} {path.split('?')[0]}"
        # The first request of each kind fails once, except updates: they change
        # data, and are only repeated when the connection was refused.
        if key not in failed_once and not path.startswith("/update"):
            failed_once.add(key)
            return "drop" if method == "POST" else 503
        return None

    proxy = FlakyProxy(oxigraph_server.url, policy)
    try:
        backend = _proxied(remote_config, proxy)
        backend.write_dataset(dataset)
    finally:
        proxy.close()
    assert backend.http.retries >= 2
    store = open_store(remote_config)
    assert HOSPITALS not in store.named_graphs()
    assert G + "add/extra" in store.named_graphs()
    nq = next(f for f in RDF_FORMATS if f.name == "nq")  # canonical blank nodes
    assert serialize_quads(list(store.quads()), nq) == serialize_quads(dataset, nq)


def test_blank_nodes_shared_between_graphs_survive_the_load(
    remote_config: Config,
) -> None:
    shared = ox.BlankNode("r1")
    quads = [
        ox.Quad(
            shared,
            ox.NamedNode("http://ex/p"),
            ox.Literal("in a"),
            ox.NamedNode("http://ex/a"),
        ),
        ox.Quad(
            shared,
            ox.NamedNode("http://ex/p"),
            ox.Literal("in b"),
            ox.NamedNode("http://ex/b"),
        ),
        ox.Quad(
            ox.BlankNode("x"),
            ox.NamedNode("http://ex/q"),
            ox.BlankNode("y"),
            ox.NamedNode("http://ex/a"),
        ),
        ox.Quad(
            ox.BlankNode("y"),
            ox.NamedNode("http://ex/q"),
            ox.Literal("1"),
            ox.NamedNode("http://ex/a"),
        ),
    ]
    backend = fast_backend(remote_config)
    assert isinstance(backend, RemoteBackend)
    backend.batch_size = 1
    backend.write_dataset(quads)
    store = backend.open()
    joined = _count(
        store,
        "SELECT (COUNT(*) AS ?n) { GRAPH <http://ex/a> { ?r <http://ex/p> ?x } "
        "GRAPH <http://ex/b> { ?r <http://ex/p> ?y } }",
    )
    assert joined == 1
    chain = _count(
        store, "SELECT (COUNT(*) AS ?n) { ?x <http://ex/q> ?y . ?y <http://ex/q> ?z }"
    )
    assert chain == 1


def test_an_unreachable_server_is_named_in_the_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    config = make_config(
        FIXTURE_ROOT, tmp_path / "s", store_backend="remote", remote_endpoint=url
    )
    backend = fast_backend(config)
    with pytest.raises(RemoteUnavailable, match=re.escape(url)):
        backend.open()


def test_an_empty_server_asks_for_a_build(remote_config: Config) -> None:
    with pytest.raises(RemoteStoreEmpty, match="mededkg build --store-backend remote"):
        open_store(remote_config)


def test_remote_needs_an_endpoint(tmp_path: Path) -> None:
    config = make_config(FIXTURE_ROOT, tmp_path / "s", store_backend="remote")
    with pytest.raises(ConfigError, match="--remote-endpoint"):
        build(config)


def test_a_slow_remote_query_stops_at_the_time_limit(remote_config: Config) -> None:
    build(remote_config)
    store = open_store(remote_config.replace(query_timeout=1.0))
    slow = (
        "SELECT (COUNT(*) AS ?n) "
        "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
    )
    start = time.perf_counter()
    with pytest.raises(QueryTimeout):
        execute(store, slow, limits=Limits(timeout=1.0))
    assert time.perf_counter() - start < 3.0


def _cli_builds_queries_and_exports(tmp_path: Path, *server: str) -> None:
    """``mededkg build``, a named query and ``export`` on the fixture project, with
    the remote server's settings *server*."""
    runner = CliRunner()
    common = [
        "--root",
        str(FIXTURE_ROOT),
        "--store-path",
        str(tmp_path / "store"),
        "--store",
        "remote",
        *server,
    ]
    built = runner.invoke(main, ["build", "-q", *common])
    assert built.exit_code == 0, built.output
    queried = runner.invoke(main, ["query", "hospitals", "--format", "csv", *common])
    assert queried.exit_code == 0, queried.output
    assert queried.output.count("\n") == 2  # header + one hospital
    out = tmp_path / "all.nq"
    exported = runner.invoke(
        main, ["export", "--format", "nq", "-o", str(out), *common]
    )
    assert exported.exit_code == 0, exported.output
    assert len(out.read_bytes().splitlines()) == 55


def test_cli_builds_queries_and_exports_on_remote(
    remote_config: Config, tmp_path: Path
) -> None:
    _cli_builds_queries_and_exports(
        tmp_path, "--endpoint", remote_config.remote_endpoint
    )


def test_cli_builds_queries_and_exports_on_virtuoso(
    virtuoso_server: VirtuosoServer, tmp_path: Path
) -> None:
    """The recipe of docs/backends.md: build (load, reason, validate, then the
    Graph Store batches and the MOVE swap), a named query and an export, on
    Virtuoso (the real graph is loaded into it by ``repo_stores``)."""
    _cli_builds_queries_and_exports(
        tmp_path,
        "--endpoint",
        virtuoso_server.query,
        "--remote-update-endpoint",
        virtuoso_server.query,
        "--remote-graph-store",
        virtuoso_server.graph_store,
        "--remote-union-default-graph",
        "true",
    )


def test_cli_memory_back_end_builds_in_process(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        [
            "query",
            "hospitals",
            "--format",
            "csv",
            "--root",
            str(FIXTURE_ROOT),
            "--store-path",
            str(tmp_path / "store"),
            "--store-backend",
            "memory",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4111010025" in result.output


def test_serve_in_memory_keeps_the_worker_time_limit(fixture_config: Config) -> None:
    config = fixture_config.replace(serve_in_memory=True, query_workers=1)
    app = create_app(config)
    state = app.extensions["mededkg"]
    try:
        assert state.pool is not None and state.pool.in_memory
        response = app.test_client().get(
            "/sparql",
            query_string={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert response.get_json()["results"]["bindings"][0]["n"]["value"] == "55"
    finally:
        state.close()
