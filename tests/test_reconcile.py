"""The W3C Entity Reconciliation API 0.2 at ``/reconcile``, over the real graph.

Protocol tests talk HTTP to a real waitress server (and Flask's test client for the
error cases) and validate every response against the specification's JSON schemas
(``tests/data/reconciliation-api-0.2``); the realistic batch measures top-1 accuracy
with ``bench/reconcile_accuracy.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from mededkg.matching.names import normalise
from mededkg.matching.reconcile import (
    PROPERTIES,
    RDFS,
    Constraint,
    Index,
    Query,
    Statement,
    province_code,
)
from mededkg.settings import Config
from webapp import create_app

pytestmark = pytest.mark.server

TESTS = Path(__file__).parent
SCHEMAS = TESTS / "data" / "reconciliation-api-0.2"
ROOT = TESTS.parent
QUERIES = ROOT / "webapp" / "queries"

PUMC = "id/institution/4111010023"  # 北京协和医学院 / Peking Union Medical College
CCMU = "id/institution/4111010025"  # 首都医科大学 / Capital Medical University
GZUCM = "id/institution/4144010572"  # 广州中医药大学


# --- schemas -------------------------------------------------------------------------
@cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text("utf-8"))
        if "$id" in contents:
            # "$schema": "http://json-schema.org/schema#" names no draft: read as 7.
            resources.append((contents["$id"], DRAFT7.create_resource(contents)))
    return Registry().with_resources(resources)  # type: ignore[no-any-return]


def validate(schema: str, instance: object) -> None:
    """Fail with every error if *instance* does not follow the spec's *schema*."""
    contents = json.loads((SCHEMAS / f"{schema}.json").read_text("utf-8"))
    validator = Draft7Validator(contents, registry=_registry())
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)
    ]
    assert not errors, "\n".join(errors[:10])


def assert_error_shape(response: Any, status: int) -> None:
    """The project's one error shape."""
    assert response.status_code == status
    assert set(response.json()["error"]) == {"status", "title", "message"}


