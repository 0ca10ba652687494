"""Write step: SPARQL 1.1 Update and Graph Store operations, staged, checked, committed.

Every write is applied to an in-memory copy of the current build. Then the
``inferred`` graph is recomputed with the reasoner and the asserted data is validated
against the store's ``shapes`` graph by the checks a build runs
(:func:`mededkg.pipeline.build.check`); only a conforming result is written, through the
store's back-end (:meth:`mededkg.storage.Backend.write_dataset`; embedded: a fresh
build folder, then an atomic link swap), all under the store's write lock. A write
that fails any step changes nothing, and an acknowledged write survives ``kill -9``
and a restart. Writes need the embedded back-end (:func:`writable`).

The ``ontology``, ``shapes`` and ``inferred`` graphs come from the project's files and
the reasoner; a write that would change them is refused (:class:`ReservedGraph`),
except that ``CLEAR``/``DROP`` ``ALL``/``NAMED`` leave them in place (they empty the
writable graphs only).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, URIRef

from mededkg import isolation
from mededkg.errors import MedEdKGError, QueryError
from mededkg.guard import TOKEN_PATTERN, check_bounds, tokens
from mededkg.namespaces import INFERRED_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH, graph_iri
from mededkg.pipeline.build import check, store_quads
from mededkg.pipeline.dumps import dumps_folder, write_dumps
from mededkg.pipeline.validate import ValidationFailed, ValidationReport
from mededkg.query import federation
from mededkg.settings import Config
from mededkg.storage import Store, backend_for
from mededkg.storage.embedded import assume_write_lock, write_lock
from mededkg.terms import to_rdflib

#: Graphs a write may read but never change.
RESERVED_GRAPHS = (ONTOLOGY_GRAPH, SHAPES_GRAPH, INFERRED_GRAPH)

#: ``None`` stands for the default graph; any other target is a graph IRI.
GraphTarget = str | None

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^<>\"{}|^`\\\x00-\x20]*$")


class WriteError(MedEdKGError):
    """A write cannot be applied; nothing was changed."""


class ReservedGraph(WriteError):
    """The write would change the ``ontology``, ``shapes`` or ``inferred`` graph."""


class GraphNotFound(WriteError):
    """The graph named by a Graph Store request has no triples."""


class UpdateError(WriteError):
    """A SPARQL update is malformed, not allowed, or fails when applied."""


class WriteNotConforming(ValidationFailed):
    """After the write the data would violate the shapes; carries the report."""


@dataclass(frozen=True)
class WriteResult:
    """What a committed write did.

    Attributes:
        created: the target graph had no triples before (Graph Store operations).
        quads: quads in the new store, ``inferred`` included.
        seconds: wall time of the whole write, lock wait included.
        store_folder: the new build folder (``None`` on a back-end without one:
            memory, remote).
    """

    created: bool
    quads: int
    seconds: float
    store_folder: Path | None


def check_graph_iri(iri: str) -> str:
    """Return *iri* if it is an absolute IRI usable as a graph name.

    Raises:
        UpdateError: naming the bad value.

    >>> check_graph_iri("http://example.org/g")
    'http://example.org/g'
    """
    if not _IRI.match(iri):
        raise UpdateError(f"{iri!r} is not an absolute IRI; give a full graph IRI")
    return iri


def prepare_update(
    update: str,
    *,
    using: Sequence[str] = (),
    using_named: Sequence[str] = (),
    max_kb: int = 64,
    max_depth: int = 64,
) -> str:
    """Bound an update's text and apply the protocol's dataset parameters, without
    parsing it (that happens in the isolated process of :func:`run_update`).

    ``using-graph-uri`` and ``using-named-graph-uri`` become ``USING`` / ``USING
    NAMED`` clauses of every ``DELETE``/``INSERT … WHERE`` operation.

    Returns:
        The update text to execute.

    Raises:
        UpdateError: empty, too long or too deeply nested, a dataset given both by
            parameters and by USING/WITH, or a bad graph IRI.

    >>> prepare_update("INSERT { ?s a ?o } WHERE { ?s a ?o }", using=["http://g"])
    'INSERT { ?s a ?o } USING <http://g> WHERE { ?s a ?o }'
    """
    if not update.strip():
        raise UpdateError("the update is empty")
    try:
        check_bounds(update, max_kb=max_kb, max_depth=max_depth)
    except QueryError as error:
        raise UpdateError(str(error).replace("the query", "the update", 1)) from error
    if using or using_named:
        words = [text.upper() for kind, text in tokens(update) if kind == "name"]
        if "USING" in words or "WITH" in words:
            raise UpdateError(
                "the dataset is given twice: by using-graph-uri/using-named-graph-uri "
                "and by USING/WITH in the update; use one or the other"
            )
        clauses = [f"USING <{check_graph_iri(iri)}>" for iri in using]
        clauses += [f"USING NAMED <{check_graph_iri(iri)}>" for iri in using_named]
        update = _insert_using(update, " ".join(clauses))
    return update


def run_update(
    config: Config,
    update: str,
    *,
    base_iri: str | None = None,
    using: Sequence[str] = (),
    using_named: Sequence[str] = (),
) -> WriteResult:
    """Apply a SPARQL 1.1 update to the store (staged, reasoned, validated, swapped).

    The update is parsed and applied in a child process that has given up the
    network (:func:`mededkg.query.sandbox.run_isolated`), so neither a ``LOAD`` nor a
    ``SERVICE`` can connect anywhere, and a text that crashes the engine loses only
    that process. ``LOAD`` is refused outright; an allow-listed ``SERVICE`` (as
    rdflib's parser reads it) runs in a child that keeps the network.

    In an update the default graph is the store's own default graph (queries see
    it as part of the union); name a graph with ``GRAPH`` or ``USING`` to read or
    write the data graphs.

    Args:
        config: settings (store path, base IRI, SERVICE allow-list, text limits).
        update: the update text.
        base_iri: base for relative IRIs in the update (the service's URL).
        using: ``using-graph-uri`` values; using_named: ``using-named-graph-uri``.

    Raises:
        UpdateError: see :func:`prepare_update`, a LOAD or refused SERVICE, a syntax
            error (the parser's message), or the update fails when applied.
        ReservedGraph: it would change the ontology, shapes or inferred graph.
        WriteNotConforming: the result violates the shapes (nothing is changed).
    """
    from mededkg.query.answers import WorkerFailed
    from mededkg.query.sandbox import WRITE_PRELOAD, run_isolated

    writable(config)
    text = prepare_update(
        update,
        using=using,
        using_named=using_named,
        max_kb=config.query_max_kb,
        max_depth=config.query_max_depth,
    )
    try:
        # The lock is taken here, so it is re-entrant for this process's callers
        # and dropped by the kernel if this process dies; the child writes under it.
        with write_lock(config.store_path):
            return run_isolated(
                apply_update, config, text, base_iri, preload=WRITE_PRELOAD
            )
    except WorkerFailed as error:
        raise UpdateError(
            "the update could not be applied: the process applying it stopped "
            "(a text the engine cannot handle); nothing was changed"
        ) from error


def apply_update(config: Config, text: str, base_iri: str | None) -> WriteResult:
    """Check, isolate and apply *text* in this (child) process, under the write lock
    its parent holds; see :func:`run_update`."""
    try:
        federated = federation.check_update(text, config.service_allowlist)
    except federation.Uncheckable:
        federated = False  # rdflib cannot read it: the engine decides, offline
    except federation.RefusedOperation as error:
        raise UpdateError(str(error)) from error
    if not federated and not isolation.cut_network().closed:
        # no kernel isolation on this host: only what rdflib can check runs
        try:
            federation.check_update(text, config.service_allowlist)
        except federation.RefusedOperation as error:
            raise UpdateError(str(error)) from error

    def change(staged: ox.Store) -> bool:
        try:
            staged.update(text, base_iri=base_iri)
        except SyntaxError as error:
            raise UpdateError(f"malformed update: {error}") from error
        except (RuntimeError, ValueError, OSError) as error:
            raise UpdateError(f"the update failed: {error}") from error
        return False

    assume_write_lock(config.store_path)  # the parent holds it for us
    return _commit(config, change, clears_all=clears_all(text))


def clears_all(update: str) -> bool:
    """True if *update* has a ``CLEAR``/``DROP`` ``ALL``/``NAMED`` operation.

    >>> clears_all("DROP SILENT ALL")
    True
    >>> clears_all("DROP GRAPH <http://g>")
    False
    """
    words = [text.upper() for kind, text in tokens(update)]
    for index, word in enumerate(words):
        if word in ("CLEAR", "DROP"):
            rest = [w for w in words[index + 1 : index + 3] if w != "SILENT"]
            if rest and rest[0] in ("ALL", "NAMED"):
                return True
    return False


def put_graph(
    config: Config, graph: GraphTarget, triples: Iterable[ox.Triple]
) -> WriteResult:
    """Replace the graph *graph* (``None``: the default graph) with *triples*.

    Raises:
        ReservedGraph, WriteNotConforming: see :func:`run_update`.
    """
    return _write_graph(config, graph, triples, replace=True)


def post_graph(
    config: Config, graph: GraphTarget, triples: Iterable[ox.Triple]
) -> WriteResult:
    """Merge *triples* into the graph *graph* (``None``: the default graph).

    Raises:
        ReservedGraph, WriteNotConforming: see :func:`run_update`.
    """
    return _write_graph(config, graph, triples, replace=False)


def _write_graph(
    config: Config,
    graph: GraphTarget,
    triples: Iterable[ox.Triple],
    *,
    replace: bool,
) -> WriteResult:
    check_target(config, graph)
    statements = list(triples)

    def change(staged: ox.Store) -> bool:
        name = _graph_node(graph)
        created = graph is not None and not _has_quads(staged, name)
        if replace and isinstance(name, ox.NamedNode):
            if staged.contains_named_graph(name):
                staged.remove_graph(name)
        elif replace:
            staged.clear_graph(name)
        staged.extend(
            ox.Quad(t.subject, t.predicate, t.object, name) for t in statements
        )
        return created

    return _commit(config, change)


def delete_graph(config: Config, graph: GraphTarget) -> WriteResult:
    """Delete the graph *graph* (``None``: empty the default graph).

    Raises:
        GraphNotFound: the named graph has no triples.
        ReservedGraph, WriteNotConforming: see :func:`run_update`.
    """
    check_target(config, graph)

    def change(staged: ox.Store) -> bool:
        name = _graph_node(graph)
        if isinstance(name, ox.NamedNode):
            if not _has_quads(staged, name):
                raise GraphNotFound(_not_found(name.value))
            staged.remove_graph(name)
        else:
            staged.clear_graph(name)
        return False

    return _commit(config, change)


def read_graph(store: Store, graph: GraphTarget) -> list[ox.Quad]:
    """The quads of the graph *graph* (``None``: the default graph, maybe empty).

    Raises:
        GraphNotFound: the named graph has no triples.
    """
    name = _graph_node(graph)
    quads = list(store.inner.quads_for_pattern(None, None, None, name))
    if graph is not None and not quads:
        raise GraphNotFound(_not_found(graph))
    return quads


def check_target(config: Config, graph: GraphTarget) -> None:
    """Refuse a Graph Store write to a reserved graph.

    Raises:
        ReservedGraph: *graph* is the ontology, shapes or inferred graph.
    """
    for name in RESERVED_GRAPHS:
        if graph == str(graph_iri(config.base_iri, name)):
            raise ReservedGraph(_reserved_message(name, graph))


def writable(config: Config) -> None:
    """Refuse writes on a back-end they cannot reach: the process that applies an
    update has given up the network (so it cannot write to a remote server) and is
    not the server (so it cannot change the server's memory).

    Raises:
        WriteError: the store back-end is not ``embedded``.
    """
    if config.store_backend != "embedded":
        raise WriteError(
            f"writes need the embedded store back-end, not {config.store_backend!r}: "
            "with store_backend remote write to the remote server itself, then "
            "the graph is served from there; with memory, change the project files "
            "and restart"
        )


def _commit(
    config: Config, change: Callable[[ox.Store], bool], *, clears_all: bool = False
) -> WriteResult:
    writable(config)
    start = time.perf_counter()
    path = config.store_path
    backend = backend_for(config)
    with write_lock(path):
        staged = ox.Store()
        staged.bulk_extend(backend.open().quads())
        reserved = {
            name: _quad_set(staged, graph_iri(config.base_iri, name))
            for name in RESERVED_GRAPHS
        }
        created = change(staged)
        for name, before in reserved.items():
            iri = graph_iri(config.base_iri, name)
            after = _quad_set(staged, iri)
            if after == before:
                continue
            if clears_all and not after:
                # CLEAR/DROP ALL and NAMED empty the writable graphs only: the
                # reserved ones are put back (``inferred`` is recomputed anyway).
                staged.extend(before)
                continue
            raise ReservedGraph(_reserved_message(name, str(iri)))
        quads, report = _checked(
            staged,
            config.base_iri,
            reasoner=config.reasoner,
            validator=config.validator,
        )
        if not report.conforms:
            raise WriteNotConforming(
                report, f"the write was not applied: {report.summary()}"
            )
        folder = backend.write_dataset(quads, before_swap=_dumps(config, quads))
    return WriteResult(created, len(quads), time.perf_counter() - start, folder)


def _dumps(config: Config, quads: list[ox.Quad]) -> Callable[[Store], None]:
    """Write the downloads of the new build, as a build does (they live inside it)."""

    def dump(store: Store) -> None:
        assert store.location is not None
        write_dumps(
            store,
            dumps_folder(store.location),
            config.base_iri,
            lazy=config.dumps == "lazy",
            quads=quads,
        )

    return dump


def _checked(
    staged: ox.Store, base_iri: str, *, reasoner: str, validator: str
) -> tuple[list[ox.Quad], ValidationReport]:
    """The staged store with ``inferred`` recomputed, and its validation report:
    :func:`mededkg.pipeline.build.check`, the checks a build runs."""
    inferred = ox.NamedNode(str(graph_iri(base_iri, INFERRED_GRAPH)))
    dataset = Dataset()
    for quad in staged.quads_for_pattern(None, None, None, None):
        if quad.graph_name == inferred:
            continue
        graph = (
            dataset.default_graph
            if isinstance(quad.graph_name, ox.DefaultGraph)
            else dataset.graph(URIRef(quad.graph_name.value))
        )
        graph.add(
            (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
        )
    report = check(dataset, base_iri, reasoner=reasoner, validator=validator)
    return store_quads(dataset, base_iri), report


def _insert_using(update: str, clauses: str) -> str:
    """Insert *clauses* before the ``WHERE`` of every top-level DELETE/INSERT."""
    out: list[str] = []
    depth, last, previous = 0, 0, ""
    for match in TOKEN_PATTERN.finditer(update):
        kind, text = match.lastgroup or "other", match.group()
        if kind == "comment":
            continue
        if kind == "other" and text == "{":
            depth += 1
        elif kind == "other" and text == "}":
            depth -= 1
        elif (
            kind == "name"
            and text.upper() == "WHERE"
            and depth == 0
            and previous != "DELETE"
        ):
            out += [update[last : match.start()], clauses, " "]
            last = match.start()
        previous = text.upper()
    out.append(update[last:])
    return "".join(out)


def _graph_node(graph: GraphTarget) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if graph is None else ox.NamedNode(graph)


def _has_quads(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> bool:
    return (
        next(iter(store.quads_for_pattern(None, None, None, graph)), None) is not None
    )


def _quad_set(store: ox.Store, iri: str) -> set[ox.Quad]:
    return set(store.quads_for_pattern(None, None, None, ox.NamedNode(iri)))


def _not_found(iri: str) -> str:
    return f"there is no graph <{iri}> (a graph exists while it has triples)"


def _reserved_message(name: str, iri: str) -> str:
    return (
        f"the {name} graph <{iri}> cannot be changed through the endpoint: it comes "
        "from the project's files and the reasoner (edit ontology/ and run `mededkg "
        "build`)"
    )
