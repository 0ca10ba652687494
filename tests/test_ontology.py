"""The ontology itself: it parses in two independent parsers, every term is documented
in both languages with a source, it stays inside OWL 2 RL where owlrl can use it, and
the closed Python namespace lists exactly its terms."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, RDFS, Graph, Namespace, URIRef

from mededkg.namespaces import MEDEDKG
from mededkg.resources import default_root, ontology_dir

SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
MED = str(MEDEDKG._NS)
FILES = sorted(ontology_dir(default_root()).glob("*.ttl"))


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    for path in FILES:
        graph.parse(path, format="turtle")
    return graph


def _terms(graph: Graph) -> set[URIRef]:
    return {
        s for s in graph.subjects() if isinstance(s, URIRef) and str(s).startswith(MED)
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_parses_identically_in_rdflib_and_oxigraph(path: Path) -> None:
    from rdflib.compare import isomorphic

    from mededkg.terms import to_rdflib

    oxigraph = Graph()
    for quad in ox.parse(path=path, format=ox.RdfFormat.TURTLE):
        oxigraph.add(
            tuple(to_rdflib(t) for t in (quad.subject, quad.predicate, quad.object))
        )  # type: ignore[arg-type]
    assert isomorphic(oxigraph, Graph().parse(path, format="turtle"))


def test_header_has_version_licence_created_and_prefix(ontology: Graph) -> None:
    iri = URIRef(MED.rstrip("#"))
    assert (iri, RDF.type, OWL.Ontology) in ontology
    for predicate in (
        OWL.versionIRI,
        OWL.versionInfo,
        DCTERMS.license,
        DCTERMS.created,
    ):
        assert ontology.value(iri, predicate) is not None, predicate
    vann = Namespace("http://purl.org/vocab/vann/")
    assert str(ontology.value(iri, vann.preferredNamespacePrefix)) == "mededkg"


def test_every_term_has_english_and_chinese_label_definition_and_source(
    ontology: Graph,
) -> None:
    problems = []
    for term in sorted(_terms(ontology)):
        languages = {label.language for label in ontology.objects(term, RDFS.label)}  # type: ignore[attr-defined]
        if languages != {"en", "zh"}:
            problems.append(f"{term}: labels in {languages}")
        if ontology.value(term, SKOS.definition) is None:
            problems.append(f"{term}: no skos:definition")
        if ontology.value(term, DCTERMS.source) is None:
            problems.append(f"{term}: no dcterms:source")
    assert not problems


def test_closed_namespace_lists_exactly_the_ontology_terms(ontology: Graph) -> None:
    in_python = set(MEDEDKG.__annotations__)
    in_ontology = {str(t)[len(MED) :] for t in _terms(ontology)}
    assert in_python == in_ontology


def test_only_rl_friendly_class_expressions(ontology: Graph) -> None:
    # OWL 2 RL forbids these as superclasses; we use none of them anywhere.
    for construct in (OWL.unionOf, OWL.complementOf, OWL.oneOf, OWL.minCardinality):
        assert not list(ontology.subjects(construct, None)), construct
    # someValuesFrom restrictions appear only as subclasses.
    for restriction in ontology.subjects(OWL.someValuesFrom, None):
        assert not list(ontology.subjects(RDFS.subClassOf, restriction))


def test_generated_docs_are_up_to_date() -> None:
    from mededkg.pipeline.ontodoc import from_files, render_html

    committed = (default_root() / "docs" / "ontology.html").read_text(encoding="utf-8")
    assert render_html(from_files(default_root())) == committed, "run `mededkg docs`"


def test_docs_show_both_languages_axioms_and_shapes() -> None:
    from mededkg.pipeline.ontodoc import from_files

    doc = from_files(default_root())
    hospital = next(t for t in doc.classes if t.name == "Hospital")
    assert (hospital.label_en, hospital.label_zh) == ("hospital", "医院")
    assert ("mededkg:servesClient", "mededkg:Patients") in hospital.restrictions
    assert any("exactly one ROR id" in c for c in hospital.constraints)


def test_loads_in_owlready2(tmp_path: Path) -> None:
    import io

    import owlready2

    world = owlready2.World()
    # The main ontology first, under its own IRI, so that the alignments' owl:imports
    # resolves locally instead of over the network.
    for path, iri in (
        (ontology_dir(default_root()) / "mededkg.ttl", MED.rstrip("#")),
        (
            ontology_dir(default_root()) / "alignments.ttl",
            MED.rstrip("#") + "/alignments",
        ),
    ):
        data = ox.serialize(list(ox.parse(path=path)), format=ox.RdfFormat.N_TRIPLES)
        world.get_ontology(iri).load(fileobj=io.BytesIO(data), format="ntriples")
    names = {c.name for c in world.classes()}
    assert {
        "MedicalEducationInstitution",
        "Hospital",
        "DegreeType",
        "Discipline",
    } <= names
