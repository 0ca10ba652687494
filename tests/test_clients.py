"""Real SPARQL clients against a live server over the real graph agree with the engine.

Every competency query (``queries/cq*.rq``, parameters left unbound: each is optional)
runs four ways — the CLI's engine on the store directly, SPARQLWrapper (JSON results),
rdflib's ``SPARQLStore`` (XML results) and Rasqal's ``roqet`` over the protocol (its
own HTTP stack and parser; Debian package ``rasqal-utils``) — and every client must
return the same multiset of rows as the engine. Terms are compared in one canonical
text form, so the results formats' different spellings of the same literal do not
matter, and blank nodes compare equal to each other (their labels are not stable).
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

import pyoxigraph as ox
import pytest
import requests
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import ResultRow
from rdflib.term import Node
from SPARQLWrapper import JSON, SPARQLWrapper

from mededkg.query.gate import Limits, SelectResult, execute
from mededkg.query.namedqueries import NamedQuery, named_queries
from mededkg.resources import default_root, queries_dir
from mededkg.settings import Config
from mededkg.storage import EmbeddedStore

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ROQET = "roqet"

Row = tuple[tuple[str, str], ...]
"""One solution: (variable, canonical term) pairs of its bound variables, sorted."""

COMPETENCY_QUERIES: list[NamedQuery] = [
    query
    for name, query in named_queries(queries_dir(default_root())).items()
    if name.startswith("cq")
]


# --- one canonical text form per term -----------------------------------------------
def canonical(kind: str, value: str, *, language: str = "", datatype: str = "") -> str:
    """The text form of a term, the same whatever results format carried it.

    >>> canonical("literal", "a", datatype="http://www.w3.org/2001/XMLSchema#string")
    '"a"'
    >>> canonical("literal", "医", language="ZH"), canonical("bnode", "b0")
    ('"医"@zh', '_:')
    """
    if kind == "uri":
        return f"<{value}>"
    if kind == "bnode":
        return "_:"
    if language:
        return f'"{value}"@{language.lower()}'
    if datatype and datatype != XSD_STRING:
        return f'"{value}"^^<{datatype}>'
    return f'"{value}"'


def _row(pairs: Iterator[tuple[str, str]]) -> Row:
    return tuple(sorted(pairs))


def _oxigraph_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
    if isinstance(term, ox.NamedNode):
        return canonical("uri", term.value)
    if isinstance(term, ox.BlankNode):
        return canonical("bnode", term.value)
    return canonical(
        "literal",
        term.value,
        language=term.language or "",
        datatype=term.datatype.value,
    )


def _rdflib_term(term: Node) -> str:
    if isinstance(term, URIRef):
        return canonical("uri", str(term))
    if isinstance(term, BNode):
        return canonical("bnode", str(term))
    assert isinstance(term, Literal), term
    return canonical(
        "literal", str(term), language=term.language or "", datatype=term.datatype or ""
    )


def _json_term(binding: Mapping[str, str]) -> str:
    kind = "literal" if binding["type"] == "typed-literal" else binding["type"]
    return canonical(
        kind,
        binding["value"],
        language=binding.get("xml:lang", ""),
        datatype=binding.get("datatype", ""),
    )


def _xml_term(binding: ET.Element) -> str:
    term = binding[0]
    kind = term.tag.removeprefix(RESULTS_NS)
    return canonical(
        kind,
        term.text or "",
        language=term.get(XML_LANG, ""),
        datatype=term.get("datatype", ""),
    )


# --- the four clients ---------------------------------------------------------------
def engine_rows(config: Config, query: NamedQuery) -> Counter[Row]:
    """The CLI's engine (:func:`mededkg.query.execute`) on the built store."""
    store = EmbeddedStore.open(config.store_path)
    limits = Limits(config.query_timeout, config.result_limit, config.service_allowlist)
    result = execute(store, query.text, limits=limits)
    assert isinstance(result, SelectResult) and not result.truncated
    return Counter(
        _row(
            (var, _oxigraph_term(term))
            for var, term in zip(result.variables, row, strict=True)
            if term is not None
        )
        for row in result.rows
    )


def sparqlwrapper_rows(endpoint: str, query: NamedQuery) -> Counter[Row]:
    """SPARQLWrapper, asking for SPARQL JSON results."""
    client = SPARQLWrapper(endpoint)
    client.setQuery(query.text)
    client.setReturnFormat(JSON)
    payload = client.queryAndConvert()
    assert isinstance(payload, dict)
    return Counter(
        _row((var, _json_term(binding)) for var, binding in solution.items())
        for solution in payload["results"]["bindings"]
    )


