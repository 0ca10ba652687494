"""Skolemisation of the blank nodes that two graphs share.

The reasoner writes triples about the ontology's class expressions (``owl:Restriction``
and list nodes, which are blank nodes of the ``ontology`` graph) into the ``inferred``
graph, so those blank nodes occur in two graphs. SPARQL stores disagree about such
nodes: Oxigraph keeps one node across graphs, Virtuoso 7 cannot load them at all
(``SR002 string_output_string``), and a Graph Store ``PUT`` per graph splits them in
two. Every such node is therefore replaced, in every graph, by an IRI under the
dataset's base, as RDF 1.1 §3.5 describes::

    <base>.well-known/genid/<hash>

The hash is stable across builds: it is the SHA-256 of the node's neighbourhood — the
triples reachable from it through blank-node objects and the triples that point at
it, in every graph where it occurs — in RDFC-1.0 canonical form, with the node marked.
The same class expression in the same place gets the same IRI in every build, and an
edit elsewhere in the ontology does not move it. Blank nodes that only one graph holds
(the shapes' property shapes, lists) stay blank nodes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.term import Node

from mededkg.terms import to_oxigraph

#: Path of skolem IRIs under the base IRI (RDF 1.1 Concepts §3.5).
GENID = ".well-known/genid/"
_MARK = ox.NamedNode("urn:x-mededkg:skolem-mark")


def skolem_iri(base_iri: str, digest: str) -> URIRef:
    """The skolem IRI of a blank node whose neighbourhood hashes to *digest*."""
    return URIRef(f"{base_iri}{GENID}{digest}")


def skolemise_shared(dataset: Dataset, base_iri: str) -> int:
    """Replace, in every graph of *dataset*, each blank node that occurs in more than
    one graph by its skolem IRI.

    Returns:
        How many blank nodes were replaced.
    """
    graphs = [g for g in dataset.graphs() if len(g)]
    seen: dict[BNode, set[Node]] = defaultdict(set)
    for graph in graphs:
        for s, _, o in graph:
            for term in (s, o):
                if isinstance(term, BNode):
                    seen[term].add(graph.identifier)
    shared = [b for b, where in seen.items() if len(where) > 1]
    if not shared:
        return 0
    names: dict[Node, Node] = {
        b: skolem_iri(base_iri, _digest(b, graphs)) for b in shared
    }
    for graph in graphs:
        # Through the graph's indexes: one full pass (above) is all a build pays.
        changed = {
            triple
            for node in names
            for pattern in ((node, None, None), (None, None, node))
            for triple in graph.triples(pattern)
        }
        for s, p, o in changed:
            graph.remove((s, p, o))
            graph.add((names.get(s, s), p, names.get(o, o)))
    return len(names)


def _digest(node: BNode, graphs: list[Graph]) -> str:
    """SHA-256 of *node*'s neighbourhood in canonical form, the node marked."""
    quads: set[ox.Quad] = set()
    for graph in graphs:
        name = ox.NamedNode(str(graph.identifier))
        todo, done = [node], set()
        while todo:
            subject = todo.pop()
            if subject in done:
                continue
            done.add(subject)
            for _, p, o in graph.triples((subject, None, None)):
                quads.add(_quad(subject, p, o, name))
                if isinstance(o, BNode):
                    todo.append(o)
        for s, p, _ in graph.triples((None, None, node)):
            quads.add(_quad(s, p, node, name))
    if not quads:
        return hashlib.sha256(b"").hexdigest()
    marked = ox.Dataset(
        [*quads, ox.Quad(to_oxigraph(node), _MARK, _MARK, ox.DefaultGraph())]  # type: ignore[arg-type]
    )
    marked.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    text = ox.serialize(sorted(marked, key=str), format=ox.RdfFormat.N_QUADS)
    assert isinstance(text, bytes)
    return hashlib.sha256(text).hexdigest()[:32]


def _quad(s: Node, p: Node, o: Node, graph: ox.NamedNode) -> ox.Quad:
    return ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph)  # type: ignore[arg-type]
