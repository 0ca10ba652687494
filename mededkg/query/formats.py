"""One table of formats: name ↔ file suffixes ↔ media types ↔ parser/serializer.

Loading, export, the CLI and HTTP content negotiation all read these two tables, so a
format is added in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from mededkg.errors import MedEdKGError


@dataclass(frozen=True)
class RdfFormat:
    """An RDF serialization format."""

    name: str
    suffixes: tuple[str, ...]
    media_types: tuple[str, ...]
    oxigraph: ox.RdfFormat
    rdflib: str
    datasets: bool

    @property
    def media_type(self) -> str:
        """The preferred media type."""
        return self.media_types[0]

    @property
    def suffix(self) -> str:
        """The preferred file suffix, with its dot."""
        return self.suffixes[0]


@dataclass(frozen=True)
class ResultFormat:
    """A SPARQL query results format (for SELECT and ASK)."""

    name: str
    suffix: str
    media_types: tuple[str, ...]

    @property
    def media_type(self) -> str:
        """The preferred media type."""
        return self.media_types[0]


RDF_FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat(
        "turtle",
        (".ttl",),
        ("text/turtle", "application/x-turtle"),
        ox.RdfFormat.TURTLE,
        "turtle",
        False,
    ),
    RdfFormat(
        "trig", (".trig",), ("application/trig",), ox.RdfFormat.TRIG, "trig", True
    ),
    RdfFormat(
        "nt",
        (".nt",),
        ("application/n-triples", "text/plain"),
        ox.RdfFormat.N_TRIPLES,
        "nt",
        False,
    ),
    RdfFormat(
        "nq", (".nq",), ("application/n-quads",), ox.RdfFormat.N_QUADS, "nquads", True
    ),
    RdfFormat(
        "jsonld",
        (".jsonld", ".json-ld"),
        ("application/ld+json",),
        ox.RdfFormat.JSON_LD,
        "json-ld",
        True,
    ),
    RdfFormat(
        "xml",
        (".rdf", ".owl", ".xml"),
        ("application/rdf+xml",),
        ox.RdfFormat.RDF_XML,
        "xml",
        False,
    ),
)

RESULT_FORMATS: tuple[ResultFormat, ...] = (
    ResultFormat(
        "json", ".srj", ("application/sparql-results+json", "application/json")
    ),
    ResultFormat("xml", ".srx", ("application/sparql-results+xml", "application/xml")),
    ResultFormat("csv", ".csv", ("text/csv",)),
    ResultFormat("tsv", ".tsv", ("text/tab-separated-values",)),
)


class UnknownFormat(MedEdKGError):
    """A format name, suffix or media type that is not in the tables."""


def rdf_format(name: str) -> RdfFormat:
    """Return the RDF format called *name*.

    >>> rdf_format("turtle").media_type
    'text/turtle'

    Raises:
        UnknownFormat: listing the valid names.
    """
    for fmt in RDF_FORMATS:
        if fmt.name == name:
            return fmt
    raise UnknownFormat(
        f"unknown RDF format {name!r}; choose one of: {', '.join(rdf_format_names())}"
    )


def rdf_format_names() -> list[str]:
    """The names of the RDF formats, in table order."""
    return [fmt.name for fmt in RDF_FORMATS]


def result_format(name: str) -> ResultFormat:
    """Return the SPARQL results format called *name*.

    Raises:
        UnknownFormat: listing the valid names.
    """
    for fmt in RESULT_FORMATS:
        if fmt.name == name:
            return fmt
    names = ", ".join(f.name for f in RESULT_FORMATS)
    raise UnknownFormat(f"unknown results format {name!r}; choose one of: {names}")


def rdf_format_for_path(path: Path) -> RdfFormat | None:
    """Return the RDF format for a file name's suffix, or ``None`` if it is not RDF.

    >>> rdf_format_for_path(Path("a/b.TTL")).name
    'turtle'
    >>> rdf_format_for_path(Path("notes.md")) is None
    True
    """
    suffix = path.suffix.lower()
    for fmt in RDF_FORMATS:
        if suffix in fmt.suffixes:
            return fmt
    return None
