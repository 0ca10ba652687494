"""Static checks on query text before it reaches the engine.

Oxigraph evaluates ``SERVICE <iri>`` by sending an HTTP request to *iri*. On a public
endpoint that turns the server into an open proxy, so a query may only use ``SERVICE``
with an endpoint named in the allow-list. The check works on tokens, so the word
``SERVICE`` inside a string, an IRI or a comment does not count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from mededkg.errors import QueryError

_TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
    | (?P<name>[A-Za-z_\u00c0-\uffff][\w\-.\u00b7\u00c0-\uffff]*(?::[^\s{}()\[\],;]*)?
                |:[^\s{}()\[\],;]*)
    | (?P<other>\S)
    """,
    re.VERBOSE,
)

_SERVICE = re.compile("service", re.IGNORECASE)
_FROM = re.compile("from", re.IGNORECASE)


def tokens(query: str) -> Iterator[tuple[str, str]]:
    """Yield ``(kind, text)`` tokens of a SPARQL text, skipping comments.

    >>> [t for t in tokens('SELECT * { ?s ?p "SERVICE" } # SERVICE')][:3]
    [('name', 'SELECT'), ('other', '*'), ('other', '{')]
    """
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "other"
        if kind != "comment":
            yield kind, match.group()


def service_endpoints(query: str) -> list[str]:
    """Return the endpoint of every ``SERVICE`` clause (``?var`` if it is a variable).

    >>> service_endpoints('SELECT * { SERVICE SILENT <http://x/sparql> { ?s ?p ?o } }')
    ['http://x/sparql']
    >>> service_endpoints('SELECT * { ?s <http://ex/SERVICE> "SERVICE <http://y>" }')
    []
    """
    found: list[str] = []
    if _SERVICE.search(query) is None:
        return found  # no such word at all: skip tokenising (most queries)
    stream = list(tokens(query))
    for index, (kind, text) in enumerate(stream):
        if kind != "name" or text.upper() != "SERVICE":
            continue
        rest = stream[index + 1 : index + 3]
        if rest and rest[0][0] == "name" and rest[0][1].upper() == "SILENT":
            rest = rest[1:]
        if not rest:
            found.append("")
            continue
        target_kind, target = rest[0]
        found.append(target[1:-1] if target_kind == "iri" else target)
    return found


def declares_dataset(query: str) -> bool:
    """True if the query has ``FROM`` or ``FROM NAMED`` clauses of its own.

    >>> declares_dataset("SELECT * FROM <http://g> WHERE { ?s ?p ?o }")
    True
    >>> declares_dataset('SELECT * WHERE { ?s ?p "FROM" }')
    False
    """
    if _FROM.search(query) is None:
        return False
    return any(k == "name" and t.upper() == "FROM" for k, t in tokens(query))


def check_services(query: str, allowlist: Sequence[str]) -> None:
    """Raise unless every ``SERVICE`` endpoint of *query* is in *allowlist*.

    Raises:
        QueryError: naming the refused endpoint and the allowed ones.
    """
    for endpoint in service_endpoints(query):
        if endpoint not in allowlist:
            allowed = ", ".join(f"<{iri}>" for iri in allowlist) or "none"
            raise QueryError(
                f"SERVICE {endpoint or '(missing endpoint)'} is not allowed: federated "
                f"queries may only call allow-listed endpoints, given as full IRIs "
                f"(allowed: {allowed}; setting service_allowlist)"
            )
