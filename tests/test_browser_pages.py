"""The pages in a real browser (Debian Chromium) over the real graph: home,
institutions, resource pages and their links, the language switch, phone width; and a
resource IRI's Turtle by content negotiation."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from playwright.sync_api import Page, ViewportSize, expect
from rdflib import Graph, URIRef

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.server

Shot = Callable[[Page, str], Path]
BASE = "https://w3id.org/mededkg/"
PHONE: ViewportSize = {"width": 375, "height": 812}
AFFILIATED = """
PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
SELECT ?institution ?hospital WHERE {
  ?institution a mededkg:MedicalEducationInstitution ; mededkg:hasAffiliate ?hospital .
  ?hospital a mededkg:Hospital .
} ORDER BY ?institution ?hospital LIMIT 1
"""


def local(url: str, iri: str) -> str:
    """The address on the test server of a resource IRI under the base IRI."""
    assert iri.startswith(BASE), iri
    return f"{url}/{iri[len(BASE) :]}"


@pytest.fixture(scope="module")
def affiliation(repo_live_url: str) -> tuple[str, str]:
    """An institution of the real graph with an affiliated hospital: (IRI, IRI)."""
    (row,) = _select(repo_live_url, AFFILIATED)
    return row["institution"], row["hospital"]


def _select(url: str, query: str) -> list[dict[str, str]]:
    """The rows of a SELECT sent to the live server's ``/sparql``: ``{var: value}``."""
    response = requests.post(
        f"{url}/sparql",
        data={"query": query},
        headers={"Accept": "application/sparql-results+json"},
        timeout=30,
    )
    response.raise_for_status()
    return [
        {var: binding["value"] for var, binding in row.items()}
        for row in response.json()["results"]["bindings"]
    ]


def test_home_page(page: Page, repo_live_url: str, screenshot: Shot) -> None:
    page.goto(f"{repo_live_url}/")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator(".lang-switch a")).to_have_count(2)
    screenshot(page, "home")
    page.locator("#nav-query").click()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")


def test_institution_page_and_affiliated_hospital(
    page: Page,
    repo_live_url: str,
    affiliation: tuple[str, str],
    screenshot: Shot,
) -> None:
    institution, hospital = affiliation
    # the institutions that teach medicine fit on one page of the table
    page.goto(f"{repo_live_url}/institutions?teaches=yes")
    table = page.locator("#institutions-table")
    expect(table.locator("tbody tr").first).to_be_visible()
    screenshot(page, "institutions")

    table.locator(f'tr[data-iri="{institution}"] a').first.click()
    expect(page).to_have_url(local(repo_live_url, institution))
    links = page.locator("a.affiliated-hospital")
    expect(links.first).to_be_visible()
    screenshot(page, "institution")

    target = page.locator(f'a.affiliated-hospital[href$="{hospital[len(BASE) :]}"]')
    target.first.click()
    expect(page).to_have_url(local(repo_live_url, hospital))
    expect(page.locator("h1")).to_be_visible()
    screenshot(page, "hospital")


def test_language_switch(page: Page, repo_live_url: str, screenshot: Shot) -> None:
    page.goto(f"{repo_live_url}/")
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^en"))
    page.locator('.lang-switch a[hreflang="zh"]').click()
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^zh"))
    expect(page.locator("#nav-dataset")).to_have_text("数据集")
    screenshot(page, "home-zh")

    # The choice follows the visitor (cookie), the query editor included.
    page.goto(f"{repo_live_url}/query")
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^zh"))
    expect(page.locator("#query-app h1")).to_have_text("SPARQL 查询编辑器")
    expect(page.locator("#label-lang")).to_have_value("zh")
    screenshot(page, "query-zh")

    page.locator('.lang-switch a[hreflang="en"]').click()
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^en"))
    expect(page.locator("#query-app h1")).to_have_text("SPARQL query editor")


