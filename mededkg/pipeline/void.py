"""VoID: describe the store as a dataset (https://www.w3.org/TR/void/).

Every number is counted by SPARQL on the store when the description is made, so it
always matches the build being served. Counts are over the default graph the endpoint
queries — the union of the named graphs as an RDF graph, so a triple asserted in two
graphs counts once — and each named graph is a ``void:subset`` with its own count.
Links to other datasets (the ``links`` graph made from ``data/links/*.sssom.tsv``) are
described as one ``void:Linkset`` per target namespace and link predicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import OWL, RDF, SKOS, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, VOID
from rdflib.term import Node

from mededkg.namespaces import LINKS_GRAPH, PREFIXES, graph_iri
from mededkg.pipeline.stats import internal_query
from mededkg.query.gate import INTERNAL, SelectResult, execute
from mededkg.storage import Store
from mededkg.terms import to_rdflib

#: The named graph that describes the other graphs (title, description, licence).
SOURCES_GRAPH = "sources"

#: Properties that link a resource to the same or a related one in another dataset.
LINK_PREDICATES: tuple[URIRef, ...] = (
    OWL.sameAs,
    SKOS.exactMatch,
    SKOS.closeMatch,
    SKOS.broadMatch,
    SKOS.narrowMatch,
    SKOS.relatedMatch,
)

#: What the sources graph may say about a graph that VoID repeats.
DESCRIPTIVE = (DCTERMS.title, DCTERMS.description, DCTERMS.license, DCTERMS.source)

DEFAULT_TITLE = "MedEdKG"
DEFAULT_DESCRIPTION = (
    "An open knowledge graph of medical education: institutions, hospitals, degrees "
    "and disciplines, linked to ROR, Wikidata and ISCED."
)


# The namespace of an IRI: everything up to its last '/' or '#'.
_NAMESPACE = 'REPLACE(STR({}), "[^/#]*$", "")'

_TOTALS = """
SELECT (COUNT(*) AS ?triples) WHERE {
  SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }
}"""

_DISTINCT = """
SELECT (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?p) AS ?properties)
       (COUNT(DISTINCT ?o) AS ?objects)
WHERE { GRAPH ?g { ?s ?p ?o } }"""

_CLASSES = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT ?class (COUNT(DISTINCT ?entity) AS ?entities)
WHERE { GRAPH ?g { ?entity rdf:type ?class } FILTER(isIRI(?class)) }
GROUP BY ?class
ORDER BY ?class"""

_PROPERTIES = """
SELECT ?property (COUNT(*) AS ?triples) WHERE {
  SELECT DISTINCT ?s ?property ?o WHERE { GRAPH ?g { ?s ?property ?o } }
}
GROUP BY ?property
ORDER BY ?property"""

_VOCABULARIES = f"""
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
SELECT DISTINCT ?vocabulary WHERE {{
  {{ GRAPH ?g {{ ?s ?term ?o }} }} UNION {{ GRAPH ?g {{ ?s rdf:type ?term }} }}
  FILTER(isIRI(?term))
  BIND({_NAMESPACE.format("?term")} AS ?vocabulary)
}}
ORDER BY ?vocabulary"""

_DESCRIPTIONS = """
SELECT ?sources ?subject ?property ?value
WHERE { GRAPH ?sources { ?subject ?property ?value } }
ORDER BY ?subject ?property ?value"""

_LINKS = f"""
SELECT ?links ?space ?predicate (COUNT(*) AS ?triples) WHERE {{
  GRAPH ?links {{ ?s ?predicate ?o }}
  FILTER(isIRI(?o) && ?predicate IN ({", ".join(f"<{p}>" for p in LINK_PREDICATES)}))
  BIND({_NAMESPACE.format("?o")} AS ?space)
}}
GROUP BY ?links ?space ?predicate
ORDER BY ?space ?predicate"""


@dataclass(frozen=True)
class GraphSize:
    """One named graph and its number of triples."""

    iri: str
    triples: int


def dataset_iri(base_iri: str) -> URIRef:
    """The IRI of the whole dataset under *base_iri*.

    >>> dataset_iri("https://w3id.org/mededkg/")
    rdflib.term.URIRef('https://w3id.org/mededkg/dataset')
    """
    return URIRef(f"{base_iri}dataset")


def graph_sizes(store: Store) -> tuple[GraphSize, ...]:
    """Every named graph of *store* with its triple count, by IRI."""
    return tuple(
        GraphSize(str(row["graph"]), _int(row["triples"]))
        for row in _rows(store, internal_query("graph-sizes"))
    )


def default_graph_triples(store: Store) -> int:
    """The number of distinct triples in the union of the named graphs."""
    return _int(_rows(store, _TOTALS)[0]["triples"])


