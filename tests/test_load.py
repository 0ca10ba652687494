"""Loading: each source lands in its named graph; bad files are named with the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic

from mededkg.errors import LoadError
from mededkg.namespaces import graph_iri
from mededkg.pipeline.build import DEFAULT_CONVERTERS
from mededkg.pipeline.load import (
    Source,
    added_sources,
    load,
    load_quads,
    project_sources,
)
from mededkg.resources import default_root
from mededkg.terms import to_rdflib
from tests.conftest import FIXTURE_ROOT

BASE = "https://w3id.org/mededkg/"


def test_project_sources_map_folders_to_named_graphs() -> None:
    graphs = {(s.path.name, s.graph) for s in project_sources(FIXTURE_ROOT)}
    assert graphs == {
        ("mini.ttl", "ontology"),
        ("mini-shapes.ttl", "shapes"),
        ("institutions.ttl", "institutions"),
        ("hospitals.ttl", "hospitals"),
    }


def test_each_file_is_loaded_into_its_own_named_graph() -> None:
    dataset = load(project_sources(FIXTURE_ROOT), base_iri=BASE)
    institutions = dataset.graph(graph_iri(BASE, "institutions"))
    capital = URIRef(BASE + "id/institution/4111010025")
    assert (capital, None, Literal("首都医科大学", lang="zh")) in institutions
    hospitals = dataset.graph(graph_iri(BASE, "hospitals"))
    assert (capital, None, None) not in hospitals


def test_malformed_turtle_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text(
        '@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "x\n'
    )
    with pytest.raises(LoadError) as caught:
        load([Source(bad, "bad")], base_iri=BASE)
    assert caught.value.path == bad
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{bad}:3: ")


def test_malformed_rdfxml_names_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rdf"
    bad.write_text(
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"
        "<rdf:Description rdf:about='http://e/a'></rdf:Nope>\n</rdf:RDF>\n"
    )
    with pytest.raises(LoadError, match=r"bad\.rdf"):
        load([Source(bad, "bad")], base_iri=BASE)


def test_trig_keeps_its_own_graph_names(tmp_path: Path) -> None:
    trig = tmp_path / "extra.trig"
    trig.write_text("<http://e/g> { <http://e/a> <http://e/b> <http://e/c> . }\n")
    dataset = load([Source(trig, "add/extra")], base_iri=BASE)
    assert len(dataset.graph(URIRef("http://e/g"))) == 1


def test_added_file_and_folder_become_add_graphs(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "one.ttl").write_text("<http://e/a> <http://e/b> 1 .\n")
    (folder / "Two Files.nt").write_text("<http://e/a> <http://e/b> <http://e/c> .\n")
    (folder / "notes.txt").write_text("not RDF")
    single = tmp_path / "single.jsonld"
    single.write_text('{"@id": "http://e/x", "http://e/p": "v"}')
    graphs = sorted(s.graph for s in added_sources([folder, single]))
    assert graphs == ["add/one", "add/single", "add/two-files"]


def test_added_files_with_the_same_stem_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.ttl").write_text("")
    (tmp_path / "b" / "x.nt").write_text("")
    with pytest.raises(LoadError, match="already used"):
        added_sources([tmp_path / "a", tmp_path / "b"])


def test_added_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file"):
        added_sources([tmp_path / "missing.ttl"])


@pytest.mark.parametrize(
    "root", [FIXTURE_ROOT, default_root()], ids=["fixture", "repo"]
)
def test_the_oxigraph_load_holds_what_the_rdflib_load_holds(root: Path) -> None:
    # The build loads Oxigraph quads, writes and the Python API an rdflib
    # dataset: the same graphs with the same triples, literals as written ("3.0"
    # stays "3.0"; an Oxigraph store would make it "3"); blank nodes are each
    # parse's own, so graphs are compared up to their renaming.
    sources = project_sources(root)
    dataset = load(sources, base_iri=BASE, converters=DEFAULT_CONVERTERS)
    quads = load_quads(sources, base_iri=BASE, converters=DEFAULT_CONVERTERS)
    assert set(quads) == {str(g.identifier) for g in dataset.graphs() if len(g)}
    for name, graph_quads in sorted(quads.items()):
        assert len(set(graph_quads)) == len(graph_quads), name
        loaded = Graph()
        for q in graph_quads:
            loaded.add(
                (to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object))
            )
        expected = dataset.graph(URIRef(name))
        assert len(loaded) == len(expected), name
        assert isomorphic(loaded, expected), name
