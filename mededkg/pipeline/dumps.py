"""Downloads: the whole dataset and each named graph in every RDF format, with sizes
and SHA-256 checksums.

The files live in a ``dumps/`` folder inside the build folder, so a build and its
dumps are swapped in together and can never disagree. Each file is canonical (see
:mod:`mededkg.pipeline.export`): the same graph always gives the same bytes and
checksum.

A build writes the *index* of the dumps (``index.json``: every file, its graph,
format and statement count) and, with the ``dumps`` setting at ``eager``, every file.
At ``lazy`` (the default: writing all 78 files of the real graph took 19 s of a 32-s
build, half of it compacting JSON-LD) a file is made on its first download by
:func:`make_dump`, from the build's own store, and kept beside the index with its size
and checksum (a ``<file>.made.json`` written after the file, so a listed checksum
always belongs to a complete file); later downloads are served from disk.

Formats that cannot carry named graphs (Turtle, N-Triples, RDF/XML) are offered for
the whole dataset too, as the union of its graphs; the index says so
(``graphs_merged``) instead of dropping the graph names silently.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox

from mededkg.errors import ExportError
from mededkg.namespaces import graph_name
from mededkg.pipeline.export import Canonical, select_quads, write_atomically
from mededkg.query.formats import RDF_FORMATS, rdf_format
from mededkg.storage import Store
from mededkg.terms import non_xml_character

#: The folder, inside a build folder, that holds its dumps.
DUMPS_FOLDER = "dumps"
#: The index of a dumps folder.
INDEX = "index.json"
#: File name stem of the whole-dataset dumps.
DATASET_STEM = "mededkg"
#: Suffix of the record a made file gets beside it (size and checksum).
MADE_SUFFIX = ".made.json"


@dataclass(frozen=True)
class Dump:
    """One downloadable file."""

    file: str
    graph: str | None  # the named graph's IRI; None = the whole dataset
    graph_name: str | None
    format: str
    media_type: str
    bytes: int | None  # None until the file is made (lazy dumps: first download)
    sha256: str | None
    triples: int  # statements in the file: a merged file holds each triple once
    graphs_merged: int  # named graphs merged into one (formats without graphs)

    @property
    def made(self) -> bool:
        """Whether the file exists, with its size and checksum known."""
        return self.sha256 is not None


def write_dumps(
    store: Store,
    folder: Path,
    base_iri: str,
    *,
    lazy: bool = False,
    quads: Sequence[ox.Quad] | None = None,
) -> list[Dump]:
    """Write the index of the dumps of *store* into *folder* and, unless *lazy*,
    every file.

    Args:
        store: the built dataset.
        folder: where to write (created if missing).
        base_iri: the dataset's base IRI, to name each graph's files.
        lazy: write the index only; each file is made on its first download
            (:func:`make_dump`).
        quads: the quads *store* holds, when the caller has them (a build does):
            reading them back from the store costs more than the whole index.

    Returns:
        The dumps, whole dataset first, then each named graph in IRI order.

    Raises:
        ExportError: if the folder cannot be written (disk full, read-only).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create {folder}: {error.strerror}") from error
    dumps: list[Dump] = []
    every = select_quads(store) if quads is None else quads
    by_graph: dict[str, list[ox.Quad]] = {}
    for quad in every:
        by_graph.setdefault(str(quad.graph_name), []).append(quad)
    graphs = sorted(k[1:-1] for k in by_graph if k.startswith("<"))
    for iri, name, stem in _targets(graphs, base_iri):
        quads = every if iri is None else by_graph.get(f"<{iri}>", [])
        canonical = None if lazy else Canonical(quads)
        # Without graphs, the union: a triple in two graphs is one.
        union = len({q.triple for q in quads}) if iri is None else len(quads)
        merged = len(by_graph) if iri is None and len(by_graph) > 1 else 0
        for fmt in RDF_FORMATS:
            if fmt.name == "xml" and non_xml_character(quads):
                continue  # RDF/XML cannot carry a literal with a control character
            dump = Dump(
                file=stem + fmt.suffix,
                graph=iri,
                graph_name=name,
                format=fmt.name,
                media_type=fmt.media_type,
                bytes=None,
                sha256=None,
                triples=len(quads) if fmt.datasets else union,
                graphs_merged=0 if fmt.datasets else merged,
            )
            if canonical is not None:
                data = canonical.serialize(fmt)
                write_atomically(folder / dump.file, data)
                dump = _with_bytes(dump, data)
            dumps.append(dump)
    index = json.dumps([asdict(d) for d in dumps], ensure_ascii=False, indent=1)
    write_atomically(folder / INDEX, (index + "\n").encode())
    return dumps


