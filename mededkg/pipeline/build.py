"""The one pipeline: load → reason (OWL 2 RL) → validate (SHACL) → write the store.

This module alone knows the order of the steps. Each step is a plain function that
returns what the next one takes; the build is all-or-nothing: the store is replaced
only after every step succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef

from mededkg.matching.sssom import sssom_to_graph
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
    added_sources,
    load,
    project_sources,
)
from mededkg.pipeline.reason import reason
from mededkg.pipeline.skolem import skolemise_shared
from mededkg.pipeline.validate import (
    VALIDATORS,
    ValidationFailed,
    ValidationReport,
    validate,
)
from mededkg.settings import Config
from mededkg.storage import Store, backend_for
from mededkg.terms import to_oxigraph

#: Readers for the non-RDF sources a build loads.
DEFAULT_CONVERTERS: dict[str, Converter] = {SSSOM_SUFFIX: sssom_to_graph}


@dataclass(frozen=True)
class Step:
    """What one pipeline step did: its name, how long it took, how many triples."""

    name: str
    seconds: float
    triples: int
    detail: str = ""


@dataclass
class BuildResult:
    """The outcome of a build: dataset (with ``inferred``), report and steps."""

    dataset: Dataset
    report: ValidationReport
    steps: list[Step] = field(default_factory=list)
    store_folder: Path | None = None


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
    result = BuildResult(Dataset(), ValidationReport(True, (), Graph()))
    with _step("load", reporter, result) as count:
        dataset = result.dataset = load_dataset(
            config, add, reporter=reporter, converters=converters
        )
        count.triples = len(dataset)
    with _step("reason", reporter, result) as count:
        inferred = infer(dataset, config.base_iri, reasoner=config.reasoner)
        count.triples = len(inferred)
    with _step("validate", reporter, result) as count:
        report = result.report = validate_dataset(
            dataset, config.base_iri, validator=config.validator
        )
        count.triples = len(report.results)
        count.detail = report.engine_note
    if not report.conforms:
        raise ValidationFailed(report, report.summary())
    if write:
        quads: list[ox.Quad] = []

        def dump(store: Store) -> None:
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
            assert backend is not None
            # The quads are listed once: the store is written from them, and the
            # index of the downloads is counted from them (reading them back from
            # the new store would take longer than the index itself).
            quads.extend(store_quads(dataset, config.base_iri))
            result.store_folder = backend.write_dataset(quads, before_swap=dump)
            count.triples = len(dataset)
    return result


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
        for s, p, o in dataset.graph(iri):
            yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph_node)  # type: ignore[arg-type]


_DEFAULT = URIRef("urn:x-rdflib:default")
