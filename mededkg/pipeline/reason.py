"""Reason step: the OWL 2 RL closure of the asserted graphs, as a graph of new triples.

Two engines, chosen by the ``reasoner`` setting: ``owlrl``, the reference OWL 2 RL
engine (the default), and ``fast``, the compiled rules of :mod:`mededkg.pipeline.rules`
(the same entailments for what the ontology and LUBM use, ~20-50x faster; the rules it
lacks are listed in ``docs/reasoning.md``). The input is never changed: the closure is
computed on a copy, and only triples that were not asserted are returned, so they can
live in their own ``inferred`` named graph.
"""

from __future__ import annotations

from collections.abc import Iterable

import owlrl
from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.term import Node

from mededkg.pipeline import rules

#: The engines the ``reasoner`` setting may name; the first is the reference.
REASONERS = ("owlrl", "fast")

# Entailments that hold for every resource, or are about the W3C vocabularies
# themselves (``xsd:byte a rdfs:Datatype``), tell a researcher nothing; dropping them
# keeps the inferred graph about the domain (any reasoner can derive them again).
_TRIVIAL_OBJECTS = {OWL.Thing, OWL.NamedIndividual}
_REFLEXIVE = {
    OWL.sameAs,
    RDFS.subClassOf,
    OWL.equivalentClass,
    RDFS.subPropertyOf,
    OWL.equivalentProperty,
}
_BUILT_IN = (str(RDF), str(RDFS), str(OWL), str(XSD))


def reason(
    graphs: Iterable[Graph], *, reasoner: str = "owlrl", into: Graph | None = None
) -> Graph:
    """Return the triples the OWL 2 RL rules add to the union of *graphs*.

    Args:
        graphs: the asserted graphs (ontology, data, links, added sources).
        reasoner: ``owlrl`` (the reference) or ``fast`` (:mod:`mededkg.pipeline.rules`).
        into: add the inferred triples to this graph (e.g. the dataset's
            ``inferred`` graph, sparing a copy) instead of a new one.

    Raises:
        ValueError: *reasoner* is not one of :data:`REASONERS`.

    Returns:
        A new graph (or *into*) with only the inferred triples, without trivia
        (``x owl:sameAs x``, ``C rdfs:subClassOf C``, anything ``… owl:Thing``,
        facts about the W3C vocabularies) and without literal-subject triples.

    >>> from rdflib import Namespace, RDFS
    >>> ex = Namespace("http://example.org/")
    >>> g = Graph()
    >>> _ = g.add((ex.Cat, RDFS.subClassOf, ex.Animal)).add((ex.tom, RDF.type, ex.Cat))
    >>> (ex.tom, RDF.type, ex.Animal) in reason([g])
    True
    >>> (ex.tom, RDF.type, ex.Animal) in reason([g], reasoner="fast")
    True
    """
    asserted: list[tuple[Node, Node, Node]] = []
    for graph in graphs:
        asserted.extend(graph)
    inferred = Graph() if into is None else into
    for triple in reason_triples(asserted, reasoner=reasoner):
        inferred.add(triple)
    return inferred


def reason_triples(
    asserted: Iterable[tuple[Node, Node, Node]], *, reasoner: str = "owlrl"
) -> set[tuple[Node, Node, Node]]:
    """:func:`reason` over plain triples: the inferred triples, without trivia.

    Raises:
        ValueError: *reasoner* is not one of :data:`REASONERS`.
    """
    if reasoner not in REASONERS:
        raise ValueError(f"unknown reasoner {reasoner!r}; choose one of {REASONERS}")
    known = set(asserted)
    if reasoner == "fast":
        closure: Iterable[tuple[Node, Node, Node]] = rules.infer(known)
    else:
        union = Graph()
        for triple in known:
            union.add(triple)
        owlrl.DeductiveClosure(
            owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
        ).expand(union)
        closure = union
    return {t for t in closure if t not in known and not _is_trivial(t)}


def _is_trivial(triple: tuple[Node, Node, Node]) -> bool:
    subject, predicate, obj = triple
    if isinstance(subject, Literal):
        return True  # generalized RDF from the rules; not expressible in a dataset
    if isinstance(subject, URIRef) and str(subject).startswith(_BUILT_IN):
        return True
    if subject == obj and predicate in _REFLEXIVE:
        return True
    return obj in _TRIVIAL_OBJECTS
