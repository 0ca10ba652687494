"""The two SHACL engines give the same results: rudof (the default) against pyshacl
(the reference) on the shapes' crafted bad instances, the fixture project and the
real graph — severity, focus node, path, value, source shape, constraint component
and message, result by result. A result the reference finds and rudof misses (or the
reverse) fails here, whatever the speed."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import XSD, Graph, Literal, URIRef

from mededkg.cli import main
from mededkg.namespaces import (
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    SH,
    SHAPES_GRAPH,
    graph_iri,
)
from mededkg.pipeline.build import (
    DEFAULT_CONVERTERS,
    data_graphs,
    load_dataset,
    sources_for,
)
from mededkg.pipeline.load import load_quads
from mededkg.pipeline.validate import (
    RUDOF_TERMS,
    VALIDATORS,
    ValidationReport,
    ValidatorFailed,
    _batchable,
    engine_for,
    prepare_validation,
    validate,
    validate_quads,
)
from mededkg.resources import default_root, ontology_dir, shapes_dir
from mededkg.settings import Config
from mededkg.terms import quads_of, to_rdflib
from tests.conftest import FIXTURE_ROOT, make_config
from tests.test_shapes import CASES, CONTEXT, PREFIXES

Key = tuple[str, ...]
_BLANK = re.compile(r"_:\S+")


def _keys(report: ValidationReport, *, messages: bool = True) -> Counter[Key]:
    """Every result as a comparable row; blank-node labels are each engine's own
    (a path such as ``sh:alternativePath`` is a blank node), so they are masked.
    Without *messages* (shapes that give no ``sh:message``, where each engine
    writes its own text) the message is left out."""
    return Counter(
        tuple(
            _BLANK.sub("_:b", field)
            for field in (
                r.severity,
                r.focus_node,
                r.path,
                r.value,
                r.shape,
                r.constraint,
                r.message if messages else "",
            )
        )
        for r in report.results
    )


def _both(
    data: list[Graph], shapes: Graph, ontology: Graph
) -> dict[str, ValidationReport]:
    return {
        name: validate(data, shapes, ontology, validator=name) for name in VALIDATORS
    }


def _assert_same(
    reports: dict[str, ValidationReport], *, messages: bool = True
) -> None:
    reference, rudof = reports["pyshacl"], reports["rudof"]
    assert rudof.conforms == reference.conforms
    missing = _keys(reference, messages=messages) - _keys(rudof, messages=messages)
    extra = _keys(rudof, messages=messages) - _keys(reference, messages=messages)
    assert not missing and not extra, (
        f"rudof misses {list(missing)[:5]} and adds {list(extra)[:5]}"
    )


@pytest.fixture(scope="module")
def shapes_and_ontology() -> tuple[Graph, Graph]:
    root = default_root()
    shapes, ontology = Graph(), Graph()
    for path in sorted(shapes_dir(root).glob("*.ttl")):
        shapes.parse(path)
    for path in sorted(ontology_dir(root).glob("*.ttl")):
        ontology.parse(path)
    return shapes, ontology


@pytest.mark.parametrize(
    ("case", "turtle"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_engines_agree_on_each_crafted_bad_instance(
    shapes_and_ontology: tuple[Graph, Graph], case: str, turtle: str
) -> None:
    shapes, ontology = shapes_and_ontology
    data = Graph().parse(data=PREFIXES + CONTEXT + turtle, format="turtle")
    reports = _both([data], shapes, ontology)
    assert not reports["pyshacl"].conforms or reports["pyshacl"].results, case
    _assert_same(reports)


def _project_graphs(config: Config) -> tuple[list[Graph], Graph, Graph]:
    dataset = load_dataset(config)
    return (
        data_graphs(dataset, config.base_iri),
        dataset.graph(graph_iri(config.base_iri, SHAPES_GRAPH)),
        dataset.graph(graph_iri(config.base_iri, ONTOLOGY_GRAPH)),
    )


def _project_reports(config: Config) -> dict[str, ValidationReport]:
    return _both(*_project_graphs(config))


def test_engines_agree_on_the_fixture_project(tmp_path: Path) -> None:
    _assert_same(_project_reports(make_config(FIXTURE_ROOT, tmp_path / "store")))


def test_engines_agree_on_the_real_graph(repo_config: Config) -> None:
    reports = _project_reports(repo_config)
    _assert_same(reports)
    # The real graph has warnings (institutions without an English name): the
    # comparison above compared something.
    assert reports["rudof"].results


def _build_road_inputs(config: Config) -> tuple[list[ox.Quad], Graph, list[ox.Quad]]:
    """What the build's validator gets: the sources loaded as Oxigraph quads
    (:func:`load_quads`) — the data quads, the shapes, the ontology quads."""
    loaded = load_quads(
        sources_for(config), base_iri=config.base_iri, converters=DEFAULT_CONVERTERS
    )

    def graph(name: str) -> str:
        return str(graph_iri(config.base_iri, name))

    skip = {graph(ONTOLOGY_GRAPH), graph(SHAPES_GRAPH), graph(INFERRED_GRAPH)}
    data = [q for name, quads in loaded.items() if name not in skip for q in quads]
    shapes = Graph()
    for q in loaded[graph(SHAPES_GRAPH)]:
        shapes.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return data, shapes, loaded[graph(ONTOLOGY_GRAPH)]


def _build_road_reports(config: Config, validators: tuple[str, ...]) -> dict[str, Any]:
    """The reports of the build's own road: the sources loaded as Oxigraph quads,
    validated from them (:func:`validate_quads`)."""
    data, shapes, ontology = _build_road_inputs(config)
    return {
        name: validate_quads(data, shapes, ontology, validator=name)
        for name in validators
    }


def test_the_builds_road_reports_what_the_graphs_road_reports(tmp_path: Path) -> None:
    # Fixture project, both engines: quads written as N-Triples by Oxigraph (or
    # made rdflib graphs for pyshacl) give the report of the rdflib graphs.
    config = make_config(FIXTURE_ROOT, tmp_path / "store")
    graphs_road = _project_reports(config)
    builds_road = _build_road_reports(config, VALIDATORS)
    for name in VALIDATORS:
        assert _keys(builds_road[name]) == _keys(graphs_road[name]), name


def test_the_builds_road_reports_what_the_graphs_road_reports_on_the_real_graph(
    repo_config: Config,
) -> None:
    graphs_road = validate(*_project_graphs(repo_config), validator="rudof")
    builds_road = _build_road_reports(repo_config, ("rudof",))["rudof"]
    assert builds_road.results
    assert _keys(builds_road) == _keys(graphs_road)


# --- rudof's terms: one case each, with results, where both engines must agree -----
_P = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
_DATA = """ex:x a ex:C ; ex:p ex:y , "a;b"@en , "x"@en , "12"^^xsd:integer ;
    ex:q "a;b"@en , ex:y ; ex:r "5"^^xsd:integer .
