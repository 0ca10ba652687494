"""The one reader of the SPARQL 1.1 Protocol's request forms (:mod:`webapp.protocol`),
shared by ``/sparql``, ``/update`` and the fast path: the same request gets the same
answer for a query and for an update."""

from __future__ import annotations

import pytest

from webapp import protocol
from webapp.protocol import FORM, QUERY, UPDATE, Operation, ProtocolError


def parse(
    method: str,
    query_string: bytes = b"",
    content_type: str = "",
    body: bytes = b"",
    operation: Operation = QUERY,
) -> tuple[str, dict[str, list[str]]]:
    params = protocol.parameters(
        method, query_string, content_type, lambda: body, operation=operation
    )
    text = protocol.text_of(params, operation)
    return text, {k: params.getlist(k) for k in params}


def test_the_three_forms_of_a_query() -> None:
    assert parse("GET", b"query=ASK%20%7B%7D")[0] == "ASK {}"
    assert parse("POST", b"", FORM, b"query=%E5%8C%BB+x")[0] == "医 x"
    assert parse("POST", b"", FORM, "query=医".encode())[0] == "医"
    direct = parse(
        "POST", b"default-graph-uri=g", "application/sparql-query", b"ASK {}"
    )
    assert direct == ("ASK {}", {"default-graph-uri": ["g"], "query": ["ASK {}"]})


def test_url_and_form_parameters_are_read_together() -> None:
    _, params = parse("POST", b"named-graph-uri=a", FORM, b"query=x&named-graph-uri=b")
    assert params["named-graph-uri"] == ["a", "b"]


@pytest.mark.parametrize("operation", [QUERY, UPDATE], ids=["query", "update"])
@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        ("{media}; charset=latin-1", b"x", 415, "as UTF-8, not latin-1"),
        ("{media}", b"x \xff", 400, "is not UTF-8"),
        (FORM, b"{field}=%FF", 400, "the form is not UTF-8"),
        (FORM, b"{field}=\xff", 400, "the form is not UTF-8"),
        ("text/plain", b"x", 415, "POST a"),
    ],
)
def test_bad_text_gets_the_same_answer_for_a_query_and_an_update(
    operation: Operation, content_type: str, body: bytes, status: int, message: str
) -> None:
    content_type = content_type.format(media=operation.media_type)
    body = body.replace(b"{field}", operation.field.encode())
    with pytest.raises(ProtocolError) as raised:
        parse("POST", b"", content_type, body, operation)
    assert (raised.value.status, message in raised.value.message) == (status, True)


def test_a_direct_post_may_not_repeat_its_text_in_the_url() -> None:
    with pytest.raises(ProtocolError, match="must not also be given"):
        parse("POST", b"query=x", "application/sparql-query", b"ASK {}")


@pytest.mark.parametrize(
    ("query_string", "message"),
    [
        (b"", "give exactly one non-empty 'query'"),
        (b"query=a&query=b", "give exactly one non-empty 'query'"),
        (b"query=%20", "the query is empty"),
        (b"query=%FF", "the query string is not UTF-8"),
    ],
)
def test_none_several_empty_or_broken_queries_are_400(
    query_string: bytes, message: str
) -> None:
    with pytest.raises(ProtocolError, match=message) as raised:
        parse("GET", query_string)
    assert raised.value.status == 400
