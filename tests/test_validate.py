"""Validation: SHACL reports name the focus node, path, value, message and shape."""

from __future__ import annotations

import json

from rdflib import Graph

from mededkg.pipeline.validate import validate

SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:InstitutionShape a sh:NodeShape ;
  sh:targetClass ex:Institution ;
  sh:property [ sh:path ex:moeCode ; sh:pattern "^[0-9]{10}$" ; sh:minCount 1 ;
                sh:severity sh:Violation ;
                sh:message "An institution needs a 10-digit MOE code."@en ] ;
  sh:property [ sh:path ex:note ; sh:maxLength 3 ; sh:severity sh:Warning ;
                sh:message "Notes should be short."@en ] .
"""
ONTOLOGY = """
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix ex: <http://example.org/> .
ex:MedicalUniversity rdfs:subClassOf ex:Institution .
ex:affiliatedWith rdfs:range ex:Institution .
"""


def _graph(text: str) -> Graph:
    return Graph().parse(
        data="@prefix ex: <http://example.org/> .\n" + text, format="turtle"
    )


def test_violation_names_focus_path_value_message_and_shape() -> None:
    data = _graph('ex:cmu a ex:MedicalUniversity ; ex:moeCode "41110" .')
    report = validate([data], _graph(SHAPES), _graph(ONTOLOGY))
    assert not report.conforms
    (result,) = report.violations
    assert result.focus_node == "http://example.org/cmu"
    assert result.path == "http://example.org/moeCode"
    assert result.value == '"41110"'
    assert result.message == "An institution needs a 10-digit MOE code."
    assert result.constraint == "PatternConstraintComponent"
    text = report.text()
    assert "http://example.org/cmu" in text and "10-digit MOE code" in text
    assert json.loads(report.to_json())["results"][0]["path"].endswith("moeCode")


def test_warnings_are_reported_but_conform() -> None:
    data = _graph(
        'ex:cmu a ex:Institution ; ex:moeCode "4111010025" ; ex:note "long" .'
    )
    report = validate([data], _graph(SHAPES), _graph(ONTOLOGY))
    assert report.conforms
    assert [r.severity for r in report.results] == ["Warning"]


def test_asserted_data_is_validated_not_its_closure() -> None:
    # A range entailment would make ex:x an ex:Institution and hide... nothing here:
    # ex:x is not typed in the data, so the shape must not target it.
    data = _graph("ex:h ex:affiliatedWith ex:x .")
    report = validate([data], _graph(SHAPES), _graph(ONTOLOGY))
    assert report.conforms and not report.results


def test_validation_never_changes_its_inputs() -> None:
    data = _graph('ex:cmu a ex:MedicalUniversity ; ex:moeCode "41110" .')
    shapes, ontology, empty = _graph(SHAPES), _graph(ONTOLOGY), Graph()
    sizes = len(data), len(shapes), len(ontology)
    validate([data], shapes, ontology)
    validate([data], empty, empty)
    assert (len(data), len(shapes), len(ontology), len(empty)) == (*sizes, 0)