def void_description(
    store: Store,
    *,
    base_iri: str,
    endpoint: str,
    dumps: Sequence[str] = (),
) -> Graph:
    """Describe *store* with VoID.

    Args:
        store: the built store to count.
        base_iri: the base of the dataset's IRIs (its ``void:uriSpace``).
        endpoint: the URL of the SPARQL endpoint that serves the store.
        dumps: URLs of downloadable dumps of the whole dataset (``void:dataDump``).

    Returns:
        A graph about :func:`dataset_iri`: totals, class and property partitions,
        vocabularies, one subset per named graph and one linkset per target
        namespace and link predicate.
    """
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    dataset = dataset_iri(base_iri)
    graph.add((dataset, RDF.type, VOID.Dataset))
    graph.add((dataset, VOID.sparqlEndpoint, URIRef(endpoint)))
    graph.add((dataset, VOID.uriSpace, Literal(base_iri)))
    for dump in dumps:
        graph.add((dataset, VOID.dataDump, URIRef(dump)))

    descriptions = _descriptions(store, base_iri)
    about_dataset = descriptions.get(dataset, [])
    # The data may describe the dataset itself; a title and description it lacks are
    # the defaults.
    stated = {prop for prop, _ in about_dataset}
    if DCTERMS.title not in stated:
        graph.add((dataset, DCTERMS.title, Literal(DEFAULT_TITLE, lang="en")))
    if DCTERMS.description not in stated:
        graph.add(
            (dataset, DCTERMS.description, Literal(DEFAULT_DESCRIPTION, lang="en"))
        )
    for about, value in about_dataset:
        graph.add((dataset, about, value))

    graph.add((dataset, VOID.triples, Literal(default_graph_triples(store))))
    distinct = _rows(store, _DISTINCT)[0]
    graph.add((dataset, VOID.distinctSubjects, Literal(_int(distinct["subjects"]))))
    graph.add((dataset, VOID.properties, Literal(_int(distinct["properties"]))))
    graph.add((dataset, VOID.distinctObjects, Literal(_int(distinct["objects"]))))

    classes = _rows(store, _CLASSES)
    graph.add((dataset, VOID.classes, Literal(len(classes))))
    for row in classes:
        partition = BNode()
        graph.add((dataset, VOID.classPartition, partition))
        graph.add((partition, VOID["class"], row["class"]))
        graph.add((partition, VOID.entities, Literal(_int(row["entities"]))))
    for row in _rows(store, _PROPERTIES):
        partition = BNode()
        graph.add((dataset, VOID.propertyPartition, partition))
        graph.add((partition, VOID.property, row["property"]))
        graph.add((partition, VOID.triples, Literal(_int(row["triples"]))))
    for row in _rows(store, _VOCABULARIES):
        graph.add((dataset, VOID.vocabulary, URIRef(str(row["vocabulary"]))))

    for size in graph_sizes(store):
        subset = URIRef(size.iri)
        graph.add((dataset, VOID.subset, subset))
        graph.add((subset, RDF.type, VOID.Dataset))
        graph.add((subset, VOID.triples, Literal(size.triples)))
        for about, value in descriptions.get(subset, []):
            graph.add((subset, about, value))

    _add_linksets(graph, store, dataset, graph_iri(base_iri, LINKS_GRAPH))
    return graph


def _add_linksets(graph: Graph, store: Store, dataset: URIRef, links: URIRef) -> None:
    """One ``void:Linkset`` (a subset of the links graph) per namespace and predicate;
    each target namespace is a ``void:Dataset`` known by its ``void:uriSpace``."""
    rows = _rows(
        store,
        _LINKS,
        substitutions={"links": ox.NamedNode(str(links))},
    )
    targets: dict[str, BNode] = {}
    for row in rows:
        space = str(row["space"])
        if space not in targets:
            targets[space] = BNode()
            graph.add((targets[space], RDF.type, VOID.Dataset))
            graph.add((targets[space], VOID.uriSpace, Literal(space)))
        linkset = BNode()
        graph.add((links, VOID.subset, linkset))
        graph.add((linkset, RDF.type, VOID.Linkset))
        graph.add((linkset, VOID.subjectsTarget, dataset))
        graph.add((linkset, VOID.objectsTarget, targets[space]))
        # void:target is implied by the two above; stated for clients without RDFS.
        graph.add((linkset, VOID.target, dataset))
        graph.add((linkset, VOID.target, targets[space]))
        graph.add((linkset, VOID.linkPredicate, row["predicate"]))
        graph.add((linkset, VOID.triples, Literal(_int(row["triples"]))))


def _descriptions(store: Store, base_iri: str) -> dict[Node, list[tuple[Node, Node]]]:
    """What the sources graph says about each subject (only :data:`DESCRIPTIVE`)."""
    rows = _rows(
        store,
        _DESCRIPTIONS,
        substitutions={
            "sources": ox.NamedNode(str(graph_iri(base_iri, SOURCES_GRAPH)))
        },
    )
    found: dict[Node, list[tuple[Node, Node]]] = {}
    for row in rows:
        if row["property"] in DESCRIPTIVE:
            found.setdefault(row["subject"], []).append((row["property"], row["value"]))
    return found


def _int(term: Node) -> int:
    return int(str(term))


def _rows(
    store: Store,
    sparql: str,
    *,
    substitutions: dict[str, ox.NamedNode] | None = None,
) -> list[dict[str, Node]]:
    result = execute(store, sparql, limits=INTERNAL, substitutions=substitutions)
    assert isinstance(result, SelectResult)
    return [
        {
            var: to_rdflib(term)
            for var, term in zip(result.variables, row, strict=True)
            if term is not None
        }
        for row in result.rows
    ]
