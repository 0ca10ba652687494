"""Reading the dataset on a remote server with the SPARQL 1.1 Protocol
(:class:`RemoteStore`); see :mod:`mededkg.storage.remote`."""

from __future__ import annotations

import io
import time
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any

import pyoxigraph as ox
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from mededkg.errors import QueryError, QueryTimeout
from mededkg.guard import declares_dataset
from mededkg.storage.base import NO_OPTIONS, QueryOptions, QueryOutcome, Store
from mededkg.storage.remote.http import (
    TRANSFER_TIMEOUT,
    Endpoints,
    Http,
    RemoteError,
    RemoteHTTPError,
    RemoteUnavailable,
    Response,
    media_type,
)
from mededkg.storage.remote.text import bind_values, query_form

#: Seconds the list of MedEdKG's graphs is reused before it is read again.
GRAPHS_CACHE_SECONDS = 5.0
#: The catalog's property linking it to each graph.
VOID_SUBSET = "http://rdfs.org/ns/void#subset"

#: What a query asks for, by its form (a server such as Virtuoso would otherwise
#: answer a CONSTRUCT with a results table, or a SELECT with RDF).
RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.9"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.5"


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

    def query(self, sparql: str, options: QueryOptions = NO_OPTIONS) -> QueryOutcome:
        """Send a query to the server; see :meth:`Store.query`.

        Raises:
            QueryError: the server refused the query (its message).
            QueryTimeout: no complete answer within the time limit.
            RemoteUnavailable: the server cannot be reached.
        """
        text = bind_values(sparql, options.substitutions)
        if options.base_iri:
            text = f"BASE <{options.base_iri}>\n{text}"
        params: list[tuple[str, str]] = [("query", text)]
        if (
            self.union_default_graph
            and not options.default_graph
            and not options.named_graphs
        ):
            pass  # the server's own default dataset is the union of its graphs
        elif options.default_graph or not declares_dataset(sparql):
            ours = self.named_graphs()
            params += [("default-graph-uri", g) for g in options.default_graph or ours]
            params += [("named-graph-uri", g) for g in options.named_graphs or ours]
        else:
            params += [("named-graph-uri", g) for g in options.named_graphs]
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
        media = media_type(response)
        reader: io.RawIOBase = _DeadlineReader(
            response, limit, timeout, self.endpoints.query
        )
        if media == "application/sparql-results+json":
            reader = _BlankNodeLabels(reader)
        stream = io.BufferedReader(reader)
        try:
            results_format = ox.QueryResultsFormat.from_media_type(media)
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
            rdf_format = ox.RdfFormat.from_media_type(media)
        except ValueError:
            rdf_format = None
        if rdf_format is None:
            response.close()
            raise RemoteError(
                f"the SPARQL server at {self.endpoints.query} answered with "
                f"{media}, which is neither SPARQL results nor RDF"
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


class _DeadlineReader(io.RawIOBase):
    """A response body that stops with :class:`QueryTimeout` past a deadline."""

    def __init__(
        self,
        response: Response,
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
        except (TimeoutError, Urllib3Timeout) as error:
            raise QueryTimeout(_timeout_message(self.timeout)) from error
        except (OSError, Urllib3Error) as error:
            raise RemoteUnavailable(
                f"the connection to the SPARQL server at {self.url} broke while "
                f"reading the answer: {error}"
            ) from error

    def close(self) -> None:
        self.response.close()
        super().close()


class _BlankNodeLabels(io.RawIOBase):
    """JSON results with Virtuoso's blank nodes made readable: Virtuoso 7 labels them
    ``nodeID://b10005``, which is not a blank node label (SPARQL results keep RDF's
    label syntax), so Oxigraph's parser refuses the whole answer. The prefix is
    rewritten, in the stream, where a binding says ``"type": "bnode"`` — as Virtuoso
    writes it; the same node keeps one label within an answer."""

    LABEL = b'"type": "bnode", "value": "nodeID://'
    READABLE = b'"type": "bnode", "value": "nodeID--'

    def __init__(self, inner: io.RawIOBase) -> None:
        super().__init__()
        self.inner = inner
        self.pending = b""  # rewritten bytes not handed out yet
        self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # The last len(LABEL) - 1 bytes are held back until more arrive: a label
        # split between two chunks is completed (and rewritten) by the next one.
        keep = len(self.LABEL) - 1
        while len(self.pending) <= keep and not self.ended:
            chunk = self.inner.read(max(len(buffer), len(self.LABEL))) or b""
            self.ended = not chunk
            self.pending = (self.pending + chunk).replace(self.LABEL, self.READABLE)
        ready = len(self.pending) if self.ended else len(self.pending) - keep
        size = min(ready, len(buffer))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size

    def close(self) -> None:
        self.inner.close()
        super().close()


def _triples(
    stream: IO[bytes], fmt: ox.RdfFormat, response: Response
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


def _timeout_message(timeout: float) -> str:
    return (
        f"the query ran longer than the time limit of {timeout:g} s; add a LIMIT, "
        "narrow the patterns, or ask the operator for a longer query_timeout"
    )