ex:y a ex:D ; ex:p "3"^^xsd:integer . ex:D rdfs:subClassOf ex:E . ex:w a ex:E .
ex:z ex:s ex:x ."""
_ON_P = "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:PS . ex:PS sh:path "

#: A shapes graph per term of RUDOF_TERMS (and per path form), each giving results.
RUDOF_CASES = {
    "class": _ON_P + "ex:p ; sh:class ex:E .",
    "datatype": _ON_P + "ex:p ; sh:datatype xsd:string .",
    "nodeKind": _ON_P + "ex:p ; sh:nodeKind sh:IRI .",
    "minCount": _ON_P + "ex:p ; sh:minCount 9 .",
    "maxCount": _ON_P + "ex:p ; sh:maxCount 1 .",
    "minExclusive": _ON_P + "ex:p ; sh:minExclusive 4 .",
    "minInclusive": _ON_P + "ex:p ; sh:minInclusive 4 .",
    "maxExclusive": _ON_P + "ex:p ; sh:maxExclusive 4 .",
    "maxInclusive": _ON_P + "ex:p ; sh:maxInclusive 4 .",
    "minLength": _ON_P + "ex:p ; sh:minLength 2 .",
    "maxLength": _ON_P + "ex:p ; sh:maxLength 2 .",
    "pattern": _ON_P + 'ex:p ; sh:pattern "^a" .',
    "flags": _ON_P + 'ex:p ; sh:pattern "^A" ; sh:flags "i" .',
    "languageIn": _ON_P + 'ex:p ; sh:languageIn ("zh") .',
    "uniqueLang": _ON_P + "ex:p ; sh:uniqueLang true .",
    "equals": _ON_P + "ex:p ; sh:equals ex:q .",
    "disjoint": _ON_P + "ex:p ; sh:disjoint ex:q .",
    "lessThan": _ON_P + "ex:r ; sh:lessThan ex:p .",
    "lessThanOrEquals": _ON_P + "ex:r ; sh:lessThanOrEquals ex:p .",
    "not": _ON_P + 'ex:p ; sh:not [ sh:pattern ";" ] .',
    "node": _ON_P + "ex:p ; sh:node ex:N . ex:N a sh:NodeShape ; sh:nodeKind sh:IRI .",
    "qualifiedMinCount": _ON_P + "ex:p ; sh:qualifiedMinCount 2 ;"
    " sh:qualifiedValueShape [ sh:datatype xsd:integer ] .",
    "qualifiedMaxCount": _ON_P + "ex:p ; sh:qualifiedMaxCount 1 ;"
    " sh:qualifiedValueShape [ sh:nodeKind sh:Literal ] .",
    "qualifiedValueShapesDisjoint": "ex:S a sh:NodeShape ; sh:targetClass ex:C ;"
    " sh:property ex:PS , ex:PS2 . ex:PS sh:path ex:p ; sh:qualifiedMinCount 4 ;"
    " sh:qualifiedValueShape [ sh:nodeKind sh:Literal ] ;"
    " sh:qualifiedValueShapesDisjoint true . ex:PS2 sh:path ex:p ;"
    " sh:qualifiedValueShape [ sh:datatype xsd:integer ] ;"
    " sh:qualifiedValueShapesDisjoint true ; sh:qualifiedMinCount 1 .",
    "in": _ON_P + 'ex:p ; sh:in ( ex:y "x"@en ) .',
    "hasValue": _ON_P + "ex:p ; sh:hasValue ex:nope .",
    "ignoredProperties": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true ;"
    " sh:ignoredProperties ( rdf:type ) ; sh:property [ sh:path ex:p ] .",
    "targetNode": "ex:S a sh:NodeShape ; sh:targetNode ex:x ; sh:property ex:PS ."
    " ex:PS sh:path ex:p ; sh:maxCount 1 .",
    "targetSubjectsOf": "ex:S a sh:NodeShape ; sh:targetSubjectsOf ex:q ;"
    " sh:property ex:PS . ex:PS sh:path ex:p ; sh:maxCount 1 .",
    "targetObjectsOf": "ex:S a sh:NodeShape ; sh:targetObjectsOf ex:s ;"
    " sh:property ex:PS . ex:PS sh:path ex:p ; sh:maxCount 1 .",
    "targetClass-subclass": "ex:S a sh:NodeShape ; sh:targetClass ex:E ;"
    " sh:property ex:PS . ex:PS sh:path ex:p ; sh:maxCount 0 .",
    "implicit-class-target": "ex:E a sh:NodeShape , rdfs:Class ; sh:property ex:PS ."
    " ex:PS sh:path ex:p ; sh:maxCount 0 .",
    "node-shape-constraint": "ex:S a sh:NodeShape ; sh:targetClass ex:C ;"
    " sh:nodeKind sh:Literal .",
    "deactivated": _ON_P + "ex:p ; sh:maxCount 1 ; sh:deactivated true ."
    " ex:T a sh:NodeShape ; sh:targetClass ex:C ; sh:nodeKind sh:Literal .",
    "severity": _ON_P + "ex:p ; sh:maxCount 1 ; sh:severity sh:Info .",
    "sequence-path": _ON_P + "( ex:p ex:p ) ; sh:maxCount 0 .",
    "descriptive": _ON_P + 'ex:p ; sh:maxCount 1 ; sh:name "p" ; sh:order 1 ;'
    ' sh:description "d" ; sh:group ex:G ; sh:defaultValue 1 ; sh:message "m" .',
}

#: Terms rudof 0.3 does not evaluate as pyshacl does: shapes using them go to pyshacl.
PYSHACL_CASES = {
    "inversePath": _ON_P + "[ sh:inversePath ex:s ] ; sh:maxCount 0 .",
    "alternativePath": _ON_P + "[ sh:alternativePath ( ex:q ex:p ) ] ; sh:maxCount 0 .",
    "zeroOrMorePath": _ON_P + "[ sh:zeroOrMorePath ex:p ] ; sh:maxCount 0 .",
    "oneOrMorePath": _ON_P + "[ sh:oneOrMorePath ex:p ] ; sh:maxCount 0 .",
    "zeroOrOnePath": _ON_P + "[ sh:zeroOrOnePath ex:p ] ; sh:maxCount 0 .",
    "and": _ON_P + 'ex:p ; sh:and ( [ sh:nodeKind sh:Literal ] [ sh:pattern "a" ] ) .',
    "or": _ON_P
    + "ex:p ; sh:or ( [ sh:nodeKind sh:IRI ] [ sh:datatype xsd:integer ] ) .",
    "xone": _ON_P
    + "ex:p ; sh:xone ( [ sh:nodeKind sh:Literal ] [ sh:datatype xsd:integer ] ) .",
}


def _case(turtle: str) -> tuple[Graph, Graph]:
    shapes = Graph().parse(data=_P + turtle, format="turtle")
    return Graph().parse(data=_P + _DATA, format="turtle"), shapes


def test_every_term_rudof_is_trusted_with_has_a_case() -> None:
    covered = {
        p for turtle in RUDOF_CASES.values() for p in _case(turtle)[1].predicates()
    }
    assert not RUDOF_TERMS - covered


@pytest.mark.parametrize("term", sorted(RUDOF_CASES))
def test_rudof_gives_the_reference_results_on_each_term(term: str) -> None:
    data, shapes = _case(RUDOF_CASES[term])
    reports = _both([data], shapes, Graph())
    assert reports["rudof"].engine == "rudof"
    assert reports["pyshacl"].results, "the case must give results to compare"
    # These shapes give no sh:message (but "descriptive"): each engine writes its own.
    _assert_same(reports, messages=term == "descriptive")


@pytest.mark.parametrize("term", sorted(PYSHACL_CASES))
def test_shapes_rudof_would_misread_are_validated_by_the_reference(term: str) -> None:
    data, shapes = _case(PYSHACL_CASES[term])
    report = validate([data], shapes, Graph(), validator="rudof")
    assert report.engine == "pyshacl"
    assert f"sh:{term}" in report.engine_note
    assert report.results
    assert _keys(report) == _keys(
        validate([data], shapes, Graph(), validator="pyshacl")
    )


def test_the_project_shapes_are_validated_by_rudof(
    shapes_and_ontology: tuple[Graph, Graph],
) -> None:
    assert engine_for(shapes_and_ontology[0], "rudof") == ("rudof", "")


def test_report_graph_says_conforms_when_only_warnings() -> None:
    shapes = Graph().parse(
        data="""@prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ;
          sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:severity sh:Warning ;
                        sh:message "p is recommended"@en ] .""",
        format="turtle",
    )
    data = Graph().parse(
        data="<http://example.org/x> a <http://example.org/C> .", format="turtle"
    )
    for name in VALIDATORS:
        report = validate([data], shapes, Graph(), validator=name)
        assert report.conforms, name
        assert [r.message for r in report.results] == ["p is recommended"], name
        (node,) = report.graph.subjects(SH.conforms, None)
        assert report.graph.value(node, SH.conforms) == Literal(
            True, datatype=XSD.boolean
        ), name


def test_a_term_rudof_cannot_read_names_the_triple_and_the_way_out() -> None:
    # rdflib writes this IRI; rudof's strict N-Triples parser refuses it.
    data = Graph()
    data.add((URIRef("http://example.org/a%zz"), SH.path, Literal("x")))
    with pytest.raises(ValidatorFailed) as failed:
        validate([data], Graph(), Graph(), validator="rudof")
    message = str(failed.value)
    assert "rudof" in message and "percent encoding" in message
    assert "the data triple: <http://example.org/a%zz>" in message
    assert "--validator pyshacl" in message


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown validator 'jena'"):
        validate([], Graph(), Graph(), validator="jena")


def test_cli_validate_runs_either_engine_with_the_same_report(tmp_path: Path) -> None:
    outputs = {}
    for name in VALIDATORS:
        result = CliRunner().invoke(
            main,
            [
                "validate",
                "--root",
                str(FIXTURE_ROOT),
                "--store-path",
                str(tmp_path / "store"),
                "--validator",
                name,
                "--format",
                "json",
            ],
        )
        assert result.exit_code == 0, result.output
        report = json.loads(_BLANK.sub("_:b", result.output))
        assert report.pop("validator") == name
        outputs[name] = report
    assert outputs["rudof"] == outputs["pyshacl"]


def test_the_text_report_says_when_the_reference_engine_took_over() -> None:
    data, shapes = _case(PYSHACL_CASES["inversePath"])
    text = validate([data], shapes, Graph(), validator="rudof").text()
    assert "sh:inversePath" in text.splitlines()[1] and "pyshacl" in text


# --- rudof in batches of focus nodes (memory bounded by the batch, issue 18) --------
def _quads(graph: Graph) -> list[ox.Quad]:
    return list(quads_of(graph))


def _batched(
    data: list[ox.Quad], shapes: Graph, ontology: list[ox.Quad], size: int
) -> ValidationReport:
    assert _batchable(shapes, data), "these shapes and data are validated in batches"
    return prepare_validation(data, shapes, ontology, batch_triples=size)()


_BATCH_SHAPES = """ex:S a sh:NodeShape ; sh:targetClass ex:C ;
    sh:property [ sh:path ex:p ; sh:class ex:E ; sh:message "p points at an E" ] ,
        [ sh:path ex:q ; sh:minCount 1 ; sh:message "has a q" ] ."""
# x's value y is an E through D (its type and the hierarchy are in other batches);
# z's value w is not; v lacks its q; u is an E only by a class of the data; t, a
# value of x, is itself a C: where its type is copied beside x, without its q, it
# must not be reported.
_BATCH_DATA = """ex:x a ex:C ; ex:p ex:y , ex:t ; ex:q 1 . ex:y a ex:D .
ex:D rdfs:subClassOf ex:E .
ex:z a ex:C ; ex:p ex:w ; ex:q 2 . ex:w a ex:F . ex:v a ex:C ; ex:p ex:y .
ex:t a ex:C , ex:E ; ex:p ex:u ; ex:q 3 . ex:u a ex:G . ex:G rdfs:subClassOf ex:E ."""


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_batches_of_focus_nodes_report_what_the_whole_data_reports(size: int) -> None:
    shapes = Graph().parse(data=_P + _BATCH_SHAPES, format="turtle")
    data = _quads(Graph().parse(data=_P + _BATCH_DATA, format="turtle"))
    whole = validate_quads(data, shapes)
    batched = _batched(data, shapes, [], size)
    assert _keys(batched) == _keys(whole)
    focus = sorted(r.focus_node.rsplit("/", 1)[-1] for r in batched.results)
    assert focus == ["v", "z"]  # the values' types reached every batch


def test_batches_report_what_the_whole_data_reports_on_the_real_graph(
    repo_config: Config,
) -> None:
    data, shapes, ontology = _build_road_inputs(repo_config)
    whole = validate_quads(data, shapes, ontology)
    batched = _batched(data, shapes, ontology, len(data) // 3 + 1)  # three batches
    assert whole.results and _keys(batched) == _keys(whole)


@pytest.mark.parametrize(
    "shapes_turtle",
    [
        "ex:S a sh:NodeShape ; sh:targetObjectsOf ex:p ; sh:class ex:E .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
        "sh:node [ sh:property [ sh:path ex:q ; sh:minCount 1 ] ] ] .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; "
        "sh:qualifiedValueShape [ sh:property [ sh:path ex:q ; sh:minCount 1 ] ] ; "
        "sh:qualifiedMinCount 1 ] .",
        "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path "
        "( ex:p ex:q ) ; sh:minCount 1 ] .",
    ],
    ids=["targetObjectsOf", "node", "nested-property", "sequence-path"],
)
def test_shapes_that_read_beyond_the_focus_node_are_validated_whole(
    shapes_turtle: str,
) -> None:
    shapes = Graph().parse(data=_P + shapes_turtle, format="turtle")
    data = _quads(Graph().parse(data=_P + _BATCH_DATA, format="turtle"))
    assert not _batchable(shapes, data)


def test_data_with_blank_nodes_is_validated_whole() -> None:
    shapes = Graph().parse(data=_P + _BATCH_SHAPES, format="turtle")
    data = _quads(
        Graph().parse(data=_P + "ex:x a ex:C ; ex:p [ a ex:E ] .", format="turtle")
    )
    assert not _batchable(shapes, data)
