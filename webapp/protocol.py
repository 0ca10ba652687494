"""The request forms of the SPARQL 1.1 Protocol, read in one place.

Every path that takes a query or an update reads the request through
:func:`parameters` and :func:`text_of`:
the Flask views of ``/sparql`` and ``/update`` and the fast path below Flask
(:mod:`webapp.fastpath`). The function is pure (method, query string, content type,
body) so both sides read a request the same way, and a bad request gets one answer
wherever it arrives:

- ``GET ?query=…`` (queries only); ``POST`` form-encoded (``query=`` / ``update=``,
  the URL's parameters too); ``POST`` the text itself as ``application/sparql-query`` /
  ``application/sparql-update`` (then the URL may not also give it);
- text, form and query string are UTF-8: anything else is 400 (invalid bytes) or 415
  (a direct body that declares another charset, or another media type).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"


@dataclass(frozen=True)
class Operation:
    """What a request carries: its parameter, the media type of its direct POST, and
    whether it may come as a GET."""

    field: str
    media_type: str
    get: bool


QUERY = Operation("query", SPARQL_QUERY, get=True)
UPDATE = Operation("update", SPARQL_UPDATE, get=False)


class ProtocolError(Exception):
    """A request the protocol does not allow: its HTTP status and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parameters(
    method: str,
    query_string: bytes,
    content_type: str,
    body: Callable[[], bytes],
    *,
    operation: Operation = QUERY,
) -> MultiDict[str, str]:
    """Every parameter of a request: the URL's, then a form body's; the text of a
    direct POST is the parameter ``operation.field``.

    Args:
        query_string: the raw query string (WSGI ``QUERY_STRING`` is its bytes
            decoded as Latin-1: encode it back).
        body: returns the request body (read only when the form needs it).

    Raises:
        ProtocolError: 400 for text that is not UTF-8 or a direct POST that also
            names its text in the URL; 415 for another media type or charset.
    """
    params = MultiDict(_pairs(query_string, "the query string"))
    if method == "GET" or (method == "HEAD" and operation.get):
        return params
    mimetype, options = parse_options_header(content_type)
    if mimetype == FORM:
        params.update(MultiDict(_pairs(body(), "the form")))
        return params
    if mimetype == operation.media_type:
        field = operation.field
        if field in params:
            raise ProtocolError(
                400,
                f"a{'n' if field == 'update' else ''} {field} sent as "
                f"{operation.media_type} must not also be given as a '{field}' "
                "parameter",
            )
        charset = options.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise ProtocolError(415, f"send the {field} as UTF-8, not {charset}")
        try:
            params.add(field, body().decode("utf-8"))
        except UnicodeDecodeError as error:
            raise ProtocolError(400, f"the {field} is not UTF-8: {error}") from error
        return params
    raise ProtocolError(
        415,
        f"POST a{'n' if operation.field == 'update' else ''} {operation.field} as "
        f"{FORM} or {operation.media_type}, not {mimetype or 'no content type'}",
    )


def text_of(params: MultiDict[str, str], operation: Operation = QUERY) -> str:
    """The one query (or update) of a request's parameters.

    Raises:
        ProtocolError: 400 for none, several, or an empty query.
    """
    found = params.getlist(operation.field)
    if len(found) != 1:
        qualifier = " non-empty" if operation is QUERY else ""
        raise ProtocolError(
            400, f"give exactly one{qualifier} '{operation.field}' parameter"
        )
    if operation is QUERY and not found[0].strip():
        raise ProtocolError(400, "the query is empty")
    return found[0]


def of_request(request: Request, operation: Operation = QUERY) -> MultiDict[str, str]:
    """:func:`parameters` of a werkzeug (Flask) request.

    Raises:
        ProtocolError: as :func:`parameters`.
    """
    return parameters(
        request.method,
        request.query_string,
        request.content_type or "",
        request.get_data,
        operation=operation,
    )


def _pairs(data: bytes, what: str) -> list[tuple[str, str]]:
    """``name=value`` pairs of a query string or form: the bytes and the
    percent-escapes both strict UTF-8."""
    try:
        return parse_qsl(data.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"{what} is not UTF-8: {error}") from error
