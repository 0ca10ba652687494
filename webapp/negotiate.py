"""Content negotiation for query results: ``Accept`` or a ``format=`` parameter picks
the serialization, from the one table of formats in :mod:`mededkg.formats`."""

from __future__ import annotations

from flask import Response, abort, request

from mededkg.formats import RDF_FORMATS, RESULT_FORMATS, RdfFormat, ResultFormat
from mededkg.query import GraphResult, QueryResult
from mededkg.results import serialize_graph, serialize_results
from webapp.context import state

TRUNCATED_HEADER = "MedEdKG-Result-Truncated"


def respond(result: QueryResult, format_name: str | None) -> Response:
    """Serialize *result* in the negotiated format; flag a cut result in a header."""
    response = _respond(result, format_name)
    if getattr(result, "truncated", False):
        response.headers[TRUNCATED_HEADER] = f"true; limit={state().limits.max_rows}"
    return response


def _respond(result: QueryResult, format_name: str | None) -> Response:
    if isinstance(result, GraphResult):
        rdf = _choose(RDF_FORMATS, format_name, default=RDF_FORMATS[0])
        assert isinstance(rdf, RdfFormat)
        body = serialize_graph(result, rdf)
        media_type = rdf.media_type
    else:
        fmt = _choose(RESULT_FORMATS, format_name, default=RESULT_FORMATS[0])
        assert isinstance(fmt, ResultFormat)
        body = serialize_results(result, fmt)
        media_type = fmt.media_type
    charset = "" if media_type.endswith("+xml") else "; charset=utf-8"
    return Response(body, content_type=media_type + charset, headers={"Vary": "Accept"})


def _choose(
    table: tuple[RdfFormat, ...] | tuple[ResultFormat, ...],
    format_name: str | None,
    *,
    default: RdfFormat | ResultFormat,
) -> RdfFormat | ResultFormat:
    if format_name:
        for fmt in table:
            if format_name in (fmt.name, *fmt.media_types):
                return fmt
        names = ", ".join(f.name for f in table)
        abort(
            400,
            f"unknown format {format_name!r} for this query; choose one of: {names}",
        )
    accept = request.accept_mimetypes
    if not accept or accept.best == "*/*":
        return default
    offered = [media for fmt in table for media in fmt.media_types]
    best = accept.best_match([default.media_type, *offered])
    if best is None:
        abort(
            406,
            "none of the accepted media types can carry this result; "
            f"available: {', '.join(offered)}",
        )
    return next(fmt for fmt in table if best in fmt.media_types)
