"""Blank nodes that two graphs share (the ontology's class expressions, which the
reasoner writes about into ``inferred``) become skolem IRIs under the base, stable
across builds, so every store — Oxigraph, Virtuoso, any Graph Store — loads the same
data; blank nodes of one graph stay blank."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from flask.testing import FlaskClient
from rdflib import RDF, BNode, Dataset, Literal, Namespace, URIRef

from mededkg.pipeline.build import build
from mededkg.pipeline.skolem import GENID, skolemise_shared
from mededkg.resources import default_root
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore
from tests.conftest import make_config

BASE = "https://w3id.org/mededkg/"
EX = Namespace("http://example.org/")
OWL = Namespace("http://www.w3.org/2002/07/owl#")
RDFS_SUB = URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")


def _dataset(*extra: tuple[URIRef, URIRef, URIRef | Literal]) -> Dataset:
    """An ontology graph with two restrictions, one of them also in ``inferred``."""
    dataset = Dataset()
    ontology = dataset.graph(URIRef(BASE + "graph/ontology"))
    inferred = dataset.graph(URIRef(BASE + "graph/inferred"))
    for cls, prop in ((EX.A, EX.p), (EX.B, EX.q)):
        restriction = BNode()
        ontology.add((cls, RDFS_SUB, restriction))
        ontology.add((restriction, RDF.type, OWL.Restriction))
        ontology.add((restriction, OWL.onProperty, prop))
        ontology.add((restriction, OWL.someValuesFrom, EX.C))
        if cls == EX.A:
            inferred.add((EX.a1, RDF.type, restriction))
    for triple in extra:
        ontology.add(triple)
    return dataset


def _blank_nodes(dataset: Dataset) -> dict[BNode, set[str]]:
    found: dict[BNode, set[str]] = {}
    for s, _, o, g in dataset.quads((None, None, None, None)):
        for term in (s, o):
            if isinstance(term, BNode):
                found.setdefault(term, set()).add(str(g))
    return found


def _skolems(dataset: Dataset) -> set[str]:
    return {
        str(t)
        for quad in dataset.quads((None, None, None, None))
        for t in quad[:3]
        if str(t).startswith(BASE + GENID)
    }


def test_a_blank_node_two_graphs_share_becomes_one_iri_in_both() -> None:
    dataset = _dataset()
    assert skolemise_shared(dataset, BASE) == 1
    (iri,) = _skolems(dataset)
    ontology = dataset.graph(URIRef(BASE + "graph/ontology"))
    inferred = dataset.graph(URIRef(BASE + "graph/inferred"))
    assert (EX.a1, RDF.type, URIRef(iri)) in inferred
    assert (URIRef(iri), OWL.onProperty, EX.p) in ontology
    assert (EX.A, RDFS_SUB, URIRef(iri)) in ontology
    # The other restriction is in one graph only: it stays a blank node.
    assert all(len(graphs) == 1 for graphs in _blank_nodes(dataset).values())
    assert len(_blank_nodes(dataset)) == 1


def test_skolem_iris_are_the_same_in_every_build_and_survive_unrelated_edits() -> None:
    first, second = _dataset(), _dataset()
    edited = _dataset((EX.Z, RDF.type, OWL.Class), (EX.B, RDFS_SUB, EX.Y))
    for dataset in (first, second, edited):
        skolemise_shared(dataset, BASE)
    assert _skolems(first) == _skolems(second) == _skolems(edited)


def test_different_class_expressions_get_different_iris() -> None:
    dataset = _dataset()
    inferred = dataset.graph(URIRef(BASE + "graph/inferred"))
    ontology = dataset.graph(URIRef(BASE + "graph/ontology"))
    other = next(o for s, _, o in ontology.triples((EX.B, RDFS_SUB, None)))
    inferred.add((EX.b1, RDF.type, other))
    assert skolemise_shared(dataset, BASE) == 2
    assert len(_skolems(dataset)) == 2


def _stored_skolems(config: Config) -> set[str]:
    store = EmbeddedStore.open(config.store_path)
    return {
        t.value
        for quad in store.quads()
        for t in (quad.subject, quad.object)
        if t.value.startswith(BASE + GENID)
    }


def test_the_real_graph_has_no_blank_node_in_two_graphs(repo_config: Config) -> None:
    store = EmbeddedStore.open(repo_config.store_path)
    graphs: dict[str, set[str]] = {}
    for quad in store.quads():
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.BlankNode):
                graphs.setdefault(term.value, set()).add(str(quad.graph_name))
    assert all(len(g) == 1 for g in graphs.values())
    assert _stored_skolems(repo_config), "the ontology's class expressions"


def test_two_builds_of_the_real_graph_name_them_alike(
    repo_config: Config, tmp_path: Path
) -> None:
    again = make_config(default_root(), tmp_path / "store")
    build(again)
    assert _stored_skolems(again) == _stored_skolems(repo_config)


def test_a_skolem_iri_is_dereferenceable(
    repo_config: Config, repo_client: FlaskClient
) -> None:
    iri = sorted(_stored_skolems(repo_config))[0]
    path = "/" + iri.removeprefix(BASE)
    page = repo_client.get(path)
    assert page.status_code == 200
    turtle = repo_client.get(path, headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and iri in turtle.get_data(as_text=True)