# --- helpers -------------------------------------------------------------------------
def post_queries(url: str, batch: dict[str, Any]) -> dict[str, Any]:
    validate("reconciliation-query-batch", batch)
    response = requests.post(
        f"{url}/reconcile", data={"queries": json.dumps(batch)}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    answer: dict[str, Any] = response.json()
    validate("reconciliation-result-batch", answer)
    assert set(answer) == set(batch)
    return answer


def top(answer: dict[str, Any], key: str) -> dict[str, Any]:
    result: list[dict[str, Any]] = answer[key]["result"]
    assert result, f"no candidate for {key}"
    return result[0]


# --- manifest, JSONP, CORS -----------------------------------------------------------
def test_manifest_follows_the_schema_and_its_templates_work(repo_live_url: str) -> None:
    response = requests.get(f"{repo_live_url}/reconcile", timeout=30)
    assert response.status_code == 200
    manifest = response.json()
    validate("manifest", manifest)
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"] == "https://w3id.org/mededkg/"
    assert {t["id"] for t in manifest["defaultTypes"]} >= {
        "MedicalEducationInstitution",
        "Hospital",
        "Discipline",
        "DegreeType",
    }
    view = requests.get(manifest["view"]["url"].replace("{{id}}", PUMC), timeout=30)
    assert view.status_code == 200 and "北京协和医学院" in view.text
    preview = requests.get(
        manifest["preview"]["url"].replace("{{id}}", PUMC), timeout=30
    )
    assert preview.status_code == 200 and "北京协和医学院" in preview.text
    for kind in ("entity", "type", "property"):
        service = manifest["suggest"][kind]
        url = service["service_url"] + service["service_path"]
        assert requests.get(url, params={"prefix": "医"}, timeout=30).ok
    proposal = manifest["extend"]["propose_properties"]
    url = proposal["service_url"] + proposal["service_path"]
    assert requests.get(url, params={"type": "Hospital"}, timeout=30).ok


def test_jsonp_wraps_the_manifest(repo_live_url: str) -> None:
    response = requests.get(
        f"{repo_live_url}/reconcile",
        params={"callback": "jQuery123_456.cb"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    prefix, suffix = "/**/jQuery123_456.cb(", ");"
    assert response.text.startswith(prefix) and response.text.endswith(suffix)
    validate("manifest", json.loads(response.text[len(prefix) : -len(suffix)]))


@pytest.mark.parametrize(
    "callback",
    ["alert(1)", "a;b", "<script>", "cb//", "1abc", "a" * 80, "a..b", "x\u2028"],
    ids=["call", "semicolon", "tag", "comment", "digit-first", "too-long", "empty-part",
         "line-separator"],
)  # fmt: skip
def test_jsonp_refuses_callbacks_that_are_not_plain_names(
    repo_live_url: str, callback: str
) -> None:
    response = requests.get(
        f"{repo_live_url}/reconcile/suggest/entity",
        params={"prefix": "首都", "callback": callback},
        timeout=30,
    )
    assert_error_shape(response, 400)
    assert callback not in response.text


@pytest.mark.parametrize(
    "path", ["/reconcile", "/reconcile/suggest/entity", "/reconcile/preview"]
)
def test_cors_preflight(repo_live_url: str, path: str) -> None:
    response = requests.options(
        repo_live_url + path,
        headers={
            "Origin": "http://127.0.0.1:3333",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


# --- reconciliation ------------------------------------------------------------------
def test_batch_in_chinese_and_english(repo_live_url: str) -> None:
    answer = post_queries(
        repo_live_url,
        {
            "zh": {"query": "首都医科大学", "type": "MedicalEducationInstitution"},
            "traditional": {"query": "北京協和醫學院"},
            "en": {"query": "Capital Medical University", "limit": 3},
            "alias": {"query": "peking union medical college"},
            "fullwidth": {
                "query": "Ｃａｐｉｔａｌ　Ｍｅｄｉｃａｌ　Ｕｎｉｖｅｒｓｉｔｙ"
            },
            "hospital": {"query": "中国医科大学附属第一医院", "type": ["Hospital"]},
            "discipline": {"query": "临床医学", "type": "Discipline"},
            "degree": {"query": "医学专业学位硕士", "type": "DegreeType"},
        },
    )
    for key in ("zh", "traditional", "en", "alias", "fullwidth"):
        best = top(answer, key)
        assert best["match"] is True, key
        assert best["score"] == 100
    assert (
        top(answer, "zh")["id"] == CCMU and top(answer, "zh")["name"] == "首都医科大学"
    )
    assert top(answer, "en")["name"] == "Capital Medical University"
    assert len(answer["en"]["result"]) <= 3
    assert all(not c["match"] for c in answer["en"]["result"][1:])
    assert top(answer, "traditional")["id"] == PUMC
    assert top(answer, "alias")["id"] == PUMC
    assert top(answer, "hospital")["id"].startswith("id/organization/")
    assert top(answer, "hospital")["type"][0]["id"] in {
        "Hospital",
        "AffiliatedHospital",
    }
    # The same discipline in three catalogue editions: found, never a sure match.
    disciplines = answer["discipline"]["result"]
    assert {c["name"] for c in disciplines[:3]} == {"临床医学"}
    assert not any(c["match"] for c in disciplines)
    assert top(answer, "degree")["id"].startswith("id/degree-type/")


def test_get_with_queries(repo_live_url: str) -> None:
    batch = {"q0": {"query": "Capital Medical University"}}
    response = requests.get(
        f"{repo_live_url}/reconcile", params={"queries": json.dumps(batch)}, timeout=30
    )
    assert response.status_code == 200
    validate("reconciliation-result-batch", response.json())
    assert response.json()["q0"]["result"][0]["id"] == CCMU


def test_province_changes_the_ranking(repo_live_url: str) -> None:
    def batch(province: object | None) -> dict[str, Any]:
        query: dict[str, Any] = {
            "query": "中医药大学",
            "type": "MedicalEducationInstitution",
        }
        if province is not None:
            query["properties"] = [{"pid": "province", "v": province}]
        return query

    answer = post_queries(
        repo_live_url,
        {
            "none": batch(None),
            "en": batch("Guangdong"),
            "zh": batch("广东省"),
            "list": batch(["广东", "Hainan"]),
        },
    )
    assert top(answer, "none")["id"] != GZUCM
    for key in ("en", "zh", "list"):
        assert top(answer, key)["id"] == GZUCM, key
        # A place alone never makes a sure match of a partial name.
        assert top(answer, key)["match"] is False
    scores = {c["id"]: c["score"] for c in answer["none"]["result"]}
    if GZUCM in scores:
        assert top(answer, "en")["score"] > scores[GZUCM]


def test_identifier_and_disagreeing_properties(repo_live_url: str) -> None:
    answer = post_queries(
        repo_live_url,
        {
            "moe": {"properties": [{"pid": "moeCode", "v": "4111010023"}]},
            "ror": {"properties": [{"pid": "rorId", "v": "013xs5b60"}]},
            "wrong-place": {
                "query": "首都医科大学",
                "properties": [{"pid": "province", "v": "Yunnan"}],
            },
            "city": {
                "query": "河北医科大学",
                "properties": [{"pid": "city", "v": "Shijiazhuang"}],
            },
        },
    )
    assert top(answer, "moe")["id"] == PUMC and top(answer, "moe")["match"] is True
    assert top(answer, "ror")["id"] == CCMU and top(answer, "ror")["match"] is True
    assert top(answer, "wrong-place")["match"] is False
    assert top(answer, "wrong-place")["score"] < 100
    assert top(answer, "city")["score"] == 100 and top(answer, "city")["match"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"queries": "{not json"}, "not valid JSON"),
        ({"queries": "[]"}, "JSON object"),
        ({"queries": '{"q0": {"query": "x", "type": "Planet"}}'}, "unknown type"),
        ({"queries": '{"q0": {"query": "x", "bogus": 1}}'}, "unknown members"),
        ({"queries": '{"q0": {"properties": [{"pid": "colour", "v": "red"}]}}'},
         "unknown property"),
        ({"queries": '{"q0": {"limit": 3}}'}, "needs a 'query'"),
        ({"extend": '{"ids": "x", "properties": []}'}, "'ids'"),
        ({}, "'queries'"),
    ],
    ids=["bad-json", "not-object", "unknown-type", "unknown-member", "unknown-property",
         "no-query", "extend-ids", "empty-post"],
)  # fmt: skip
def test_malformed_requests_get_the_error_shape(
    repo_client: FlaskClient, data: dict[str, str], message: str
) -> None:
    response = repo_client.post("/reconcile", data=data)
    assert response.status_code == 400
    payload = response.get_json()
    assert set(payload["error"]) == {"status", "title", "message"}
    assert message in payload["error"]["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


HUGE_INT = "1" + "0" * 4300  # 4,301 digits: beyond Python's int() conversion limit
DEEP = "[" * 100_000
EXTEND_MOE = json.dumps(
    {"ids": [PUMC], "properties": [{"id": "moeCode", "settings": {"limit": 0}}]}
).replace("0}", "LIMIT}")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"queries": '{"q0": {"query": "x", "limit": NaN}}'}, "NaN is not a JSON"),
        ({"queries": '{"q0": {"query": "x", "limit": -Infinity}}'}, "Infinity"),
        ({"queries": '{"q0": {"query": "x", "limit": 1e999}}'},
         "'limit' must be a finite number"),
        ({"queries": '{"q0": {"query": "x", "limit": ' + HUGE_INT + "}}"},
         "cannot be read"),
        ({"queries": DEEP}, "nested too deeply"),
        ({"extend": DEEP}, "nested too deeply"),
        ({"extend": EXTEND_MOE.replace("LIMIT", "1e999")},
         "setting 'limit' must be a finite number"),
        ({"extend": EXTEND_MOE.replace("LIMIT", f'"{HUGE_INT}"')},
         "setting 'limit' must be a number"),
    ],
    ids=["limit-nan", "limit-infinity", "limit-1e999", "limit-4301-digits",
         "queries-nested-100000", "extend-nested-100000", "extend-limit-1e999",
         "extend-limit-4301-digits"],
)  # fmt: skip
def test_hostile_numbers_and_nesting_get_400(
    repo_live_url: str, data: dict[str, str], message: str
) -> None:
    response = requests.post(f"{repo_live_url}/reconcile", data=data, timeout=30)
    assert_error_shape(response, 400)
    assert message in response.json()["error"]["message"]
    assert requests.get(f"{repo_live_url}/reconcile", timeout=30).ok


