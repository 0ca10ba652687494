"""Reasoning: OWL 2 RL entailments go to a separate graph; the input is unchanged."""

from __future__ import annotations

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL

from mededkg.pipeline.reason import reason

EX = Namespace("http://example.org/")


def _ontology() -> Graph:
    g = Graph()
    g.add((EX.MedicalUniversity, RDFS.subClassOf, EX.Institution))
    g.add((EX.affiliatedWith, OWL.inverseOf, EX.hasAffiliate))
    g.add((EX.affiliatedWith, RDFS.domain, EX.Hospital))
    g.add((EX.broader, RDF.type, OWL.TransitiveProperty))
    return g


def _data() -> Graph:
    g = Graph()
    g.add((EX.cmu, RDF.type, EX.MedicalUniversity))
    g.add((EX.tiantan, EX.affiliatedWith, EX.cmu))
    g.add((EX.d100201, EX.broader, EX.d1002))
    g.add((EX.d1002, EX.broader, EX.d10))
    return g


def test_subclass_inverse_domain_and_transitive_entailments() -> None:
    inferred = reason([_ontology(), _data()])
    assert (EX.cmu, RDF.type, EX.Institution) in inferred
    assert (EX.cmu, EX.hasAffiliate, EX.tiantan) in inferred
    assert (EX.tiantan, RDF.type, EX.Hospital) in inferred
    assert (EX.d100201, EX.broader, EX.d10) in inferred


def test_only_new_triples_and_inputs_unchanged() -> None:
    ontology, data = _ontology(), _data()
    before = len(ontology), len(data)
    inferred = reason([ontology, data])
    assert (len(ontology), len(data)) == before
    assert not set(inferred) & (set(ontology) | set(data))


def test_trivia_and_literal_subjects_are_dropped() -> None:
    g = _ontology() + _data()
    g.add((EX.cmu, RDFS.label, Literal("首都医科大学", lang="zh")))
    inferred = reason([g])
    assert (EX.cmu, OWL.sameAs, EX.cmu) not in inferred
    assert (EX.cmu, RDF.type, OWL.Thing) not in inferred
    assert not any(isinstance(s, Literal) for s, _, _ in inferred)
    assert not any(
        isinstance(s, URIRef) and str(s).startswith(str(RDFS)) for s, _, _ in inferred
    )
