"""Validate step: SHACL validation of the asserted data.

The *asserted* data is validated, with the ontology mixed in only so that
``rdfs:subClassOf`` reaches ``sh:targetClass`` and ``sh:class``. Validating the closure
instead would hide errors: a domain/range entailment makes a wrongly typed resource look
right.

Two engines, chosen by the ``validator`` setting:

- ``rudof`` (the default): rudof's native SHACL Core engine, in Rust (``pyrudof``); ~4×
  faster than pyshacl on the real graph (docs/benchmarks.md). It reads the data and the
  shapes as N-Triples files (written to a temporary folder: a path is never mistaken for
  inline data or a URL) and writes the W3C report graph, which is read back with rdflib.
  rudof 0.3 is used only for shapes whose ``sh:`` terms are all in
  :data:`RUDOF_TERMS`, the terms on which it was checked to give pyshacl's results
  (each has a case in ``tests/test_validators.py``). It does not: it skips property
  paths other than predicates and sequences (``sh:inversePath``, ``sh:alternativePath``,
  ``sh:zeroOrMorePath``…: no result at all), and reports the members of ``sh:and`` /
  ``sh:or`` / ``sh:xone`` as results of their own. Shapes using any term outside the
  list are validated by pyshacl, and the report says so (``ValidationReport.engine``).
- ``pyshacl``: the reference. ``tests/test_validators.py`` checks that both give the
  same results (severity, focus node, path, value, shape, constraint component,
  message) on each shape's crafted bad instance, the fixture project and the real
  graph.

Both reports carry the shape's own ``sh:message`` (rudof writes its own text, which is
kept only for a shape without one), and ``sh:conforms`` is true unless there is a
``sh:Violation``: warnings and infos are reported but do not fail.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pyrudof
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from mededkg.errors import MedEdKGError
from mededkg.namespaces import SH
from mededkg.terms import to_rdflib

_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}

#: The engines the ``validator`` setting may name; the first is the default.
VALIDATORS = ("rudof", "pyshacl")

#: Most data triples rudof validates in one run: it holds ~9 KB per triple while it
#: validates (measured at 1M, docs/benchmarks.md), and each run costs ~0.4 s fixed.
BATCH_TRIPLES = 250_000

#: SHACL terms that only describe or organise shapes: no engine validates with them.
DESCRIPTIVE_TERMS = frozenset(
    SH[name]
    for name in ("name", "description", "order", "group", "defaultValue", "message")
)

#: SHACL terms on which rudof gives exactly pyshacl's results: each has a case in
#: ``tests/test_validators.py`` (``RUDOF_CASES``), and a term added here without one
#: fails there. Shapes with any other ``sh:`` predicate go to pyshacl.
RUDOF_TERMS = DESCRIPTIVE_TERMS | frozenset(
    SH[name]
    for name in (
        "property", "path", "targetClass", "targetNode", "targetSubjectsOf",
        "targetObjectsOf", "severity", "deactivated", "class", "datatype", "nodeKind",
        "minCount", "maxCount", "minExclusive", "minInclusive", "maxExclusive",
        "maxInclusive", "minLength", "maxLength", "pattern", "flags", "languageIn",
        "uniqueLang", "equals", "disjoint", "lessThan", "lessThanOrEquals", "not",
        "node", "qualifiedValueShape", "qualifiedMinCount", "qualifiedMaxCount",
        "qualifiedValueShapesDisjoint", "in", "hasValue", "closed",
        "ignoredProperties",
    )
)  # fmt: skip


def engine_for(shapes: Graph, validator: str) -> tuple[str, str]:
    """The engine that validates *shapes* when the setting names *validator*, and
    why when it is not that one."""
    if validator not in VALIDATORS:
        raise ValueError(f"unknown validator {validator!r}: one of {VALIDATORS}")
    if validator == "rudof":
        outside = sorted(
            str(p).removeprefix(str(SH))
            for p in set(shapes.predicates())
            if str(p).startswith(str(SH)) and p not in RUDOF_TERMS
        )
        if outside:
            terms = ", ".join(f"sh:{name}" for name in outside)
            return "pyshacl", (
                f"the shapes use {terms}, which rudof does not evaluate as the "
                "reference does; pyshacl validated them"
            )
    return validator, ""


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
    #: The SHACL engine that validated (``rudof`` or ``pyshacl``).
    engine: str = ""
    #: Why it is not the one the ``validator`` setting names (empty when it is).
    engine_note: str = ""

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
        if self.engine_note:
            lines.append(f"({self.engine_note})")
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
                "validator": self.engine,
                "results": [r.__dict__ for r in self.results],
            },
            ensure_ascii=False,
            indent=2,
        )

    def to_turtle(self) -> str:
        """The W3C SHACL validation report graph, as Turtle."""
        return self.graph.serialize(format="turtle")


class ValidationFailed(MedEdKGError):
    """The data does not conform to the SHACL shapes; carries the report."""

    exit_code = 1

    def __init__(self, report: ValidationReport, summary: str) -> None:
        self.report = report
        super().__init__(summary)

    def __reduce__(self) -> tuple[type[ValidationFailed], tuple[object, ...]]:
        """Pickle with the report (writes are validated in a child process)."""
        return (type(self), (self.report, str(self)))


class ValidatorFailed(MedEdKGError):
    """The SHACL engine could not read the data or the shapes (the message names the
    engine and its parser's position)."""


def validate(
    data: Iterable[Graph],
    shapes: Graph,
    ontology: Graph | None = None,
    *,
    validator: str = VALIDATORS[0],
) -> ValidationReport:
    """Validate the union of *data* against *shapes*.

    Args:
        data: the asserted data graphs (never the inferred closure).
        shapes: the SHACL shapes graph.
        ontology: the ontology, mixed in for the class hierarchy only.
        validator: the engine, one of :data:`VALIDATORS`.

    Returns:
        The report; ``conforms`` is false only when there is a ``sh:Violation``
        (warnings and infos are reported but do not fail).

    Raises:
        ValueError: *validator* is not one of :data:`VALIDATORS`.
        ValidatorFailed: the engine could not read the data or the shapes.
    """
    data = list(data)
    engine, why = engine_for(shapes, validator)
    if engine == "rudof":
        with tempfile.TemporaryDirectory(prefix="mededkg-shacl-") as folder:
            data_file = Path(folder) / "data.nt"
            with data_file.open("wb") as out:
                for graph in (*data, *([ontology] if ontology is not None else [])):
                    graph.serialize(out, format="nt", encoding="utf-8")
            report_graph = _rudof(data_file, shapes)
    else:
        report_graph = _pyshacl(data, shapes, ontology)
    return _report(report_graph, engine, why)


def validate_quads(
    data: Iterable[ox.Quad],
    shapes: Graph,
    ontology: Iterable[ox.Quad] = (),
    *,
    validator: str = VALIDATORS[0],
) -> ValidationReport:
    """:func:`validate` for data held as Oxigraph quads (the build's road): rudof
    reads them as N-Triples written by Oxigraph, with no rdflib graph in between;
    pyshacl gets them as rdflib graphs. The same report as :func:`validate` of the
    same triples.

    Raises:
        ValueError: *validator* is not one of :data:`VALIDATORS`.
        ValidatorFailed: the engine could not read the data or the shapes.
    """
    return prepare_validation(data, shapes, ontology, validator=validator)()


def prepare_validation(
    data: Iterable[ox.Quad],
    shapes: Graph,
    ontology: Iterable[ox.Quad] = (),
    *,
    validator: str = VALIDATORS[0],
    batch_triples: int = BATCH_TRIPLES,
) -> Callable[[], ValidationReport]:
    """:func:`validate_quads` in two halves: what needs the Python interpreter is
    done now (the data written as N-Triples for rudof); the function returned runs
    the engine and reads its report. rudof runs without holding the GIL, so the build
    calls that function in a thread while it reasons — and a thread that had to
    take turns with the reasoner for every quad it wrote would crawl.

    Data of more than *batch_triples* triples is validated by rudof in batches of
    focus nodes when the shapes allow it (:func:`_batchable`): rudof's memory grows
    with the data it holds (~9 GB for 1M triples), a batch's does not.

    Raises:
        ValueError: *validator* is not one of :data:`VALIDATORS`.
    """
    engine, why = engine_for(shapes, validator)
    if engine == "rudof":
        folder = tempfile.TemporaryDirectory(prefix="mededkg-shacl-")
        data = list(data)
        ontology = list(ontology)
        if len(data) > batch_triples and _batchable(shapes, data):
            batches = _write_batches(data, ontology, Path(folder.name), batch_triples)
        else:
            data_file = Path(folder.name) / "data.nt"
            with data_file.open("wb") as out:
                triples = (
                    ox.Triple(q.subject, q.predicate, q.object)
                    for q in itertools.chain(data, ontology)
                )
                ox.serialize(triples, out, ox.RdfFormat.N_TRIPLES)
            batches = [(data_file, None)]

        def run_rudof() -> ValidationReport:
            with folder:
                graphs = [_rudof(file, shapes, subjects) for file, subjects in batches]
            return _report(_merged_reports(graphs), engine, why)

        return run_rudof
    data_graph, ontology_graph = Graph(), Graph()
    for target, quads in ((data_graph, data), (ontology_graph, ontology)):
        for q in quads:
            target.add(
                (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))
            )

    def run_pyshacl() -> ValidationReport:
        return _report(_pyshacl([data_graph], shapes, ontology_graph), engine, why)

    return run_pyshacl