def test_huge_but_readable_numbers_are_answered(repo_live_url: str) -> None:
    long_int = "9" * 4000  # within int()'s limit, far beyond a float
    batch = json.dumps(
        {
            "q0": {
                "query": "北京协和医学院",
                "limit": "LONG",
                "properties": [{"pid": "moeCode", "v": "LONG"}],
            }
        }
    ).replace('"LONG"', long_int)
    response = requests.post(
        f"{repo_live_url}/reconcile", data={"queries": batch}, timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    validate("reconciliation-result-batch", response.json())
    assert top(response.json(), "q0")


def test_manifest_urls_ignore_the_host_header(repo_live_url: str) -> None:
    response = requests.get(
        f"{repo_live_url}/reconcile", headers={"Host": "evil.example"}, timeout=30
    )
    manifest = response.json()
    urls = [
        manifest["view"]["url"],
        manifest["preview"]["url"],
        *(s["service_url"] for s in manifest["suggest"].values()),
        manifest["extend"]["propose_properties"]["service_url"],
    ]
    assert all(url.startswith(repo_live_url + "/") for url in urls), urls


def test_manifest_urls_start_with_public_base_url(
    fixture_config: Config,
) -> None:
    config = fixture_config.replace(
        query_workers=0, public_base_url="https://kg.example.org/mededkg"
    )
    client = create_app(config).test_client()
    manifest = client.get("/reconcile", base_url="http://evil.example/").get_json()
    assert manifest["view"]["url"] == "https://kg.example.org/mededkg/{{id}}"
    assert manifest["preview"]["url"].startswith(
        "https://kg.example.org/mededkg/reconcile/preview?"
    )
    assert manifest["suggest"]["entity"]["service_url"] == (
        "https://kg.example.org/mededkg/reconcile"
    )


# --- suggest, preview ----------------------------------------------------------------
def test_suggest_entity_type_property(repo_live_url: str) -> None:
    def get(kind: str, **params: str) -> list[dict[str, Any]]:
        response = requests.get(
            f"{repo_live_url}/reconcile/suggest/{kind}", params=params, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        payload = response.json()
        schema = {"entity": "entities", "type": "types", "property": "properties"}
        validate(f"suggest-{schema[kind]}-response", payload)
        result: list[dict[str, Any]] = payload["result"]
        return result

    zh = get("entity", prefix="首都医")
    assert zh[0]["id"] == CCMU and zh[0]["name"] == "首都医科大学"
    assert zh[0]["notable"][0]["id"] == "MedicalUniversity"
    en = get("entity", prefix="capital med")
    assert en[0]["id"] == CCMU and en[0]["name"] == "Capital Medical University"
    hospitals = get("entity", prefix="首都医科大学", type="Hospital")
    assert hospitals and all(h["id"].startswith("id/organization/") for h in hospitals)
    page = get("entity", prefix="医", limit="3", cursor="3")
    assert len(page) == 3
    assert {t["id"] for t in get("type", prefix="hosp")} >= {"Hospital"}
    assert "Hospital" in {t["id"] for t in get("type", prefix="医院")}
    assert {p["id"] for p in get("property", prefix="ror")} == {"rorId"}
    assert "province" in {p["id"] for p in get("property", prefix="prov")}


def test_suggest_needs_a_prefix(repo_client: FlaskClient) -> None:
    response = repo_client.get("/reconcile/suggest/entity")
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"status", "title", "message"}


def test_preview_is_small_html_without_script(repo_live_url: str) -> None:
    response = requests.get(
        f"{repo_live_url}/reconcile/preview", params={"id": PUMC}, timeout=30
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    html = response.text
    assert "北京协和医学院" in html and "Peking Union Medical College" in html
    assert "4111010023" in html and "02drdmm93" in html
    assert "<script" not in html.lower() and len(html) < 6000
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "script-src" not in policy
    full_iri = requests.get(
        f"{repo_live_url}/reconcile/preview",
        params={"id": "https://w3id.org/mededkg/" + PUMC},
        timeout=30,
    )
    assert full_iri.status_code == 200
    missing = requests.get(
        f"{repo_live_url}/reconcile/preview", params={"id": "id/nothing"}, timeout=30
    )
    assert_error_shape(missing, 404)


# --- data extension ------------------------------------------------------------------
def test_extend_fetches_ids_and_names(repo_live_url: str) -> None:
    request = {
        "ids": [PUMC, CCMU, "id/institution/0000000000"],
        "properties": [
            {"id": "rorId"},
            {"id": "moeCode"},
            {"id": "nameEn"},
            {"id": "province"},
            {"id": "supervisingAuthority"},
            {"id": "foundingYear"},
            {"id": "altLabel", "settings": {"limit": 2}},
        ],
    }
    validate("data-extension-query", request)
    response = requests.post(
        f"{repo_live_url}/reconcile", data={"extend": json.dumps(request)}, timeout=30
    )
    assert response.status_code == 200, response.text
    payload = response.json()
    validate("data-extension-response", payload)
    assert [m["id"] for m in payload["meta"]] == [
        p["id"] for p in request["properties"]
    ]
    pumc, ccmu = payload["rows"][PUMC], payload["rows"][CCMU]
    assert pumc["rorId"] == [{"str": "02drdmm93"}]
    assert pumc["moeCode"] == [{"str": "4111010023"}]
    assert ccmu["nameEn"] == [{"str": "Capital Medical University"}]
    assert pumc["supervisingAuthority"][0]["name"] == "国家卫生健康委员会"
    assert pumc["foundingYear"] == [{"int": 1956}]
    assert len(pumc["altLabel"]) == 2
    assert ccmu["province"]
    assert all(v == [] for v in payload["rows"]["id/institution/0000000000"].values())


def test_propose_properties(repo_live_url: str) -> None:
    for type_id, expected in (
        ("MedicalEducationInstitution", {"moeCode", "rorId", "nameEn", "province"}),
        ("Hospital", {"rorId", "affiliatedWith"}),
        ("Discipline", {"notation", "inScheme"}),
    ):
        response = requests.get(
            f"{repo_live_url}/reconcile/propose_properties",
            params={"type": type_id},
            timeout=30,
        )
        assert response.status_code == 200
        payload = response.json()
        validate("data-extension-property-proposal", payload)
        assert payload["type"] == type_id
        assert expected <= {p["id"] for p in payload["properties"]}
    limited = requests.get(
        f"{repo_live_url}/reconcile/propose_properties", params={"limit": 2}, timeout=30
    )
    assert len(limited.json()["properties"]) == 2


# --- the core ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("北京協和醫學院", "北京协和医学院"),
        ("首都 医科大学", "首都医科大学"),
        ("Ｃａｐｉｔａｌ　Ｍｅｄｉｃａｌ", "capital medical"),
        ("CAMS&PUMC", "cams and pumc"),
        ("Xi'an Medical College, Shaanxi", "xi an medical college shaanxi"),
    ],
    ids=["traditional", "cjk-space", "fullwidth", "ampersand", "punctuation"],
)  # fmt: skip
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_province_codes() -> None:
    assert province_code("新疆维吾尔自治区") == province_code("Xinjiang") == "65"
    assert province_code("陕西省") == province_code("Shaanxi") == "61"
    assert province_code("山西") == province_code("Shanxi") == "14"


