"""Load step: find the project's RDF sources and parse each into its named graph.

Files are parsed with pyoxigraph (fast, exact error positions, and it never fetches a
remote JSON-LD context or an XML entity). The build keeps the quads as they are
(:func:`load_quads`); writes and the Python API get an rdflib dataset (:func:`load`).
Both read the same quads (:func:`_quads`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from mededkg import resources
from mededkg.errors import LoadError
from mededkg.namespaces import (
    LINKS_GRAPH,
    ONTOLOGY_GRAPH,
    PREFIXES,
    SHAPES_GRAPH,
    graph_iri,
)
from mededkg.query.formats import rdf_format_for_path
from mededkg.terms import to_oxigraph, to_rdflib

ADD_PREFIX = "add/"

SSSOM_SUFFIX = ".sssom.tsv"

#: Converters for non-RDF sources, keyed by file-name suffix: path → its triples (an
#: rdflib graph, or any iterable of rdflib triples).
Converter = Callable[[Path], Iterable[tuple[Node, Node, Node]]]


@dataclass(frozen=True)
class Source:
    """One file and the named graph it is loaded into."""

    path: Path
    graph: str


def project_sources(root: Path) -> list[Source]:
    """List the RDF sources of a project folder, each with its named graph.

    ``ontology/*`` → ``ontology``; ``ontology/shapes/*`` → ``shapes``; ``data/<stem>.*``
    → ``<stem>``; ``data/links/*.sssom.tsv`` → ``links``. Sorted, so builds are
    reproducible.
    """
    sources = [
        Source(p, ONTOLOGY_GRAPH) for p in _rdf_files(resources.ontology_dir(root))
    ]
    sources += [Source(p, SHAPES_GRAPH) for p in _rdf_files(resources.shapes_dir(root))]
    sources += [Source(p, _slug(p.stem)) for p in _rdf_files(resources.data_dir(root))]
    links = resources.data_dir(root) / "links"
    if links.is_dir():
        sources += [
            Source(p, LINKS_GRAPH) for p in sorted(links.glob("*" + SSSOM_SUFFIX))
        ]
    return sources


def added_sources(paths: Iterable[Path]) -> list[Source]:
    """Sources for ``--add`` paths: each file (or each RDF file in a folder) becomes the
    graph ``add/<stem>``.

    Raises:
        LoadError: if a path does not exist, is not RDF, or two files share a stem.
    """
    sources: list[Source] = []
    for path in paths:
        if path.is_dir():
            files = [p for p in sorted(path.rglob("*")) if _is_loadable(p)]
            if not files:
                raise LoadError(path, "folder contains no RDF file")
        elif path.is_file():
            if not _is_loadable(path):
                raise LoadError(path, f"not an RDF file (suffix {path.suffix!r})")
            files = [path]
        else:
            raise LoadError(path, "no such file or folder")
        sources += [Source(f, ADD_PREFIX + _slug(_stem(f))) for f in files]
    seen: dict[str, Path] = {}
    for source in sources:
        if source.graph in seen:
            raise LoadError(
                source.path,
                f"graph name {source.graph!r} is already used by {seen[source.graph]}; "
                "rename one of the files",
            )
        seen[source.graph] = source.path
    return sources


def load(
    sources: Sequence[Source],
    *,
    base_iri: str,
    converters: dict[str, Converter] | None = None,
    on_file: Callable[[Source, int], None] | None = None,
) -> Dataset:
    """Parse every source into its named graph of a new rdflib dataset.

    Quad formats (TriG, N-Quads, JSON-LD with graphs) keep their own graph names; their
    default-graph triples go into the source's graph.

    Args:
        sources: the files and their graph names.
        base_iri: the dataset's base IRI (for graph IRIs and relative IRIs).
        converters: readers for non-RDF sources by suffix (e.g. ``.sssom.tsv``).
        on_file: called after each file with the number of triples read.

    Raises:
        LoadError: naming the file and line of the first syntax error.
    """
    dataset = new_dataset()
    graphs: dict[str, Graph] = {}
    for source in sources:
        graph = graph_iri(base_iri, source.graph)
        graphs.setdefault(str(graph), dataset.graph(graph))
        converted = _converted(source, converters or {})
        if isinstance(converted, Graph):
            for prefix, namespace in converted.namespaces():
                dataset.bind(prefix, namespace, override=False)
        count = add_quads(dataset, _quads(source, graph, converted), graphs)
        if on_file is not None:
            on_file(source, count)
    return dataset


def new_dataset() -> Dataset:
    """An empty rdflib dataset (union default graph) with the project's prefixes."""
    dataset = Dataset(default_union=True)
    for prefix, namespace in PREFIXES.items():
        dataset.bind(prefix, namespace)
    return dataset


def add_quads(
    dataset: Dataset, quads: Iterable[ox.Quad], graphs: dict[str, Graph] | None = None
) -> int:
    """Add Oxigraph *quads* to their named graphs of *dataset* as rdflib triples;
    *graphs* keeps the graph objects by IRI between calls. Returns how many."""
    graphs = {} if graphs is None else graphs
    count = 0
    for quad in quads:
        name = quad.graph_name.value  # type: ignore[union-attr]
        if name not in graphs:
            graphs[name] = dataset.graph(URIRef(name))
        graphs[name].add(
            (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
        )
        count += 1
    return count


def load_quads(
    sources: Sequence[Source],
    *,
    base_iri: str,
    converters: dict[str, Converter] | None = None,
    on_file: Callable[[Source, int], None] | None = None,
) -> dict[str, list[ox.Quad]]:
    """:func:`load` as Oxigraph quads, by graph IRI, each graph's quads once and in
    the order read: the build's road, without rdflib's costly indexes (the validator
    reads, and the store is written from, these quads). Literals keep their lexical
    forms ("3.0"^^xsd:decimal): an Oxigraph store would keep only their values."""
    graphs: dict[str, dict[ox.Quad, None]] = {}
    for source in sources:
        graphs.setdefault(graph_iri(base_iri, source.graph), {})
        count = 0
        for quad in _quads(
            source,
            graph_iri(base_iri, source.graph),
            _converted(source, converters or {}),
        ):
            name = quad.graph_name.value  # type: ignore[union-attr]
            found = graphs.get(name)
            if found is None:
                found = graphs[name] = {}
            found[quad] = None
            count += 1
        if on_file is not None:
            on_file(source, count)
    return {name: list(quads) for name, quads in graphs.items() if quads}


def _converted(
    source: Source, converters: dict[str, Converter]
) -> Iterable[tuple[Node, Node, Node]] | None:
    """The triples a converter makes of a non-RDF source, or None for RDF."""
    converter = next(
        (c for suffix, c in converters.items() if source.path.name.endswith(suffix)),
        None,
    )
    return None if converter is None else converter(source.path)


def _quads(
    source: Source,
    graph: URIRef,
    converted: Iterable[tuple[Node, Node, Node]] | None,
) -> Iterator[ox.Quad]:
    """The quads of one source, its default graph's triples in *graph*."""
    graph_node = ox.NamedNode(str(graph))
    if converted is not None:
        for s, p, o in converted:
            yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph_node)  # type: ignore[arg-type]
        return
    fmt = rdf_format_for_path(source.path)
    if fmt is None:
        raise LoadError(source.path, "unknown RDF format; use a known file suffix")
    if fmt.name == "xml":
        _refuse_dtd(source.path)
    try:
        for quad in ox.parse(
            path=source.path,
            format=fmt.oxigraph,
            base_iri=source.path.resolve().as_uri(),
            rename_blank_nodes=True,
        ):
            if isinstance(quad.graph_name, ox.DefaultGraph):
                yield ox.Quad(quad.subject, quad.predicate, quad.object, graph_node)
            else:
                yield quad
    except SyntaxError as error:
        raise LoadError(
            source.path, _syntax_message(error), line=_line(error)
        ) from error
    except (OSError, ValueError, TypeError) as error:
        raise LoadError(source.path, str(error)) from error


def _refuse_dtd(path: Path) -> None:
    """Refuse RDF/XML with a DOCTYPE or ENTITY declaration: the parser would expand
    internal entities (a few lines can blow up to gigabytes)."""
    try:
        with path.open("rb") as file:
            prolog = file.read(1 << 16)
    except OSError as error:
        raise LoadError(path, error.strerror or str(error)) from error
    if re.search(rb"<!\s*(DOCTYPE|ENTITY)", prolog, re.IGNORECASE):
        raise LoadError(
            path,
            "RDF/XML with a DOCTYPE or ENTITY declaration is not accepted (entities "
            "could expand without bound); remove the declaration",
        )


def _line(error: SyntaxError) -> int | None:
    if error.lineno is not None:
        return int(error.lineno)
    match = re.search(r"\bline (\d+)", str(error)) or re.search(
        r"at (\d+):\d+", str(error)
    )
    return int(match.group(1)) if match else None


def _syntax_message(error: SyntaxError) -> str:
    return str(error.msg if error.msg else error)


def _rdf_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _is_rdf(p))


def _is_rdf(path: Path) -> bool:
    return rdf_format_for_path(path) is not None and not path.name.startswith(".")


def _is_loadable(path: Path) -> bool:
    return path.is_file() and (_is_rdf(path) or path.name.endswith(SSSOM_SUFFIX))


def _stem(path: Path) -> str:
    name = path.name
    return name[: -len(SSSOM_SUFFIX)] if name.endswith(SSSOM_SUFFIX) else path.stem


def _slug(text: str) -> str:
    """Return a graph-name-safe form of a file stem.

    >>> _slug("My Data (v2)")
    'my-data-v2'
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-")
    return slug or "graph"
