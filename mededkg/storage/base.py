"""The two interfaces of the storage wing: :class:`Store` (read a dataset: SPARQL,
quads, graphs, size) and :class:`Backend` (write a whole dataset, open it for
reading). Every back-end implements both: ``embedded`` (:mod:`.embedded`), ``memory``
(:mod:`.memory`), ``remote`` (:mod:`.remote`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from mededkg.errors import MedEdKGError

#: What :meth:`Store.query` returns: pyoxigraph's own results, or (for back-ends that
#: parse a graph result themselves) an iterator of triples.
QueryOutcome = (
    ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples | Iterator[ox.Triple]
)

#: A term a query may bind or return.
Term = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass(frozen=True)
class QueryOptions:
    """How a query is evaluated besides its text (the same on every back-end)."""

    #: values bound to variables before evaluation
    substitutions: Mapping[str, Term] = field(default_factory=dict)
    #: graph IRIs forming the default graph instead of the union (the protocol's
    #: ``default-graph-uri``)
    default_graph: Sequence[str] = ()
    #: graph IRIs available to ``GRAPH`` (``named-graph-uri``)
    named_graphs: Sequence[str] = ()
    #: resolves relative IRIs in the query
    base_iri: str | None = None


#: A query's options when it has none.
NO_OPTIONS = QueryOptions()


class StoreError(MedEdKGError):
    """The store folder cannot be written or opened."""


class Store(ABC):
    """A read-only view of a built dataset: what every back-end gives to read.

    The default graph of a query is the union of the named graphs (unless the query
    names its own dataset); results are pyoxigraph terms and result objects whatever
    the engine, so callers cannot tell the back-ends apart.
    """

    #: The back-end's name (the ``store_backend`` setting).
    backend = ""
    #: The build folder (embedded), else ``None``: a new location is a new build.
    location: Path | None = None

    @abstractmethod
    def query(self, sparql: str, options: QueryOptions = NO_OPTIONS) -> QueryOutcome:
        """Evaluate a SPARQL query with *options* (:class:`QueryOptions`); the default
        graph is the union of all graphs.

        Raises:
            QueryError: with the parser's message if the query is malformed.
        """

    @property
    def inner(self) -> ox.Store:
        """The underlying pyoxigraph store (embedded only).

        Raises:
            StoreError: this back-end has none.
        """
        raise StoreError(
            f"the {self.backend} back-end has no local Oxigraph store; use "
            "store_backend embedded for this operation"
        )

    @abstractmethod
    def quads(self, graph: str | None = None) -> Iterator[ox.Quad]:
        """Every quad, or those of the named graph IRI *graph*."""

    @abstractmethod
    def named_graphs(self) -> list[str]:
        """The IRIs of the named graphs, sorted."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads."""


class Backend(ABC):
    """Where a built dataset lives: write it whole, open it for reading."""

    #: The back-end's name (the ``store_backend`` setting).
    name = ""

    @abstractmethod
    def open(self) -> Store:
        """Open the current dataset for reading.

        Raises:
            StoreNotFound: nothing has been written there yet.
        """

    #: Whether :meth:`write_dataset` calls *before_swap* before the new dataset
    #: becomes current, so that an exception raised there leaves the previous dataset
    #: current (the build then validates while the store is written).
    gates_swap: bool = False

    @abstractmethod
    def write_dataset(
        self,
        quads: Iterable[ox.Quad],
        *,
        before_swap: Callable[[Store], None] | None = None,
    ) -> Path | None:
        """Replace the dataset with *quads*, all or nothing.

        Args:
            quads: the whole dataset (named graphs).
            before_swap: called with the new dataset before it becomes current, where
                the back-end has files to write beside it (embedded only: dumps).

        Returns:
            The new build folder (embedded), else None.
        """

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the dataset lives, for messages (a path or a URL)."""