def sparqlstore_rows(endpoint: str, query: NamedQuery) -> Counter[Row]:
    """rdflib's ``SPARQLStore`` (SPARQL XML results, rdflib's own parser)."""
    graph = Graph(SPARQLStore(endpoint))
    solutions = [row for row in graph.query(query.text) if isinstance(row, ResultRow)]
    return Counter(
        _row(
            (var, _rdflib_term(term))
            for var, term in solution.asdict().items()
            if term is not None
        )
        for solution in solutions
    )


def roqet_rows(endpoint: str, query: NamedQuery) -> Counter[Row]:
    """Rasqal's ``roqet`` sending the query over the protocol, writing SPARQL XML."""
    program = shutil.which(ROQET)
    assert program, "roqet is missing: apt-get install -y rasqal-utils"
    completed = subprocess.run(
        [program, "-q", "-p", endpoint, "-e", query.text, "-r", "xml"],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr.decode("utf-8", "replace")
    root = ET.fromstring(completed.stdout)
    return Counter(
        _row(
            (binding.get("name", ""), _xml_term(binding))
            for binding in result.iter(RESULTS_NS + "binding")
            if binding[0].tag != RESULTS_NS + "unbound"  # roqet writes <unbound/>
        )
        for result in root.iter(RESULTS_NS + "result")
    )


CLIENTS: dict[str, Callable[[str, NamedQuery], Counter[Row]]] = {
    "sparqlwrapper": sparqlwrapper_rows,
    "sparqlstore": sparqlstore_rows,
    "roqet": roqet_rows,
}


@pytest.fixture(scope="module")
def engine_answers(repo_config: Config) -> dict[str, Counter[Row]]:
    """The engine's rows of every competency query, computed once."""
    return {query.name: engine_rows(repo_config, query) for query in COMPETENCY_QUERIES}


def test_every_competency_query_is_covered() -> None:
    names = sorted(p.stem for p in queries_dir(default_root()).glob("cq*.rq"))
    assert names == [q.name for q in COMPETENCY_QUERIES] and names


@pytest.mark.server
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    "query", COMPETENCY_QUERIES, ids=[q.name for q in COMPETENCY_QUERIES]
)
def test_client_gets_the_engines_rows(
    client: str,
    query: NamedQuery,
    repo_live_url: str,
    engine_answers: dict[str, Counter[Row]],
) -> None:
    rows = CLIENTS[client](repo_live_url + "/sparql", query)
    expected = engine_answers[query.name]
    missing, extra = expected - rows, rows - expected
    assert not missing and not extra, (
        f"{client} differs from the engine on {query.name}: "
        f"missing {list(missing.items())[:3]}, extra {list(extra.items())[:3]}"
    )


def test_canonical_forms_agree_across_results_formats() -> None:
    """The same literal spelt by JSON, XML and pyoxigraph has one canonical form."""
    lang = ox.Literal("医学", language="zh")
    typed = ox.Literal(
        "7", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#int")
    )
    plain = ox.Literal("x")
    xml = ET.fromstring(
        f'<binding xmlns="{RESULTS_NS[1:-1]}"><literal xml:lang="zh">医学</literal>'
        "</binding>"
    )
    assert _oxigraph_term(lang) == _json_term(
        {"type": "literal", "value": "医学", "xml:lang": "zh"}
    )
    assert _oxigraph_term(lang) == _xml_term(xml) == _rdflib_term(Literal("医学", "zh"))
    assert _oxigraph_term(typed) == _json_term(
        {"type": "typed-literal", "value": "7", "datatype": typed.datatype.value}
    )
    assert _oxigraph_term(plain) == _rdflib_term(Literal("x")) == '"x"'


@pytest.mark.server
@pytest.mark.parametrize(
    "accept",
    [
        "application/sparql-results+json; charset=utf-8",
        "application/sparql-results+xml;charset=UTF-8, text/plain;q=0.1",
    ],
)
def test_accept_with_a_charset_parameter_gets_that_format(
    accept: str, repo_live_url: str
) -> None:
    response = requests.get(
        repo_live_url + "/sparql",
        params={"query": "ASK { ?s ?p ?o }"},
        headers={"Accept": accept},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    media_type = response.headers["Content-Type"].split(";")[0]
    assert media_type == accept.split(";")[0]
