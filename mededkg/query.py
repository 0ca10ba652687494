"""Query step: run SPARQL on a store within the configured time and row limits.

Results are collected into small frozen records of pyoxigraph terms, which the CLI,
the HTTP layer and the Python API serialize. Collecting row by row is what lets a
limit cut a result at exactly ``max_rows`` and a deadline stop a query that streams
for too long.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from mededkg.errors import QueryTimeout
from mededkg.guard import check_services
from mededkg.store import Store

Term = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass(frozen=True)
class Limits:
    """How long a query may run (seconds) and how many rows or triples it may return."""

    timeout: float = 30.0
    max_rows: int = 10000
    service_allowlist: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelectResult:
    """Rows of a SELECT query; ``truncated`` when the row limit cut it."""

    variables: tuple[str, ...]
    rows: tuple[tuple[Term | None, ...], ...]
    truncated: bool = False


@dataclass(frozen=True)
class AskResult:
    """The answer of an ASK query."""

    value: bool


@dataclass(frozen=True)
class GraphResult:
    """Triples of a CONSTRUCT or DESCRIBE query; ``truncated`` when the limit cut it."""

    triples: tuple[ox.Triple, ...]
    truncated: bool = False


QueryResult = SelectResult | AskResult | GraphResult


def execute(
    store: Store,
    sparql: str,
    *,
    limits: Limits,
    substitutions: Mapping[str, Term] | None = None,
    default_graph: Sequence[str] = (),
    named_graphs: Sequence[str] = (),
    base_iri: str | None = None,
) -> QueryResult:
    """Run *sparql* on *store* and collect the result within *limits*.

    Args:
        store: the store to query (default graph = union of its graphs).
        sparql: the query text.
        limits: time, row and SERVICE limits.
        substitutions: variable name → term bound before evaluation.
        default_graph: graph IRIs forming the default graph instead of the union.
        named_graphs: graph IRIs visible to ``GRAPH``.
        base_iri: IRI against which relative IRIs in the query are resolved (the
            protocol lets the service choose it; the endpoint uses its own URL).

    Raises:
        QueryError: malformed query or a SERVICE call that is not allowed.
        QueryTimeout: the result was not complete within ``limits.timeout``.
    """
    check_services(sparql, limits.service_allowlist)
    deadline = time.monotonic() + limits.timeout
    outcome = store.query(
        sparql,
        substitutions=substitutions,
        default_graph=default_graph,
        named_graphs=named_graphs,
        base_iri=base_iri,
    )
    if isinstance(outcome, ox.QueryBoolean):
        return AskResult(bool(outcome))
    if isinstance(outcome, ox.QuerySolutions):
        variables = tuple(v.value for v in outcome.variables)
        rows: list[tuple[Term | None, ...]] = []
        for solution in outcome:
            if len(rows) == limits.max_rows:
                return SelectResult(variables, tuple(rows), truncated=True)
            # positional: in the order of ``variables``, None where unbound (twice as
            # fast as looking each cell up by name)
            rows.append(tuple(solution))
            _check_deadline(deadline, limits.timeout)
        return SelectResult(variables, tuple(rows))
    triples: list[ox.Triple] = []
    for triple in outcome:
        if len(triples) == limits.max_rows:
            return GraphResult(tuple(triples), truncated=True)
        triples.append(triple)
        _check_deadline(deadline, limits.timeout)
    return GraphResult(tuple(triples))


def _check_deadline(deadline: float, timeout: float) -> None:
    if time.monotonic() > deadline:
        raise QueryTimeout(
            f"the query ran longer than the time limit of {timeout:g} s; add a LIMIT, "
            "narrow the patterns, or ask the operator for a longer query_timeout"
        )