def read_index(folder: Path) -> list[Dump]:
    """The dumps listed in *folder*'s index (empty if there is none yet), each with
    its size and checksum once its file is made."""
    path = folder / INDEX
    if not path.is_file():
        return []
    dumps = [Dump(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
    return [d if d.made else _made_record(folder, d) for d in dumps]


def make_dump(store: Store, folder: Path, dump: Dump) -> tuple[Dump, bytes | None]:
    """Make the file of *dump* from *store* (the build the index belongs to), once.

    Concurrent callers (threads or processes) wait for one another; whoever comes
    second finds the file made. The file is written atomically, then its record
    (size, checksum) beside it.

    Returns:
        The dump with its size and checksum, and the bytes when they could not be
        kept (a read-only folder: the caller serves them from memory) — else None.
    """
    if dump.made:
        return dump, None
    try:
        return _make(store, folder, [dump])[0], None
    except (OSError, ExportError):
        data = _canonical(store, dump.graph).serialize(rdf_format(dump.format))
        return _with_bytes(dump, data), data


def make_all(store: Store, folder: Path) -> list[Dump]:
    """Make every file the index lists that is not made yet (e.g. before copying
    the dumps folder elsewhere): each graph canonicalised once for all its formats."""
    index = read_index(folder)
    by_graph: dict[str | None, list[Dump]] = {}
    for dump in index:
        by_graph.setdefault(dump.graph, []).append(dump)
    made = {
        d.file: d for group in by_graph.values() for d in _make(store, folder, group)
    }
    return [made[d.file] for d in index]


def _make(store: Store, folder: Path, dumps: list[Dump]) -> list[Dump]:
    """Make the files of *dumps* (all of one graph) that are not made yet."""
    with _lock(folder):
        done = [_made_record(folder, d) for d in dumps]
        missing = [d for d in done if not d.made]
        if not missing:
            return done
        canonical = _canonical(store, missing[0].graph)
        for dump in missing:
            data = canonical.serialize(rdf_format(dump.format))
            write_atomically(folder / dump.file, data)
            made = _with_bytes(dump, data)
            record = json.dumps({"bytes": made.bytes, "sha256": made.sha256})
            write_atomically(_record_path(folder, dump), record.encode())
        return [_made_record(folder, d) for d in dumps]


def dumps_folder(store_folder: Path) -> Path:
    """The dumps folder of the build at *store_folder* (a resolved build folder)."""
    return store_folder / DUMPS_FOLDER


def find(dumps: Sequence[Dump], file: str) -> Dump | None:
    """The dump named *file*, or None: only listed files are ever served."""
    return next((d for d in dumps if d.file == file), None)


def _targets(
    graphs: Sequence[str], base_iri: str
) -> list[tuple[str | None, str | None, str]]:
    targets: list[tuple[str | None, str | None, str]] = [(None, None, DATASET_STEM)]
    for graph in graphs:
        short = graph_name(base_iri, graph)
        targets.append((graph, short, "graph-" + _slug(short)))
    return targets


def _canonical(store: Store, graph: str | None) -> Canonical:
    return Canonical(select_quads(store, [graph] if graph else []))


def _with_bytes(dump: Dump, data: bytes) -> Dump:
    return dataclasses.replace(
        dump, bytes=len(data), sha256=hashlib.sha256(data).hexdigest()
    )


def _record_path(folder: Path, dump: Dump) -> Path:
    return folder / (dump.file + MADE_SUFFIX)


def _made_record(folder: Path, dump: Dump) -> Dump:
    try:
        record = json.loads(_record_path(folder, dump).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return dump
    return dataclasses.replace(dump, bytes=record["bytes"], sha256=record["sha256"])


@contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """One maker at a time per dumps folder, across threads and processes."""
    with (folder / ".make.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _slug(name: str) -> str:
    """A file-name-safe form of a graph name.

    >>> _slug("add/my data")
    'add-my-data'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "graph"
