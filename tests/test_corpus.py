"""Bad-input corpus: every hostile or malformed input gets a 4xx (HTTP) or a clear
error with exit code 2 (CLI), never a 500 or a stack trace, and the server still
answers a health probe afterwards. Each item's time is recorded (the slowest is in
the printed summary), never asserted: a wall-clock bound fails on a loaded machine.

The items come from the files in ``tests/corpus/`` (malformed SPARQL written from the
SPARQL 1.1 grammar, hostile RDF uploads) and from generators below (mutations of
valid queries and documents, protocol abuse, hostile files for ``build --add`` and
``import programmes``). ``MEDEDKG_CORPUS_FULL=1`` (``bench/corpus.py``) runs every
CLI item as its own process; CI runs a sample of them as processes and the rest
in-process through Click's runner.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from click.testing import CliRunner

from mededkg.cli import main as cli_main
from mededkg.query.sandbox import QueryPool
from mededkg.settings import Config
from tests.conftest import FIXTURE_ROOT, _serve, make_config, private_store
from tests.test_safety import Canary
from webapp import create_app
from webapp.context import app_state

CORPUS = Path(__file__).parent / "corpus"
TOKEN = "corpus-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FULL = os.environ.get("MEDEDKG_CORPUS_FULL") == "1"
LEAKS = ("Traceback", 'File "', "site-packages", "/work/")
SEED = 20240601
M = "https://w3id.org/mededkg/ontology#"

#: Known defects the corpus found in code this suite does not own; each item fails
#: today and is expected to (strict xfail), so a fix turns it into a pass to remove.
KNOWN: dict[str, str] = {}


@dataclass(frozen=True)
class HttpItem:
    """One request that must be answered 4xx."""

    group: str
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    raw: bytes | None = None  # sent as-is on a socket (malformed HTTP)

    @property
    def id(self) -> str:
        return f"{self.group}:{self.name}"


@dataclass(frozen=True)
class CliItem:
    """One CLI run over hostile files that must exit 2 with a clear message."""

    name: str
    args: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    special: str = ""  # "fifo", "dev-zero", "dir": a non-regular file named like RDF


# --- malformed SPARQL --------------------------------------------------------------
def syntax_bad_queries() -> list[tuple[str, str]]:
    """The hand-written malformed queries of ``sparql-syntax-bad.rq``."""
    text = (CORPUS / "sparql-syntax-bad.rq").read_text(encoding="utf-8")
    blocks = text.split("\n#@ ")[1:]
    return [(b.partition("\n")[0], b.partition("\n")[2].rstrip("\n")) for b in blocks]


SEEDS = (
    "SELECT ?s ?label WHERE { ?s a <https://w3id.org/mededkg/ontology#Hospital> ; "
    '<http://www.w3.org/2000/01/rdf-schema#label> ?label FILTER(LANG(?label) = "en") '
    "} ORDER BY ?s LIMIT 10",
    "PREFIX m: <https://w3id.org/mededkg/ontology#> SELECT ?type (COUNT(?i) AS ?n) "
    "WHERE { ?i a ?type } GROUP BY ?type HAVING (COUNT(?i) > 0) ORDER BY DESC(?n)",
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 5",
    'ASK { ?s <http://www.w3.org/2000/01/rdf-schema#label> "Example Hospital"@en }',
    "SELECT * WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?r } MINUS { ?s a ?t } } LIMIT 3",
    "SELECT ?x WHERE { VALUES (?x ?y) { (1 2) (3 4) } BIND(?x + ?y AS ?z) }",
    "DESCRIBE <https://w3id.org/mededkg/id/organization/ror-example>",
    'SELECT (GROUP_CONCAT(DISTINCT ?l; separator="|") AS ?all) WHERE { ?s '
    "<http://www.w3.org/2000/01/rdf-schema#label> ?l } ",
    "SELECT ?s WHERE { ?s (<http://e/p>/^<http://e/q>)* ?o . FILTER "
    "(REGEX(STR(?o), '^a', 'i')) }",
    "SELECT ?a WHERE { { SELECT ?a WHERE { ?a ?b ?c } LIMIT 2 } UNION { ?a ?b "
    '"x"^^<http://www.w3.org/2001/XMLSchema#string> } }',
)
_NOISE = "{}()[]<>\"'.;,?$^|!*+/\\#@:_-=&"


def _rejects(query: str) -> bool:
    try:
        ox.Store().query(
            query, base_iri="http://127.0.0.1/sparql", use_default_graph_as_union=True
        )
    except SyntaxError:
        return True
    except (ValueError, OSError):
        return False
    return False


def mutated_queries(count: int) -> list[tuple[str, str]]:
    """*count* malformed queries made by cutting, deleting and inserting characters
    in valid seed queries (seeded, so the corpus is the same on every run); only
    mutants the SPARQL parser rejects are kept."""
    rng = random.Random(SEED)
    out: dict[str, str] = {}
    attempts = 0
    while len(out) < count and attempts < count * 50:
        attempts += 1
        seed_no = rng.randrange(len(SEEDS))
        query = SEEDS[seed_no]
        kind = rng.choice(("cut", "delete", "insert", "swap", "double"))
        at = rng.randrange(1, len(query))
        if kind == "cut":
            mutant = query[:at]
        elif kind == "delete":
            mutant = query[:at] + query[at + 1 + rng.randrange(3) :]
        elif kind == "insert":
            mutant = query[:at] + rng.choice(_NOISE) + query[at:]
        elif kind == "swap":
            mutant = query[:at] + query[at + 1 : at + 2] + query[at] + query[at + 2 :]
        else:
            mutant = query + " " + query[:at]
        if mutant not in out.values() and _rejects(mutant):
            out[f"seed{seed_no}-{kind}-{at}-{len(out)}"] = mutant
    return list(out.items())


def sparql_items() -> list[HttpItem]:
    """Malformed queries over the three query transports of the protocol."""
    items = []
    for name, query in syntax_bad_queries():
        items += _query_transports("sparql-spec", name, query)
    for name, query in mutated_queries(360):
        items.append(
            HttpItem("sparql-mutant", name, "GET", "/sparql?" + _qs(query=query))
        )
    return items


def _query_transports(group: str, name: str, query: str) -> list[HttpItem]:
    body = query.encode("utf-8")
    return [
        HttpItem(group, f"{name}/get", "GET", "/sparql?" + _qs(query=query)),
        HttpItem(
            group,
            f"{name}/form",
            "POST",
            "/sparql",
            {"Content-Type": "application/x-www-form-urlencoded"},
            _qs(query=query).encode(),
        ),
        HttpItem(
            group,
            f"{name}/direct",
            "POST",
            "/sparql",
            {"Content-Type": "application/sparql-query"},
            body,
        ),
    ]


def _qs(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


# --- protocol abuse ------------------------------------------------------------------
READ_PATHS = (
    "/sparql",
    "/api/queries",
    "/api/queries/hospitals",
    "/api/openapi.json",
    "/.well-known/void",
)
WRITE_PATHS = ("/update", "/graph-store?default", "/graph-store?graph=http://e/g")
ASK = "ASK {}"


def protocol_items() -> list[HttpItem]:
    """Wrong methods, content types, sizes, encodings and parameters."""
    items: list[HttpItem] = []
    add = items.append
    for path in READ_PATHS:
        for method in ("PUT", "DELETE", "PATCH", "PROPFIND", "FOO"):
            add(HttpItem("method", f"{method}{path}", method, path, body=b"x"))
    for path in WRITE_PATHS:
        for method in ("PATCH", "PROPFIND", "FOO"):
            add(HttpItem("method", f"{method}{path}", method, path, AUTH, b"x"))
    add(HttpItem("method", "GET/update", "GET", "/update", AUTH))
    for ctype in (
        "text/plain",
        "application/json",
        "application/xml",
        "text/turtle",
        "application/sparql-update",
        "application/sparql-results+json",
        "application/octet-stream",
        "image/png",
        "",
        "application/sparql-query; charset=latin1",
        "application/sparql-query; charset=utf-16",
        "application/sparql-query; charset=ebcdic-cp-us",
    ):
        add(
            HttpItem(
                "content-type",
                f"sparql/{ctype or 'none'}",
                "POST",
                "/sparql",
                {"Content-Type": ctype},
                ASK.encode(),
            )
        )
    for ctype in ("text/plain", "application/json", "text/turtle", ""):
        add(
            HttpItem(
                "content-type",
                f"update/{ctype or 'none'}",
                "POST",
                "/update",
                {**AUTH, "Content-Type": ctype},
                b"CLEAR GRAPH <http://e/none>",
            )
        )
    add(
        HttpItem(
            "content-type",
            "update/latin1",
            "POST",
            "/update",
            {**AUTH, "Content-Type": "application/sparql-update; charset=latin1"},
            b"CLEAR GRAPH <http://e/none>",
        )
    )
    for size in (1024 * 1024 + 1, 3 * 1024 * 1024):
        pad = b"ASK {} #" + b"x" * size
        for path, ctype, auth in (
            ("/sparql", "application/sparql-query", {}),
            ("/sparql", "application/x-www-form-urlencoded", {}),
            ("/update", "application/sparql-update", AUTH),
            ("/graph-store?graph=http://e/big", "text/turtle", AUTH),
            ("/api/queries/hospitals", "application/x-www-form-urlencoded", {}),
        ):
            method = "PUT" if "graph-store" in path else "POST"
            add(
                HttpItem(
                    "huge-body",
                    f"{size}{path}/{ctype}",
                    method,
                    path,
                    {**auth, "Content-Type": ctype},
                    pad,
                )
            )
    bad_utf8 = {
        "invalid-start-byte": b"ASK { ?s ?p '\xff' }",
        "overlong-slash": b"ASK { ?s ?p '\xc0\xaf' }",
        "encoded-surrogate": b"ASK { ?s ?p '\xed\xa0\x80' }",
        "truncated-sequence": b"ASK { ?s ?p '\xe4\xb8' }",
        "utf16-with-bom": "ASK {}".encode("utf-16"),
        "latin1-literal": "ASK { ?s ?p 'café' }".encode("latin-1"),
    }
    for name, body in bad_utf8.items():
        add(
            HttpItem(
                "encoding",
                f"direct/{name}",
                "POST",
                "/sparql",
                {"Content-Type": "application/sparql-query"},
                body,
            )
        )
        add(
            HttpItem(
                "encoding",
                f"update/{name}",
                "POST",
                "/update",
                {**AUTH, "Content-Type": "application/sparql-update"},
                body.replace(b"ASK {", b"INSERT DATA {"),
            )
        )
        add(
            HttpItem(
                "encoding",
                f"graph-store/{name}",
                "PUT",
                "/graph-store?graph=http://e/enc",
                {**AUTH, "Content-Type": "text/turtle"},
                b"<http://e/s> <http://e/p> " + body.split(b"'")[1:2][0]
                if b"'" in body
                else body,
            )
        )
    for name, raw_query in {
        "percent-ff": "%FF%FE",
        "percent-broken": "ASK%7B%7D%ZZ",
        "percent-truncated": "ASK%7",
        "percent-nul": "ASK%7B%00%7D",
        "plus-only": "+++",
    }.items():
        add(HttpItem("encoding", f"get/{name}", "GET", f"/sparql?query={raw_query}"))
        add(
            HttpItem(
                "encoding",
                f"form/{name}",
                "POST",
                "/sparql",
                {"Content-Type": "application/x-www-form-urlencoded"},
                f"query={raw_query}".encode(),
            )
        )
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    direct = {"Content-Type": "application/sparql-query"}
    params = [
        ("query-twice", "GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", {}, None),
        ("query-empty", "GET", "/sparql?query=", {}, None),
        ("query-blank", "GET", "/sparql?query=%20%0A%09", {}, None),
        ("form-without-query", "POST", "/sparql", form, b"format=json"),
        ("form-query-twice", "POST", "/sparql", form, b"query=ASK{}&query=ASK{}"),
        ("form-and-url-query", "POST", "/sparql?query=ASK{}", form, b"query=ASK{}"),
        ("direct-and-url-query", "POST", "/sparql?query=ASK{}", direct, b"ASK {}"),
        ("direct-empty", "POST", "/sparql", direct, b""),
        ("format-unknown", "GET", "/sparql?query=ASK%7B%7D&format=bogus", {}, None),
        ("format-rdf-for-ask", "GET", "/sparql?query=ASK%7B%7D&format=zip", {}, None),
        (
            "invalid-default-graph-uri",
            "GET",
            "/sparql?query=ASK%7B%7D&default-graph-uri=not%20an%20iri",
            {},
            None,
        ),
        (
            "invalid-named-graph-uri",
            "GET",
            "/sparql?query=ASK%7B%7D&named-graph-uri=%3Cx%3E%20y",
            {},
            None,
        ),
        ("accept-nothing-usable", "GET", "/sparql?query=ASK%7B%7D", {}, None),
        ("named-query-unknown", "GET", "/api/queries/nope", {}, None),
        (
            "named-query-traversal",
            "GET",
            "/api/queries/..%2F..%2Fetc%2Fpasswd",
            {},
            None,
        ),
        ("named-query-nul", "GET", "/api/queries/hosp%00itals", {}, None),
        ("named-query-unknown-param", "GET", "/api/queries/hospitals?x=1", {}, None),
        (
            "named-query-bad-iri",
            "GET",
            "/api/queries/hospitals?institution=not%20an%20iri",
            {},
            None,
        ),
        (
            "named-query-param-twice",
            "GET",
            "/api/queries/hospitals?institution=http://e/a&institution=http://e/b",
            {},
            None,
        ),
        (
            "named-query-format",
            "GET",
            "/api/queries/hospitals?format=bogus",
            {},
            None,
        ),
        ("update-without-token", "POST", "/update", {"Content-Type": "x"}, b""),
        (
            "update-twice",
            "POST",
            "/update",
            {**AUTH, **form},
            b"update=CLEAR+SILENT+GRAPH+<http://e/a>&update=CLEAR+SILENT+GRAPH+<http://e/b>",
        ),
        (
            "update-form-without-update",
            "POST",
            "/update",
            {**AUTH, **form},
            b"using-graph-uri=http://e/g",
        ),
        (
            "update-and-url-update",
            "POST",
            "/update?update=CLEAR+ALL",
            {**AUTH, "Content-Type": "application/sparql-update"},
            b"CLEAR SILENT GRAPH <http://e/none>",
        ),
        (
            "update-using-clash",
            "POST",
            "/update?using-graph-uri=http://e/g",
            {**AUTH, "Content-Type": "application/sparql-update"},
            b"DELETE { ?s ?p ?o } USING <http://e/h> WHERE { ?s ?p ?o }",
        ),
        (
            "update-load",
            "POST",
            "/update",
            {**AUTH, "Content-Type": "application/sparql-update"},
            b"LOAD <file:///etc/passwd> INTO GRAPH <http://e/g>",
        ),
        (
            "update-service",
            "POST",
            "/update",
            {**AUTH, "Content-Type": "application/sparql-update"},
            b"INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/s> "
            b"{ ?s ?p ?o } }",
        ),
        (
            "update-malformed",
            "POST",
            "/update",
            {**AUTH, "Content-Type": "application/sparql-update"},
            b"INSERT DATA { <http://e/a b> <http://e/p> 1 }",
        ),
        (
            "update-into-ontology",
            "POST",
            "/update",
            {**AUTH, "Content-Type": "application/sparql-update"},
            b"INSERT DATA { GRAPH <https://w3id.org/mededkg/graph/ontology> "
            b"{ <http://e/a> <http://e/p> 1 } }",
        ),
        (
            "gsp-graph-twice",
            "GET",
            "/graph-store?graph=http://e/a&graph=http://e/b",
            AUTH,
            None,
        ),
        (
            "gsp-graph-and-default",
            "GET",
            "/graph-store?graph=http://e/a&default",
            AUTH,
            None,
        ),
        ("gsp-relative-graph", "GET", "/graph-store?graph=relative", AUTH, None),
        (
            "gsp-graph-with-space",
            "GET",
            "/graph-store?graph=http://e/a%20b",
            AUTH,
            None,
        ),
        ("gsp-missing-graph", "GET", "/graph-store?graph=http://e/none", AUTH, None),
        ("gsp-no-target", "GET", "/graph-store", AUTH, None),
        ("gsp-put-no-target", "PUT", "/graph-store", AUTH, b""),
        ("gsp-file-graph", "GET", "/graph-store?graph=file:///etc/passwd", AUTH, None),
        (
            "gsp-direct-with-graph",
            "GET",
            "/graph-store/x?graph=http://e/a",
            AUTH,
            None,
        ),
        (
            "gsp-put-reserved",
            "PUT",
            "/graph-store?graph=https://w3id.org/mededkg/graph/shapes",
            {**AUTH, "Content-Type": "text/turtle"},
            b"<http://e/s> <http://e/p> <http://e/o> .",
        ),
        (
            "gsp-delete-reserved",
            "DELETE",
            "/graph-store?graph=https://w3id.org/mededkg/graph/inferred",
            AUTH,
            None,
        ),
        ("gsp-accept-nothing", "GET", "/graph-store?default", AUTH, None),
    ]
    for name, method, path, headers, body in params:
        headers = dict(headers)
        if name in ("accept-nothing-usable", "gsp-accept-nothing"):
            headers["Accept"] = "image/png"
        add(HttpItem("parameters", name, method, path, headers, body))
    for name, value in {
        "missing-scheme": TOKEN,
        "wrong-token": "Bearer wrong",
        "basic": f"Basic {TOKEN}",
        "empty-bearer": "Bearer ",
        "token-prefix": f"Bearer {TOKEN[:-1]}",
        "token-longer": f"Bearer {TOKEN}x",
        "token-lowercase-scheme-and-case": f"bearer {TOKEN.upper()}",
        "huge-token": "Bearer " + "x" * 6000,
        "two-tokens": f"Bearer wrong, Bearer {TOKEN}x",
    }.items():
        for path, method in (("/update", "POST"), ("/graph-store?default", "GET")):
            add(
                HttpItem(
                    "auth",
                    f"{name}{path}",
                    method,
                    path,
                    {
                        "Authorization": value,
                        "Content-Type": "application/sparql-update",
                    },
                    b"CLEAR ALL" if method == "POST" else None,
                )
            )
    raw = {
        "garbage-request-line": b"HELLO\r\n\r\n",
        "bad-http-version": b"GET /sparql?query=BROKEN HTTP/9.9\r\nHost: x\r\n\r\n",
        "header-without-colon": b"GET /sparql HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n",
        "bad-content-length": b"POST /sparql HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: -5\r\n\r\n",
        "two-content-lengths": b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: 1"
        b"\r\nContent-Length: 2\r\n\r\nab",
        "bad-chunked": b"POST /sparql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
        b"\r\nContent-Type: application/sparql-query\r\n\r\nZZ\r\nASK {}\r\n0\r\n\r\n",
        "huge-header": b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Big: "
        + b"a" * 300_000
        + b"\r\n\r\n",
        "nul-in-path": b"GET /spa\x00rql HTTP/1.1\r\nHost: x\r\n\r\n",
        "space-in-path": b"GET /sparql?query=ASK {} HTTP/1.1\r\nHost: x\r\n\r\n",
        "absolute-uri-elsewhere": b"GET http://127.0.0.2:9/sparql?query=x HTTP/1.1\r\n"
        b"Host: x\r\n\r\n",
    }
    for name, data in raw.items():
        add(HttpItem("raw-http", name, "RAW", "", raw=data))
    return items


# --- hostile RDF uploads ------------------------------------------------------------
VALID_DOCS = {
    "text/turtle": "@prefix e: <http://e/> .\n@prefix rdfs: "
    "<http://www.w3.org/2000/01/rdf-schema#> .\ne:s a e:Thing ; rdfs:label "
    '"名字"@zh , "name"@en ;\n  e:list ( 1 2 [ e:q "x" ] ) ; e:n "5"^^e:dt .\n',
    "application/n-triples": '<http://e/s> <http://e/p> "名字"@zh .\n<http://e/s> '
    '<http://e/q> _:b .\n_:b <http://e/r> "1"^^<http://e/dt> .\n',
    "application/rdf+xml": '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.'
    'w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">\n <rdf:Description '
    'rdf:about="http://e/s">\n  <e:p xml:lang="zh">名字</e:p>\n  <e:q rdf:'
    'parseType="Resource"><e:r>1</e:r></e:q>\n </rdf:Description>\n</rdf:RDF>\n',
    "application/ld+json": '{"@context": {"e": "http://e/"}, "@id": "e:s", "e:p": '
    '{"@value": "名字", "@language": "zh"}, "e:q": {"@list": [1, 2]}}',
}


def upload_bodies() -> list[tuple[str, str, bytes]]:
    """(name, content type, body) of hostile and malformed uploads."""
    items = [
        (item["name"], item["content_type"], item["body"].encode("utf-8"))
        for item in json.loads((CORPUS / "rdf-bad.json").read_text(encoding="utf-8"))
    ]
    depth = 100_000
    items += [
        ("jsonld-deeply-nested-objects", "application/ld+json",
         ('{"a":' * depth + "1" + "}" * depth).encode()),
        ("jsonld-deeply-nested-lists", "application/ld+json",
         ("[" * depth + "]" * depth).encode()),
        ("turtle-deeply-nested-blank-nodes-unclosed", "text/turtle",
         ("<http://e/s> <http://e/p> " + "[ <http://e/p> " * 20_000 + "1").encode()),
        ("turtle-deeply-nested-collections-unclosed", "text/turtle",
         ("<http://e/s> <http://e/p> " + "( " * 20_000 + ")" * 19_999 + " .").encode()),
        ("turtle-latin1-bytes", "text/turtle",
         '<http://e/s> <http://e/p> "café" .'.encode("latin-1")),
        ("turtle-utf16-bytes", "text/turtle",
         "<http://e/s> <http://e/p> <http://e/o> .".encode("utf-16")),
    ]  # fmt: skip
    for ctype, doc in VALID_DOCS.items():
        for at in range(1, len(doc), max(1, len(doc) // 25)):
            cut = doc[:at]
            if _parse_fails(cut, ctype):
                items.append(
                    (f"truncated-{ctype.split('/')[1]}-{at}", ctype, cut.encode())
                )
    bad_chars = (" ", "<", ">", '"', "{", "}", "|", "^", "`", "\\", "\n")
    for i, char in enumerate(bad_chars):
        for ctype, template in (
            ("text/turtle", "<http://e/a{c}b> <http://e/p> <http://e/o> ."),
            ("application/n-triples", "<http://e/s> <http://e/p{c}q> <http://e/o> ."),
            ("text/turtle", "<http://e/s> <http://e/p> <http://e/o{c}> ."),
        ):
            items.append(
                (f"iri-char-{i}-{ctype.split('/')[1]}-{template.index('{c}')}",
                 ctype, template.replace("{c}", char).encode())
            )  # fmt: skip
    return items


def _parse_fails(text: str, ctype: str) -> bool:
    fmt = {
        "text/turtle": ox.RdfFormat.TURTLE,
        "application/n-triples": ox.RdfFormat.N_TRIPLES,
        "application/rdf+xml": ox.RdfFormat.RDF_XML,
        "application/ld+json": ox.RdfFormat.JSON_LD,
    }[ctype]
    try:
        list(ox.parse(text.encode(), format=fmt, base_iri="http://e/"))
    except SyntaxError:
        return True
    except ValueError:
        return True
    return False


def upload_items() -> list[HttpItem]:
    """Each hostile body as a Graph Store PUT and POST, and as a multipart part."""
    items = []
    for name, ctype, body in upload_bodies():
        headers = {**AUTH, "Content-Type": ctype}
        graph = "/graph-store?graph=http://e/upload"
        items.append(HttpItem("upload", f"{name}/put", "PUT", graph, headers, body))
        items.append(HttpItem("upload", f"{name}/post", "POST", graph, headers, body))
    for name, ctype, body in upload_bodies()[:30]:
        boundary = "corpusboundary"
        part = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="f"; '
                f'filename="x"\r\nContent-Type: {ctype}\r\n\r\n'
            ).encode()
            + body
            + f"\r\n--{boundary}--\r\n".encode()
        )
        items.append(
            HttpItem(
                "upload",
                f"{name}/multipart",
                "POST",
                "/graph-store?graph=http://e/upload",
                {**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                part,
            )
        )
    return items


def http_items() -> list[HttpItem]:
    """Every HTTP item of the corpus."""
    return sparql_items() + protocol_items() + upload_items()


# --- hostile files for the CLI ------------------------------------------------------
SUFFIX = {
    "text/turtle": ".ttl",
    "application/n-triples": ".nt",
    "application/rdf+xml": ".rdf",
    "application/ld+json": ".jsonld",
}
CSV_HEADER = (
    "institution,programme_kind,discipline_code,catalogue_edition,degree_type,"
    "start_year,source_url,label_zh,label_en,note"
)
CSV_ROW = {
    "institution": "4111010025",
    "programme_kind": "clinical-medicine",
    "discipline_code": "100201",
    "catalogue_edition": "1997",
    "degree_type": "professional-master-of-medicine",
    "start_year": "2020",
    "source_url": "https://example.org/source",
    "label_zh": "示例",
    "label_en": "example",
    "note": "",
}


def _csv(row: dict[str, str], header: str = CSV_HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header.split(","))
    writer.writerow([row.get(c, "") for c in header.split(",")])
    return buffer.getvalue().encode("utf-8")


def cli_items() -> list[CliItem]:
    """Hostile files for ``build --add`` and ``import programmes``."""
    items = []
    for name, ctype, body in upload_bodies():
        if ctype not in SUFFIX:
            continue
        if not _parse_fails(body.decode("utf-8", "replace"), ctype) and not re.search(
            rb"<!\s*(DOCTYPE|ENTITY)", body, re.IGNORECASE
        ):
            continue  # valid RDF as a file (e.g. a NUL literal): not a hostile file
        body = body.replace(b"{canary}", b"http://127.0.0.1:9").replace(
            b"{canary_file}", b"file:///etc/hostname"
        )
        file = f"{name[:40]}{SUFFIX[ctype]}"
        items.append(
            CliItem(f"add-{name}", ("build", "-q", "--add", file), {file: body})
        )
    ttl = VALID_DOCS["text/turtle"].encode()
    items += [
        _add("add-missing-file", "missing.ttl"),
        _add("add-empty-folder", "folder", {"folder/": b""}),
        _add("add-unknown-suffix", "x.exe", {"x.exe": b"MZ"}),
        _add("add-fifo", "pipe.ttl", special="fifo"),
        _add("add-dev-zero", "zero.nt", special="dev-zero"),
        _add("add-dir-named-ttl", "d.ttl", special="dir"),
        _add("add-binary", "b.ttl", {"b.ttl": bytes(range(256))}),
        CliItem(
            "add-same-stem-twice",
            ("build", "-q", "--add", "a/x.ttl", "--add", "b/x.ttl"),
            {"a/x.ttl": ttl, "b/x.ttl": ttl},
        ),
    ]
    bad_values = {
        "institution": ["", "123", "4111010025; DROP", "<script>", "0" * 200],
        "programme_kind": ["", "surgery", "clinical-medicine\x00"],
        "discipline_code": ["", "1", "abcdef", "1002011", "10 20 01"],
        "catalogue_edition": ["", "1996", "２０２２", "1997.0"],
        "start_year": ["20x0", "-1", "9999999999999999999999", "1e3"],
        "source_url": ["not a url", "file:///etc/passwd", "javascript:alert(1)"],
    }
    for column, values in bad_values.items():
        for i, value in enumerate(values):
            row = {**CSV_ROW, column: value}
            items.append(_programmes(f"programmes-{column}-{i}", _csv(row)))
    items += [
        _programmes("programmes-empty", b""),
        _programmes("programmes-missing-columns", b"institution,label_en\n1,a\n"),
        _programmes("programmes-latin1", _csv({**CSV_ROW, "label_en": "café"})
                    .decode().encode("latin-1", "replace")),
        _programmes("programmes-utf16", _csv(CSV_ROW).decode().encode("utf-16")),
        _programmes("programmes-binary", bytes(range(256)) * 4),
        _programmes("programmes-nul-byte", _csv(CSV_ROW).replace(b"2020", b"20\x0020")),
        _programmes("programmes-json", b'{"institution": "4111010025"}'),
        CliItem("programmes-missing-file", ("import", "programmes", "none.csv", "-o",
                                            "out.ttl")),
        CliItem("programmes-folder", ("import", "programmes", "d", "-o", "out.ttl"),
                {"d/": b""}),
    ]  # fmt: skip
    return items


def _add(
    name: str, path: str, files: dict[str, bytes] | None = None, special: str = ""
) -> CliItem:
    return CliItem(name, ("build", "-q", "--add", path), files or {}, special)


def _programmes(name: str, data: bytes) -> CliItem:
    return CliItem(
        name, ("import", "programmes", "in.csv", "-o", "out.ttl"), {"in.csv": data}
    )


# --- running the items ---------------------------------------------------------------
class Tally:
    """Counts over the whole corpus run, printed (and saved) at the end."""

    def __init__(self) -> None:
        self.http = 0
        self.http_4xx = 0
        self.http_500 = 0
        self.cli = 0
        self.cli_exit_2 = 0
        self.slowest = 0.0
        self.statuses: dict[int, int] = {}
        self.known: list[str] = []
        self.known_http = 0
        self.known_http_4xx = 0
        #: the corpus servers' query pools: their workers that died on an item
        #: (killed at the time limit: not counted) must stay 0
        self.pools: list[QueryPool] = []

    def summary(self) -> dict[str, object]:
        tried = self.http + self.cli
        return {
            "items": tried,
            "http_items": self.http,
            "http_4xx": self.http_4xx,
            "http_4xx_rate": round(self.http_4xx / self.http, 4) if self.http else 0,
            "http_4xx_rate_without_known_defects": round(
                (self.http_4xx - self.known_http_4xx) / (self.http - self.known_http), 4
            )
            if self.http > self.known_http
            else 0,
            "http_500": self.http_500,
            "worker_crashes": sum(pool.crashes for pool in self.pools),
            "statuses": dict(sorted(self.statuses.items())),
            "cli_items": self.cli,
            "cli_exit_2": self.cli_exit_2,
            "slowest_seconds": round(self.slowest, 3),
            "known_defects": len(self.known),
            "known_defect_items": sorted(self.known),
        }


TALLY = Tally()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    """A loopback listener no item may ever reach."""
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def canary_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file no item may ever read (its content must never appear in an answer)."""
    path = tmp_path_factory.mktemp("canary") / "canary.txt"
    path.write_text("CANARY-FILE-CONTENT\n")
    return path


