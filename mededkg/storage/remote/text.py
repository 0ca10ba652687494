"""The query-text edits a remote engine needs: the SPARQL Protocol has no
substitutions (:func:`bind_values` writes them as a ``VALUES`` block) and the answer's
media type depends on the query form (:func:`query_form`). Read with the guard's
tokeniser, the one reading of a query's tokens."""

from __future__ import annotations

from collections.abc import Mapping

from mededkg.errors import QueryError
from mededkg.guard import TOKEN_PATTERN
from mededkg.storage.base import Term


def bind_values(sparql: str, bindings: Mapping[str, Term]) -> str:
    """Bind variables by a ``VALUES`` block at the start of the query's ``WHERE``.

    The SPARQL Protocol has no substitutions; a ``VALUES`` block joined first in the
    outermost group gives the same answers (filters and ``BIND`` in the group see the
    values). Variables the query does not mention are left out.

    >>> bind_values("SELECT ?n WHERE { ?s ?p ?n }", {"s": ox.NamedNode("http://e/a")})
    'SELECT ?n WHERE { VALUES (?s) { (<http://e/a>) } ?s ?p ?n }'
    >>> bind_values("CONSTRUCT { ?s ?p 1 } { ?s ?p ?o }", {"p": ox.NamedNode("http://p")})
    'CONSTRUCT { ?s ?p 1 } { VALUES (?p) { (<http://p>) } ?s ?p ?o }'
    """
    mentioned = {
        m.group()[1:] for m in TOKEN_PATTERN.finditer(sparql) if m.lastgroup == "var"
    }
    used = {name: term for name, term in bindings.items() if name in mentioned}
    if not used:
        return sparql
    position = _where_brace(sparql)
    if position is None:
        raise QueryError("malformed query: no WHERE clause to bind parameters in")
    names = " ".join(f"?{name}" for name in used)
    values = " ".join(str(term) for term in used.values())
    block = f" VALUES ({names}) {{ ({values}) }}"
    return sparql[: position + 1] + block + sparql[position + 1 :]


def query_form(sparql: str) -> str:
    """The query's form: SELECT, ASK, CONSTRUCT or DESCRIBE (``""`` if none).

    >>> query_form("PREFIX s: <http://e/select#> CONSTRUCT WHERE { ?s ?p ?o }")
    'CONSTRUCT'
    """
    for match in TOKEN_PATTERN.finditer(sparql):
        if match.lastgroup == "name":
            word = match.group().upper()
            if word in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
                return word
    return ""


def _where_brace(sparql: str) -> int | None:
    """The offset of the ``{`` opening the outermost ``WHERE`` group."""
    depth = 0
    form = ""
    braces: list[int] = []
    after_where = False
    for match in TOKEN_PATTERN.finditer(sparql):
        kind, text = match.lastgroup, match.group()
        if kind == "comment" or kind == "string" or kind == "iri":
            continue
        upper = text.upper()
        if kind == "name" and depth == 0:
            if upper in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE") and not form:
                form = upper
            elif upper == "WHERE":
                after_where = True
        if text == "{":
            if depth == 0:
                if after_where:
                    return match.start()
                braces.append(match.start())
                if form != "CONSTRUCT" or len(braces) == 2:
                    return match.start()
            depth += 1
        elif text == "}":
            depth -= 1
    return None