#: Shape terms that make a focus node's results depend on more than its own triples,
#: the types of their values and the class hierarchy: shapes using one are validated
#: whole. (Targets other than classes; shapes reached through values: ``sh:node``,
#: ``sh:property`` inside a nested shape; paths other than a predicate.)
_NOT_LOCAL = frozenset(
    SH[name] for name in ("targetNode", "targetObjectsOf", "node", "sparql")
)
_NESTING = (SH["not"], SH["and"], SH["or"], SH["xone"], SH["qualifiedValueShape"])


def _batchable(shapes: Graph, data: list[ox.Quad]) -> bool:
    """True if validating the data in batches of subjects gives the whole data's
    results: every shape reads only its focus node's triples (a predicate path each),
    the types of the values (``sh:class``) and the class hierarchy, and the data has
    no blank nodes (a blank node's triples cannot be told apart across files)."""
    if any(p in _NOT_LOCAL for p in shapes.predicates()):
        return False
    if any(not isinstance(path, URIRef) for path in shapes.objects(None, SH.path)):
        return False
    for nesting in _NESTING:
        for nested in shapes.objects(None, nesting):
            inner = {nested, *shapes.items(nested)}  # an RDF list for sh:and/or/xone
            if any((n, SH.property, None) in shapes for n in inner):
                return False
    return not any(
        isinstance(term, ox.BlankNode) for q in data for term in (q.subject, q.object)
    )


