"""Content negotiation, in one place: query results and RDF documents.

``Accept`` or a ``format=`` parameter picks the serialization from the one table of
formats in :mod:`mededkg.query.formats`: for a query before it runs (the worker
serializes), for both kinds of result a query may give (:func:`negotiate`); for an RDF
document — a resource's description, the service description, VoID, a graph of the
Graph Store — with :func:`rdf_format`. Media-type parameters such as ``; charset=utf-8``
never change the choice."""

from __future__ import annotations

import functools
from typing import Literal, overload

from flask import Response, abort, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from mededkg.query.answers import Answer
from mededkg.query.formats import RDF_FORMATS, RESULT_FORMATS, RdfFormat, ResultFormat

TRUNCATED_HEADER = "MedEdKG-Result-Truncated"
#: Response header naming the build (its store folder) that answered a query; absent
#: on back-ends without build folders (memory, remote).
BUILD_HEADER = "MedEdKG-Build"
#: The headers a cross-origin reader of the query endpoints may see.
EXPOSED_HEADERS = f"{TRUNCATED_HEADER}, {BUILD_HEADER}"
_ALL_NAMES = [f.name for f in RESULT_FORMATS] + [f.name for f in RDF_FORMATS]
_ALL_MEDIA_TYPES = [m for f in RESULT_FORMATS for m in f.media_types] + [
    m for f in RDF_FORMATS for m in f.media_types
]


def negotiate(format_name: str | None) -> tuple[str | None, str | None]:
    """The results format (SELECT/ASK) and RDF format (CONSTRUCT/DESCRIBE) to answer in;
    ``None`` where the client accepts none of that kind.

    Raises:
        400: an unknown ``format=`` value; 406: nothing acceptable of either kind.
    """
    if format_name:
        results = _named(RESULT_FORMATS, format_name)
        rdf = _named(RDF_FORMATS, format_name)
        if results is None and rdf is None:
            names = ", ".join(_ALL_NAMES)
            abort(400, f"unknown format {format_name!r}; choose one of: {names}")
        return results, rdf
    results, rdf = accepted_formats(request.headers.get("Accept", ""))
    if results is None and rdf is None:
        offered = ", ".join(_ALL_MEDIA_TYPES)
        abort(
            406, f"none of the accepted media types is available; available: {offered}"
        )
    return results, rdf


#: The media type of a page, for documents that also have one.
HTML = "text/html"


@overload
def rdf_format(*, html: Literal[False] = False) -> RdfFormat: ...
@overload
def rdf_format(*, html: bool) -> RdfFormat | None: ...
def rdf_format(*, html: bool = False) -> RdfFormat | None:
    """The RDF format the request asks for by ``format=`` or ``Accept`` (Turtle when
    it accepts anything); ``None`` for HTML, when *html* is offered and preferred.

    Raises:
        400: an unknown ``format=`` value; 406: no acceptable media type.
    """
    name = request.args.get("format")
    if name:
        for fmt in RDF_FORMATS:
            if name in (fmt.name, *fmt.media_types):
                return fmt
        names = ", ".join(f.name for f in RDF_FORMATS)
        abort(400, f"unknown RDF format {name!r}; choose one of: {names}")
    accept = without_parameters(request.accept_mimetypes)
    if not accept or accept.best == "*/*":
        return RDF_FORMATS[0]
    offered = [
        *([HTML] if html else []),
        *(m for f in RDF_FORMATS for m in f.media_types),
    ]
    best = accept.best_match(offered)
    if best is None:
        abort(
            406,
            "none of the accepted media types is available; available: "
            + ", ".join(offered),
        )
    if best == HTML:
        return None
    return next(f for f in RDF_FORMATS if best in f.media_types)


def respond(answer: Answer, max_rows: int, *, build: str | None = None) -> Response:
    """The HTTP response for a worker's answer (406 if its kind was not acceptable),
    naming the *build* that answered when there is one."""
    if not answer.media_type:
        kind = "graph (RDF)" if answer.kind == "graph" else "SELECT/ASK"
        abort(
            406,
            f"the query gives a {kind} result, which none of the accepted media "
            "types can carry",
        )
    charset = "" if answer.media_type.endswith("+xml") else "; charset=utf-8"
    response = Response(
        answer.body,
        content_type=answer.media_type + charset,
        headers={"Vary": "Accept"},
    )
    if answer.truncated:
        response.headers[TRUNCATED_HEADER] = f"true; limit={max_rows}"
    if build is not None:
        response.headers[BUILD_HEADER] = build
    return response


def _named(
    table: tuple[RdfFormat, ...] | tuple[ResultFormat, ...], name: str
) -> str | None:
    for fmt in table:
        if name in (fmt.name, *fmt.media_types):
            return fmt.name
    return None


def accepted_formats(accept_header: str) -> tuple[str | None, str | None]:
    """The results format and the RDF format an ``Accept`` header asks for (``None``
    where it accepts none of that kind). Cached: clients send few distinct headers,
    and parsing one costs a tenth of a cheap query (headers of reasonable length
    only, so the cache stays small whatever clients send).

    >>> accepted_formats("text/csv")
    ('csv', None)
    >>> accepted_formats("text/turtle, application/sparql-results+json;q=0.5")
    ('json', 'turtle')
    """
    if len(accept_header) > MAX_CACHED_ACCEPT:
        return _accepted_formats.__wrapped__(accept_header)
    return _accepted_formats(accept_header)


#: Longest ``Accept`` header whose negotiation is cached.
MAX_CACHED_ACCEPT = 512


@functools.lru_cache(maxsize=256)
def _accepted_formats(accept_header: str) -> tuple[str | None, str | None]:
    accept = without_parameters(parse_accept_header(accept_header, MIMEAccept))
    return _accepted(RESULT_FORMATS, accept), _accepted(RDF_FORMATS, accept)


def _accepted(
    table: tuple[RdfFormat, ...] | tuple[ResultFormat, ...], accept: MIMEAccept
) -> str | None:
    if not accept or accept.best == "*/*":
        return table[0].name
    media = [m for fmt in table for m in fmt.media_types]
    best = accept.best_match(media)
    if best is None:
        return None
    return next(fmt.name for fmt in table if best in fmt.media_types)


def without_parameters(accept: MIMEAccept) -> MIMEAccept:
    """``Accept`` without media-type parameters such as ``; charset=utf-8``: Werkzeug
    matches an offer only if its parameters are equal, and ours have none."""
    return MIMEAccept([(value.split(";", 1)[0].strip(), q) for value, q in accept])
