"""The Python API for notebooks: read-only rdflib views, rows and DataFrames."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from mededkg.api import KnowledgeGraph
from mededkg.errors import QueryError, StoreNotFound
from mededkg.settings import Config

CAPITAL = "https://w3id.org/mededkg/id/institution/4111010025"
HOSPITAL = "https://w3id.org/mededkg/id/organization/ror-example"


@pytest.fixture
def kg(fixture_config: Config) -> KnowledgeGraph:
    return KnowledgeGraph(config=fixture_config)


def test_named_query_rows_with_and_without_parameters(kg: KnowledgeGraph) -> None:
    rows = kg.rows("hospitals")
    assert rows == [
        {"hospital": HOSPITAL, "label": "Example Hospital", "institution": CAPITAL}
    ]
    assert kg.rows("hospitals", institution="https://example.org/none") == []


def test_sparql_text_gives_python_values(kg: KnowledgeGraph) -> None:
    rows = kg.rows(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/mededkg/graph/hospitals>"
        " { ?s ?p ?o } }"
    )
    assert rows == [{"n": 3}]


def test_dataframe(kg: KnowledgeGraph) -> None:
    frame = kg.dataframe("hospitals")
    assert list(frame.columns) == ["hospital", "label", "institution"]
    assert frame.loc[0, "label"] == "Example Hospital"


def test_rdflib_views_are_read_only_and_complete(kg: KnowledgeGraph) -> None:
    graph = kg.graph("institutions")
    assert (URIRef(CAPITAL), None, Literal("首都医科大学", lang="zh")) in graph
    assert len(kg.graph("hospitals")) == 3
    with pytest.raises(RuntimeError):
        graph.add((URIRef(CAPITAL), URIRef("http://e/p"), Literal("x")))


def test_ask_is_not_rows(kg: KnowledgeGraph) -> None:
    with pytest.raises(QueryError, match="SELECT"):
        kg.rows("ASK { ?s ?p ?o }")


def test_missing_store(tmp_path: object, fixture_config: Config) -> None:
    with pytest.raises(StoreNotFound):
        KnowledgeGraph(f"{tmp_path}/nope", config=fixture_config)
