"""Graph Store request bodies: RDF of one graph in a media type, parsed safely —
UTF-8 only, no DTD or entity in RDF/XML, no remote JSON-LD context, no named graphs,
no character XML cannot carry (:func:`parse_graph`)."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pyoxigraph as ox

from mededkg.pipeline.write import WriteError
from mededkg.query.formats import RDF_FORMATS, RdfFormat
from mededkg.terms import non_xml_character


class UnsupportedMediaType(WriteError):
    """A request body's media type is not one a graph can be read from."""


class PayloadError(WriteError):
    """A request body is not valid RDF of its declared media type."""


def graph_format(media_type: str) -> RdfFormat:
    """The RDF format a single-graph request body of *media_type* is read as.

    Raises:
        UnsupportedMediaType: unknown type, or a dataset format (TriG, N-Quads).

    >>> graph_format("text/turtle").name
    'turtle'
    """
    media_type = media_type.strip().lower()
    for fmt in RDF_FORMATS:
        if media_type in fmt.media_types:
            if fmt.datasets and fmt.name != "jsonld":
                raise UnsupportedMediaType(
                    f"{media_type} holds a dataset, not one graph; send "
                    f"{', '.join(_graph_media_types())}"
                )
            return fmt
    raise UnsupportedMediaType(
        f"cannot read a graph from {media_type or 'a body without a content type'}; "
        f"send {', '.join(_graph_media_types())}"
    )


def parse_graph(
    body: bytes, media_type: str, *, base_iri: str, charset: str | None = None
) -> list[ox.Triple]:
    """Parse a request body into triples, safely.

    The body must be UTF-8. RDF/XML with a ``<!DOCTYPE`` or ``<!ENTITY`` is refused
    (no entity expansion), and so is JSON-LD whose ``@context`` is not inline (no
    remote context is ever fetched). Blank nodes get fresh labels.

    Args:
        body: the request body.
        media_type: its media type, without parameters.
        base_iri: base of relative IRIs (the graph's IRI).
        charset: the ``charset`` parameter of the content type, if any.

    Raises:
        UnsupportedMediaType: see :func:`graph_format`.
        PayloadError: not UTF-8, unsafe, not parseable (the parser's message), or
            JSON-LD with named graphs.
    """
    fmt = graph_format(media_type)
    if charset and charset.strip().lower() not in ("utf-8", "utf8"):
        raise PayloadError(f"send the body as UTF-8, not {charset}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PayloadError(f"the body is not UTF-8: {error}") from error
    if fmt.name == "xml":
        _check_xml(text)
    if fmt.name == "jsonld":
        try:
            _check_contexts(json.loads(text))
        except json.JSONDecodeError as error:
            raise PayloadError(f"the JSON-LD body is not JSON: {error}") from error
        except RecursionError as error:
            raise PayloadError("the JSON-LD body is nested too deeply") from error
    try:
        quads = list(
            ox.parse(
                body, format=fmt.oxigraph, base_iri=base_iri, rename_blank_nodes=True
            )
        )
    except SyntaxError as error:
        raise PayloadError(f"the {fmt.name} body does not parse: {error}") from error
    if any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise PayloadError(
            "the body holds named graphs; send one graph and name it with ?graph="
        )
    bad = non_xml_character(quads)
    if bad:
        raise PayloadError(
            f"a literal holds the control character {bad}, which RDF/XML and XML "
            "tools cannot carry; remove it"
        )
    return [q.triple for q in quads]


def _check_xml(text: str) -> None:
    """Refuse RDF/XML with a DTD or entities, or that is not well-formed XML (Oxigraph
    reads an unterminated document as no triples: a truncated PUT would empty a
    graph)."""
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise PayloadError(
            "RDF/XML with a DOCTYPE or ENTITY declaration is not accepted; remove it"
        )
    try:
        # no DOCTYPE, so no entity can be declared, let alone expanded or fetched
        ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise PayloadError(
            f"the RDF/XML body is not well-formed XML: {error}"
        ) from error


#: Characters an IRI cannot hold (RFC 3987): space, controls and ``<>"{}|\\^` ``.
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`]')


def _check_contexts(node: object) -> None:
    if isinstance(node, list):
        for item in node:
            _check_contexts(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "@context":
                for context in value if isinstance(value, list) else [value]:
                    if context is not None and not isinstance(context, dict):
                        raise PayloadError(
                            "JSON-LD with a remote @context is not accepted (the "
                            "server never fetches one); put the context inline"
                        )
            if key == "@import":
                raise PayloadError(
                    "JSON-LD @import is not accepted; put the context inline"
                )
            if key == "@id" and isinstance(value, str) and _BAD_IRI.search(value):
                raise PayloadError(
                    f"the JSON-LD @id {value[:200]!r} is not a valid IRI (JSON-LD "
                    "processors drop such nodes silently)"
                )
            _check_contexts(value)


def _graph_media_types() -> list[str]:
    return [
        m
        for f in RDF_FORMATS
        if not f.datasets or f.name == "jsonld"
        for m in f.media_types
    ]
