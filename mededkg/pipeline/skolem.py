"""Skolemisation of the blank nodes that two graphs share.

The reasoner writes triples about the ontology's class expressions (``owl:Restriction``
and list nodes, which are blank nodes of the ``ontology`` graph) into the ``inferred``
graph, so those blank nodes occur in two graphs. SPARQL stores disagree about such
nodes: Oxigraph keeps one node across graphs, Virtuoso 7 cannot load them at all
(``SR002 string_output_string``), and a Graph Store ``PUT`` per graph splits them in
two. Before the store is written, every such node is replaced, in every graph, by an
IRI under the dataset's base, as RDF 1.1 Concepts §3.5 describes::

    <base>.well-known/genid/<hash>

The hash is stable across builds: it is the SHA-256 of the node's neighbourhood — the
quads reachable from it through blank-node objects and the quads that point at it, in
every graph where it occurs — in RDFC-1.0 canonical form, with the node marked. The
same class expression in the same place gets the same IRI in every build, and an edit
elsewhere in the ontology does not move it. Blank nodes that only one graph holds (the
shapes' property shapes, lists) stay blank nodes. It runs on the quads the store is
written from (one pass over Oxigraph terms), after validation: the reasoner and the
SHACL engine see the data as loaded.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

import pyoxigraph as ox

from mededkg.pipeline.export import Canonical
from mededkg.query.formats import rdf_format

#: Path of skolem IRIs under the base IRI (RDF 1.1 Concepts §3.5).
GENID = ".well-known/genid/"
_MARK = ox.NamedNode("urn:x-mededkg:skolem-mark")

GraphName = ox.NamedNode | ox.BlankNode | ox.DefaultGraph


def skolem_iri(base_iri: str, digest: str) -> ox.NamedNode:
    """The skolem IRI of a blank node whose neighbourhood hashes to *digest*."""
    return ox.NamedNode(f"{base_iri}{GENID}{digest}")


def skolemise_shared(quads: Iterable[ox.Quad], base_iri: str) -> list[ox.Quad]:
    """*quads* with each blank node that occurs in more than one graph replaced, in
    every graph, by its skolem IRI."""
    quads = list(quads)
    graphs: dict[ox.BlankNode, set[str]] = defaultdict(set)
    out_of: dict[ox.BlankNode, list[ox.Quad]] = defaultdict(list)
    into: dict[ox.BlankNode, list[ox.Quad]] = defaultdict(list)
    for quad in quads:
        subject, obj = quad.subject, quad.object
        if isinstance(subject, ox.BlankNode):
            graphs[subject].add(str(quad.graph_name))
            out_of[subject].append(quad)
        if isinstance(obj, ox.BlankNode):
            graphs[obj].add(str(quad.graph_name))
            into[obj].append(quad)
    shared = [node for node, where in graphs.items() if len(where) > 1]
    if not shared:
        return quads
    names = {node: skolem_iri(base_iri, _digest(node, out_of, into)) for node in shared}
    return [
        ox.Quad(
            names.get(q.subject, q.subject),  # type: ignore[arg-type]
            q.predicate,
            names.get(q.object, q.object),  # type: ignore[arg-type]
            q.graph_name,
        )
        if q.subject in names or q.object in names
        else q
        for q in quads
    ]


def _digest(
    node: ox.BlankNode,
    out_of: dict[ox.BlankNode, list[ox.Quad]],
    into: dict[ox.BlankNode, list[ox.Quad]],
) -> str:
    """SHA-256 of *node*'s neighbourhood in canonical form, the node marked."""
    found: set[ox.Quad] = set(into.get(node, ()))
    todo, done = [node], set()
    while todo:
        subject = todo.pop()
        if subject in done:
            continue
        done.add(subject)
        for quad in out_of.get(subject, ()):
            found.add(quad)
            if isinstance(quad.object, ox.BlankNode):
                todo.append(quad.object)
    marked = Canonical([*found, ox.Quad(node, _MARK, _MARK, ox.DefaultGraph())])
    return hashlib.sha256(marked.serialize(rdf_format("nq"))).hexdigest()[:32]
