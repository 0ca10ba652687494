"""Which endpoints a query or update would contact, read from a real parser's algebra.

In the default configuration nothing here is a security boundary: the processes that
evaluate queries have no network at all (:mod:`mededkg.isolation`). This module
decides the cases where a process *does* have the network — an allow-listed
``SERVICE`` (``service_allowlist``), a host without the kernel features, the memory
and remote back-ends, queries run in the server process — by parsing the text with
rdflib's SPARQL parser and walking its algebra: every ``SERVICE`` target must be an
exact allow-listed IRI, ``LOAD`` is never allowed, and a text rdflib cannot parse is
refused (fail closed), since it cannot be checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rdflib.term import URIRef, Variable

from mededkg.errors import QueryError


class RefusedOperation(QueryError):
    """A SERVICE target that is not allow-listed, a LOAD, or a text that cannot be
    checked while the process has the network."""


class Uncheckable(RefusedOperation):
    """rdflib's parser cannot read the text, so what it calls is unknown."""


def query_services(sparql: str) -> list[str]:
    """The ``SERVICE`` targets of a query as rdflib's parser reads it (``?x`` for a
    variable), in algebra order.

    Raises:
        RefusedOperation: rdflib cannot parse the query.

    >>> query_services('SELECT * { SERVICE SILENT <http://x/sparql> { ?s ?p ?o } }')
    ['http://x/sparql']
    >>> query_services('SELECT * { ?s <http://ex/SERVICE> "SERVICE <http://y>" }')
    []
    """
    # rdflib's SPARQL parser is imported here, when first needed: importing it costs
    # 0.3 s of every query worker's start, and only SERVICE with an allow-list uses it.
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    algebra = _parsed("query", lambda: translateQuery(parseQuery(sparql)).algebra)
    return [_target(node.term) for node in _services(algebra)]


def update_operations(sparql: str) -> tuple[list[str], list[str]]:
    """The ``SERVICE`` targets and the ``LOAD`` sources of an update, as rdflib's
    parser reads it.

    Raises:
        RefusedOperation: rdflib cannot parse the update.

    >>> update_operations("LOAD <http://x/d.ttl> ; INSERT DATA { <a:b> <a:c> 1 }")
    ([], ['http://x/d.ttl'])
    """
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate

    operations = _parsed("update", lambda: translateUpdate(parseUpdate(sparql)).algebra)
    loads = [str(op.get("iri")) for op in operations if op.name == "Load"]
    services = [_target(node.term) for op in operations for node in _services(op)]
    return services, loads


def check_query(sparql: str, allowlist: Sequence[str]) -> bool:
    """Check a query for a process that has the network.

    Returns:
        True if it calls at least one (allow-listed) ``SERVICE``.

    Raises:
        RefusedOperation: a target outside *allowlist*, or a text rdflib cannot parse.
    """
    targets = query_services(sparql)
    _check_targets(targets, allowlist)
    return bool(targets)


def check_update(sparql: str, allowlist: Sequence[str]) -> bool:
    """Check an update for a process that has the network (see :func:`check_query`).

    Raises:
        RefusedOperation: a ``LOAD``, a target outside *allowlist*, or a text rdflib
            cannot parse.
    """
    targets, loads = update_operations(sparql)
    if loads:
        raise RefusedOperation(LOAD_REFUSED)
    _check_targets(targets, allowlist)
    return bool(targets)


#: Why LOAD is refused, for every path that meets one.
LOAD_REFUSED = (
    "LOAD is not allowed: the server never opens files or network connections; "
    "send the triples in the request (INSERT DATA, or a Graph Store PUT/POST to "
    "/graph-store)"
)


def refused_service(endpoint: str, allowlist: Sequence[str]) -> str:
    """The message for a ``SERVICE`` call to *endpoint* that is not allowed."""
    allowed = ", ".join(f"<{iri}>" for iri in allowlist) or "none"
    return (
        f"SERVICE {endpoint or '(missing endpoint)'} is not allowed: federated "
        f"queries may only call allow-listed endpoints, given as full IRIs "
        f"(allowed: {allowed}; setting service_allowlist)"
    )


def _parsed(kind: str, parse: Callable[[], Any]) -> Any:
    """Run *parse*; a failure becomes :class:`Uncheckable`, raised after the parser's
    exception is gone (pyparsing's exceptions sit in reference cycles that would keep
    the caller's frame, and any pyoxigraph result in it, for the garbage collector
    of some other thread)."""
    message = ""
    try:
        return parse()
    except RecursionError:
        message = nested_message()
    except Exception as error:  # pyparsing's and rdflib's errors have no common base
        message = _unparsed(kind, error)
    raise Uncheckable(message)


def _check_targets(targets: list[str], allowlist: Sequence[str]) -> None:
    for target in targets:
        if target not in allowlist:
            raise RefusedOperation(refused_service(target, allowlist))


def _services(node: Any) -> Iterator[Any]:
    """Every ``ServiceGraphPattern`` under *node* (expressions included: EXISTS)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, CompValue):
            if item.name == "ServiceGraphPattern":
                yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))


def _target(term: Any) -> str:
    if isinstance(term, Variable):
        return f"?{term}"
    if isinstance(term, URIRef):
        return str(term)
    return repr(term)


def _unparsed(kind: str, error: Exception) -> str:
    first = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
    return (
        f"this {kind} cannot be checked for SERVICE/LOAD by rdflib's SPARQL parser "
        f"({first}), and the process that would run it has network access, so it "
        "is refused (see docs/security.md)"
    )


def nested_message() -> str:
    """The message for a text too deeply nested to parse."""
    return "the text is nested too deeply to be checked; flatten the groups"
