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

from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox

from mededkg.settings import Config
from mededkg.storage.base import Backend, Store
from mededkg.storage.remote.http import (
    ATTEMPTS,
    BACKOFF,
    Endpoints,
    Http,
    RemoteError,
    RemoteHTTPError,
    RemoteLoadFailed,
    RemoteStoreEmpty,
    RemoteUnavailable,
)
from mededkg.storage.remote.load import BATCH_TRIPLES, Load
from mededkg.storage.remote.reader import RemoteStore
from mededkg.storage.remote.text import bind_values, query_form

__all__ = [
    "ATTEMPTS",
    "BACKOFF",
    "BATCH_TRIPLES",
    "Endpoints",
    "Http",
    "RemoteBackend",
    "RemoteError",
    "RemoteHTTPError",
    "RemoteLoadFailed",
    "RemoteStore",
    "RemoteStoreEmpty",
    "RemoteUnavailable",
    "bind_values",
    "query_form",
]


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
        load = Load(
            self.endpoints,
            self.catalog,
            http=self.http,
            batch_size=self.batch_size,
            reader=self.reader(),
        )
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
