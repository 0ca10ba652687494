"""Step 1: the graph's entities (institutions, hospitals, disciplines) with their names,
acronyms, web domains and places."""

from __future__ import annotations

from typing import Any

from rdflib import RDF, RDFS, SKOS, Graph, Literal, URIRef

from mededkg.matching import names
from mededkg.matching.link.model import (
    _ACRONYM,
    _LABELS,
    _URLS,
    ENTITY_CLASSES,
    Entity,
    LinkError,
    _domains,
    _places,
    _unique,
)
from mededkg.namespaces import MEDEDKG


# --- 1. entities from the graph ---------------------------------------------------
def graph_entities(graph: Graph, kind: str) -> list[Entity]:
    """The resources of *kind* in *graph* (data and ontology merged), sorted by IRI.

    A resource is of the kind when its type is one of the kind's classes or a subclass
    of one (``rdfs:subClassOf*`` in the graph's ontology).

    Raises:
        LinkError: for an unknown kind.
    """
    if kind not in ENTITY_CLASSES:
        raise LinkError(
            kind, f"unknown entity kind; use one of {sorted(ENTITY_CLASSES)}"
        )
    classes = {
        c
        for top in ENTITY_CLASSES[kind]
        for c in graph.transitive_subjects(RDFS.subClassOf, top)
    }
    subjects = sorted(
        {s for c in classes for s in graph.subjects(RDF.type, c)}, key=str
    )
    entities = []
    for subject in subjects:
        if not isinstance(subject, URIRef):
            continue
        labels = [o for p in _LABELS for o in graph.objects(subject, p)]
        # Sorted: graph order differs between runs, and the first of two equally
        # good names is the one the justification quotes.
        texts = _unique(
            sorted(
                {str(o) for o in labels if isinstance(o, Literal)},
                key=lambda t: (not names.is_chinese(t), t),
            )
        )
        if not texts:
            continue
        acronyms = tuple(t for t in texts if _ACRONYM.match(t))
        full = tuple(t for t in texts if t not in acronyms)
        label = _preferred_label(graph, subject) or (full or texts)[0]
        places = _places(
            *sorted(str(o) for o in graph.objects(subject, MEDEDKG.city)),
            *sorted(str(o) for o in graph.objects(subject, MEDEDKG.province)),
        )
        domains = _domains(
            *sorted(str(o) for p in _URLS for o in graph.objects(subject, p))
        )
        entities.append(
            Entity(str(subject), label, full or texts, acronyms, domains, places)
        )
    return entities


def _preferred_label(graph: Graph, subject: URIRef) -> str:
    for prop in (RDFS.label, SKOS.prefLabel):
        found = sorted(
            (o for o in graph.objects(subject, prop) if isinstance(o, Literal)),
            key=lambda o: (o.language != "zh", str(o)),
        )
        if found:
            return str(found[0])
    return ""


def union_graph(dataset: Any) -> Graph:
    """All triples of an rdflib ``Dataset`` (every named graph) in one graph."""
    graph = Graph()
    for s, p, o, _g in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph
