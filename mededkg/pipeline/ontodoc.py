"""Ontology documentation generated from the ontology and shapes graphs themselves:
every class and property with its labels in both languages, definition, source,
hierarchy, restrictions and the SHACL constraints that guard it."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from jinja2 import Environment, select_autoescape
from rdflib import OWL, RDF, RDFS, BNode, Graph, URIRef
from rdflib.term import Node

from mededkg.namespaces import DCTERMS, MEDEDKG, ONTOLOGY_IRI, SH, SKOS
from mededkg.resources import ontology_dir, shapes_dir

NS = str(MEDEDKG._NS)


@dataclass
class Term:
    """One class, property or individual of the ontology."""

    iri: str
    name: str
    kind: str
    label_en: str = ""
    label_zh: str = ""
    definition: str = ""
    definition_zh: str = ""
    scope_note: str = ""
    sources: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    restrictions: list[tuple[str, str]] = field(default_factory=list)
    annotations: list[tuple[str, str]] = field(default_factory=list)
    domain: list[str] = field(default_factory=list)
    range: list[str] = field(default_factory=list)
    inverse: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)


@dataclass
class OntologyDoc:
    """Everything the page shows."""

    title_en: str
    title_zh: str
    description: str
    version: str
    license: str
    classes: list[Term]
    object_properties: list[Term]
    datatype_properties: list[Term]
    annotation_properties: list[Term]
    individuals: list[Term]


def describe(ontology: Graph, shapes: Graph) -> OntologyDoc:
    """Collect the documentation of every MedEdKG term, sorted by name."""
    graph = ontology + shapes
    terms = sorted(
        {
            s
            for s in graph.subjects()
            if isinstance(s, URIRef) and str(s).startswith(NS)
        },
        key=str,
    )
    by_kind: dict[str, list[Term]] = {}
    for term in terms:
        doc = _term(graph, term)
        by_kind.setdefault(doc.kind, []).append(doc)
    return OntologyDoc(
        title_en=_label(graph, ONTOLOGY_IRI, "en", DCTERMS.title),
        title_zh=_label(graph, ONTOLOGY_IRI, "zh", DCTERMS.title),
        description=str(graph.value(ONTOLOGY_IRI, DCTERMS.description) or ""),
        version=str(graph.value(ONTOLOGY_IRI, OWL.versionInfo) or ""),
        license=str(graph.value(ONTOLOGY_IRI, DCTERMS.license) or ""),
        classes=by_kind.get("class", []),
        object_properties=by_kind.get("object property", []),
        datatype_properties=by_kind.get("datatype property", []),
        annotation_properties=by_kind.get("annotation property", []),
        individuals=by_kind.get("individual", []),
    )


def from_files(root: Path) -> OntologyDoc:
    """Describe the ontology and shapes files of a project folder."""
    ontology, shapes = Graph(), Graph()
    for path in sorted(ontology_dir(root).glob("*.ttl")):
        ontology.parse(path, format="turtle")
    for path in sorted(shapes_dir(root).glob("*.ttl")):
        shapes.parse(path, format="turtle")
    return describe(ontology, shapes)


def render_html(doc: OntologyDoc) -> str:
    """The documentation page as standalone HTML (no scripts, no remote assets)."""
    env = Environment(
        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
    )
    template = (resources.files("mededkg") / "templates" / "ontology.html").read_text(
        "utf-8"
    )
    return env.from_string(template).render(doc=doc)


def _term(graph: Graph, term: URIRef) -> Term:
    types = set(graph.objects(term, RDF.type))
    if OWL.Class in types:
        kind = "class"
    elif OWL.ObjectProperty in types:
        kind = "object property"
    elif OWL.DatatypeProperty in types:
        kind = "datatype property"
    elif OWL.AnnotationProperty in types:
        kind = "annotation property"
    else:
        kind = "individual"
    doc = Term(
        iri=str(term),
        name=str(term)[len(NS) :],
        kind=kind,
        label_en=_label(graph, term, "en"),
        label_zh=_label(graph, term, "zh"),
        definition=_label(graph, term, "en", SKOS.definition),
        definition_zh=_label(graph, term, "zh", SKOS.definition),
        scope_note=str(graph.value(term, SKOS.scopeNote) or ""),
        sources=sorted(_short(s) for s in graph.objects(term, DCTERMS.source)),
    )
    for parent in graph.objects(term, RDFS.subClassOf):
        if isinstance(parent, BNode):
            prop = graph.value(parent, OWL.onProperty)
            value = graph.value(parent, OWL.hasValue)
            if prop is not None and value is not None:
                doc.restrictions.append((_short(prop), _short(value)))
        else:
            doc.parents.append(_short(parent))
    for parent in graph.objects(term, RDFS.subPropertyOf):
        doc.parents.append(_short(parent))
    for subject in graph.subjects(RDFS.subClassOf, term):
        filler = graph.value(subject, OWL.someValuesFrom)
        if isinstance(subject, BNode) and filler is not None:
            prop = graph.value(subject, OWL.onProperty)
            doc.restrictions.append(
                (f"entailed for anything {_short(prop)}", f"some {_short(filler)}")
            )
    for predicate in (MEDEDKG.typicalService, MEDEDKG.typicalDepartment):
        for value in graph.objects(term, predicate):
            doc.annotations.append((_short(predicate), _short(value)))
    doc.domain = sorted(_short(d) for d in graph.objects(term, RDFS.domain))
    doc.range = sorted(_short(r) for r in graph.objects(term, RDFS.range))
    doc.inverse = sorted(_short(i) for i in graph.objects(term, OWL.inverseOf))
    doc.characteristics = sorted(
        _short(t)
        for t in types
        if t in (OWL.SymmetricProperty, OWL.TransitiveProperty, OWL.FunctionalProperty)
    )
    doc.types = sorted(_short(t) for t in types if t != OWL.NamedIndividual)
    doc.constraints = sorted(_constraints(graph, term))
    doc.restrictions.sort()
    doc.annotations.sort()
    doc.parents.sort()
    return doc


def _constraints(graph: Graph, term: URIRef) -> list[str]:
    found: list[str] = []
    for shape in graph.subjects(SH.targetClass, term):
        for prop in graph.objects(shape, SH.property):
            message = graph.value(prop, SH.message)
            severity = graph.value(prop, SH.severity)
            if message is not None:
                level = _short(severity).removeprefix("sh:") if severity else ""
                found.append(f"{level}: {message}")
    for prop in graph.subjects(SH.path, term):
        message = graph.value(prop, SH.message)
        if message is not None and (None, SH.property, prop) in graph:
            found.append(f"on use: {message}")
    return sorted(set(found))


def _label(graph: Graph, term: Node, lang: str, predicate: URIRef = RDFS.label) -> str:
    for label in graph.objects(term, predicate):
        if getattr(label, "language", None) == lang:
            return str(label)
    return ""


def _short(node: Node | None) -> str:
    if node is None:
        return ""
    text = str(node)
    for prefix, namespace in (
        ("mededkg:", NS),
        ("skos:", str(SKOS)),
        ("owl:", str(OWL)),
        ("rdfs:", str(RDFS)),
        ("xsd:", "http://www.w3.org/2001/XMLSchema#"),
        ("sh:", str(SH)),
        ("source:", "https://w3id.org/mededkg/id/source/"),
        ("schema:", "https://schema.org/"),
    ):
        if text.startswith(namespace):
            return prefix + text[len(namespace) :]
    return text
