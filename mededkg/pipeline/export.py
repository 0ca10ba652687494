"""Export step: write graphs of the store in any RDF format, deterministically and
atomically.

Determinism: blank nodes get RDFC-1.0 canonical labels and statements are sorted, so
the same graph always gives a byte-identical file. Atomicity: the file is written to a
temporary file beside the target and renamed over it, so a failed export never leaves
a half-written file and an existing one stays intact.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyoxigraph as ox

from mededkg.errors import ExportError
from mededkg.namespaces import PREFIXES
from mededkg.query.formats import RdfFormat
from mededkg.storage import Store
from mededkg.terms import non_xml_character


def select_quads(store: Store, graphs: Sequence[str] = ()) -> list[ox.Quad]:
    """The quads of the named graph IRIs *graphs* (all graphs if empty).

    Raises:
        ExportError: if a graph does not exist, listing those that do.
    """
    available = store.named_graphs()
    missing = [g for g in graphs if g not in available]
    if missing:
        raise ExportError(
            f"no graph {', '.join(missing)} in the store; "
            f"graphs: {', '.join(available)}"
        )
    if not graphs:
        return list(store.quads())
    return [quad for graph in graphs for quad in store.quads(graph)]


class Canonical:
    """Quads in canonical form, ready to serialize in any format: blank nodes
    relabelled by RDFC-1.0 and statements sorted, once — a dump writes the same
    statements in six formats, and the labelling and sorting cost more than the
    serializers do."""

    def __init__(self, quads: Iterable[ox.Quad]) -> None:
        dataset = ox.Dataset(quads)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        self._dataset = dataset

    @functools.cached_property
    def quads(self) -> list[ox.Quad]:
        """Every quad, sorted."""
        return sorted(self._dataset, key=_quad_key)

    @functools.cached_property
    def triples(self) -> list[ox.Triple]:
        """The union of the graphs (a triple in two graphs once), sorted."""
        return sorted({q.triple for q in self._dataset}, key=_triple_key)

    def statements(self, fmt: RdfFormat) -> list[ox.Quad] | list[ox.Triple]:
        """What *fmt* carries: the quads, or the union of the graphs."""
        return self.quads if fmt.datasets else self.triples

    def prefixes(self, fmt: RdfFormat) -> dict[str, str]:
        """The prefixes the statements of *fmt* use."""
        return self._quad_prefixes if fmt.datasets else self._triple_prefixes

    @functools.cached_property
    def _term_iris(self) -> set[str]:
        return _iris(self._dataset, graphs=False)

    @functools.cached_property
    def _triple_prefixes(self) -> dict[str, str]:
        return _prefixes_of(self._term_iris)

    @functools.cached_property
    def _quad_prefixes(self) -> dict[str, str]:
        graphs = {
            q.graph_name.value
            for q in self._dataset
            if isinstance(q.graph_name, ox.NamedNode)
        }
        return _prefixes_of(self._term_iris | graphs)

    def serialize(self, fmt: RdfFormat) -> bytes:
        """The canonical bytes in *fmt* (see :func:`serialize_quads`)."""
        return serialize_statements(self.statements(fmt), fmt, self.prefixes(fmt))


def serialize_quads(quads: Iterable[ox.Quad], fmt: RdfFormat) -> bytes:
    """Serialize *quads* canonically: RDFC-1.0 blank nodes, sorted statements.

    Formats without named graphs (Turtle, N-Triples, RDF/XML) get the union of the
    graphs: call :func:`graphs_lost` first to tell the user.
    """
    return Canonical(quads).serialize(fmt)


def serialize_statements(
    statements: Sequence[ox.Quad] | Sequence[ox.Triple],
    fmt: RdfFormat,
    prefixes: dict[str, str],
) -> bytes:
    """Serialize *statements* in *fmt*, with *prefixes* where the format has them.

    Raises:
        ExportError: RDF/XML of a literal holding a character XML 1.0 cannot carry.
    """
    if fmt.name == "xml":
        bad = non_xml_character(statements)
        if bad:
            raise ExportError(
                f"RDF/XML cannot carry the control character {bad} that a literal "
                "holds; export as Turtle, N-Triples, TriG, N-Quads or JSON-LD"
            )
    with_prefixes = fmt.name in ("turtle", "trig", "xml")
    data = ox.serialize(
        statements, format=fmt.oxigraph, prefixes=prefixes if with_prefixes else None
    )
    assert isinstance(data, bytes)
    if fmt.name == "jsonld":
        return compact_jsonld(data, prefixes)
    if fmt.name == "xml":
        # XML parsers turn a raw carriage return into a newline: escape it, so a
        # literal's "\r\n" survives (Oxigraph ends lines with "\n" only).
        return data.replace(b"\r", b"&#13;")
    return data


def compact_jsonld(data: bytes, prefixes: dict[str, str]) -> bytes:
    """Compact expanded JSON-LD with *prefixes* in an inline ``@context``, a node per
    line.

    Only IRIs in keys, ``@id`` and ``@type`` are shortened to ``prefix:local``; the
    context is inline, so no reader ever fetches a remote context.

    >>> text = compact_jsonld(b'[{"@id": "http://e/a", "http://e/p": "v"}]',
    ...                       {"e": "http://e/"})
    >>> json.loads(text)["@graph"]
    [{'@id': 'e:a', 'e:p': 'v'}]
    """
    ordered = sorted(prefixes.items(), key=lambda item: -len(item[1]))
    seen: dict[str, str] = {}  # keys and types repeat: each IRI is matched once

    def iri(value: str) -> str:
        short = seen.get(value)
        if short is None:
            short = seen[value] = _shortened(value, ordered)
        return short

    def walk(node: object) -> object:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, object] = {}
        for key, value in node.items():
            if key in ("@id", "@type"):
                out[key] = (
                    [iri(v) for v in value] if isinstance(value, list) else iri(value)
                )
            elif key.startswith("@"):
                out[key] = walk(value)
            else:
                out[iri(key)] = walk(value)
        return out

    context = json.dumps(dict(sorted(prefixes.items())), ensure_ascii=False, indent=1)
    # One node per line: readable and greppable, and written by json's C encoder
    # (an indented document goes through its pure-Python one, 5× slower).
    graph = walk(json.loads(data))
    assert isinstance(graph, list)
    nodes = ",\n".join(json.dumps(node, ensure_ascii=False) for node in graph)
    return f'{{"@context": {context},\n"@graph": [\n{nodes}\n]}}\n'.encode()


def _shortened(value: str, ordered: list[tuple[str, str]]) -> str:
    for name, namespace in ordered:
        if value.startswith(namespace) and len(value) > len(namespace):
            return name + ":" + value[len(namespace) :]
    return value


def graphs_lost(quads: Iterable[ox.Quad], fmt: RdfFormat) -> int:
    """How many named graphs a format without graphs would merge (0 = none)."""
    if fmt.datasets:
        return 0
    names = {str(q.graph_name) for q in quads}
    return len(names) if len(names) > 1 else 0


def write_atomically(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a temporary file and a rename.

    Raises:
        ExportError: if the folder is missing or not writable, or the disk is full;
            any existing file at *path* is left as it was.
    """
    folder = path.parent if str(path.parent) else Path(".")
    tmp_name = ""
    try:
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as tmp:
            tmp_name = tmp.name
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        # The temporary file is private (0600); the result keeps the mode of the file
        # it replaces, or gets the ordinary 0644.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp_name, path)
    except OSError as error:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from error


def _quad_key(quad: ox.Quad) -> tuple[str, str, str, str]:
    return (
        str(quad.graph_name),
        str(quad.subject),
        str(quad.predicate),
        str(quad.object),
    )


def _triple_key(triple: ox.Triple) -> tuple[str, str, str]:
    return (str(triple.subject), str(triple.predicate), str(triple.object))


def _iris(
    statements: Iterable[ox.Quad] | Iterable[ox.Triple], *, graphs: bool
) -> set[str]:
    """The IRIs of the statements' terms and datatypes (and graph names)."""
    iris: set[str] = set()
    for statement in statements:
        for term in (statement.subject, statement.predicate, statement.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
        graph = getattr(statement, "graph_name", None) if graphs else None
        if isinstance(graph, ox.NamedNode):
            iris.add(graph.value)
    return iris


def _prefixes_of(iris: Iterable[str]) -> dict[str, str]:
    # A prefix is declared only where a serializer will use it: the longest match.
    longest_first = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))
    used: dict[str, str] = {}
    for iri in iris:
        for name, namespace in longest_first:
            if iri.startswith(namespace):
                used[name] = namespace
                break
    return dict(sorted(used.items()))