@pytest.mark.parametrize(
    "path", ["/", "/institutions", "/query"], ids=["home", "institutions", "query"]
)
def test_phone_width(
    page: Page, repo_live_url: str, path: str, screenshot: Shot
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{repo_live_url}{path}")
    expect(page.locator("main")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, "phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width} px wide on a phone"


def test_resource_iri_gives_turtle(
    repo_live_url: str, affiliation: tuple[str, str]
) -> None:
    institution, hospital = affiliation
    response = requests.get(
        local(repo_live_url, institution),
        headers={"Accept": "text/turtle"},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    subject = URIRef(institution)
    assert (subject, None, None) in graph
    assert (subject, URIRef(BASE + "ontology#hasAffiliate"), URIRef(hospital)) in graph


def test_pages_link_an_icon(repo_live_url: str) -> None:
    """Without one, browsers ask for /favicon.ico and log its 404 as a console error."""
    html = requests.get(f"{repo_live_url}/", timeout=30).text
    match = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', html)
    assert match, "the layout links no icon"
    icon = requests.get(urljoin(f"{repo_live_url}/", match.group(1)), timeout=30)
    assert icon.status_code == 200


@pytest.mark.parametrize(
    ("path", "hook"),
    [
        ("/disciplines?edition=2022", "#discipline-tree"),
        ("/disciplines/timeline?category=10", "#discipline-timeline"),
        ("/degrees", "#masters-compared"),
        ("/downloads", "#downloads-table"),
        ("/sparql", "pre.rdf"),
        ("/.well-known/void", "pre.rdf"),
        ("/ontology", "h1"),
    ],
    ids=[
        "disciplines",
        "timeline",
        "degrees",
        "downloads",
        "service-description",
        "void",
        "ontology",
    ],
)
def test_every_page_shows_data_in_both_languages(
    page: Page, repo_live_url: str, screenshot: Shot, path: str, hook: str
) -> None:
    page.goto(f"{repo_live_url}{path}")
    expect(page.locator(hook).first).to_be_visible()
    expect(page.locator(".lang-switch a")).to_have_count(2)
    english_nav = page.locator("nav.site-nav").inner_text()
    screenshot(page, "en")
    page.locator(".lang-switch a", has_text="中文").click()
    expect(page.locator(hook).first).to_be_visible()
    assert page.locator("nav.site-nav").inner_text() != english_nav
    screenshot(page, "zh")


def test_the_timeline_follows_clinical_medicine_across_editions(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    # From the catalogue page to the timeline of medicine: 1002 临床医学 is in every
    # edition's column, unchanged since the earliest edition the graph holds.
    page.goto(f"{repo_live_url}/disciplines?edition=2022")
    page.locator("#timeline-link").click()
    expect(page.locator("#discipline-timeline")).to_be_visible()
    editions = page.locator("#discipline-timeline thead th").all_inner_texts()
    assert editions == ["1997", "2011-2018", "2022"]
    row = page.locator('#discipline-timeline tr.lineage[data-code="1002"]')
    expect(row).to_have_count(1)
    cells = row.locator("td.cell")
    expect(cells).to_have_count(3)
    for i, edition in enumerate(editions):
        cell = cells.nth(i)
        expect(cell).to_have_attribute("data-edition", edition)
        expect(cell).to_have_attribute("data-code", "1002")
        expect(cell.locator("a")).to_have_text("临床医学")
    expect(cells.nth(1)).to_have_class(re.compile(r"\bsame\b"))
    screenshot(page, "medicine")
    page.locator("#timeline-category").select_option("08")
    page.locator(".timeline-category button").click()
    expect(page).to_have_url(re.compile(r"category=08"))
    expect(
        page.locator('#discipline-timeline tr.lineage[data-code="08"]')
    ).to_have_count(1)


PROVINCES_WITH_INSTITUTIONS = """
PREFIX mededkg: <https://w3id.org/mededkg/ontology#>
SELECT DISTINCT ?province WHERE {
  ?org a mededkg:HigherEducationInstitution ; mededkg:province ?province .
  FILTER(LANGMATCHES(LANG(?province), "zh"))
}
"""


def test_home_page_maps_institutions_per_province(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    """The choropleth shades one boundary per province that has institutions, each
    named with a province of the graph, once; the bars stay beside it."""
    provinces = {
        row["province"] for row in _select(repo_live_url, PROVINCES_WITH_INSTITUTIONS)
    }
    assert len(provinces) > 25

    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{repo_live_url}/")
    expect(page.locator("#province-map")).to_have_attribute("data-ready", "true")
    areas = page.locator("#province-map path.map-area")
    expect(areas).to_have_count(len(provinces))
    shown = [areas.nth(i).get_attribute("data-province") for i in range(areas.count())]
    assert sorted(p or "" for p in shown) == sorted(provinces)
    expect(page.locator("#province-map-legend .swatch")).to_have_count(5)
    expect(page.locator("#chart-provinces svg.bars")).to_be_visible()
    assert not [u for u in requested if not u.startswith(repo_live_url)]
    screenshot(page, "map")
