"""Cheap static reading of query text: its size and nesting bounds, and tokens for
the few text edits the protocol needs (``FROM`` present?, ``USING`` insertion).

None of this decides what a query may reach: the processes that evaluate queries
have no network (:mod:`mededkg.isolation`), and where one has, rdflib's parser
decides (:mod:`mededkg.query.federation`). The tokeniser only serves convenience.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mededkg.errors import QueryError

#: The lexer of :func:`tokens`: comments, strings, IRIs, variables, names, other
#: characters (group names are the token kinds). Public because the remote back-end
#: and the write path rewrite query text token by token with it.
TOKEN_PATTERN = re.compile(
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

_FROM = re.compile("from", re.IGNORECASE)


def tokens(query: str) -> Iterator[tuple[str, str]]:
    """Yield ``(kind, text)`` tokens of a SPARQL text, skipping comments.

    >>> [t for t in tokens('SELECT * { ?s ?p "SERVICE" } # SERVICE')][:3]
    [('name', 'SELECT'), ('other', '*'), ('other', '{')]
    """
    for match in TOKEN_PATTERN.finditer(query):
        kind = match.lastgroup or "other"
        if kind != "comment":
            yield kind, match.group()


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


def check_bounds(text: str, *, max_kb: int, max_depth: int) -> None:
    """Refuse a query or update longer than *max_kb* KB or nested deeper than
    *max_depth* brackets, before any parser sees it.

    The depth counts every ``(``, ``[`` and ``{`` (and their closers, never below 0),
    wherever they stand; inside strings they count too, which errs on the side of
    refusing. Nothing depends on this for safety: a worker that a deeper text
    crashes is replaced, and the server never parses queries itself.

    Raises:
        QueryError: naming the limit and the setting that sets it.

    >>> check_bounds("ASK { ((1)) }", max_kb=1, max_depth=3)
    >>> check_bounds("ASK { (((1))) }", max_kb=1, max_depth=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mededkg.errors.QueryError: the query nests brackets 4 deep, ...
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_kb * 1024:
        raise QueryError(
            f"the query is {size:,} bytes, more than the limit of {max_kb} KB "
            "(setting query_max_kb); send a shorter text (large VALUES blocks can "
            "often be a FILTER or several queries)"
        )
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):
        if bracket in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    if deepest > max_depth:
        raise QueryError(
            f"the query nests brackets {deepest} deep, more than the limit of "
            f"{max_depth} (setting query_max_depth); flatten the expression or the "
            "groups"
        )


_BRACKETS = re.compile(r"[()\[\]{}]")
