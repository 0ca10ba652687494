"""Downloads: the whole dataset and each named graph in every RDF format, written
once per build beside the store, with sizes and SHA-256 checksums.

The files live in a ``dumps/`` folder inside the build folder, so a build and its
dumps are swapped in together and can never disagree. Each file is canonical (see
:mod:`mededkg.pipeline.export`): the same graph always gives the same bytes and
checksum.

Formats that cannot carry named graphs (Turtle, N-Triples, RDF/XML) are offered for
the whole dataset too, as the union of its graphs; the index says so
(``graphs_merged``) instead of dropping the graph names silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from mededkg.errors import ExportError
from mededkg.namespaces import graph_name
from mededkg.pipeline.export import (
    Canonical,
    graphs_lost,
    select_quads,
    write_atomically,
)
from mededkg.query.formats import RDF_FORMATS
from mededkg.storage import Store

#: The folder, inside a build folder, that holds its dumps.
DUMPS_FOLDER = "dumps"
#: The index of a dumps folder.
INDEX = "index.json"
#: File name stem of the whole-dataset dumps.
DATASET_STEM = "mededkg"


@dataclass(frozen=True)
class Dump:
    """One downloadable file."""

    file: str
    graph: str | None  # the named graph's IRI; None = the whole dataset
    graph_name: str | None
    format: str
    media_type: str
    bytes: int
    sha256: str
    triples: int  # statements in the file: a merged file holds each triple once
    graphs_merged: int  # named graphs merged into one (formats without graphs)


def write_dumps(store: Store, folder: Path, base_iri: str) -> list[Dump]:
    """Write every dump of *store* into *folder* and an ``index.json`` describing them.

    Args:
        store: the built dataset.
        folder: where to write (created if missing).
        base_iri: the dataset's base IRI, to name each graph's files.

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
    targets: list[tuple[str | None, str | None, str]] = [(None, None, DATASET_STEM)]
    for graph in store.named_graphs():
        short = graph_name(base_iri, graph)
        targets.append((graph, short, "graph-" + _slug(short)))
    for iri, name, stem in targets:
        quads = select_quads(store, [iri] if iri else [])
        canonical = Canonical(quads)
        for fmt in RDF_FORMATS:
            try:
                data = canonical.serialize(fmt)
            except ExportError:
                continue  # e.g. RDF/XML of a literal with a control character
            file = stem + fmt.suffix
            write_atomically(folder / file, data)
            dumps.append(
                Dump(
                    file=file,
                    graph=iri,
                    graph_name=name,
                    format=fmt.name,
                    media_type=fmt.media_type,
                    bytes=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    # Without graphs, the union: a triple in two graphs is one.
                    triples=len(canonical.statements(fmt)),
                    graphs_merged=graphs_lost(quads, fmt),
                )
            )
    index = json.dumps([asdict(d) for d in dumps], ensure_ascii=False, indent=1)
    write_atomically(folder / INDEX, (index + "\n").encode())
    return dumps


def read_index(folder: Path) -> list[Dump]:
    """The dumps listed in *folder*'s index (empty if there is none yet)."""
    path = folder / INDEX
    if not path.is_file():
        return []
    return [Dump(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


def dumps_folder(store_folder: Path) -> Path:
    """The dumps folder of the build at *store_folder* (a resolved build folder)."""
    return store_folder / DUMPS_FOLDER


def find(dumps: Sequence[Dump], file: str) -> Dump | None:
    """The dump named *file*, or None: only listed files are ever served."""
    return next((d for d in dumps if d.file == file), None)


def _slug(name: str) -> str:
    """A file-name-safe form of a graph name.

    >>> _slug("add/my data")
    'add-my-data'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "graph"
