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

from mededkg import isolation
from mededkg.errors import QueryError, QueryTimeout
from mededkg.guard import check_bounds
from mededkg.query import federation
from mededkg.settings import Config
from mededkg.storage import QueryOptions, QueryOutcome, Store
from mededkg.storage.embedded import engine_failure

Term = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass(frozen=True)
class Limits:
    """How long a query may run (seconds), how many rows or triples and how many
    bytes it may return, how long and deep its text may be, and which SERVICE
    endpoints a process with the network may call."""

    timeout: float = 30.0
    max_rows: int = 10000
    service_allowlist: tuple[str, ...] = ()
    max_response_bytes: int = 32 * 1024 * 1024
    max_query_kb: int = 64
    max_depth: int = 64
    #: the text comes from the operator (CLI, Python API) or the code: one rdflib
    #: cannot parse may run in a process with the network (SERVICE targets are
    #: still checked where the text names SERVICE)
    trusted: bool = False


#: The limits of the code's own whole-dataset queries — statistics, VoID, the
#: reconciliation index: fixed texts without client input, run once per build in the
#: calling process (a client's query, or a page query carrying a client's IRI, goes
#: to a worker with the settings' limits instead).
INTERNAL = Limits(timeout=300.0, max_rows=1_000_000, trusted=True)


def limits_for(config: Config, *, trusted: bool = False) -> Limits:
    """The query limits the settings give (*trusted*: see :attr:`Limits.trusted`)."""
    return Limits(
        timeout=config.query_timeout,
        max_rows=config.result_limit,
        service_allowlist=config.service_allowlist,
        max_response_bytes=int(config.response_limit_mb * 1024 * 1024),
        max_query_kb=config.query_max_kb,
        max_depth=config.query_max_depth,
        trusted=trusted,
    )


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
        QueryError: malformed query, too long or too deeply nested, or (where this
            process has the network) a SERVICE call that is not allowed.
        QueryTimeout: the result was not complete within ``limits.timeout``.
    """
    check_bounds(sparql, max_kb=limits.max_query_kb, max_depth=limits.max_depth)
    if not isolation.network_closed():
        _check_for_open_network(sparql, limits)
    # Evaluated one frame down: the checks above may leave exceptions whose frames
    # link back to this one, and a pyoxigraph result must never sit in a frame that
    # outlives the call (it has to be dropped on the thread that made it).
    return _evaluate(
        store,
        sparql,
        limits,
        substitutions=substitutions,
        default_graph=default_graph,
        named_graphs=named_graphs,
        base_iri=base_iri,
    )


def _evaluate(
    store: Store,
    sparql: str,
    limits: Limits,
    *,
    substitutions: Mapping[str, Term] | None,
    default_graph: Sequence[str],
    named_graphs: Sequence[str],
    base_iri: str | None,
) -> QueryResult:
    deadline = time.monotonic() + limits.timeout
    outcome = store.query(
        sparql,
        QueryOptions(
            substitutions=substitutions or {},
            default_graph=default_graph,
            named_graphs=named_graphs,
            base_iri=base_iri,
        ),
    )
    try:
        return _collect(outcome, limits, deadline)
    except OSError as error:  # e.g. a SERVICE that cannot be reached, mid-stream
        message = engine_failure(error)
    finally:
        del outcome  # dropped here, on the thread that made it
    raise QueryError(message)


def _check_for_open_network(sparql: str, limits: Limits) -> None:
    """This process could reach the network (the server process, the memory or
    remote back-end, a federation worker, a host without the kernel features): run
    only what rdflib's parser shows to be safe.

    Raises:
        RefusedOperation: see :func:`mededkg.query.federation.check_query`.
    """
    if limits.trusted and "service" not in sparql.lower():
        return  # the operator's own text (or the code's): nothing to call out
    try:
        federation.check_query(sparql, limits.service_allowlist)
    except federation.Uncheckable:
        if not limits.trusted:
            raise


def _collect(outcome: QueryOutcome, limits: Limits, deadline: float) -> QueryResult:
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
