"""The memory back-end: an rdflib :class:`~rdflib.Dataset` in this process, built on
start (tests and tiny graphs), queried with rdflib's SPARQL engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLResult
from rdflib.plugins.sparql.sparql import QueryContext, SPARQLError
from rdflib.term import Identifier, Node, Variable

from mededkg.errors import QueryError, StoreNotFound
from mededkg.storage.base import (
    NO_OPTIONS,
    Backend,
    QueryOptions,
    QueryOutcome,
    Store,
)
from mededkg.terms import XSD_STRING, to_oxigraph, to_rdflib

#: The datasets of the memory back-end in this process, by store path: a build and the
#: server that follows it in the same process meet here.
_MEMORY: dict[Path, MemoryStore] = {}
_MEMORY_LOCK = threading.Lock()


class MemoryBackend(Backend):
    """An rdflib dataset in this process, kept under the store path as a key.

    Nothing is written to disk: a new process starts empty (``serve`` and the CLI
    build first).
    """

    name = "memory"

    def __init__(self, key: Path) -> None:
        self.key = key

    def open(self) -> Store:
        """The dataset written last in this process under the same key."""
        with _MEMORY_LOCK:
            found = _MEMORY.get(self.key)
        if found is None:
            raise StoreNotFound(self.key)
        return found

    def write_dataset(
        self,
        quads: Iterable[ox.Quad],
        *,
        before_swap: Callable[[Store], None] | None = None,
    ) -> Path | None:
        """Build a new rdflib dataset from *quads*, then make it current."""
        store = MemoryStore.from_quads(quads)
        with _MEMORY_LOCK:
            _MEMORY[self.key] = store
        return None

    @property
    def where(self) -> str:
        """A description: the data lives in this process only."""
        return "memory (this process)"

    def discard(self) -> None:
        """Forget the dataset (tests)."""
        with _MEMORY_LOCK:
            _MEMORY.pop(self.key, None)


class MemoryStore(Store):
    """A dataset in an rdflib :class:`~rdflib.Dataset`, queried with rdflib's SPARQL.

    Results are converted to pyoxigraph terms and result objects, so callers cannot
    tell the engines apart. rdflib's query parser is not thread-safe: queries run one
    at a time. There is no hard time limit (the query runs in this process). ``FROM``
    and ``FROM NAMED`` pick graphs of the dataset only; nothing is ever fetched.
    """

    backend = "memory"

    def __init__(self, dataset: Dataset) -> None:
        self.location = None
        self._dataset = dataset
        self._lock = threading.Lock()

    @classmethod
    def from_quads(cls, quads: Iterable[ox.Quad]) -> MemoryStore:
        """A memory store holding *quads*."""
        dataset = Dataset(default_union=True)
        for quad in quads:
            triple = (
                _rdflib(quad.subject),
                _rdflib(quad.predicate),
                _rdflib(quad.object),
            )
            if isinstance(quad.graph_name, ox.NamedNode):
                dataset.graph(URIRef(quad.graph_name.value)).add(triple)
            else:
                dataset.default_graph.add(triple)
        return cls(dataset)

    @property
    def dataset(self) -> Dataset:
        """The rdflib dataset (do not change it)."""
        return self._dataset

    def query(self, sparql: str, options: QueryOptions = NO_OPTIONS) -> QueryOutcome:
        """Evaluate a SPARQL query with rdflib; see :meth:`Store.query`.

        Raises:
            QueryError: with the parser's message if the query is malformed.
        """
        bindings = {
            name: to_rdflib(term) for name, term in options.substitutions.items()
        }
        with self._lock:
            try:
                parsed = translateQuery(parseQuery(sparql), base=options.base_iri)
            except Exception as error:  # pyparsing raises several unrelated types
                raise QueryError(f"malformed query: {error}") from error
            context = self._context(
                parsed.algebra, bindings, options.default_graph, options.named_graphs
            )
            context.prologue = parsed.prologue
            try:
                result = SPARQLResult(evalPart(context, parsed.algebra))
            except SPARQLError as error:
                raise QueryError(str(error)) from error
            if result.type == "CONSTRUCT" or result.type == "DESCRIBE":
                assert result.graph is not None
                triples = [
                    ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o))  # type: ignore[arg-type]
                    for s, p, o in result.graph
                ]
                return iter(triples)
            if result.type == "SELECT" and _grouped(parsed.algebra):
                rows = result.bindings
                if len(rows) == 1 and not any(v is not None for v in rows[0].values()):
                    # rdflib answers a GROUP BY over no solutions with one empty
                    # row; SPARQL (and Oxigraph) with none.
                    result.bindings = []
            body = result.serialize(format="json")
        assert body is not None
        return ox.parse_query_results(body, ox.QueryResultsFormat.JSON)

    def _context(
        self,
        algebra: Any,
        bindings: dict[str, Any],
        default_graph: Sequence[str],
        named_graphs: Sequence[str],
    ) -> QueryContext:
        """The query's dataset: the union of every graph unless the protocol or the
        query's ``FROM``/``FROM NAMED`` name graphs (then only graphs of this store)."""
        clause = algebra.datasetClause or []
        algebra["datasetClause"] = None  # never let rdflib fetch a FROM graph
        # rdflib looks the bindings up by Variable (a str subclass).
        init: dict[str, Identifier] = {
            Variable(k): v for k, v in bindings.items() if isinstance(v, Identifier)
        }
        if not default_graph and not named_graphs and not clause:
            return QueryContext(self._dataset, initBindings=init)
        if default_graph or named_graphs:
            defaults = list(default_graph)
            named = list(named_graphs)
            if not named:
                named = self.named_graphs()
            union = not defaults
        else:
            defaults = [str(d.default) for d in clause if d.default]
            named = [str(d.named) for d in clause if d.named]
            union = False
        view = Dataset()
        for iri in named:
            target = view.graph(URIRef(iri))
            for triple in self._dataset.graph(URIRef(iri)):
                target.add(triple)
        context = QueryContext(view, initBindings=init)
        default = Graph()
        for iri in self.named_graphs() if union else defaults:
            for triple in self._dataset.graph(URIRef(iri)):
                default.add(triple)
        context.graph = default
        return context

    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad, or those of the named graph IRI *graph*."""
        if graph is not None:
            name = ox.NamedNode(graph)
            triples = list(self._dataset.graph(URIRef(graph)))
            return iter([_quad(s, p, o, name) for s, p, o in triples])
        out: list[ox.Quad] = []
        for s, p, o, g in self._dataset.quads((None, None, None, None)):
            identifier = getattr(g, "identifier", g)
            name_: ox.NamedNode | ox.DefaultGraph = (
                ox.DefaultGraph()
                if identifier is None or identifier == _DEFAULT
                else ox.NamedNode(str(identifier))
            )
            out.append(_quad(s, p, o, name_))
        return iter(out)

    def named_graphs(self) -> list[str]:
        """The IRIs of the non-empty named graphs, sorted."""
        return sorted(
            str(g.identifier)
            for g in self._dataset.graphs()
            if isinstance(g.identifier, URIRef) and g.identifier != _DEFAULT and len(g)
        )

    def __len__(self) -> int:
        return sum(1 for _ in self._dataset.quads((None, None, None, None)))


_DEFAULT = URIRef("urn:x-rdflib:default")

#: Algebra operators that may wrap the outermost aggregation of a SELECT query.
_WRAPPERS = ("Project", "OrderBy", "Slice", "Distinct", "Reduced", "Extend", "Filter")


def _grouped(algebra: Any) -> bool:
    """True if the outermost level of a SELECT query has a ``GROUP BY``."""
    node = algebra.p
    while getattr(node, "name", None) in _WRAPPERS:
        node = node.p
    return (
        getattr(node, "name", None) == "AggregateJoin"
        and getattr(node.p, "expr", None) is not None
    )


def _rdflib(term: Any) -> Node:
    """The rdflib term for a stored pyoxigraph term, keeping literals' lexical form
    (rdflib would turn ``"1"^^xsd:double`` into ``"1.0"``, and exports would differ)."""
    if isinstance(term, ox.Literal) and not term.language:
        datatype = term.datatype.value
        return Literal(
            term.value,
            datatype=None if datatype == XSD_STRING else URIRef(datatype),
            normalize=False,
        )
    return to_rdflib(term)


def _quad(s: Any, p: Any, o: Any, graph: ox.NamedNode | ox.DefaultGraph) -> ox.Quad:
    return ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph)  # type: ignore[arg-type]
