"""The one pipeline: load → reason (OWL 2 RL) → validate (SHACL) → write the store.

This module alone knows the order of the steps. Each step is a plain function that
returns what the next one takes; the build is all-or-nothing: the store is replaced
only after every step succeeded.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef

from mededkg.matching.sssom import sssom_triples
from mededkg.namespaces import (
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    SHAPES_GRAPH,
    graph_iri,
    graph_name,
)
from mededkg.pipeline.dumps import dumps_folder, write_dumps
from mededkg.pipeline.load import (
    SSSOM_SUFFIX,
    Converter,
    Source,
    add_quads,
    added_sources,
    load,
    load_quads,
    new_dataset,
    project_sources,
)
from mededkg.pipeline.reason import reason, reason_triples
from mededkg.pipeline.skolem import skolemise_shared
from mededkg.pipeline.validate import (
    VALIDATORS,
    ValidationFailed,
    ValidationReport,
    prepare_validation,
    validate,
)
from mededkg.settings import Config
from mededkg.storage import Backend, Store, backend_for
from mededkg.terms import quads_of, to_rdflib

#: Readers for the non-RDF sources a build loads.
DEFAULT_CONVERTERS: dict[str, Converter] = {SSSOM_SUFFIX: sssom_triples}


@dataclass(frozen=True)
class Step:
    """What one pipeline step did: its name, how long it took, how many triples."""

    name: str
    seconds: float
    triples: int
    detail: str = ""


@dataclass
class BuildResult:
    """The outcome of a build: its quads (with ``inferred``), report and steps."""

    report: ValidationReport
    steps: list[Step] = field(default_factory=list)
    store_folder: Path | None = None
    #: Every quad the build made: the loaded sources' and the ``inferred`` graph's
    #: (blank nodes as loaded: the store's are skolemised where graphs share them).
    quads: list[ox.Quad] = field(default_factory=list)

    @functools.cached_property
    def dataset(self) -> Dataset:
        """The build's quads as an rdflib dataset (made when first asked for)."""
        dataset = new_dataset()
        add_quads(dataset, self.quads)
        return dataset


class Reporter:
    """Receives progress events; the CLI shows them, the default ignores them."""

    def step(self, step: Step) -> None:
        """A step finished."""

    def file_loaded(self, source: Source, triples: int, done: int, total: int) -> None:
        """A source file was parsed."""

    def step_started(self, name: str) -> None:
        """A step began."""


def sources_for(config: Config, add: Sequence[Path] = ()) -> list[Source]:
    """Every source of a build: the project's files, then the ``--add`` paths."""
    return project_sources(config.root) + added_sources(add)


def load_dataset(
    config: Config,
    add: Sequence[Path] = (),
    *,
    reporter: Reporter | None = None,
    converters: dict[str, Converter] | None = None,
) -> Dataset:
    """Load step only: parse every source into its named graph."""
    reporter = reporter or Reporter()
    sources = sources_for(config, add)
    converters = {**DEFAULT_CONVERTERS, **(converters or {})}
    done = 0

    def on_file(source: Source, triples: int) -> None:
        nonlocal done
        done += 1
        reporter.file_loaded(source, triples, done, len(sources))

    return load(
        sources, base_iri=config.base_iri, converters=converters, on_file=on_file
    )


def infer(dataset: Dataset, base_iri: str, *, reasoner: str) -> Graph:
    """Reason step: the ``inferred`` graph of *dataset*, computed from every graph
    but ``shapes`` (and written into it)."""
    return reason(
        (
            dataset.graph(iri)
            for iri in graph_iris(dataset)
            if graph_name(base_iri, str(iri)) != SHAPES_GRAPH
        ),
        reasoner=reasoner,
        into=dataset.graph(graph_iri(base_iri, INFERRED_GRAPH)),
    )


def check(
    dataset: Dataset, base_iri: str, *, reasoner: str, validator: str = VALIDATORS[0]
) -> ValidationReport:
    """The checks every change of the store passes, a build's and a write's: the
    reason step (``inferred`` is recomputed in *dataset*), then the validate step."""
    infer(dataset, base_iri, reasoner=reasoner)
    return validate_dataset(dataset, base_iri, validator=validator)