def _write_batches(
    data: list[ox.Quad], ontology: list[ox.Quad], folder: Path, size: int
) -> list[tuple[Path, set[str] | None]]:
    """The data as N-Triples files of about *size* triples, each with every triple of
    its subjects, the ``rdf:type`` triples of the nodes those triples point to, every
    ``rdfs:subClassOf`` triple of the data and the ontology; and each file's
    subjects, the only focus nodes whose results that file decides."""
    type_, sub_class = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(RDFS.subClassOf))
    types: dict[ox.NamedNode, list[ox.Triple]] = {}
    shared = [ox.Triple(q.subject, q.predicate, q.object) for q in ontology]
    for q in data:
        if q.predicate == type_ and isinstance(q.subject, ox.NamedNode):
            types.setdefault(q.subject, []).append(q.triple)
        elif q.predicate == sub_class:
            shared.append(q.triple)
    count = -(-len(data) // size)
    buckets: list[list[ox.Quad]] = [[] for _ in range(count)]
    for q in data:
        buckets[hash(q.subject) % count].append(q)
    batches: list[tuple[Path, set[str] | None]] = []
    for number, bucket in enumerate(buckets):
        subjects = {q.subject for q in bucket}
        values = {
            q.object
            for q in bucket
            if isinstance(q.object, ox.NamedNode) and q.object not in subjects
        }
        path = folder / f"data-{number}.nt"
        with path.open("wb") as out:
            triples = itertools.chain(
                (q.triple for q in bucket),
                (t for value in values for t in types.get(value, ())),
                shared,
            )
            ox.serialize(triples, out, ox.RdfFormat.N_TRIPLES)
        batches.append(
            (path, {s.value for s in subjects if isinstance(s, ox.NamedNode)})
        )
    return batches


def _results_about(report: str, subjects: set[str]) -> str:
    """The N-Triples *report* without the results about nodes whose triples its file
    held only in part (the values whose types were copied in): read with Oxigraph,
    since there may be many (each such node misses what its own file would give)."""
    triples = list(ox.parse(report, format=ox.RdfFormat.N_TRIPLES))
    focus_node = ox.NamedNode(str(SH.focusNode))
    elsewhere = {
        t.subject
        for t in triples
        if t.predicate == focus_node
        and not (isinstance(t.object, ox.NamedNode) and t.object.value in subjects)
    }
    kept = (
        t for t in triples if t.subject not in elsewhere and t.object not in elsewhere
    )
    out = io.BytesIO()
    ox.serialize(kept, out, ox.RdfFormat.N_TRIPLES)
    return out.getvalue().decode()


def _merged_reports(reports: list[Graph]) -> Graph:
    """One W3C report graph of the results of several (one ``sh:ValidationReport``)."""
    if len(reports) == 1:
        return reports[0]
    merged = Graph()
    report_node = BNode()
    merged.add((report_node, RDF.type, SH.ValidationReport))
    for graph in reports:
        for result in graph.subjects(RDF.type, SH.ValidationResult):
            merged.add((report_node, SH.result, result))
        own_reports = set(graph.subjects(RDF.type, SH.ValidationReport))
        for triple in graph:
            if triple[0] not in own_reports:
                merged.add(triple)
    return merged


def _report(report_graph: Graph, engine: str, why: str) -> ValidationReport:
    """The report of an engine's W3C report graph: results sorted, ``sh:conforms``
    false only with a ``sh:Violation``."""
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
    conforms = not any(r.severity == "Violation" for r in results)
    report = next(report_graph.subjects(RDF.type, SH.ValidationReport), None)
    if report is not None:
        report_graph.set((report, SH.conforms, Literal(conforms, datatype=XSD.boolean)))
    return ValidationReport(conforms, tuple(results), report_graph, engine, why)


def _pyshacl(data: Iterable[Graph], shapes: Graph, ontology: Graph | None) -> Graph:
    # Imported when asked for: the reference engine costs 0.2 s to import.
    from pyshacl import validate as pyshacl_validate

    data_graph = Graph()
    for graph in data:
        for triple in graph:
            data_graph.add(triple)
    # pyshacl adds triples to the graphs it is given; it gets copies.
    _, report_graph, _ = pyshacl_validate(
        data_graph,
        shacl_graph=_copy(shapes),
        ont_graph=_copy(ontology) if ontology is not None else None,
        inference="none",
        advanced=True,
        allow_warnings=True,
        abort_on_first=False,
    )
    assert isinstance(report_graph, Graph)
    return report_graph


def _rudof(data_file: Path, shapes: Graph, subjects: set[str] | None = None) -> Graph:
    """rudof's report graph for the N-Triples file *data_file*; with *subjects*,
    only the results about them (:func:`_results_about`)."""
    named_shapes, originals = _name_blank_shapes(shapes)
    with tempfile.TemporaryDirectory(prefix="mededkg-shacl-") as folder:
        shapes_file = Path(folder) / "shapes.nt"
        named_shapes.serialize(shapes_file, format="nt", encoding="utf-8")
        engine = pyrudof.Rudof(pyrudof.RudofConfig())
        strict = pyrudof.ReaderMode.Strict
        try:
            engine.read_data(
                data_file, format=pyrudof.RDFFormat.NTriples, reader_mode=strict
            )
            engine.read_shacl(
                shapes_file, format=pyrudof.ShaclFormat.NTriples, reader_mode=strict
            )
            engine.validate_shacl(mode=pyrudof.ShaclValidationMode.Native)
            text = engine.serialize_shacl_validation_results(
                format=pyrudof.ResultShaclValidationFormat.NTriples
            )
        except pyrudof.RudofError as error:
            raise ValidatorFailed(
                f"the SHACL engine rudof could not validate: {error}"
                f"{_offending_line(str(error), data_file, shapes_file)} "
                "(--validator pyshacl runs the reference engine)"
            ) from error
    if subjects is not None:
        text = _results_about(text, subjects)
    report_graph = Graph().parse(data=text, format="nt")
    for result in set(report_graph.subjects(RDF.type, SH.ValidationResult)):
        shape = report_graph.value(result, SH.sourceShape)
        if shape in originals:
            shape = originals[shape]
            report_graph.set((result, SH.sourceShape, shape))
        _use_shape_messages(report_graph, result, shapes, shape)
    return report_graph


def _offending_line(message: str, *files: Path) -> str:
    """The N-Triples line an engine's parser error points at (the files are
    temporary, so the line itself goes into the message)."""
    for file in files:
        found = re.search(re.escape(str(file)) + r".*?line (\d+)", message, re.S)
        if found:
            number = int(found.group(1))
            with file.open(encoding="utf-8") as lines:
                for index, line in enumerate(lines, 1):
                    if index == number:
                        what = "data" if file.name.startswith("data") else "shapes"
                        return f"; the {what} triple: {line.strip()}"
    return ""


_SHAPE_NAME = "urn:x-mededkg:shape:"


def _name_blank_shapes(shapes: Graph) -> tuple[Graph, dict[Node, BNode]]:
    """*shapes* with every blank node but list cells named by an IRI, and the way
    back: rudof reports a blank shape by a label of its own, so a result could not
    be traced to the shape (and its ``sh:message``) otherwise."""
    cells = set(shapes.subjects(RDF.first, None))
    originals: dict[Node, BNode] = {}

    def named(term: Node) -> Node:
        if isinstance(term, BNode) and term not in cells:
            iri = URIRef(_SHAPE_NAME + str(term))
            originals[iri] = term
            return iri
        return term

    graph = Graph()
    for s, p, o in shapes:
        graph.add((named(s), p, named(o)))
    return graph, originals


def _use_shape_messages(
    report_graph: Graph, result: Node, shapes: Graph, shape: Node | None
) -> None:
    """The result's message is the source shape's ``sh:message`` (every language
    of it), as with pyshacl; rudof's own text stays only for a shape without one."""
    messages = list(shapes.objects(shape, SH.message)) if shape is not None else []
    if messages:
        report_graph.remove((result, SH.resultMessage, None))
        for message in messages:
            report_graph.add((result, SH.resultMessage, message))


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
