"""The fast reasoner (mededkg.pipeline.rules) entails what owlrl entails where it
matters.

On the real graph both reasoners must give the same rows to every competency query
and to catalogue-completeness; on LUBM(1) the fast reasoner must give every reference
answer and nothing else (owlrl does too, but takes ~70 s there: the benchmark runs
that comparison). Small graphs check each rule against owlrl.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, Namespace
from rdflib.collection import Collection

from mededkg.errors import ConfigError
from mededkg.namespaces import SHAPES_GRAPH, graph_name
from mededkg.pipeline.build import graph_iris, load_dataset
from mededkg.pipeline.reason import reason
from mededkg.settings import load_config
from mededkg.terms import quads_of, to_rdflib

ROOT = Path(__file__).resolve().parent.parent
LUBM = ROOT / "bench" / "lubm"
EX = Namespace("http://example.org/")


def _store(graphs: Iterable[Graph], inferred: Graph) -> ox.Store:
    store = ox.Store()
    for graph in [*graphs, inferred]:
        store.bulk_extend(quads_of(graph))
    return store


def _rows(store: ox.Store, query: str) -> list[tuple[str, ...]]:
    result = store.query(query, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return [(str(bool(result)),)]
    assert isinstance(result, ox.QuerySolutions)
    rows = [
        tuple("" if s[v] is None or isinstance(s[v], ox.BlankNode) else str(s[v])
              for v in result.variables)
        for s in result
    ]  # fmt: skip
    return sorted(rows)


# ----------------------------------------------------------------------- the real graph


@pytest.fixture(scope="module")
def real_graphs() -> list[Graph]:
    config = load_config({"root": str(ROOT)}, {})
    dataset = load_dataset(config)
    return [
        dataset.graph(iri)
        for iri in graph_iris(dataset)
        if graph_name(config.base_iri, str(iri)) != SHAPES_GRAPH
    ]


@pytest.fixture(scope="module")
def both_inferred(real_graphs: list[Graph]) -> dict[str, Graph]:
    return {r: reason(real_graphs, reasoner=r) for r in ("owlrl", "fast")}


REAL_QUERIES = sorted(
    p
    for p in (ROOT / "queries").glob("*.rq")
    if p.stem.startswith("cq") or p.stem == "catalogue-completeness"
)


@pytest.mark.parametrize("path", REAL_QUERIES, ids=[p.stem for p in REAL_QUERIES])
def test_same_answers_on_the_real_graph(
    path: Path, real_graphs: list[Graph], both_inferred: dict[str, Graph]
) -> None:
    text = path.read_text(encoding="utf-8")
    reference = _rows(_store(real_graphs, both_inferred["owlrl"]), text)
    fast = _rows(_store(real_graphs, both_inferred["fast"]), text)
    assert fast == reference


def test_real_graph_differences_are_only_documented_schema_rules(
    both_inferred: dict[str, Graph],
) -> None:
    """scm-svf/scm-avf/scm-hv (docs/reasoning.md) may add subclass links owlrl lacks."""
    owlrl_only = set(both_inferred["owlrl"]) - set(both_inferred["fast"])
    fast_only = set(both_inferred["fast"]) - set(both_inferred["owlrl"])
    assert not owlrl_only
    assert all(p == RDFS.subClassOf for _, p, _ in fast_only), fast_only


# -------------------------------------------------------------------------------- LUBM


@pytest.fixture(scope="module")
def lubm_store() -> ox.Store:
    graph = Graph()
    ontology = (LUBM / "ontology" / "univ-bench.2004ns.ttl").read_bytes()
    data = gzip.decompress((LUBM / "data_lubm1_University0_all.nt.gz").read_bytes())
    for text, fmt in ((ontology, ox.RdfFormat.TURTLE), (data, ox.RdfFormat.N_TRIPLES)):
        for triple in ox.parse(text, format=fmt):
            graph.add(
                tuple(  # type: ignore[arg-type]
                    to_rdflib(t)
                    for t in (triple.subject, triple.predicate, triple.object)
                )
            )
    return _store([graph], reason([graph], reasoner="fast"))


LUBM_COUNTS = {
    1: 4, 2: 0, 3: 6, 4: 34, 5: 719, 6: 7790, 7: 67,
    8: 7790, 9: 208, 10: 4, 11: 224, 12: 15, 13: 1, 14: 5916,
}  # fmt: skip


@pytest.mark.parametrize("number", sorted(LUBM_COUNTS), ids=lambda n: f"Q{n}")
def test_lubm_answers_are_complete_and_sound(number: int, lubm_store: ox.Store) -> None:
    with (LUBM / "answers_lubm1" / f"answers_query{number}.csv").open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        reference = {tuple(row) for row in reader if row}
    assert len(reference) == LUBM_COUNTS[number]
    text = (LUBM / "queries" / f"q{number}.rq").read_text(encoding="utf-8")
    result = lubm_store.query(text)
    assert isinstance(result, ox.QuerySolutions)
    got = {tuple(s[v].value for v in header) for s in result}  # type: ignore[union-attr]
    assert got == reference


# ------------------------------------------------------------------- rule by rule


def _list(graph: Graph, items: list[object]) -> BNode:
    head = BNode()
    Collection(graph, head, items)  # type: ignore[arg-type]
    return head


def _restriction(graph: Graph, prop: object, kind: object, value: object) -> BNode:
    node = BNode()
    graph.add((node, RDF.type, OWL.Restriction))
    graph.add((node, OWL.onProperty, prop))  # type: ignore[arg-type]
    graph.add((node, kind, value))  # type: ignore[arg-type]
    return node


def _cases() -> dict[str, Graph]:
    cases: dict[str, Graph] = {}
    g = cases["property-chain"] = Graph()
    g.add(
        (EX.under, OWL.propertyChainAxiom, _list(g, [EX.inD, EX.broader, EX.broader]))
    )
    g.add((EX.p, EX.inD, EX.d3)).add((EX.d3, EX.broader, EX.d2))
    g.add((EX.d2, EX.broader, EX.d1))
    g = cases["has-value"] = Graph()
    r = _restriction(g, EX.duty, OWL.hasValue, EX.Research)
    g.add((EX.School, RDFS.subClassOf, r)).add((EX.s, RDF.type, EX.School))
    g.add((EX.Researcher, OWL.equivalentClass, r)).add((EX.t, EX.duty, EX.Research))
    g = cases["some-and-intersection"] = Graph()
    r = _restriction(g, EX.headOf, OWL.someValuesFrom, EX.Dept)
    g.add((EX.Chair, OWL.intersectionOf, _list(g, [EX.Person, r])))
    g.add((EX.x, RDF.type, EX.Person)).add((EX.x, EX.headOf, EX.d))
    g.add((EX.d, RDF.type, EX.Dept))
    g = cases["all-values-and-union"] = Graph()
    r = _restriction(g, EX.hasChild, OWL.allValuesFrom, EX.Happy)
    g.add((EX.Parent, RDFS.subClassOf, r)).add((EX.a, RDF.type, EX.Parent))
    g.add((EX.a, EX.hasChild, EX.b))
    g.add((EX.Either, OWL.unionOf, _list(g, [EX.Happy, EX.Sad])))
    g = cases["properties"] = Graph()
    g.add((EX.knows, RDF.type, OWL.SymmetricProperty))
    g.add((EX.part, RDF.type, OWL.TransitiveProperty))
    g.add((EX.part, OWL.inverseOf, EX.hasPart))
    g.add((EX.part, RDFS.subPropertyOf, EX.related))
    g.add((EX.related, RDFS.domain, EX.Thing1)).add((EX.related, RDFS.range, EX.Thing2))
    g.add((EX.a, EX.knows, EX.b)).add((EX.a, EX.part, EX.b))
    g.add((EX.b, EX.part, EX.c)).add((EX.a, EX.related, Literal("x")))
    g = cases["functional-and-same-as"] = Graph()
    g.add((EX.mother, RDF.type, OWL.FunctionalProperty))
    g.add((EX.code, RDF.type, OWL.InverseFunctionalProperty))
    g.add((EX.a, EX.mother, EX.m1)).add((EX.a, EX.mother, EX.m2))
    g.add((EX.m1, RDFS.label, Literal("m1"))).add((EX.x, EX.code, EX.k))
    g.add((EX.y, EX.code, EX.k)).add((EX.y, OWL.sameAs, EX.z))
    return cases


CASES = _cases()


@pytest.mark.parametrize("case", sorted(CASES))
def test_rule_matches_owlrl(case: str) -> None:
    graph = CASES[case]
    reference, fast = set(reason([graph])), set(reason([graph], reasoner="fast"))
    assert fast - reference <= {t for t in fast if t[1] == RDFS.subClassOf}
    assert not reference - fast, sorted(reference - fast)
    assert fast, "the case entails something"


def test_property_chain_of_three() -> None:
    inferred = reason([CASES["property-chain"]], reasoner="fast")
    assert (EX.p, EX.under, EX.d1) in inferred


def test_unknown_reasoner_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown reasoner"):
        reason([Graph()], reasoner="hermit")
    with pytest.raises(ConfigError, match="reasoner"):
        load_config({"reasoner": "hermit"}, {})
    assert load_config({"reasoner": "fast"}, {}).reasoner == "fast"
