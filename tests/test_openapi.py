"""The OpenAPI 3 document at ``/api/openapi.json``: valid, complete (every route, every
named query with its typed parameters), and true (what it declares, the app accepts)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from mededkg.query.formats import RDF_FORMATS, RESULT_FORMATS
from mededkg.query.namedqueries import PARAM_TYPES, named_queries
from mededkg.resources import queries_dir
from mededkg.settings import Config
from webapp import create_app
from webapp.openapi import PARAM_SCHEMAS


def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    found = response.get_json()
    assert isinstance(found, dict)
    return found


@pytest.fixture(scope="module")
def repo_document(repo_app: Flask) -> dict[str, Any]:
    return document(repo_app.test_client())


def test_the_document_is_valid_openapi(
    client: FlaskClient, repo_document: dict[str, Any]
) -> None:
    validate(document(client))
    validate(repo_document)
    assert repo_document["openapi"].startswith("3.")


def test_every_route_has_a_path(repo_app: Flask, repo_document: dict[str, Any]) -> None:
    paths = set(repo_document["paths"])
    for rule in repo_app.url_map.iter_rules():
        if rule.endpoint in ("static", "api.run_query"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        assert path in paths, rule.rule
        methods = set((rule.methods or set()) - {"HEAD", "OPTIONS"})
        assert {m.lower() for m in methods} <= set(repo_document["paths"][path])
    for path in ("/sparql", "/api/queries", "/.well-known/void", "/"):
        assert path in paths


def test_one_path_per_named_query_with_typed_parameters(
    repo_config: Config, repo_client: FlaskClient, repo_document: dict[str, Any]
) -> None:
    listed = repo_client.get("/api/queries").get_json()
    queries = named_queries(queries_dir(repo_config.root))
    assert {q["name"] for q in listed} == set(queries)
    for query in queries.values():
        operation = repo_document["paths"][f"/api/queries/{query.name}"]["get"]
        assert operation["summary"] == query.title
        declared = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        for param in query.params:
            assert declared[param.name]["schema"] == PARAM_SCHEMAS[param.type]
            assert declared[param.name]["required"] is False
        assert set(declared) == {p.name for p in query.params} | {"format"}
        assert "post" in repo_document["paths"][f"/api/queries/{query.name}"]
    cq05 = repo_document["paths"]["/api/queries/cq05-hospitals"]["get"]
    institution = next(p for p in cq05["parameters"] if p["name"] == "institution")
    assert institution["schema"] == {"type": "string", "format": "uri"}


def test_every_parameter_type_has_a_schema() -> None:
    assert set(PARAM_SCHEMAS) == set(PARAM_TYPES)


def test_sparql_operations_and_media_types(repo_document: dict[str, Any]) -> None:
    sparql = repo_document["paths"]["/sparql"]
    assert set(sparql) >= {"get", "post"}
    names = {p["name"] for p in sparql["get"]["parameters"]}
    assert names == {"query", "default-graph-uri", "named-graph-uri", "format"}
    body = sparql["post"]["requestBody"]["content"]
    assert set(body) == {
        "application/x-www-form-urlencoded",
        "application/sparql-query",
    }
    media = set(sparql["post"]["responses"]["200"]["content"])
    expected = {m for f in RESULT_FORMATS for m in f.media_types} | {
        m for f in RDF_FORMATS for m in f.media_types
    }
    assert media == expected
    void = repo_document["paths"]["/.well-known/void"]["get"]
    assert set(void["responses"]["200"]["content"]) >= {
        f.media_type for f in RDF_FORMATS
    }


def test_declared_format_values_are_accepted(
    client: FlaskClient, repo_document: dict[str, Any]
) -> None:
    parameters = repo_document["paths"]["/sparql"]["get"]["parameters"]
    values = next(p for p in parameters if p["name"] == "format")["schema"]["enum"]
    assert set(values) == {f.name for f in RESULT_FORMATS} | {
        f.name for f in RDF_FORMATS
    }
    for value in values:
        for query in ("ASK {}", "CONSTRUCT WHERE { ?s ?p ?o }"):
            response = client.get(
                "/sparql", query_string={"query": query, "format": value}
            )
            assert response.status_code in (200, 406), (value, query)
    void_values = next(
        p
        for p in repo_document["paths"]["/.well-known/void"]["get"]["parameters"]
        if p["name"] == "format"
    )["schema"]["enum"]
    for value in void_values:
        response = client.get("/.well-known/void", query_string={"format": value})
        assert response.status_code == 200, value


def test_named_query_runs_as_documented(client: FlaskClient) -> None:
    doc = document(client)
    operation = doc["paths"]["/api/queries/hospitals"]["get"]
    (param,) = [p for p in operation["parameters"] if p["name"] != "format"]
    assert param["name"] == "institution"
    response = client.get(
        "/api/queries/hospitals",
        query_string={param["name"]: "https://w3id.org/mededkg/id/institution/x"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200
    assert response.mimetype in operation["responses"]["200"]["content"]


def test_server_url_is_the_public_base_url(fixture_config: Config) -> None:
    app = create_app(
        fixture_config.replace(
            query_workers=0, public_base_url="https://kg.example.org/base/"
        )
    )
    client = app.test_client()
    response = client.get("/api/openapi.json", base_url="http://evil.example/")
    assert response.get_json()["servers"] == [{"url": "https://kg.example.org/base"}]
