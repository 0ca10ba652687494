"""Federated queries: ``SERVICE`` reaches only allow-listed endpoints. The federated
example in ``queries/`` runs against a second local endpoint standing in for the
Wikidata Query Service (there is no internet here), serving what ROR says about each
institution's Wikidata item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from mededkg.query.namedqueries import named_query
from mededkg.resources import queries_dir
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore, Store
from tests.conftest import _serve
from webapp import create_app

pytestmark = pytest.mark.server

WIKIDATA = "https://query.wikidata.org/sparql"
WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
EXAMPLE = "federated-wikidata-inception"
FACTS = """
PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
SELECT ?institution ?ror ?qid ?year WHERE {
  ?institution a mededkg:MedicalEducationInstitution ;
               mededkg:rorId ?ror ; mededkg:wikidataId ?qid .
  OPTIONAL { ?institution mededkg:foundingYear ?year }
}
"""


def _facts(store: Store) -> list[dict[str, str]]:
    solutions = store.query(FACTS)
    assert isinstance(solutions, ox.QuerySolutions)
    return [
        {v: s[v].value for v in ("institution", "ror", "qid", "year") if s[v]}
        for s in solutions
    ]


@pytest.fixture(scope="module")
def facts(repo_config: Config) -> list[dict[str, str]]:
    """Institutions with a ROR id and the Wikidata id ROR gives for them."""
    rows = _facts(EmbeddedStore.open(repo_config.store_path))
    assert len(rows) > 20
    return rows


@pytest.fixture(scope="module")
def stand_in(repo_config: Config, facts: list[dict[str, str]]) -> Iterator[str]:
    """A SPARQL endpoint serving ``wd:Q… wdt:P6782 ror ; wdt:P571 year`` (the year
    ROR records) for the items ROR links to — a local Wikidata Query Service."""
    quads = []
    for row in facts:
        item = ox.NamedNode(WD + row["qid"])
        quads.append(ox.Quad(item, ox.NamedNode(WDT + "P6782"), ox.Literal(row["ror"])))
        if "year" in row:
            year = ox.Literal(
                row["year"],
                datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear"),
            )
            quads.append(ox.Quad(item, ox.NamedNode(WDT + "P571"), year))
    app = create_app(
        repo_config.replace(query_workers=0), store=EmbeddedStore.from_quads(quads)
    )
    for url in _serve(app):
        yield url + "/sparql"


def _example_against(endpoint: str) -> str:
    text = named_query(EXAMPLE, queries_dir(Path(__file__).parents[1])).text
    assert f"SERVICE <{WIKIDATA}>" in text
    return text.replace(WIKIDATA, endpoint)


def _select(url: str, query: str) -> requests.Response:
    return requests.post(
        url + "/sparql",
        data={"query": query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=60,
    )


def test_federated_example_joins_with_the_allow_listed_endpoint(
    repo_config: Config, stand_in: str, facts: list[dict[str, str]]
) -> None:
    app = create_app(repo_config.replace(service_allowlist=(stand_in,)))
    for url in _serve(app):
        response = _select(url, _example_against(stand_in))
        assert response.status_code == 200, response.text
        rows = response.json()["results"]["bindings"]
    expected = {
        (r["institution"], WD + r["qid"], r["year"]) for r in facts if "year" in r
    }
    got = {
        (r["institution"]["value"], r["wikidata"]["value"], r["inception"]["value"])
        for r in rows
    }
    assert expected and got == expected
    # ROR's founding year and the (stand-in) inception agree row by row
    assert all(r["founding_year"]["value"] == r["inception"]["value"] for r in rows)


def test_federated_example_is_refused_without_the_allow_list(
    repo_config: Config, stand_in: str
) -> None:
    app = create_app(repo_config.replace(query_workers=0))
    response = app.test_client().post(
        "/sparql", data={"query": _example_against(stand_in)}
    )
    assert response.status_code == 400
    assert "service_allowlist" in response.get_json()["error"]["message"]


def test_only_the_allow_listed_endpoint_is_reached(
    repo_config: Config, stand_in: str, live_url: str
) -> None:
    app = create_app(repo_config.replace(service_allowlist=(stand_in,)))
    other = live_url + "/sparql"
    for url in _serve(app):
        response = _select(url, _example_against(other))
    assert response.status_code == 400
    assert other in response.json()["error"]["message"]
