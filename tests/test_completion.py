"""The query editor's name completion, /api/complete, over the real graph: expected
IRIs are read from the graph through /sparql, never typed."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

MEDEDKG = "https://w3id.org/mededkg/ontology#"
CCMU_ZH = "首都医科大学"


def sparql_column(client: FlaskClient, query: str) -> list[str]:
    """The values of the one variable of a SELECT *query* run through /sparql."""
    response = client.post(
        "/sparql",
        data={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    (var,) = data["head"]["vars"]
    return [b[var]["value"] for b in data["results"]["bindings"] if var in b]


def institution_labelled(client: FlaskClient, label: str) -> str:
    """The IRI of the one institution labelled *label* in Chinese."""
    (iri,) = sparql_column(
        client,
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        f"PREFIX mededkg: <{MEDEDKG}>\n"
        "SELECT DISTINCT ?i WHERE { ?i a mededkg:HigherEducationInstitution ; "
        f'rdfs:label "{label}"@zh }}',
    )
    return iri


def complete(client: FlaskClient, **params: str | list[str]) -> list[dict[str, Any]]:
    """The results of /api/complete for *params*, checked for status and shape."""
    response = client.get("/api/complete", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    payload = response.get_json()
    assert set(payload) == {"q", "results"}
    for item in payload["results"]:
        assert set(item) == {"iri", "kind", "label", "labels", "used"}
        assert item["kind"] in {"entity", "class", "property"}
    results: list[dict[str, Any]] = payload["results"]
    return results


@pytest.mark.parametrize(
    "typed",
    [
        "首都医科",
        "首都醫科",
        "Capital Med",
        "capital medical",
        "shoudu yike",
        "Shǒudū yīkē",
    ],
    ids=["chinese", "traditional", "english", "english-lower", "pinyin", "tones"],
)
def test_an_institution_is_found_by_every_form_of_its_name(
    repo_client: FlaskClient, typed: str
) -> None:
    expected = institution_labelled(repo_client, CCMU_ZH)
    found = complete(repo_client, q=typed, kind="entity")
    assert found[0]["iri"] == expected
    assert found[0]["labels"]["zh"] == CCMU_ZH


def test_a_namespace_keeps_only_its_iris(repo_client: FlaskClient) -> None:
    expected = institution_labelled(repo_client, CCMU_ZH)
    namespace = expected.rsplit("/", 1)[0] + "/"
    found = complete(repo_client, q="首都医科", ns=namespace)
    assert found and all(i["iri"].startswith(namespace) for i in found)
    assert found[0]["iri"] == expected
    assert complete(repo_client, q="首都医科", ns=MEDEDKG) == []


def test_a_class_is_found_by_its_local_name_and_labels(
    repo_client: FlaskClient,
) -> None:
    hospital = MEDEDKG + "Hospital"
    (zh,) = sparql_column(
        repo_client,
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        f"SELECT ?l WHERE {{ <{hospital}> rdfs:label ?l FILTER(LANG(?l) = 'zh') }}",
    )
    for typed in ("Hosp", zh, "yiyuan"):
        found = complete(repo_client, q=typed, kind="class", ns=MEDEDKG)
        assert hospital in [i["iri"] for i in found[:3]], typed
    assert complete(repo_client, q="Hospital", kind="class")[0]["iri"] == hospital


def test_properties_used_with_the_class_come_first(repo_client: FlaskClient) -> None:
    hospital = MEDEDKG + "Hospital"
    used = set(
        sparql_column(
            repo_client,
            f"SELECT DISTINCT ?p WHERE {{ ?s a <{hospital}> ; ?p ?o }}",
        )
    )
    found = complete(repo_client, q="", kind="property", **{"class": hospital})
    assert found and all(i["iri"] in used and i["used"] for i in found)
    # Typing narrows them; an unused property that completes the text comes after.
    declared = complete(repo_client, q="a", kind="property", limit="50")
    assert any(not i["used"] for i in declared)
    ranked = complete(
        repo_client, q="a", kind="property", limit="50", **{"class": hospital}
    )
    flags = [i["used"] for i in ranked]
    assert flags == sorted(flags, reverse=True) and flags[0]
    assert all(i["iri"] in used for i in ranked if i["used"])


@pytest.mark.parametrize(
    "query",
    [{}, {"q": "x", "kind": "thing"}, {"q": "x", "limit": "-1"}, {"class": "no iri"}],
    ids=["nothing", "kind", "limit", "class"],
)
def test_bad_requests_get_the_error_shape(
    repo_client: FlaskClient, query: dict[str, str]
) -> None:
    response = repo_client.get("/api/complete", query_string=query)
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"status", "title", "message"}
