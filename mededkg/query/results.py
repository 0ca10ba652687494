"""Serialize query results: SPARQL 1.1 JSON, XML, CSV and TSV; RDF for graph results.

The SPARQL results formats are written here, row by row from collected results,
because pyoxigraph's own serializers cannot stop at a row limit; a test parses every
output back with pyoxigraph's results parser to keep them to the W3C formats.
"""

from __future__ import annotations

import csv
import io
from json.encoder import encode_basestring as _string  # keeps non-ASCII text as is
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from mededkg.namespaces import PREFIXES
from mededkg.pipeline.export import serialize_statements
from mededkg.query.formats import RdfFormat, ResultFormat
from mededkg.query.gate import AskResult, GraphResult, SelectResult, Term

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def serialize_results(result: SelectResult | AskResult, fmt: ResultFormat) -> bytes:
    """Serialize a SELECT or ASK result in the SPARQL results format *fmt*.

    >>> r = SelectResult(("x",), ((ox.Literal("医学", language="zh"),),))
    >>> serialize_results(r, ResultFormat("csv", ".csv", ("text/csv",)))
    b'x\\r\\n\\xe5\\x8c\\xbb\\xe5\\xad\\xa6\\r\\n'
    """
    writer = {"json": _json, "xml": _xml, "csv": _csv, "tsv": _tsv}[fmt.name]
    return writer(result)


def serialize_graph(
    result: GraphResult, fmt: RdfFormat, prefixes: dict[str, str] | None = None
) -> bytes:
    """Serialize the triples of a CONSTRUCT/DESCRIBE result in the RDF format *fmt*."""
    used = prefixes if prefixes is not None else PREFIXES
    return serialize_statements(result.triples, fmt, used)


def term_json(term: Term) -> str:
    """The SPARQL 1.1 JSON form of one RDF term, as JSON text.

    >>> term_json(ox.Literal("医学", language="zh"))
    '{"type":"literal","value":"医学","xml:lang":"zh"}'
    """
    kind = type(term)
    if kind is ox.NamedNode:
        return '{"type":"uri","value":' + _string(term.value) + "}"
    if kind is ox.BlankNode:
        return '{"type":"bnode","value":' + _string(term.value) + "}"
    assert isinstance(term, ox.Literal)
    value = _string(term.value)
    if term.language:
        language = _string(term.language)
        return '{"type":"literal","value":' + value + ',"xml:lang":' + language + "}"
    datatype = term.datatype.value
    if datatype != XSD_STRING:
        datatype = _string(datatype)
        return '{"type":"literal","value":' + value + ',"datatype":' + datatype + "}"
    return '{"type":"literal","value":' + value + "}"


def _json(result: SelectResult | AskResult) -> bytes:
    """SPARQL 1.1 JSON, written as text piece by piece (twice as fast as building
    dicts for :func:`json.dumps`; the strings are escaped by the same C function)."""
    if isinstance(result, AskResult):
        return b'{"head":{},"boolean":' + (b"true" if result.value else b"false") + b"}"
    keys = [_string(v) + ":" for v in result.variables]
    rows = [
        "{"
        + ",".join(
            [k + term_json(t) for k, t in zip(keys, row, strict=True) if t is not None]
        )
        + "}"
        for row in result.rows
    ]
    head = ",".join(_string(v) for v in result.variables)
    text = '{"head":{"vars":[' + head + ']},"results":{"bindings":['
    return (text + ",".join(rows) + "]}}").encode()


def _xml(result: SelectResult | AskResult) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>'
    ]
    if isinstance(result, AskResult):
        out.append(f"</head>\n<boolean>{'true' if result.value else 'false'}</boolean>")
    else:
        out += [f"<variable name={quoteattr(v)}/>" for v in result.variables]
        out.append("</head>\n<results>\n")
        for row in result.rows:
            out.append("<result>")
            for var, term in zip(result.variables, row, strict=True):
                if term is not None:
                    out.append(
                        f"<binding name={quoteattr(var)}>{_xml_term(term)}</binding>"
                    )
            out.append("</result>\n")
        out.append("</results>")
    out.append("\n</sparql>\n")
    return "".join(out).encode()


def _xml_term(term: Term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if term.language:
        lang = quoteattr(term.language)
        return f"<literal xml:lang={lang}>{escape(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        datatype = quoteattr(term.datatype.value)
        return f"<literal datatype={datatype}>{escape(term.value)}</literal>"
    return f"<literal>{escape(term.value)}</literal>"


def _csv(result: SelectResult | AskResult) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if isinstance(result, AskResult):
        writer.writerow(["boolean"])
        writer.writerow(["true" if result.value else "false"])
    else:
        writer.writerow(result.variables)
        for row in result.rows:
            writer.writerow(["" if t is None else _csv_value(t) for t in row])
    return buffer.getvalue().encode()


def _csv_value(term: Term) -> str:
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def _tsv(result: SelectResult | AskResult) -> bytes:
    if isinstance(result, AskResult):
        return f"?boolean\n{'true' if result.value else 'false'}\n".encode()
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join("" if t is None else str(t) for t in row))
    return ("\n".join(lines) + "\n").encode()
