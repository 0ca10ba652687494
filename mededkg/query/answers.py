"""A query's answer as bytes: a :class:`Job` (the query, its formats and dataset)
run through the gate (:func:`mededkg.query.gate.execute`) and serialized — every
engine or serializer error becomes an :class:`Answer` too, never an exception that
could end the process running it. The query workers (:mod:`mededkg.query.sandbox`) call
:func:`answer`, and so does a server without workers."""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field

from mededkg import isolation
from mededkg.errors import MedEdKGError, ParameterError, QueryError, QueryTimeout
from mededkg.query import federation
from mededkg.query.formats import rdf_format, result_format
from mededkg.query.gate import GraphResult, Limits, Term, execute
from mededkg.storage import Store


class NotRepresentable(QueryError):
    """The answer cannot be written in the requested format (HTTP 406)."""


class ResponseTooLarge(QueryError):
    """The serialized answer is larger than ``response_limit_mb``."""


class WorkerFailed(MedEdKGError):
    """A query worker died without answering (it is replaced)."""


class OutOfMemory(WorkerFailed):
    """A query needed more memory than a worker may use (its worker was replaced)."""


#: The errors an answer can carry, by name (:func:`checked` raises them again).
ERRORS: dict[str, type[MedEdKGError]] = {
    "QueryError": QueryError,
    "ParameterError": ParameterError,
    "QueryTimeout": QueryTimeout,
    "NotRepresentable": NotRepresentable,
    "ResponseTooLarge": ResponseTooLarge,
    "RefusedOperation": federation.RefusedOperation,
    "OutOfMemory": OutOfMemory,
}


@dataclass(frozen=True)
class Job:
    """One query for a worker, with the formats to answer in."""

    sparql: str
    result_format: str | None
    rdf_format: str | None
    substitutions: dict[str, Term] = field(default_factory=dict)
    default_graph: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None


@dataclass(frozen=True)
class Answer:
    """A worker's answer: the serialized result, or an error."""

    # "results" (SELECT/ASK), "graph" (CONSTRUCT/DESCRIBE), "error", or "federate":
    # run it again on a worker with the network (allow-listed SERVICE only)
    kind: str
    body: bytes = b""
    media_type: str = ""
    truncated: bool = False
    error: str = ""
    message: str = ""


def answer(store: Store, limits: Limits, job: Job) -> Answer:
    """Run *job* on *store* in this process and serialize the result (no hard limit:
    the worker processes call this, and so does a pool-less app).

    Every error, the engine's and the serializers' included, becomes an ``error``
    answer; an answer the format cannot carry well-formed (XML 1.0 has no U+0000; an
    RDF/XML predicate needs a local name) is refused, never sent broken.
    """
    try:
        if _federates(limits, job.sparql):
            return Answer("federate")
        return _answer(store, limits, job)
    except MedEdKGError as error:
        return _error(error)
    except (RecursionError, MemoryError):
        raise
    except Exception as error:  # an engine or serializer failure: the client's input
        return Answer("error", error="QueryError", message=engine_error(error))


def _federates(limits: Limits, sparql: str) -> bool:
    """True if this process has no network and rdflib's parser shows *sparql* to
    call allow-listed SERVICE endpoints only (so a networked worker may run it).

    Raises:
        RefusedOperation: it calls an endpoint that is not allow-listed.
    """
    if not limits.service_allowlist or not isolation.network_closed():
        return False
    try:
        return federation.check_query(sparql, limits.service_allowlist)
    except federation.Uncheckable:
        return False  # rdflib cannot read it: run it here, where nothing connects


def _answer(store: Store, limits: Limits, job: Job) -> Answer:
    from mededkg.query.results import serialize_graph, serialize_results

    result = execute(
        store,
        job.sparql,
        limits=limits,
        substitutions=job.substitutions,
        default_graph=job.default_graph,
        named_graphs=job.named_graphs,
        base_iri=job.base_iri,
    )
    if isinstance(result, GraphResult):
        if job.rdf_format is None:
            return Answer("graph")
        fmt = rdf_format(job.rdf_format)
        try:
            body = serialize_graph(result, fmt)
        except MedEdKGError as error:  # our own refusal, already worded
            raise NotRepresentable(str(error)) from error
        except Exception as error:
            raise NotRepresentable(_not_representable(fmt.media_type, error)) from error
        _check_body(body, fmt.media_type, is_xml=fmt.name == "xml", limits=limits)
        return Answer("graph", body, fmt.media_type, result.truncated)
    if job.result_format is None:
        return Answer("results")
    rfmt = result_format(job.result_format)
    body = serialize_results(result, rfmt)
    _check_body(body, rfmt.media_type, is_xml=rfmt.name == "xml", limits=limits)
    truncated = getattr(result, "truncated", False)
    return Answer("results", body, rfmt.media_type, truncated)


def _check_body(body: bytes, label: str, *, is_xml: bool, limits: Limits) -> None:
    """Refuse an answer over the byte limit, or XML that an XML parser rejects."""
    if len(body) > limits.max_response_bytes:
        raise ResponseTooLarge(
            f"the answer is {len(body) / 1048576:,.1f} MB, more than the limit of "
            f"{limits.max_response_bytes / 1048576:g} MB (setting response_limit_mb); "
            "select fewer rows or shorter values (LIMIT, SUBSTR)"
        )
    if is_xml:
        parser = xml_parser()
        try:
            parser.Parse(body, True)
        except xml.parsers.expat.ExpatError as error:
            raise NotRepresentable(_not_representable(label, error)) from error


def xml_parser() -> xml.parsers.expat.XMLParserType:
    """An expat parser that checks namespaces too (``<oxprefix:>`` is refused), reads
    no DTD and expands no entity."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def _not_representable(label: str, error: Exception) -> str:
    return (
        f"the answer cannot be written as well-formed {label} ({error}); ask for "
        "another format, e.g. JSON (Accept: application/sparql-results+json or "
        "application/n-triples)"
    )


def _error(error: MedEdKGError) -> Answer:
    name = type(error).__name__
    if name not in ERRORS:
        name = next(
            (c.__name__ for c in type(error).__mro__ if c.__name__ in ERRORS),
            "QueryError",
        )
    return Answer("error", error=name, message=str(error))


def engine_error(error: Exception) -> str:
    text = str(error).splitlines()[0][:500] if str(error) else type(error).__name__
    return f"the query could not be evaluated: {text}"


def checked(answer: Answer) -> Answer:
    """Return *answer*, or raise the error it carries as its own exception class."""
    if answer.kind == "error":
        raise ERRORS.get(answer.error, QueryError)(answer.message)
    return answer
