"""Blank nodes that two graphs share (the ontology's class expressions, which the
reasoner writes about into ``inferred``) become skolem IRIs under the base, stable
across builds, so every store — Oxigraph, Virtuoso, any Graph Store — loads the same
data; blank nodes of one graph stay blank."""

from __future__ import annotations

import pyoxigraph as ox
from flask.testing import FlaskClient

from mededkg.pipeline.build import infer, load_dataset, store_quads
from mededkg.pipeline.skolem import GENID, skolemise_shared
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore

BASE = "https://w3id.org/mededkg/"
EX = "http://example.org/"
OWL = "http://www.w3.org/2002/07/owl#"
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
SUB = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")
ONTOLOGY = ox.NamedNode(BASE + "graph/ontology")
INFERRED = ox.NamedNode(BASE + "graph/inferred")


def _n(name: str, ns: str = EX) -> ox.NamedNode:
    return ox.NamedNode(ns + name)


def _quads(*extra: ox.Quad, also_b: bool = False) -> list[ox.Quad]:
    """An ontology graph with two restrictions, the first also in ``inferred``."""
    quads = []
    for cls, prop in (("A", "p"), ("B", "q")):
        restriction = ox.BlankNode()
        quads += [
            ox.Quad(_n(cls), SUB, restriction, ONTOLOGY),
            ox.Quad(restriction, TYPE, _n("Restriction", OWL), ONTOLOGY),
            ox.Quad(restriction, _n("onProperty", OWL), _n(prop), ONTOLOGY),
            ox.Quad(restriction, _n("someValuesFrom", OWL), _n("C"), ONTOLOGY),
        ]
        if cls == "A" or also_b:
            quads.append(ox.Quad(_n(cls.lower() + "1"), TYPE, restriction, INFERRED))
    return quads + list(extra)


def _skolems(quads: list[ox.Quad]) -> set[str]:
    return {
        t.value
        for q in quads
        for t in (q.subject, q.object)
        if isinstance(t, ox.NamedNode) and t.value.startswith(BASE + GENID)
    }


def _blank_nodes(quads: list[ox.Quad]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for q in quads:
        for t in (q.subject, q.object):
            if isinstance(t, ox.BlankNode):
                found.setdefault(t.value, set()).add(str(q.graph_name))
    return found


def test_a_blank_node_two_graphs_share_becomes_one_iri_in_both() -> None:
    quads = skolemise_shared(_quads(), BASE)
    (iri,) = _skolems(quads)
    node = ox.NamedNode(iri)
    assert ox.Quad(_n("a1"), TYPE, node, INFERRED) in quads
    assert ox.Quad(node, _n("onProperty", OWL), _n("p"), ONTOLOGY) in quads
    assert ox.Quad(_n("A"), SUB, node, ONTOLOGY) in quads
    # The other restriction is in one graph only: it stays a blank node.
    blanks = _blank_nodes(quads)
    assert len(blanks) == 1 and all(len(g) == 1 for g in blanks.values())
    assert len(quads) == len(_quads())


def test_skolem_iris_are_the_same_in_every_build_and_survive_unrelated_edits() -> None:
    edit = (
        ox.Quad(_n("Z"), TYPE, _n("Class", OWL), ONTOLOGY),
        ox.Quad(_n("B"), SUB, _n("Y"), ONTOLOGY),
    )
    first = skolemise_shared(_quads(), BASE)
    second = skolemise_shared(_quads(), BASE)
    edited = skolemise_shared(_quads(*edit), BASE)
    assert _skolems(first) == _skolems(second) == _skolems(edited)


def test_different_class_expressions_get_different_iris() -> None:
    quads = skolemise_shared(_quads(also_b=True), BASE)
    assert len(_skolems(quads)) == 2
    assert not _blank_nodes(quads)


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


def test_two_builds_of_the_real_graph_name_them_alike(repo_config: Config) -> None:
    # A second load (every blank node gets a new label) and reason step, skolemised
    # as the store step does, against the build the session's store holds.
    dataset = load_dataset(repo_config)
    infer(dataset, repo_config.base_iri, reasoner=repo_config.reasoner)
    again = {
        t.value
        for q in store_quads(dataset, repo_config.base_iri)
        for t in (q.subject, q.object)
        if isinstance(t, ox.NamedNode) and t.value.startswith(BASE + GENID)
    }
    assert again == _stored_skolems(repo_config)


def test_a_skolem_iri_is_dereferenceable(
    repo_config: Config, repo_client: FlaskClient
) -> None:
    iri = sorted(_stored_skolems(repo_config))[0]
    path = "/" + iri.removeprefix(BASE)
    page = repo_client.get(path)
    assert page.status_code == 200
    turtle = repo_client.get(path, headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and iri in turtle.get_data(as_text=True)
