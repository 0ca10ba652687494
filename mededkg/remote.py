"""Remote back-end: the dataset lives on a SPARQL 1.1 Protocol + Graph Store server.

Reading: queries are sent with the SPARQL 1.1 Protocol and the answers parsed back
into pyoxigraph results, so the rest of MedEdKG cannot tell the engines apart. The
default graph is the union of MedEdKG's graphs: each query names them with
``default-graph-uri`` and ``named-graph-uri`` (unless it has its own ``FROM``), so
other graphs on the server (system graphs, graphs of a load in progress) stay out of
view — or, with ``remote_union_default_graph``, for a server whose default graph is
already the union, the query goes as it is (engines join much faster over their own
union graph than over a list of graphs). Substitutions become a ``VALUES`` block at
the top of the ``WHERE`` clause; the time limit is the HTTP timeout plus a deadline
while reading the answer.

Which graphs are MedEdKG's is recorded in a small catalog graph
(``<base>graph-catalog``, one ``void:subset`` triple per graph), written last by every
load.

Writing (:meth:`RemoteBackend.write_dataset`): every graph is loaded under a temporary
name first, in batches POSTed with the Graph Store Protocol (N-Triples, each batch its
own request, so no request body holds the whole dataset); requests that can safely be
repeated are retried with exponential backoff on connection errors and 5xx answers.
Blank nodes are document-scoped, so each set of triples joined by blank nodes travels
in one request: within one graph as a Graph Store batch, across graphs (the reasoner's
triples about the ontology's class expressions) as one ``INSERT … WHERE {}``. Only
when every graph is loaded does one SPARQL Update request replace the graphs: ``MOVE``
each temporary graph onto its real name, ``DROP`` the graphs the new build no longer
has, and move the new catalog into place — one transaction on Oxigraph, so readers see
the old dataset or the new one. A load that fails drops its temporary graphs and
leaves the previous graphs as they were.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyoxigraph as ox

from mededkg.backends import Backend
from mededkg.errors import MedEdKGError, QueryError, QueryTimeout, StoreNotFound
from mededkg.guard import TOKEN_PATTERN, declares_dataset
from mededkg.settings import Config
from mededkg.store import QueryOutcome, Store, StoreError

Term = ox.NamedNode | ox.BlankNode | ox.Literal

#: Triples per Graph Store request while loading.
BATCH_TRIPLES = 50_000
#: Triples per SPARQL Update request for blank nodes shared between graphs (a set of
#: triples joined by blank nodes is never split; Virtuoso refuses long updates).
UPDATE_BATCH_TRIPLES = 200
#: Attempts per request (the first one included) before a load or query gives up.
ATTEMPTS = 5
#: Seconds before the first retry; doubled before each further one.
BACKOFF = 0.5
#: HTTP answers worth retrying: the server or a proxy in front of it is overloaded.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Seconds the list of MedEdKG's graphs is reused before it is read again.
GRAPHS_CACHE_SECONDS = 5.0
#: Socket timeout of exports and loads (one read or write may not stall longer).
TRANSFER_TIMEOUT = 300.0
#: The catalog's property linking it to each graph.
VOID_SUBSET = "http://rdfs.org/ns/void#subset"

#: What a query asks for, by its form (a server such as Virtuoso would otherwise
#: answer a CONSTRUCT with a results table, or a SELECT with RDF).
RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"
#: Graph Store bodies are N-Triples, which is Turtle too; every server reads Turtle.
BATCH_MEDIA_TYPE = "text/turtle"


class RemoteError(MedEdKGError):
    """The remote SPARQL server answered with an error."""


class RemoteUnavailable(RemoteError):
    """The remote SPARQL server cannot be reached."""


class RemoteLoadFailed(RemoteError):
    """Loading the dataset into the remote server failed; its graphs are unchanged."""


class RemoteStoreEmpty(StoreNotFound):
    """The remote server holds no MedEdKG dataset yet."""

    def __init__(self, url: str) -> None:
        self.url = url
        MedEdKGError.__init__(
            self,
            f"the SPARQL server at {url} holds no MedEdKG graphs yet: run `mededkg "
            f"build --store-backend remote --remote-endpoint {url}` first",
        )


@dataclass(frozen=True)
class Endpoints:
    """The URLs of one server: SPARQL query, SPARQL Update and Graph Store."""

    query: str
    update: str
    graph_store: str

    @classmethod
    def derive(cls, query: str, update: str = "", graph_store: str = "") -> Endpoints:
        """Fill in missing URLs the way Oxigraph lays them out.

        >>> Endpoints.derive("http://h:7878/query")
        Endpoints(query='http://h:7878/query', update='http://h:7878/update', \
graph_store='http://h:7878/store')
        >>> Endpoints.derive("http://h:3030/ds").graph_store
        'http://h:3030/ds'
        """
        stem = query[: -len("/query")] if query.endswith("/query") else None
        return cls(
            query,
            update or (stem + "/update" if stem is not None else query),
            graph_store or (stem + "/store" if stem is not None else query),
        )


class Http:
    """HTTP requests with retries and backoff, and errors that name the URL.

    Args:
        attempts: tries per request, the first included.
        backoff: seconds before the first retry (doubled each time).
    """

    def __init__(self, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.retries = 0  # how many requests were repeated (for tests and reports)
        self._opener = urllib.request.build_opener()

    def open(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float,
        idempotent: bool,
        deadline: float | None = None,
    ) -> http.client.HTTPResponse:
        """Send one request; return the (unread) response of a 2xx answer.

        A request is repeated after a connection error or a 5xx answer if it is
        *idempotent*; any request is repeated when the connection was refused (it was
        never sent). No retry starts after *deadline* (a ``time.monotonic`` value).

        Raises:
            RemoteUnavailable: the server could not be reached (after the retries).
            RemoteHTTPError: the server answered 4xx, or 5xx after the retries.
            TimeoutError: the server did not answer within *timeout* seconds.
        """
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(
                url, data=body, headers=dict(headers or {}), method=method
            )
            try:
                response = self._opener.open(request, timeout=timeout)
                assert isinstance(response, http.client.HTTPResponse)
                return response
            except urllib.error.HTTPError as error:
                retry = idempotent and error.code in RETRY_STATUSES
                if not retry or not self._may_retry(attempt, delay, deadline):
                    raise RemoteHTTPError(url, error.code, _message(error)) from error
            except (TimeoutError, urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, TimeoutError):
                    raise reason from error
                refused = isinstance(reason, ConnectionRefusedError)
                retry = idempotent or refused
                if not retry or not self._may_retry(attempt, delay, deadline):
                    raise RemoteUnavailable(_unreachable(url, reason)) from error
            except http.client.HTTPException as error:
                if not idempotent or not self._may_retry(attempt, delay, deadline):
                    raise RemoteUnavailable(_unreachable(url, error)) from error
            self.retries += 1
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _may_retry(self, attempt: int, delay: float, deadline: float | None) -> bool:
        if attempt >= self.attempts:
            return False
        return deadline is None or time.monotonic() + delay < deadline


class RemoteHTTPError(RemoteError):
    """The server answered with an HTTP error status."""

    def __init__(self, url: str, status: int, message: str) -> None:
        self.url = url
        self.status = status
        self.server_message = message
        super().__init__(f"the SPARQL server at {url} answered {status}: {message}")


class RemoteStore(Store):
    """The MedEdKG dataset on a remote SPARQL server, read with the SPARQL Protocol.

    Args:
        endpoints: the server's URLs.
        catalog: IRI of the graph listing MedEdKG's graphs.
        timeout: seconds one query may take (HTTP timeout and reading deadline).
        http: the HTTP client (retries).
        union_default_graph: the server's default graph is the union of its graphs;
            queries go without the list of MedEdKG's graphs.
    """

    backend = "remote"

    def __init__(
        self,
        endpoints: Endpoints,
        catalog: str,
        *,
        timeout: float,
        http: Http,
        union_default_graph: bool = False,
    ) -> None:
        self.location = None
        self.union_default_graph = union_default_graph
        self.endpoints = endpoints
        self.catalog = catalog
        self.timeout = timeout
        self.http = http
        self._graphs: tuple[str, ...] | None = None
        self._graphs_read = 0.0

    @property
    def inner(self) -> ox.Store:
        """Not available: the dataset is on another server.

        Raises:
            StoreError: always.
        """
        raise StoreError(
            f"the remote back-end has no local Oxigraph store (the data is at "
            f"{self.endpoints.query}); use store_backend embedded for this operation"
        )

    def query(
        self,
        sparql: str,
        *,
        substitutions: Mapping[str, Term] | None = None,
        default_graph: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        base_iri: str | None = None,
    ) -> QueryOutcome:
        """Send a query to the server; see :meth:`Store.query`.

        Raises:
            QueryError: the server refused the query (its message).
            QueryTimeout: no complete answer within the time limit.
            RemoteUnavailable: the server cannot be reached.
        """
        text = bind_values(sparql, substitutions or {})
        if base_iri:
            text = f"BASE <{base_iri}>\n{text}"
        params: list[tuple[str, str]] = [("query", text)]
        if self.union_default_graph and not default_graph and not named_graphs:
            pass  # the server's own default dataset is the union of its graphs
        elif default_graph or not declares_dataset(sparql):
            ours = self.named_graphs()
            params += [("default-graph-uri", g) for g in default_graph or ours]
            params += [("named-graph-uri", g) for g in named_graphs or ours]
        else:
            params += [("named-graph-uri", g) for g in named_graphs]
        graph = query_form(sparql) in ("CONSTRUCT", "DESCRIBE")
        return self._send_query(params, timeout=self.timeout, graph=graph)

    def _send_query(
        self,
        params: list[tuple[str, str]],
        *,
        timeout: float,
        deadline: bool = True,
        graph: bool = False,
    ) -> QueryOutcome:
        limit = time.monotonic() + timeout if deadline else None
        try:
            response = self.http.open(
                "POST",
                self.endpoints.query,
                body=urllib.parse.urlencode(params).encode(),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": GRAPH_ACCEPT if graph else RESULTS_ACCEPT,
                },
                timeout=timeout,
                idempotent=True,
                deadline=limit,
            )
        except RemoteHTTPError as error:
            if 400 <= error.status < 500:
                raise QueryError(
                    f"the SPARQL server refused the query: {error.server_message}"
                ) from error
            raise
        except TimeoutError as error:
            raise QueryTimeout(_timeout_message(timeout)) from error
        media_type = response.headers.get_content_type()
        reader = _DeadlineReader(response, limit, timeout, self.endpoints.query)
        stream = io.BufferedReader(reader)
        try:
            results_format = ox.QueryResultsFormat.from_media_type(media_type)
        except ValueError:
            results_format = None
        if results_format is not None:
            try:
                outcome = ox.parse_query_results(stream, results_format)
            except SyntaxError as error:
                raise RemoteError(
                    f"the SPARQL server at {self.endpoints.query} sent results that "
                    f"do not parse: {error}"
                ) from error
            if isinstance(outcome, ox.QueryBoolean):
                response.close()
            return outcome
        try:
            rdf_format = ox.RdfFormat.from_media_type(media_type)
        except ValueError:
            rdf_format = None
        if rdf_format is None:
            response.close()
            raise RemoteError(
                f"the SPARQL server at {self.endpoints.query} answered with "
                f"{media_type}, which is neither SPARQL results nor RDF"
            )
        return _triples(stream, rdf_format, response)

    def select(
        self, sparql: str, *, timeout: float = TRANSFER_TIMEOUT
    ) -> ox.QuerySolutions:
        """Run a SELECT of MedEdKG's own (no dataset parameters, no deadline)."""
        outcome = self._send_query([("query", sparql)], timeout=timeout, deadline=False)
        if not isinstance(outcome, ox.QuerySolutions):
            raise RemoteError(
                f"the SPARQL server at {self.endpoints.query} did not answer a SELECT "
                "query with solutions"
            )
        return outcome

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad of MedEdKG's graphs, or those of the graph IRI *graph*.

        Read with one SELECT, so blank nodes shared between graphs keep one label.
        """
        if graph is not None:
            name = ox.NamedNode(graph)
            solutions = self.select(
                f"SELECT ?s ?p ?o WHERE {{ GRAPH {name} {{ ?s ?p ?o }} }}"
            )
            return (ox.Quad(r[0], r[1], r[2], name) for r in solutions)
        ours = self.named_graphs()
        params = [("query", "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")]
        params += [("named-graph-uri", g) for g in ours]
        outcome = self._send_query(params, timeout=TRANSFER_TIMEOUT, deadline=False)
        assert isinstance(outcome, ox.QuerySolutions)
        return (ox.Quad(r[0], r[1], r[2], r[3]) for r in outcome)

    def named_graphs(self) -> list[str]:
        """MedEdKG's graphs on the server (from the catalog), sorted."""
        now = time.monotonic()
        if self._graphs is None or now - self._graphs_read > GRAPHS_CACHE_SECONDS:
            self._graphs = tuple(self.read_catalog())
            self._graphs_read = now
        return list(self._graphs)

    def read_catalog(self) -> list[str]:
        """The graphs the catalog lists now (no cache), sorted."""
        catalog = ox.NamedNode(self.catalog)
        solutions = self.select(
            f"SELECT ?g WHERE {{ GRAPH {catalog} {{ {catalog} <{VOID_SUBSET}> ?g }} }}",
            timeout=max(self.timeout, 10.0),
        )
        return sorted(
            row[0].value for row in solutions if isinstance(row[0], ox.NamedNode)
        )

    def __len__(self) -> int:
        params = [
            ("query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),
            *[("named-graph-uri", g) for g in self.named_graphs()],
        ]
        outcome = self._send_query(params, timeout=TRANSFER_TIMEOUT, deadline=False)
        assert isinstance(outcome, ox.QuerySolutions)
        for row in outcome:
            term = row[0]
            if isinstance(term, ox.Literal):
                return int(term.value)
        return 0


class RemoteBackend(Backend):
    """A SPARQL 1.1 Protocol + Graph Store Protocol server.

    Args:
        endpoints: the server's URLs.
        base_iri: the dataset's base IRI (names the catalog graph).
        timeout: seconds one query may take.
        batch_size: triples per Graph Store request while loading.
        http: the HTTP client (default: :data:`ATTEMPTS` tries, :data:`BACKOFF`).
        union_default_graph: see :class:`RemoteStore`.
    """

    name = "remote"

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        base_iri: str,
        timeout: float = 30.0,
        batch_size: int = BATCH_TRIPLES,
        http: Http | None = None,
        union_default_graph: bool = False,
    ) -> None:
        self.endpoints = endpoints
        self.union_default_graph = union_default_graph
        self.catalog = f"{base_iri}graph-catalog"
        self.timeout = timeout
        self.batch_size = batch_size
        self.http = http or Http()

    @classmethod
    def from_config(cls, config: Config) -> RemoteBackend:
        """The remote back-end the settings describe."""
        return cls(
            Endpoints.derive(
                config.remote_endpoint,
                config.remote_update_endpoint,
                config.remote_graph_store,
            ),
            base_iri=config.base_iri,
            timeout=config.query_timeout,
            union_default_graph=config.remote_union_default_graph,
        )

    @property
    def where(self) -> str:
        """The query URL."""
        return self.endpoints.query

    def reader(self) -> RemoteStore:
        """A reader of the server, without checking that a dataset is there."""
        return RemoteStore(
            self.endpoints,
            self.catalog,
            timeout=self.timeout,
            http=self.http,
            union_default_graph=self.union_default_graph,
        )

    def open(self) -> Store:
        """Check the server holds a MedEdKG dataset and return its reader.

        Raises:
            RemoteStoreEmpty: the server is reachable but has no MedEdKG graphs.
            RemoteUnavailable: the server cannot be reached.
        """
        store = self.reader()
        if not store.named_graphs():
            raise RemoteStoreEmpty(self.endpoints.query)
        return store

    def write_dataset(
        self,
        quads: Iterable[ox.Quad],
        *,
        before_swap: Callable[[Store], None] | None = None,
    ) -> Path | None:
        """Load *quads* under temporary graph names, then swap them in at once.

        *before_swap* is not called: the remote back-end has no build folder (no
        dumps; ``mededkg export`` reads from the server instead).

        Raises:
            RemoteLoadFailed: a request failed (after its retries); the graphs on the
                server are as before.
            StoreError: a quad is in the default graph (only named graphs are loaded).
        """
        load = _Load(self)
        try:
            load.run(quads)
        except (RemoteError, TimeoutError, OSError) as error:
            load.clean_up()
            raise RemoteLoadFailed(
                f"loading the dataset into {self.endpoints.graph_store} failed: "
                f"{error}; the graphs on the server are unchanged (check the server's "
                "log, its free disk space and request size limits, then build again)"
            ) from error
        except BaseException:
            load.clean_up()
            raise
        return None


