"""Validate step: SHACL validation of the asserted data with pyshacl.

The *asserted* data is validated, with the ontology supplied as ``ont_graph`` only so
that ``rdfs:subClassOf`` reaches ``sh:targetClass`` and ``sh:class``. Validating the
closure instead would hide errors: a domain/range entailment makes a wrongly typed
resource look right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from pyshacl import validate as pyshacl_validate
from rdflib import RDF, Graph, URIRef
from rdflib.term import Node

from mededkg.namespaces import SH

_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result, flattened to what a researcher needs to fix the data."""

    severity: str
    focus_node: str
    path: str
    value: str
    message: str
    shape: str
    constraint: str


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a graph against the shapes."""

    conforms: bool
    results: tuple[ValidationResult, ...]
    graph: Graph

    @property
    def violations(self) -> tuple[ValidationResult, ...]:
        """Only the results of severity ``Violation``."""
        return tuple(r for r in self.results if r.severity == "Violation")

    def summary(self) -> str:
        """One line: conforms, or how many results of each severity."""
        if not self.results:
            return "the data conforms to the shapes"
        counts: dict[str, int] = {}
        for result in self.results:
            counts[result.severity] = counts.get(result.severity, 0) + 1
        parts = ", ".join(f"{n} {sev.lower()}(s)" for sev, n in sorted(counts.items()))
        verdict = "conforms" if self.conforms else "does NOT conform"
        return f"the data {verdict} to the shapes: {parts}"

    def text(self) -> str:
        """A readable report: one block per result."""
        lines = [self.summary()]
        for result in self.results:
            lines += [
                "",
                f"{result.severity}: {result.message}",
                f"  focus node: {result.focus_node}",
                f"  path:       {result.path or '-'}",
                f"  value:      {result.value or '-'}",
                f"  shape:      {result.shape}  ({result.constraint})",
            ]
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        """The report as JSON: ``{"conforms": …, "results": [...]}``."""
        return json.dumps(
            {
                "conforms": self.conforms,
                "results": [r.__dict__ for r in self.results],
            },
            ensure_ascii=False,
            indent=2,
        )

    def to_turtle(self) -> str:
        """The W3C SHACL validation report graph, as Turtle."""
        return self.graph.serialize(format="turtle")


def validate(
    data: Iterable[Graph], shapes: Graph, ontology: Graph | None = None
) -> ValidationReport:
    """Validate the union of *data* against *shapes*.

    Args:
        data: the asserted data graphs (never the inferred closure).
        shapes: the SHACL shapes graph.
        ontology: the ontology, mixed in for the class hierarchy only.

    Returns:
        The report; ``conforms`` is false only when there is a ``sh:Violation``
        (warnings and infos are reported but do not fail).
    """
    data_graph = Graph()
    for graph in data:
        for triple in graph:
            data_graph.add(triple)
    # pyshacl adds triples to the graphs it is given; it gets copies.
    conforms, report_graph, _ = pyshacl_validate(
        data_graph,
        shacl_graph=_copy(shapes),
        ont_graph=_copy(ontology) if ontology is not None else None,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
    )
    results = sorted(
        (
            _result(report_graph, node)
            for node in report_graph.subjects(RDF.type, SH.ValidationResult)
        ),
        key=lambda r: (
            _SEVERITY_ORDER.get(r.severity, 9),
            r.focus_node,
            r.path,
            r.message,
        ),
    )
    return ValidationReport(bool(conforms), tuple(results), report_graph)


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for triple in graph:
        copy.add(triple)
    return copy


def _result(graph: Graph, node: Node) -> ValidationResult:
    def value(predicate: URIRef) -> str:
        found = graph.value(node, predicate)
        return "" if found is None else _show(graph, found)

    messages = sorted(str(m) for m in graph.objects(node, SH.resultMessage))
    severity = value(SH.resultSeverity).rsplit("#", 1)[-1]
    return ValidationResult(
        severity=severity,
        focus_node=value(SH.focusNode),
        path=value(SH.resultPath),
        value=value(SH.value),
        message="; ".join(messages) or "(the shape gives no sh:message)",
        shape=value(SH.sourceShape),
        constraint=value(SH.sourceConstraintComponent).rsplit("#", 1)[-1],
    )


def _show(graph: Graph, node: Node) -> str:
    if isinstance(node, URIRef):
        return str(node)
    return node.n3(graph.namespace_manager)
