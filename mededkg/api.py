"""The Python API for notebooks: open a built store read-only and query it.

>>> from mededkg.api import KnowledgeGraph          # doctest: +SKIP
>>> kg = KnowledgeGraph()                           # doctest: +SKIP
>>> kg.rows("cq01-institutions-by-type")[:2]        # doctest: +SKIP
>>> kg.dataframe("SELECT ?s WHERE { ?s a ?c } LIMIT 5")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from oxrdflib import OxigraphStore
from rdflib import Dataset, Graph, Literal, URIRef

from mededkg.errors import QueryError
from mededkg.namespaces import graph_iri
from mededkg.query.gate import QueryResult, SelectResult, Term, execute, limits_for
from mededkg.query.namedqueries import NamedQuery, resolve_query
from mededkg.resources import queries_dir
from mededkg.settings import Config, load_config
from mededkg.storage import EmbeddedStore
from mededkg.terms import to_rdflib

if TYPE_CHECKING:
    import pandas


class KnowledgeGraph:
    """A read-only handle on a built MedEdKG store.

    Args:
        store_path: the store to open (default: the configured store).
        config: settings (default: the defaults; pass
            ``load_config(environ=os.environ)`` to honour ``MEDEDKG_*`` variables).

    Raises:
        StoreNotFound: if nothing has been built at the store path.
    """

    def __init__(
        self, store_path: Path | str | None = None, *, config: Config | None = None
    ) -> None:
        config = config or load_config()
        if store_path is not None:
            config = config.replace(store_path=Path(store_path).absolute())
        self.config = config
        self.store = EmbeddedStore.open(config.store_path)
        self.limits = limits_for(config, trusted=True)

    @property
    def dataset(self) -> Dataset:
        """The whole store as a read-only rdflib Dataset (default graph = union)."""
        return Dataset(store=OxigraphStore(store=self.store.inner), default_union=True)

    def graph(self, name: str) -> Graph:
        """One named graph (short name such as ``"institutions"`` or its IRI)."""
        iri = name if "://" in name else str(graph_iri(self.config.base_iri, name))
        return Graph(
            store=OxigraphStore(store=self.store.inner), identifier=URIRef(iri)
        )

    def run(self, query: str, **params: str) -> QueryResult:
        """Run a named query (by name) or SPARQL text, with parameter values."""
        named = self._named(query)
        if named is None:
            return execute(self.store, query, limits=self.limits)
        return execute(
            self.store, named.text, limits=self.limits, substitutions=named.bind(params)
        )

    def rows(self, query: str, **params: str) -> list[dict[str, Any]]:
        """Rows of a SELECT query as dicts of Python values (IRIs as strings).

        Raises:
            QueryError: for a malformed query, or one that is not a SELECT.
        """
        return _rows(self._select(query, params))

    def dataframe(self, query: str, **params: str) -> pandas.DataFrame:
        """Rows of a SELECT query as a pandas DataFrame (needs the ``pandas`` extra)."""
        import pandas

        result = self._select(query, params)
        return pandas.DataFrame(_rows(result), columns=list(result.variables))

    def _select(self, query: str, params: dict[str, str]) -> SelectResult:
        result = self.run(query, **params)
        if not isinstance(result, SelectResult):
            raise QueryError("this needs a SELECT query; use run() for ASK/CONSTRUCT")
        return result

    def _named(self, query: str) -> NamedQuery | None:
        if any(ch.isspace() for ch in query.strip()):
            return None
        return resolve_query(query, queries_dir(self.config.root))


def _rows(result: SelectResult) -> list[dict[str, Any]]:
    return [
        {
            var: _python(term)
            for var, term in zip(result.variables, row, strict=True)
            if term is not None
        }
        for row in result.rows
    ]


def _python(term: Term) -> Any:
    node = to_rdflib(term)
    if isinstance(node, Literal):
        return node.toPython()
    return str(node)