def test_an_empty_index_finds_nothing() -> None:
    index = Index.build("https://example.org/", [], [], [])
    assert index.reconcile(Query("x")) == []
    assert (
        index.reconcile(Query("", constraints=(Constraint("moeCode", ("1",)),))) == []
    )


def test_index_queries_list_every_property() -> None:
    """The entities query reads every predicate the property table names."""
    text = (QUERIES / "reconcile-entities.rq").read_text("utf-8")
    prefixes = {
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#": "rdf:",
        "http://www.w3.org/2000/01/rdf-schema#": "rdfs:",
        "http://www.w3.org/2004/02/skos/core#": "skos:",
        "https://schema.org/": "schema:",
        "https://w3id.org/mededkg/ontology#": "mededkg:",
    }
    for prop in PROPERTIES:
        namespace = next(ns for ns in prefixes if prop.predicate.startswith(ns))
        assert prefixes[namespace] + prop.predicate[len(namespace) :] in text, prop.id


def test_index_is_built_once_per_store_version(repo_app: Any) -> None:
    from webapp.reconcile import EXTENSION, current_index

    with repo_app.test_request_context("/reconcile"):
        first = current_index()
        assert current_index() is first
        # After a write the store link points at another build: a new index.
        repo_app.extensions[EXTENSION].key = "an older build"
        assert current_index() is not first