@pytest.fixture(scope="module")
def corpus_config(
    fixture_config: Config, tmp_path_factory: pytest.TempPathFactory
) -> Config:
    """Writes on, no rate limit, over a private copy of the fixture store."""
    folder = tmp_path_factory.mktemp("corpus")
    store_path = private_store(fixture_config, folder)
    return make_config(
        FIXTURE_ROOT,
        store_path,
        update_token=TOKEN,
        query_workers=2,
        query_timeout=2.0,
        rate_limit=0,
    )


@pytest.fixture(scope="module")
def corpus_url(corpus_config: Config) -> Iterator[str]:
    """A real waitress server over the corpus app; its worker crashes are tallied."""
    app = create_app(corpus_config)
    pool = app_state(app).pool
    assert pool is not None
    TALLY.pools.append(pool)
    yield from _serve(app)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def _send(
    http: requests.Session, base: str, item: HttpItem, subst: Callable[[bytes], bytes]
) -> tuple[int, bytes]:
    if item.raw is not None:
        return _send_raw(base, item.raw)
    response = http.request(
        item.method,
        base + item.path,
        headers=item.headers,
        data=subst(item.body) if item.body is not None else None,
        timeout=10,
    )
    return response.status_code, response.content


def _send_raw(base: str, data: bytes) -> tuple[int, bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        chunks = []
        # The server may answer (431, 413) and hang up before it has read everything:
        # sending then fails (EPIPE, ECONNRESET, ENOTCONN), its answer is still read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            try:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
            except OSError as error:
                if error.errno != errno.ENOTCONN:
                    raise
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass  # the server hung up on a request too large to read: refused
    reply = b"".join(chunks)
    status_line = reply.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        return 400, reply  # the server closed without a status line: refused
    return int(status_line[1]), reply


def _healthy(http: requests.Session, base: str) -> bool:
    response = http.get(base + "/sparql", params={"query": "ASK {}"}, timeout=5)
    return response.status_code == 200


def _marks(name: str) -> list[pytest.MarkDecorator]:
    for key, reason in KNOWN.items():
        if name.split("/")[0] == key:
            return [pytest.mark.xfail(strict=True, reason=reason)]
    return []


HTTP_ITEMS = http_items()


@pytest.mark.server
@pytest.mark.parametrize(
    "item",
    [pytest.param(i, id=i.id, marks=_marks(i.name)) for i in HTTP_ITEMS],
)
def test_bad_request_gets_4xx_and_server_stays_healthy(
    item: HttpItem,
    corpus_url: str,
    session: requests.Session,
    canary: Canary,
    canary_file: Path,
) -> None:
    def subst(body: bytes) -> bytes:
        return body.replace(
            b"{canary}", f"http://127.0.0.1:{canary.port}".encode()
        ).replace(b"{canary_file}", canary_file.as_uri().encode())

    start = time.monotonic()
    status, body = _send(session, corpus_url, item, subst)
    seconds = time.monotonic() - start
    TALLY.http += 1
    TALLY.statuses[status] = TALLY.statuses.get(status, 0) + 1
    TALLY.http_4xx += 400 <= status < 500
    if _marks(item.name):
        TALLY.known.append(item.id)  # a known defect: counted apart, expected to fail
        TALLY.known_http += 1
        TALLY.known_http_4xx += 400 <= status < 500
    else:
        TALLY.http_500 += status >= 500
    TALLY.slowest = max(TALLY.slowest, seconds)
    text = body.decode("utf-8", "replace")
    assert 400 <= status < 500, f"{status}: {text[:300]}"
    assert not any(leak in text for leak in LEAKS), text[:300]
    assert "CANARY-FILE-CONTENT" not in text
    assert _healthy(session, corpus_url)
    assert canary.hits == 0


CLI_ITEMS = cli_items()
#: CLI items run as separate processes in CI (all of them with MEDEDKG_CORPUS_FULL=1).
PROCESS_SAMPLE = 1.0 if FULL else 0.25


_STARTUP: list[float] = []


def _startup_seconds() -> float:
    """How long ``python -m mededkg --help`` takes here (the fastest of three): what
    a process costs before it reads its input, subtracted from each item's time."""
    if not _STARTUP:
        for _ in range(3):
            start = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "mededkg", "--help"],
                capture_output=True,
                check=True,
            )
            _STARTUP.append(time.monotonic() - start)
    return min(_STARTUP)