def validate_dataset(
    dataset: Dataset, base_iri: str, *, validator: str = VALIDATORS[0]
) -> ValidationReport:
    """Validate step: the asserted data graphs against the ``shapes`` graph, with
    the SHACL engine *validator* names."""
    return validate(
        data_graphs(dataset, base_iri),
        shapes=dataset.graph(graph_iri(base_iri, SHAPES_GRAPH)),
        ontology=dataset.graph(graph_iri(base_iri, ONTOLOGY_GRAPH)),
        validator=validator,
    )


def build(
    config: Config,
    add: Sequence[Path] = (),
    *,
    reporter: Reporter | None = None,
    converters: dict[str, Converter] | None = None,
    write: bool = True,
) -> BuildResult:
    """Run the whole pipeline and, if the data conforms, replace the store.

    Args:
        config: settings (project root, base IRI, store path).
        add: extra RDF files or folders, each loaded into its own ``add/<stem>`` graph.
        reporter: progress events.
        converters: readers for non-RDF sources by suffix.
        write: write the store (``False`` runs the checks only).

    Raises:
        LoadError: a source cannot be parsed (file and line in the message).
        ValidationFailed: the data violates the shapes; the store is untouched.
        ConfigError: the store back-end settings are incomplete.
        RemoteLoadFailed: the remote back-end did not take the data (its graphs are
            unchanged).
    """
    reporter = reporter or Reporter()
    # The store back-end is chosen before the slow steps, so bad settings fail fast.
    backend = backend_for(config) if write else None
    base = config.base_iri
    result = BuildResult(ValidationReport(True, (), Graph()))
    with _step("load", reporter, result) as count:
        sources = sources_for(config, add)
        loaded = load_quads(
            sources,
            base_iri=base,
            converters={**DEFAULT_CONVERTERS, **(converters or {})},
            on_file=_file_counter(reporter, len(sources)),
        )
        by_graph = {
            graph_name(base, iri): quads for iri, quads in sorted(loaded.items())
        }
        count.triples = sum(len(quads) for quads in by_graph.values())
    shapes = _graph_of(by_graph.get(SHAPES_GRAPH, ()))
    # The validator (rudof, in Rust, without the GIL) checks the asserted data while
    # the reasoner runs: neither needs the other's output.
    started = time.perf_counter()
    run_validation = prepare_validation(
        (q for name, quads in by_graph.items() if name not in _NOT_DATA for q in quads),
        shapes,
        by_graph.get(ONTOLOGY_GRAPH, []),
        validator=config.validator,
    )
    with ThreadPoolExecutor(1, thread_name_prefix="mededkg-validate") as pool:
        validating = pool.submit(run_validation)

        def validated() -> None:
            """Wait for the validator; the build stops here if the data violates
            the shapes."""
            if any(step.name == "validate" for step in result.steps):
                return
            reporter.step_started("validate")
            report = result.report = validating.result()
            _report_step(
                Step(
                    "validate",
                    time.perf_counter() - started,
                    len(report.results),
                    report.engine_note,
                ),
                reporter,
                result,
            )
            if not report.conforms:
                raise ValidationFailed(report, report.summary())

        with _step("reason", reporter, result) as count:
            inferred = reason_triples(
                (
                    (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))
                    for name, quads in by_graph.items()
                    if name != SHAPES_GRAPH
                    for q in quads
                ),
                reasoner=config.reasoner,
            )
            inferred_graph = ox.NamedNode(graph_iri(base, INFERRED_GRAPH))
            result.quads = [q for quads in by_graph.values() for q in quads]
            result.quads += quads_of(inferred, inferred_graph)
            count.triples = len(inferred)
        if backend is None or not backend.gates_swap:
            validated()  # nothing is written before the data is known to conform
        if backend is not None:
            _write(backend, result, config, reporter, gate=validated)
        validated()
    return result


