"""Loading a dataset into a remote server: temporary graphs, batches, one swap
(:class:`Load`); see :mod:`mededkg.storage.remote`."""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections.abc import Iterable

import pyoxigraph as ox

from mededkg.storage.base import StoreError
from mededkg.storage.remote.http import (
    TRANSFER_TIMEOUT,
    Endpoints,
    Http,
    RemoteError,
    _with_query,
)
from mededkg.storage.remote.reader import VOID_SUBSET, RemoteStore

#: Triples per Graph Store request while loading.
BATCH_TRIPLES = 50_000
#: Triples per SPARQL Update request for blank nodes shared between graphs (a set of
#: triples joined by blank nodes is never split; Virtuoso refuses long updates).
UPDATE_BATCH_TRIPLES = 200

#: Graph Store bodies are N-Triples, which is Turtle too; every server reads Turtle.
BATCH_MEDIA_TYPE = "text/turtle"


class Load:
    """One load into the server at *endpoints*: temporary graphs, batches of
    *batch_size* triples, the swap; *reader* reads the server's current catalog
    (the graph *catalog*)."""

    def __init__(
        self,
        endpoints: Endpoints,
        catalog: str,
        *,
        http: Http,
        batch_size: int,
        reader: RemoteStore,
    ) -> None:
        self.endpoints = endpoints
        self.catalog = catalog
        self.http = http
        self.batch_size = batch_size
        self.reader = reader
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
        size = self.batch_size
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
        url = _with_query(self.endpoints.graph_store, graph=graph)
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
            self.endpoints.update,
            body=urllib.parse.urlencode({"update": text}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=TRANSFER_TIMEOUT,
            idempotent=idempotent,
        )
        with response:
            response.read()

    def swap(self) -> None:
        """Write the new catalog, then replace every graph in one update request."""
        catalog = ox.NamedNode(self.catalog)
        listing = [
            ox.Triple(catalog, ox.NamedNode(VOID_SUBSET), ox.NamedNode(g))
            for g in sorted(self.temporary)
        ]
        graphs = dict(self.temporary)
        body = ox.serialize(listing, format=ox.RdfFormat.N_TRIPLES)
        assert isinstance(body, bytes)
        temp_catalog = f"urn:x-mededkg:load:{self.id}:catalog"
        self.temporary[self.catalog] = temp_catalog
        self._gsp("PUT", temp_catalog, body, idempotent=True)
        previous = self.reader.read_catalog()
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