def _lay_out(item: CliItem, folder: Path) -> None:
    for name, data in item.files.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    target = folder / item.args[-1]
    if item.special == "fifo":
        os.mkfifo(target)
    elif item.special == "dev-zero":
        target.symlink_to("/dev/zero")
    elif item.special == "dir":
        target.mkdir()


@pytest.mark.parametrize(
    "item",
    [pytest.param(i, id=i.name, marks=_marks(i.name)) for i in CLI_ITEMS],
)
def test_hostile_file_exits_2_with_a_clear_message(
    item: CliItem, fixture_config: Config, tmp_path: Path
) -> None:
    _lay_out(item, tmp_path)
    store = tmp_path / "store"
    options = ("--root", str(FIXTURE_ROOT), "--store-path", str(store))
    args = list(item.args)
    if args[0] == "build":
        args[1:1] = options
    as_process = random.Random(item.name).random() < PROCESS_SAMPLE
    start = time.monotonic()
    if as_process:
        done = subprocess.run(
            [sys.executable, "-m", "mededkg", *args],
            cwd=tmp_path,
            capture_output=True,
            timeout=30,
            env={**os.environ, "COLUMNS": "200"},
        )
        code, output = (
            done.returncode,
            (done.stdout + done.stderr).decode("utf-8", "replace"),
        )
    else:
        cwd = Path.cwd()
        os.chdir(tmp_path)
        try:
            result = CliRunner().invoke(cli_main, args)
        finally:
            os.chdir(cwd)
        code, output = result.exit_code, result.output
        if result.exception is not None and not isinstance(
            result.exception, SystemExit
        ):
            output += f"\nTraceback: {result.exception!r}"
    seconds = time.monotonic() - start
    if as_process:
        seconds -= _startup_seconds()  # the interpreter's own start is not the item's
    TALLY.cli += 1
    TALLY.cli_exit_2 += code == 2
    if _marks(item.name):
        TALLY.known.append(item.name)
    TALLY.slowest = max(TALLY.slowest, seconds)
    assert code == 2, f"exit {code}: {output[-500:]}"
    assert "error:" in output.lower() or "usage:" in output.lower(), output[-500:]
    assert "Traceback" not in output, output[-800:]
    assert not store.exists(), "a failed build must not create the store"


def test_corpus_has_at_least_1000_items() -> None:
    assert len(HTTP_ITEMS) + len(CLI_ITEMS) >= 1000


def test_corpus_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Print (and, for the benchmark, save) the figures of this run."""
    summary = TALLY.summary()
    with capsys.disabled():
        print("\ncorpus:", json.dumps(summary))
    target = os.environ.get("MEDEDKG_CORPUS_RESULTS")
    if target:
        Path(target).write_text(json.dumps(summary, indent=1) + "\n")
    assert summary["http_500"] == 0
    assert summary["worker_crashes"] == 0
