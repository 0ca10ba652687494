"""Resource pages: every IRI under the base dereferences on this server.

A request for ``/id/institution/4111010023`` describes
``<base>id/institution/4111010023``: every statement with the resource as subject or
object, in every named graph. Browsers get HTML (labels in both languages, types,
properties and inverse relations labelled by the ontology, the named graph and sources
of each statement, outbound links, an embedded schema.org JSON-LD block); RDF clients
get the description in any format of :data:`mededkg.query.formats.RDF_FORMATS` by
``Accept`` or ``?format=``. A hash IRI (``…/ror-wikidata#mapping-…``) has its page at
the path with the ``#`` percent-encoded (``%23``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup
from rdflib import RDF, BNode, Graph, Literal, URIRef
from werkzeug.exceptions import MethodNotAllowed

from mededkg.namespaces import MEDEDKG, PREFIXES, SCHEMA, graph_name
from webapp.context import state
from webapp.i18n import tr
from webapp.pages import (
    SourceInfo,
    Term,
    alternates,
    curie,
    graph_sources,
    inferred_graph,
    local_url,
    pick,
    rdf_format_requested,
    rdf_response,
    select,
)

bp = Blueprint("resources", __name__)

RDF_TYPE = str(RDF.type)
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
OWL = PREFIXES["owl"]
LABELS = (RDFS + "label", SKOS + "prefLabel")
#: Properties whose external values are links to the same thing elsewhere.
LINK_PROPERTIES = frozenset(
    {
        SKOS + "exactMatch",
        SKOS + "closeMatch",
        SKOS + "broadMatch",
        SKOS + "narrowMatch",
        SKOS + "relatedMatch",
        OWL + "sameAs",
        RDFS + "seeAlso",
        str(SCHEMA.url),
        PREFIXES["prov"] + "wasDerivedFrom",
    }
)
#: Literal identifiers that name a record elsewhere: property → URL prefix.
IDENTIFIERS = {
    str(MEDEDKG.rorId): "https://ror.org/",
    str(MEDEDKG.wikidataId): "http://www.wikidata.org/entity/",
}
#: Names of well-known external sites, by IRI prefix.
SITES = {
    "https://ror.org/": "ROR",
    "http://www.wikidata.org/entity/": "Wikidata",
    "https://www.wikidata.org/wiki/": "Wikidata",
}
MAX_VALUES_OPEN = 12


@dataclass(frozen=True)
class Value:
    """One value of a property on the page, with the graphs that state it."""

    text: str
    href: str = ""
    external: bool = False
    lang: str = ""
    datatype: str = ""
    iri: str = ""
    graphs: tuple[str, ...] = ()
    inferred: bool = False


@dataclass
class Group:
    """The values of one property (or of one inverse relation)."""

    predicate: str
    curie: str
    label: str
    css: str
    values: list[Value] = field(default_factory=list)

    @property
    def inferred(self) -> bool:
        """True if every value is inferred."""
        return all(v.inferred for v in self.values)


@dataclass(frozen=True)
class GraphInfo:
    """A named graph the page's statements come from, with its sources."""

    iri: str
    name: str
    href: str
    sources: tuple[SourceInfo, ...]
    license: str


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence of medical education on an institution's page: the rule,
    the hospital or unit it goes through (if any), the note, and the unit of the
    institution whose evidence it is (if not the institution's own)."""

    rule: str
    note: str
    via: Value | None = None
    unit: Value | None = None


@dataclass
class HospitalGroup:
    """The hospitals of one kind of relation (part of, affiliated with, works with),
    each with the evidence for it."""

    relation: str
    curie: str
    css: str
    items: list[EvidenceItem] = field(default_factory=list)


@dataclass
class Description:
    """Everything the HTML page shows about one resource."""

    iri: str
    title: str
    labels: dict[str, list[str]]
    types: list[Value]
    properties: list[Group]
    inverse: list[Group]
    links_out: list[Value]
    graphs: list[GraphInfo]
    jsonld: Markup
    evidence: list[EvidenceItem] = field(default_factory=list)
    hospitals: list[HospitalGroup] = field(default_factory=list)


@bp.route("/<path:rest>")
def resource(rest: str) -> Response:
    """A resource under the base IRI: HTML, or RDF by content negotiation.

    Raises:
        404: nothing in the graph has this IRI as subject or object.
    """
    _refuse_if_claimed_elsewhere()
    iri = state().config.base_iri + rest
    try:
        this = ox.NamedNode(iri)
    except ValueError:
        abort(404, f"{iri} is not an IRI")
    fmt = rdf_format_requested()
    rows = select("resource-quads", this=this)
    if not rows:
        abort(404, f"nothing in the graph is about <{iri}>")
    quads = [
        ox.Quad(row["s"], row["p"], row["o"], row["g"])  # type: ignore[arg-type]
        for row in rows
    ]
    if fmt is not None:
        response = rdf_response(quads, fmt)
    else:
        html = render_template("resource.html", d=describe(iri, quads))
        response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = alternates(url_for("resources.resource", rest=rest))
    return response


def _refuse_if_claimed_elsewhere() -> None:
    """405 if another route serves this path with other methods (``GET /update``):
    this catch-all only answers where nothing else does.

    Raises:
        405: with ``Allow`` listing the other route's methods.
    """
    adapter = current_app.url_map.bind("localhost")
    others = [
        m
        for m in ("POST", "PUT", "DELETE", "PATCH")
        if adapter.test(request.path, method=m)
    ]
    if others:
        raise MethodNotAllowed(valid_methods=others)


def describe(iri: str, quads: list[ox.Quad]) -> Description:
    """Group the statements of the description *quads* of *iri* for the page."""
    this = ox.NamedNode(iri)
    inferred = inferred_graph().value
    labels: dict[str, list[ox.Literal]] = {}
    for row in select("resource-labels", this=this):
        label = row["label"]
        if isinstance(label, ox.Literal):
            labels.setdefault(row["node"].value, []).append(label)
    inverses: dict[str, set[str]] = {}
    for row in select("resource-inverses", this=this):
        inverses.setdefault(row["property"].value, set()).add(row["inverse"].value)

    outgoing: dict[tuple[str, Term], set[str]] = {}
    incoming: dict[tuple[Term, str], set[str]] = {}
    for quad in quads:
        graph = quad.graph_name.value  # type: ignore[union-attr]
        subject, obj = quad.subject, quad.object
        if subject == this and obj == this:
            continue  # reflexive inferences (skos:exactMatch of itself) say nothing
        if subject == this:
            outgoing.setdefault((quad.predicate.value, obj), set()).add(graph)  # type: ignore[arg-type]
        else:
            incoming.setdefault((subject, quad.predicate.value), set()).add(graph)  # type: ignore[arg-type]
    _drop_mirrors(outgoing, incoming, inverses, inferred)

    def label_of(node: str) -> str:
        return pick(labels.get(node, ())) or curie(node)

    def value(term: Term, graphs: set[str]) -> Value:
        ordered = tuple(sorted(graphs))
        only_inferred = graphs == {inferred}
        if isinstance(term, ox.Literal):
            datatype = term.datatype.value
            shown = "" if datatype.endswith(("#string", "#langString")) else datatype
            return Value(
                term.value,
                lang=term.language or "",
                datatype=curie(shown) if shown else "",
                graphs=ordered,
                inferred=only_inferred,
            )
        href = local_url(term.value)
        return Value(
            label_of(term.value),
            href=href,
            external=href == term.value,
            iri=term.value,
            graphs=ordered,
            inferred=only_inferred,
        )

    types: list[Value] = []
    groups: dict[str, Group] = {}
    links_out: list[Value] = []
    for (predicate, obj), graphs in sorted(outgoing.items(), key=_order):
        shown = value(obj, graphs)
        if predicate == RDF_TYPE:
            if isinstance(obj, ox.NamedNode):
                types.append(shown)
            continue
        group = groups.get(predicate)
        if group is None:
            group = groups[predicate] = _group(predicate, predicate, labels)
        group.values.append(shown)
        if predicate in LINK_PROPERTIES and shown.external:
            links_out.append(_site(shown))
        if predicate in IDENTIFIERS and isinstance(obj, ox.Literal):
            target = IDENTIFIERS[predicate] + obj.value
            links_out.append(_site(Value(target, href=target, external=True)))
    inverse_groups: dict[str, Group] = {}
    for (source, predicate), graphs in sorted(
        incoming.items(), key=lambda item: (item[0][1], str(item[0][0]))
    ):
        group = inverse_groups.get(predicate)
        if group is None:
            named = _labelled_inverse(predicate, inverses, labels)
            group = inverse_groups[predicate] = _group(
                named or predicate, predicate, labels, inverse=not named
            )
        group.values.append(value(source, graphs))

    used = {g for quad in quads for g in [quad.graph_name.value]}  # type: ignore[union-attr]
    sources = graph_sources()
    graph_infos = [
        GraphInfo(
            g,
            graph_name(state().config.base_iri, g),
            local_url(g),
            tuple(sources.get(g, ())),
            " ".join(sorted({s.license for s in sources.get(g, ()) if s.license})),
        )
        for g in sorted(used)
    ]
    by_lang: dict[str, list[str]] = {"zh": [], "en": []}
    for label in labels.get(iri, ()):
        lang = (label.language or "").split("-")[0]
        if label.value not in by_lang.setdefault(lang, []):
            by_lang[lang].append(label.value)
    evidence, hospitals = medical_education(this)
    return Description(
        iri=iri,
        title=pick(labels.get(iri, ())) or curie(iri),
        evidence=evidence,
        hospitals=hospitals,
        labels=by_lang,
        types=sorted(types, key=lambda v: (v.inferred, v.text)),
        properties=sorted(groups.values(), key=lambda g: (g.inferred, g.label)),
        inverse=sorted(inverse_groups.values(), key=lambda g: (g.inferred, g.label)),
        links_out=list({v.href: v for v in links_out}.values()),
        graphs=graph_infos,
        jsonld=schema_jsonld(iri, outgoing, labels),
    )


#: The order of the hospital groups on an institution's page: strongest first.
RELATION_ORDER = (
    str(MEDEDKG.partOf),
    str(MEDEDKG.affiliatedWith),
    str(MEDEDKG.worksWith),
)


def medical_education(
    this: ox.NamedNode,
) -> tuple[list[EvidenceItem], list[HospitalGroup]]:
    """The evidence that *this* teaches medicine, and its hospitals (its own and its
    units'), grouped by the relation each piece of evidence supports."""
    rows = select("institution-hospitals", this=this)
    if not rows:
        return [], []
    labels: dict[str, list[ox.Literal]] = {}
    for row in select("term-labels"):
        label = row["label"]
        if isinstance(label, ox.Literal):
            labels.setdefault(row["node"].value, []).append(label)
    names: dict[str, list[ox.Literal]] = {}
    for row in rows:
        if "via" in row and isinstance(row.get("label"), ox.Literal):
            names.setdefault(row["via"].value, []).append(row["label"])  # type: ignore[arg-type]

    def link(term: Term | None) -> Value | None:
        if term is None:
            return None
        return Value(
            pick(names.get(term.value, ())) or curie(term.value),
            href=local_url(term.value),
            iri=term.value,
        )

    evidence: dict[str, EvidenceItem] = {}
    groups: dict[str, HospitalGroup] = {}
    seen: set[tuple[str, str]] = set()
    for row in rows:
        rule = row["rule"].value
        item = EvidenceItem(
            pick(labels.get(rule, ())) or curie(rule),
            row["note"].value,
            link(row.get("via")),
            link(row.get("unit")),
        )
        if "unit" not in row:
            evidence.setdefault(row["evidence"].value, item)
        relation = row.get("relation")
        if relation is None:
            continue
        key = (relation.value, row["evidence"].value)
        if key in seen:
            continue
        seen.add(key)
        group = groups.get(relation.value)
        if group is None:
            english = pick(labels.get(relation.value, ()), "en") or relation.value
            group = groups[relation.value] = HospitalGroup(
                pick(labels.get(relation.value, ())) or curie(relation.value),
                curie(relation.value),
                _slug(english),
            )
        group.items.append(item)
    ordered = sorted(
        groups.items(),
        key=lambda g: RELATION_ORDER.index(g[0]) if g[0] in RELATION_ORDER else 9,
    )
    for _, group in ordered:
        group.items.sort(key=lambda i: (i.via.text if i.via else "", i.rule))
    return sorted(
        evidence.values(), key=lambda i: (i.rule, i.via.text if i.via else "")
    ), [g for _, g in ordered]


def _order(item: tuple[tuple[str, Term], set[str]]) -> tuple[str, str]:
    (predicate, obj), _ = item
    return predicate, obj.value if isinstance(obj, ox.Literal) else str(obj)


def _drop_mirrors(
    outgoing: dict[tuple[str, Term], set[str]],
    incoming: dict[tuple[Term, str], set[str]],
    inverses: dict[str, set[str]],
    inferred: str,
) -> None:
    """Show a relation once: where the reasoner materialised the inverse of a
    statement (or the mirror of a symmetric one), keep the asserted side, else the
    outgoing one."""
    for (subject, predicate), graphs_in in list(incoming.items()):
        for inverse in inverses.get(predicate, ()):
            graphs_out = outgoing.get((inverse, subject))
            if graphs_out is None:
                continue
            asserted_in = bool(graphs_in - {inferred})
            asserted_out = bool(graphs_out - {inferred})
            if asserted_in and not asserted_out:
                del outgoing[(inverse, subject)]
            elif not asserted_in:
                incoming.pop((subject, predicate), None)


def _labelled_inverse(
    predicate: str, inverses: dict[str, set[str]], labels: dict[str, list[ox.Literal]]
) -> str:
    """The inverse of *predicate* to show, one with a label first (``""`` if it has
    none)."""
    found = sorted(inverses.get(predicate, ()), key=lambda i: (not labels.get(i), i))
    return found[0] if found else ""


def _group(
    shown: str,
    predicate: str,
    labels: dict[str, list[ox.Literal]],
    *,
    inverse: bool = False,
) -> Group:
    label = pick(labels.get(shown, ())) or curie(shown)
    english = pick(labels.get(shown, ()), "en") or shown.rsplit("#", 1)[-1]
    if inverse:
        label = tr("inverse_of", label=label)
        english = f"inverse {english}"
    return Group(predicate, curie(shown), label, _slug(english))


def _slug(text: str) -> str:
    """A CSS class from an English label.

    >>> _slug("affiliated hospital")
    'affiliated-hospital'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "value"


def _site(value: Value) -> Value:
    """*value* labelled with the site it links to (ROR, Wikidata, host name)."""
    for prefix, site in SITES.items():
        if value.href.startswith(prefix):
            return Value(
                f"{site} {value.href[len(prefix) :]}",
                href=value.href,
                external=True,
            )
    host = re.sub(r"^[a-z]+://", "", value.href)
    return Value(host.rstrip("/"), href=value.href, external=True)


# --- schema.org ---------------------------------------------------------------------
_SCHEMA_PROPERTIES = {
    RDFS + "label": SCHEMA.name,
    SKOS + "prefLabel": SCHEMA.name,
    SKOS + "altLabel": SCHEMA.alternateName,
    SKOS + "definition": SCHEMA.description,
    RDFS + "comment": SCHEMA.description,
    str(SCHEMA.url): SCHEMA.url,
    str(MEDEDKG.moeCode): SCHEMA.identifier,
    str(MEDEDKG.foundingYear): SCHEMA.foundingDate,
    SKOS + "notation": SCHEMA.identifier,
}


def schema_jsonld(
    iri: str,
    outgoing: dict[tuple[str, Term], set[str]],
    labels: dict[str, list[ox.Literal]],
) -> Markup:
    """A schema.org description of *iri* as JSON-LD, safe inside ``<script>``.

    The types are the schema.org classes the resource has through the ontology's
    alignment (``ontology/alignments.ttl``, materialised by the reasoner); the
    context is inline, so no reader fetches a remote one.
    """
    graph = Graph()
    subject = URIRef(iri)
    types = [
        obj.value
        for (predicate, obj) in outgoing
        if predicate == RDF_TYPE and obj.value.startswith(str(SCHEMA))
    ]
    for type_iri in sorted(types) or [str(SCHEMA.Thing)]:
        graph.add((subject, RDF.type, URIRef(type_iri)))
    address: dict[URIRef, Literal] = {}
    for predicate, obj in outgoing:
        target = _SCHEMA_PROPERTIES.get(predicate)
        if isinstance(obj, ox.Literal):
            literal = (
                Literal(obj.value, lang=obj.language)
                if obj.language
                else Literal(obj.value)
            )
            if target is not None:
                graph.add((subject, target, literal))
            elif predicate == str(MEDEDKG.province):
                address[SCHEMA.addressRegion] = literal
            elif predicate == str(MEDEDKG.city):
                address[SCHEMA.addressLocality] = literal
        elif predicate in LINK_PROPERTIES and not obj.value.startswith(
            state().config.base_iri
        ):
            property_ = SCHEMA.url if predicate == str(SCHEMA.url) else SCHEMA.sameAs
            graph.add((subject, property_, URIRef(obj.value)))
    if address:
        node = BNode()
        graph.add((subject, SCHEMA.address, node))
        graph.add((node, RDF.type, SCHEMA.PostalAddress))
        graph.add((node, SCHEMA.addressCountry, Literal("CN")))
        for key, literal in address.items():
            graph.add((node, key, literal))
    text = graph.serialize(format="json-ld", context={"@vocab": str(SCHEMA)})
    compact = json.dumps(json.loads(text), ensure_ascii=False, indent=1)
    # Inside <script> only "<" can end the block early; JSON allows the escape.
    escaped = compact.replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(escaped.replace("&", "\\u0026"))