# --- the realistic batch -------------------------------------------------------------
def _bench() -> ModuleType:
    path = ROOT / "bench" / "reconcile_accuracy.py"
    spec = importlib.util.spec_from_file_location("reconcile_accuracy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("reconcile_accuracy", module)
    spec.loader.exec_module(module)
    return module


def test_realistic_batch_top1_accuracy(repo_live_url: str) -> None:
    """A few hundred names built from the sources (MOE list, ROR), in mixed forms.

    Thresholds: the service measured 0.998 top-1 by name (413/414; the miss is a
    paragraph ROR lists as an alias) and 1.0 with the province; 0.95 keeps a margin
    for data changes but fails if one form stops working (losing the
    traditional-character conversion alone costs 0.14, full-width 0.05).
    ``match: true`` must be right (precision ≥ 0.99) and never fire on the
    non-medical negatives.
    """
    bench = _bench()
    cases = bench.build_cases(ROOT)
    assert bench.batch_csv(cases) == bench.BATCH.read_text("utf-8"), (
        "tests/data/reconcile/batch.csv is stale: "
        "run python bench/reconcile_accuracy.py --write-batch"
    )
    assert len(cases) >= 300
    assert len({c.form for c in cases}) >= 10
    report = bench.measure(cases, bench.http_sender(repo_live_url))
    bench.write_results(report)
    by_name, with_province = report["by_name"], report["with_province"]
    print(
        f"\nreconcile top-1 accuracy: {by_name['top1_accuracy']:.4f} by name "
        f"({by_name['top1_correct']}/{by_name['positives']}), "
        f"{with_province['top1_accuracy']:.4f} with province; match precision "
        f"{by_name['match_precision']}, recall {by_name['match_recall']}; "
        f"{report['seconds']} s"
    )
    assert by_name["top1_accuracy"] >= 0.95, by_name["misses"]
    assert with_province["top1_accuracy"] >= 0.95, with_province["misses"]
    for form, accuracy in by_name["by_form"].items():
        if form != "moe-en-machine":  # machine translations: best effort
            assert accuracy >= 0.9, form
    assert by_name["match_precision"] >= 0.99, by_name["wrong_matches"]
    assert by_name["false_matches_on_negatives"] == 0


# --- every name form, scores with features (issue 16) ---------------------------------
JZMU = "id/institution/4121010160"  # 锦州医科大学, formerly 辽宁医学院 (ROR aliases)
AHUTCM = "id/institution/4134010369"  # 安徽中医药大学
XZMU = (
    "id/institution/4132010313"  # 徐州医科大学 (ROR's pinyin alias Xúzhōu yī xuéyuàn)
)
NCST = "id/institution/4113010081"  # 华北理工大学; ROR 006hksj32 is its predecessor

#: The issue's name forms that missed, and what they must find first, as a match.
NAME_FORMS = {
    # an English name of an institution ROR was linked to
    "Anhui University of Traditional Chinese Medicine": AHUTCM,
    # former names, English and Chinese
    "Liaoning Medical University": JZMU,
    "辽宁医学院": JZMU,
    # ROR's pinyin aliases, with and without tone marks
    "Xúzhōu yī xuéyuàn": XZMU,
    "xuzhou yi xueyuan": XZMU,
    "Ānhuī Zhōngyī xuéyuàn": AHUTCM,
    # traditional characters
    "錦州醫科大學": JZMU,
    # the name of a record ROR lists as a predecessor
    "North China Coal Medical University": NCST,
}


def test_every_name_form_finds_its_institution_as_a_match(repo_live_url: str) -> None:
    queries = list(NAME_FORMS)
    answer = post_queries(
        repo_live_url, {f"q{i}": {"query": q} for i, q in enumerate(queries)}
    )
    for i, query in enumerate(queries):
        best = top(answer, f"q{i}")
        assert (best["id"], best["match"]) == (NAME_FORMS[query], True), query


def test_candidates_carry_their_features_and_why(repo_live_url: str) -> None:
    answer = post_queries(
        repo_live_url,
        {
            # no source spells it so: the pinyin of 首都医科大学
            "q0": {"query": "Shoudu Yike Daxue", "type": "MedicalEducationInstitution"},
            "q1": {
                "query": "Capital Medical University",
                "properties": [{"pid": "moeCode", "v": "4111010025"}],
            },
        },
    )
    pinyin = top(answer, "q0")
    features = {f["id"]: f["value"] for f in pinyin["features"]}
    assert features["name"] == 97.0  # the same pinyin (mededkg.matching.similarity)
    assert features["type"] is True and features["unique"] is True
    assert "read the same in pinyin" in pinyin["description"]
    by_code = {f["id"]: f["value"] for f in top(answer, "q1")["features"]}
    assert by_code["identifier"] is True and by_code["properties"] == 100.0
    assert "an identifier the query gives" in top(answer, "q1")["description"]
    others = answer["q0"]["result"][1:]
    assert others and all(
        {"id": "unique", "value": False} in c["features"] for c in others
    )


def test_no_match_when_the_top_is_not_unambiguous() -> None:
    base = "https://example.org/"
    rows = [
        Statement(base + "a", RDFS + "label", "湖北医学院", "zh"),
        Statement(base + "b", RDFS + "label", "湖北医学院", "zh"),
        Statement(base + "c", RDFS + "label", "湖南医学院", "zh"),
    ]
    index = Index.build(base, rows, [], [])
    found = index.reconcile(Query(text="湖北医学院"))
    assert [c.score for c in found[:2]] == [100.0, 100.0]
    assert not any(c.match for c in found)
    assert all(c.features["unique"] is False for c in found)
    alone = index.reconcile(Query(text="湖南医学院"))
    assert alone[0].match and alone[0].features["unique"] is True


def test_preview_says_why_a_candidate_was_chosen(repo_live_url: str) -> None:
    response = requests.get(
        f"{repo_live_url}/reconcile/preview",
        params={"id": JZMU, "q": "Liaoning Medical University"},
        timeout=30,
    )
    assert response.status_code == 200
    html = response.text
    assert "Liaoning Medical University" in html and "score 100.0" in html
    assert "an alias or former name" not in html  # the query names the entity itself
    assert "equals" in html and "<script" not in html.lower()
    other = requests.get(
        f"{repo_live_url}/reconcile/preview",
        params={"id": JZMU, "q": "中央音乐学院"},
        timeout=30,
    )
    assert "not a candidate for this text" in other.text


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("shoudu", CCMU), ("Shǒudū yīkē", CCMU), ("首都醫科", CCMU), ("xuzhouyike", XZMU)],
)
def test_suggest_finds_names_by_pinyin_and_traditional_characters(
    repo_live_url: str, prefix: str, expected: str
) -> None:
    response = requests.get(
        f"{repo_live_url}/reconcile/suggest/entity",
        params={"prefix": prefix},
        timeout=30,
    )
    assert response.status_code == 200
    payload = response.json()
    validate("suggest-entities-response", payload)
    assert expected in [r["id"] for r in payload["result"][:3]], prefix


def test_every_institution_of_the_moe_list_is_reconciled(repo_live_url: str) -> None:
    # 中国人民大学 is on the MOE list but not a medical institution: by name it is
    # found, with the medical types asked for it is not a match.
    answer = post_queries(
        repo_live_url,
        {
            "q0": {"query": "中国人民大学"},
            "q1": {"query": "中国人民大学", "type": "MedicalEducationInstitution"},
        },
    )
    best = top(answer, "q0")
    assert best["id"] == "id/institution/4111010002" and best["match"]
    assert best["type"][0]["id"] == "HigherEducationInstitution"
    assert not any(c["match"] for c in answer["q1"]["result"])
