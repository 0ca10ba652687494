"""Conversion of RDF terms between pyoxigraph (parsing, storage) and rdflib (reasoning,
validation, Python API)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


def to_rdflib(term: OxTerm | ox.Triple | ox.DefaultGraph) -> Node:
    """Return the rdflib term for a pyoxigraph term.

    >>> to_rdflib(ox.Literal("医学", language="zh"))
    rdflib.term.Literal('医学', lang='zh')

    Raises:
        TypeError: for RDF-star triple terms, which the graph does not use.
    """
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise TypeError(f"unsupported RDF term {term!r}")


def to_oxigraph(term: Node) -> OxTerm:
    """Return the pyoxigraph term for an rdflib term.

    >>> to_oxigraph(Literal("1", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer")))
    <Literal value=1 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#integer>>
    """
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported RDF term {term!r}")


def quads_of(
    triples: Iterable[tuple[Node, Node, Node]],
    graph: ox.NamedNode | ox.DefaultGraph | None = None,
) -> Iterator[ox.Quad]:
    """The rdflib *triples* (a graph, say) as pyoxigraph quads in *graph* (the
    default graph if None).

    >>> from rdflib import Graph
    >>> g = Graph().parse(data="<http://e/s> <http://e/p> 1 .", format="turtle")
    >>> [q.object.value for q in quads_of(g)]
    ['1']
    """
    name = ox.DefaultGraph() if graph is None else graph
    for s, p, o in triples:
        yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), name)  # type: ignore[arg-type]


#: Characters XML 1.0 cannot carry (C0 controls but tab, newline and carriage return;
#: U+FFFE, U+FFFF): a literal holding one cannot be written as RDF/XML.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def non_xml_character(quads: Iterable[ox.Quad] | Iterable[ox.Triple]) -> str | None:
    """The first literal character XML 1.0 cannot carry, as ``U+XXXX``, or None.

    >>> non_xml_character([ox.Triple(ox.NamedNode("http://e/s"),
    ...     ox.NamedNode("http://e/p"), ox.Literal("a\\x00b"))])
    'U+0000'
    """
    for statement in quads:
        term = statement.object
        if isinstance(term, ox.Literal):
            found = _NOT_XML.search(term.value)
            if found:
                return f"U+{ord(found.group()):04X}"
    return None