def _write(
    backend: Backend,
    result: BuildResult,
    config: Config,
    reporter: Reporter,
    *,
    gate: Callable[[], None],
) -> None:
    """Store step: write *result*'s quads (skolemised) with *backend*; *gate* is
    called before the new store becomes current (it raises to keep the old one),
    then the downloads are listed beside it."""
    quads: list[ox.Quad] = []

    def dump(store: Store) -> None:
        gate()
        with _step("dumps", reporter, result) as dumped:
            assert store.location is not None
            files = write_dumps(
                store,
                dumps_folder(store.location),
                config.base_iri,
                lazy=config.dumps == "lazy",
                quads=quads,
            )
            dumped.triples = len(files)
            if config.dumps == "lazy":
                dumped.detail = "listed; each made on its first download"

    with _step("store", reporter, result) as count:
        # The quads are listed once: the store is written from them, and the index
        # of the downloads is counted from them (reading them back from the new
        # store would take longer than the index itself).
        quads.extend(skolemise_shared(result.quads, config.base_iri))
        result.store_folder = backend.write_dataset(quads, before_swap=dump)
        count.triples = len(quads)


#: The graphs that are not asserted instance data (not validated as data).
_NOT_DATA = frozenset({ONTOLOGY_GRAPH, SHAPES_GRAPH, INFERRED_GRAPH})


def _file_counter(reporter: Reporter, total: int) -> Callable[[Source, int], None]:
    done = 0

    def on_file(source: Source, triples: int) -> None:
        nonlocal done
        done += 1
        reporter.file_loaded(source, triples, done, total)

    return on_file


def _graph_of(quads: Iterable[ox.Quad]) -> Graph:
    """An rdflib graph of the triples of *quads*."""
    graph = Graph()
    for q in quads:
        graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return graph


@dataclass
class _Count:
    triples: int = 0
    detail: str = ""


@contextmanager
def _step(name: str, reporter: Reporter, result: BuildResult) -> Iterator[_Count]:
    reporter.step_started(name)
    start = time.perf_counter()
    count = _Count()
    yield count
    step = Step(name, time.perf_counter() - start, count.triples, count.detail)
    _report_step(step, reporter, result)


def _report_step(step: Step, reporter: Reporter, result: BuildResult) -> None:
    result.steps.append(step)
    reporter.step(step)


def graph_iris(dataset: Dataset) -> list[URIRef]:
    """The IRIs of the dataset's non-empty graphs, sorted; the default graph's
    (``urn:x-rdflib:default``) among them only when it has triples — a build puts
    none there, a write to the default graph does."""
    return sorted(
        g.identifier
        for g in dataset.graphs()
        if isinstance(g.identifier, URIRef) and len(g)
    )


def data_graphs(dataset: Dataset, base_iri: str) -> list[Graph]:
    """The asserted instance graphs: all but ontology, shapes and inferred."""
    skip = {ONTOLOGY_GRAPH, SHAPES_GRAPH, INFERRED_GRAPH}
    return [
        dataset.graph(iri)
        for iri in graph_iris(dataset)
        if graph_name(base_iri, str(iri)) not in skip
    ]


def store_quads(dataset: Dataset, base_iri: str) -> list[ox.Quad]:
    """The quads a store is written from: every graph of *dataset*, the blank nodes
    two graphs share made skolem IRIs (:mod:`.skolem`), so every store — Oxigraph,
    Virtuoso, any Graph Store server — holds the same data."""
    return skolemise_shared(dataset_quads(dataset), base_iri)


def dataset_quads(dataset: Dataset) -> Iterator[ox.Quad]:
    """Every triple of every graph, as pyoxigraph quads."""
    for iri in graph_iris(dataset):
        graph_node: ox.NamedNode | ox.DefaultGraph = (
            ox.DefaultGraph() if iri == _DEFAULT else ox.NamedNode(str(iri))
        )
        yield from quads_of(dataset.graph(iri), graph_node)


_DEFAULT = URIRef("urn:x-rdflib:default")
