"""Export: every format parses back isomorphic; the bytes are deterministic; atomic."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from mededkg.errors import ExportError
from mededkg.pipeline.export import (
    graphs_lost,
    select_quads,
    serialize_quads,
    write_atomically,
)
from mededkg.query.formats import RDF_FORMATS, rdf_format
from mededkg.storage import Store
from mededkg.terms import to_oxigraph, to_rdflib

G = "http://example.org/g/"


def _quads() -> list[ox.Quad]:
    ds = Dataset()
    one = ds.graph(URIRef(G + "one"))
    node = BNode()
    one.add((URIRef("http://example.org/cmu"), URIRef("http://example.org/p"), node))
    one.add((node, URIRef("http://example.org/q"), Literal("首都医科大学", lang="zh")))
    two = ds.graph(URIRef(G + "two"))
    two.add(
        (URIRef("http://example.org/x"), URIRef("http://example.org/n"), Literal(3))
    )
    return [
        ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), ox.NamedNode(str(g)))  # type: ignore[arg-type]
        for s, p, o, g in ds.quads((None, None, None, None))
        if g is not None
    ]


# rdflib's own parsers read the files back: an independent check of Oxigraph's output.
@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_every_format_parses_back_isomorphic(fmt: object) -> None:
    rdf = rdf_format(fmt.name)  # type: ignore[attr-defined]
    data = serialize_quads(_quads(), rdf)
    parsed = Dataset() if rdf.datasets else Graph()
    parsed.parse(data=data, format=rdf.rdflib)
    expected: dict[str, Graph] = {}
    for q in _quads():
        name = q.graph_name.value if rdf.datasets else "union"
        triple = tuple(to_rdflib(t) for t in (q.subject, q.predicate, q.object))
        expected.setdefault(name, Graph()).add(triple)  # type: ignore[arg-type]
    if rdf.datasets:
        for name, graph in expected.items():
            assert isomorphic(parsed.graph(URIRef(name)), graph)
    else:
        assert isomorphic(parsed, expected["union"])


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_export_is_byte_deterministic(fmt: object) -> None:
    rdf = rdf_format(fmt.name)  # type: ignore[attr-defined]
    first = serialize_quads(_quads(), rdf)
    assert serialize_quads(list(reversed(_quads())), rdf) == first


def test_formats_without_graphs_report_the_merge() -> None:
    assert graphs_lost(_quads(), rdf_format("turtle")) == 2
    assert graphs_lost(_quads(), rdf_format("trig")) == 0


def test_turtle_is_prefixed() -> None:
    quads = [
        ox.Quad(
            ox.NamedNode("https://w3id.org/mededkg/id/x"),
            ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
            ox.Literal("x"),
            ox.NamedNode(G + "one"),
        )
    ]
    text = serialize_quads(quads, rdf_format("turtle")).decode()
    assert "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> ." in text
    assert "rdfs:label" in text


def test_unknown_graph_is_an_error(fixture_store: Store) -> None:
    with pytest.raises(ExportError, match="no graph"):
        select_quads(fixture_store, ["https://w3id.org/mededkg/graph/nope"])


def test_written_files_are_readable_and_keep_their_mode(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.ttl"
    write_atomically(fresh, b"x")
    assert fresh.stat().st_mode & 0o777 == 0o644
    kept = tmp_path / "kept.ttl"
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    write_atomically(kept, b"new")
    assert kept.stat().st_mode & 0o777 == 0o640


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "out.ttl"
    target.write_bytes(b"old")
    write_atomically(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ttl"]


def test_disk_full_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.ttl"
    target.write_bytes(b"old")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ExportError, match="No space left on device"):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ttl"]


def test_write_into_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot write"):
        write_atomically(tmp_path / "missing" / "out.ttl", b"x")