class _Load:
    """One load: temporary graphs, batches, the swap."""

    def __init__(self, backend: RemoteBackend) -> None:
        self.backend = backend
        self.http = backend.http
        self.id = uuid.uuid4().hex
        self.temporary: dict[str, str] = {}  # graph IRI → temporary graph IRI

    def temp(self, graph: str) -> str:
        """The temporary name of *graph* in this load."""
        if graph not in self.temporary:
            self.temporary[graph] = (
                f"urn:x-mededkg:load:{self.id}:{len(self.temporary)}"
            )
        return self.temporary[graph]

    def run(self, quads: Iterable[ox.Quad]) -> None:
        """Send everything, then swap."""
        size = self.backend.batch_size
        buffers: dict[str, list[ox.Triple]] = {}
        blank: list[ox.Quad] = []
        for quad in quads:
            name = quad.graph_name
            if not isinstance(name, ox.NamedNode):
                raise StoreError(
                    "the remote back-end stores named graphs only, and a quad is in "
                    "the default graph; put it in a named graph"
                )
            self.temp(name.value)
            if _has_blank(quad):
                blank.append(quad)
                continue
            buffer = buffers.setdefault(name.value, [])
            buffer.append(quad.triple)
            if len(buffer) >= size:
                self.post(name.value, buffer, idempotent=True)
                buffers[name.value] = []
        for graph, buffer in buffers.items():
            if buffer:
                self.post(graph, buffer, idempotent=True)
        local: dict[str, list[ox.Triple]] = {}
        shared: list[ox.Quad] = []
        for component in _components(blank):
            graphs = {q.graph_name.value for q in component}  # type: ignore[union-attr]
            if len(graphs) > 1:
                if shared and len(shared) + len(component) > UPDATE_BATCH_TRIPLES:
                    self.insert(shared)
                    shared = []
                shared += component
                if len(shared) >= UPDATE_BATCH_TRIPLES:
                    self.insert(shared)
                    shared = []
                continue
            (graph,) = graphs
            batch = local.setdefault(graph, [])
            batch += [q.triple for q in component]
            if len(batch) >= size:
                self.post(graph, batch, idempotent=False)
                local[graph] = []
        for graph, batch in local.items():
            if batch:
                self.post(graph, batch, idempotent=False)
        if shared:
            self.insert(shared)
        self.swap()

    def post(self, graph: str, triples: list[ox.Triple], *, idempotent: bool) -> None:
        """POST one batch of *graph*'s triples into its temporary graph."""
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        assert isinstance(body, bytes)
        self._gsp("POST", self.temp(graph), body, idempotent=idempotent)

    def _gsp(self, method: str, graph: str, body: bytes, *, idempotent: bool) -> None:
        url = _with_query(self.backend.endpoints.graph_store, graph=graph)
        response = self.http.open(
            method,
            url,
            body=body,
            headers={"Content-Type": BATCH_MEDIA_TYPE},
            timeout=TRANSFER_TIMEOUT,
            idempotent=idempotent,
        )
        with response:
            response.read()

    def insert(self, quads: list[ox.Quad]) -> None:
        """Send triples whose blank nodes span graphs in one ``INSERT``."""
        by_graph: dict[str, list[str]] = {}
        for q in quads:
            graph = self.temp(q.graph_name.value)  # type: ignore[union-attr]
            by_graph.setdefault(graph, []).append(
                f"{q.subject} {q.predicate} {q.object} ."
            )
        blocks = "\n".join(
            f"GRAPH <{g}> {{\n" + "\n".join(lines) + "\n}"
            for g, lines in by_graph.items()
        )
        # INSERT … WHERE {} rather than INSERT DATA: Virtuoso refuses blank nodes in
        # INSERT DATA; a template's blank nodes are one set for the one solution.
        self.update(f"INSERT {{\n{blocks}\n}} WHERE {{}}", idempotent=False)

    def update(self, text: str, *, idempotent: bool) -> None:
        """Send one SPARQL Update request."""
        response = self.http.open(
            "POST",
            self.backend.endpoints.update,
            body=urllib.parse.urlencode({"update": text}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=TRANSFER_TIMEOUT,
            idempotent=idempotent,
        )
        with response:
            response.read()

    def swap(self) -> None:
        """Write the new catalog, then replace every graph in one update request."""
        catalog = ox.NamedNode(self.backend.catalog)
        listing = [
            ox.Triple(catalog, ox.NamedNode(VOID_SUBSET), ox.NamedNode(g))
            for g in sorted(self.temporary)
        ]
        graphs = dict(self.temporary)
        body = ox.serialize(listing, format=ox.RdfFormat.N_TRIPLES)
        assert isinstance(body, bytes)
        temp_catalog = f"urn:x-mededkg:load:{self.id}:catalog"
        self.temporary[self.backend.catalog] = temp_catalog
        self._gsp("PUT", temp_catalog, body, idempotent=True)
        previous = self.backend.reader().read_catalog()
        operations = [f"DROP SILENT GRAPH <{g}>" for g in previous if g not in graphs]
        operations += [f"MOVE GRAPH <{t}> TO GRAPH <{g}>" for g, t in graphs.items()]
        operations.append(f"MOVE GRAPH <{temp_catalog}> TO GRAPH {catalog}")
        self.update(" ;\n".join(operations), idempotent=False)
        self.temporary.clear()

    def clean_up(self) -> None:
        """Drop this load's temporary graphs (best effort: the server may be gone)."""
        if not self.temporary:
            return
        text = " ;\n".join(f"DROP SILENT GRAPH <{t}>" for t in self.temporary.values())
        with contextlib.suppress(RemoteError, TimeoutError, OSError):
            self.update(text, idempotent=True)


def bind_values(sparql: str, bindings: Mapping[str, Term]) -> str:
    """Bind variables by a ``VALUES`` block at the start of the query's ``WHERE``.

    The SPARQL Protocol has no substitutions; a ``VALUES`` block joined first in the
    outermost group gives the same answers (filters and ``BIND`` in the group see the
    values). Variables the query does not mention are left out.

    >>> bind_values("SELECT ?n WHERE { ?s ?p ?n }", {"s": ox.NamedNode("http://e/a")})
    'SELECT ?n WHERE { VALUES (?s) { (<http://e/a>) } ?s ?p ?n }'
    >>> bind_values("CONSTRUCT { ?s ?p 1 } { ?s ?p ?o }", {"p": ox.NamedNode("http://p")})
    'CONSTRUCT { ?s ?p 1 } { VALUES (?p) { (<http://p>) } ?s ?p ?o }'
    """
    mentioned = {
        m.group()[1:] for m in TOKEN_PATTERN.finditer(sparql) if m.lastgroup == "var"
    }
    used = {name: term for name, term in bindings.items() if name in mentioned}
    if not used:
        return sparql
    position = _where_brace(sparql)
    if position is None:
        raise QueryError("malformed query: no WHERE clause to bind parameters in")
    names = " ".join(f"?{name}" for name in used)
    values = " ".join(str(term) for term in used.values())
    block = f" VALUES ({names}) {{ ({values}) }}"
    return sparql[: position + 1] + block + sparql[position + 1 :]


def query_form(sparql: str) -> str:
    """The query's form: SELECT, ASK, CONSTRUCT or DESCRIBE (``""`` if none).

    >>> query_form("PREFIX s: <http://e/select#> CONSTRUCT WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    for match in TOKEN_PATTERN.finditer(sparql):
        if match.lastgroup == "name":
            word = match.group().upper()
            if word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
                return word
    return ""


def _where_brace(sparql: str) -> int | None:
    """The offset of the ``{`` opening the outermost ``WHERE`` group."""
    depth = 0
    form = ""
    braces: list[int] = []
    after_where = False
    for match in TOKEN_PATTERN.finditer(sparql):
        kind, text = match.lastgroup, match.group()
        if kind == "comment" or kind == "string" or kind == "iri":
            continue
        upper = text.upper()
        if kind == "name" and depth == 0:
            if upper in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE") and not form:
                form = upper
            elif upper == "WHERE":
                after_where = True
        if text == "{":
            if depth == 0:
                if after_where:
                    return match.start()
                braces.append(match.start())
                if form != "CONSTRUCT" or len(braces) == 2:
                    return match.start()
            depth += 1
        elif text == "}":
            depth -= 1
    return None


class _DeadlineReader(io.RawIOBase):
    """A response body that stops with :class:`QueryTimeout` past a deadline."""

    def __init__(
        self,
        response: http.client.HTTPResponse,
        deadline: float | None,
        timeout: float,
        url: str,
    ) -> None:
        super().__init__()
        self.response = response
        self.deadline = deadline
        self.timeout = timeout
        self.url = url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.response.close()
            raise QueryTimeout(_timeout_message(self.timeout))
        try:
            return self.response.readinto(buffer)
        except TimeoutError as error:
            raise QueryTimeout(_timeout_message(self.timeout)) from error
        except (OSError, http.client.HTTPException) as error:
            raise RemoteUnavailable(
                f"the connection to the SPARQL server at {self.url} broke while "
                f"reading the answer: {error}"
            ) from error

    def close(self) -> None:
        self.response.close()
        super().close()


def _triples(
    stream: IO[bytes], fmt: ox.RdfFormat, response: http.client.HTTPResponse
) -> Iterator[ox.Triple]:
    try:
        for quad in ox.parse(stream, format=fmt):
            yield quad.triple
    except SyntaxError as error:
        raise RemoteError(
            f"the SPARQL server sent RDF that does not parse: {error}"
        ) from error
    finally:
        response.close()


def _has_blank(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(
        quad.object, ox.BlankNode
    )


def _components(quads: list[ox.Quad]) -> list[list[ox.Quad]]:
    """Group quads into sets joined by shared blank nodes (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def blanks(quad: ox.Quad) -> list[str]:
        return [
            t.value for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)
        ]

    for quad in quads:
        labels = blanks(quad)
        for other in labels[1:]:
            parent[find(other)] = find(labels[0])
    groups: dict[str, list[ox.Quad]] = {}
    for quad in quads:
        groups.setdefault(find(blanks(quad)[0]), []).append(quad)
    return list(groups.values())


def _with_query(url: str, **params: str) -> str:
    separator = "&" if "?" in url else "?"
    return url + separator + urllib.parse.urlencode(params)


def _message(error: urllib.error.HTTPError) -> str:
    try:
        text = error.read(2000).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return " ".join(text.split())[:500] or (error.reason or "no message")


def _unreachable(url: str, reason: object) -> str:
    return (
        f"cannot reach the SPARQL server at {url} ({reason}); check that it is "
        "running and that the remote_endpoint / remote_update_endpoint / "
        "remote_graph_store settings point at it"
    )


def _timeout_message(timeout: float) -> str:
    return (
        f"the query ran longer than the time limit of {timeout:g} s; add a LIMIT, "
        "narrow the patterns, or ask the operator for a longer query_timeout"
    )
