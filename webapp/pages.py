"""HTML pages: the dataset home page (with a JSON twin) and the ontology documentation
(HTML for browsers, RDF for RDF clients — the ontology IRI dereferences here).

Also the helpers every page module shares: the page queries in ``webapp/queries/``,
picking a label in the interface language, prefixed names and RDF content negotiation.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources

import pyoxigraph as ox
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from rdflib import Graph

from mededkg.errors import QueryError
from mededkg.matching.gazetteer import default as default_gazetteer
from mededkg.namespaces import (
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    PREFIXES,
    SHAPES_GRAPH,
    graph_iri,
)
from mededkg.namespaces import graph_name as short_graph_name
from mededkg.pipeline.export import serialize_quads
from mededkg.pipeline.ontodoc import describe
from mededkg.pipeline.stats import Stats, stats
from mededkg.query.answers import Job
from mededkg.query.formats import RDF_FORMATS, RdfFormat
from mededkg.query.gate import INTERNAL, SelectResult, execute
from mededkg.query.namedqueries import named_query
from mededkg.resources import queries_dir
from mededkg.storage import Store
from mededkg.terms import to_rdflib
from webapp.context import state
from webapp.i18n import tr, ui_language

bp = Blueprint("pages", __name__)

#: An RDF term a page query may return.
Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Term]

#: The catalogue edition the home page charts and /disciplines opens with.
DEFAULT_EDITION = "2022"


# --- shared helpers -----------------------------------------------------------------
@cache
def page_query(name: str) -> str:
    """The text of the page query ``webapp/queries/<name>.rq``."""
    return (resources.files("webapp") / "queries" / f"{name}.rq").read_text("utf-8")


def select_named(name: str, **bindings: Term) -> list[Row]:
    """:func:`select` for the public named query ``queries/<name>.rq`` (the one
    ``mededkg query`` and ``/api/queries`` run): a page that shows what a named query
    answers runs that very query."""
    named = named_query(name, queries_dir(state().config.root))
    return _select(named.text, name, bindings)


def select(name: str, **bindings: Term) -> list[Row]:
    """Run the page query *name* with *bindings* substituted; rows as ``{var: term}``
    (unbound variables left out).

    Through the same gate as every query (:meth:`webapp.context.AppState.run`): a
    worker with the hard time limit and no network, the row and byte limits, and the
    client's share of the workers.

    Raises:
        QueryError: the page needs more rows than the ``result_limit`` setting allows
            (a page is never shown cut short); or the gate's own errors (time limit,
            busy workers).
    """
    return _select(page_query(name), name, bindings)


def _select(text: str, name: str, bindings: dict[str, Term]) -> list[Row]:
    client = (request.remote_addr or "") if has_request_context() else ""
    job = Job(text, "json", None, substitutions=dict(bindings))
    answer = state().run(job, client)
    if answer.truncated:
        raise QueryError(
            f"the page query {name!r} has more than {state().limits.max_rows:,} rows "
            "(setting result_limit); raise the limit to show this page"
        )
    return _rows(answer.body)


def select_all(name: str) -> list[Row]:
    """Run the whole-dataset page query *name* (no bindings, so no client input) in
    this process with the :data:`mededkg.query.gate.INTERNAL` limits: for what is built
    once per build and cached, like the reconciliation index (its entity query has
    some 40,000 rows, more than a client may ask for)."""
    result = execute(state().store, page_query(name), limits=INTERNAL)
    assert isinstance(result, SelectResult)
    return [
        {
            var: term
            for var, term in zip(result.variables, row, strict=True)
            if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal)
        }
        for row in result.rows
    ]


def _rows(body: bytes) -> list[Row]:
    """The rows of a SPARQL JSON results document. The parsed solutions are dropped
    here, on the thread that made them (pyoxigraph requires it)."""
    solutions = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    try:
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows: list[Row] = []
        for solution in solutions:
            row: Row = {}
            for var in names:
                term = solution[var]
                if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
                    row[var] = term
            rows.append(row)
        return rows
    finally:
        del solutions


def inferred_graph() -> ox.NamedNode:
    """The IRI of the graph the reasoner writes."""
    return ox.NamedNode(str(graph_iri(state().config.base_iri, INFERRED_GRAPH)))


def pick(labels: Iterable[ox.Literal | str], lang: str | None = None) -> str:
    """The label in *lang* (default: the interface language), else one without a
    language, else any; ``""`` if there is none. Ties go to the shortest.

    >>> pick([ox.Literal("医院", language="zh"), ox.Literal("hospital", language="en")],
    ...      "en")
    'hospital'
    """
    lang = lang or ui_language()
    ranked: list[tuple[int, int, str]] = []
    for label in labels:
        if isinstance(label, str):
            ranked.append((1, len(label), label))
            continue
        tag = (label.language or "").lower()
        rank = 0 if tag.split("-")[0] == lang else 1 if not tag else 2
        ranked.append((rank, len(label.value), label.value))
    return min(ranked)[2] if ranked else ""


def curie(iri: str) -> str:
    """The prefixed name of *iri* with the project's prefix map (longest namespace
    wins), or the IRI itself.

    >>> curie("https://w3id.org/mededkg/ontology#Hospital")
    'mededkg:Hospital'
    """
    best = ""
    for name, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            best = name
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri


def rdf_format_requested(*, html: bool = True) -> RdfFormat | None:
    """The RDF format asked for by ``?format=`` or ``Accept``; ``None`` for HTML.

    Raises:
        400: an unknown ``format=`` value.
    """
    name = request.args.get("format")
    if name:
        if html and name == "html":
            return None
        for fmt in RDF_FORMATS:
            if name in (fmt.name, *fmt.media_types):
                return fmt
        names = ["html", *(f.name for f in RDF_FORMATS)] if html else []
        abort(400, f"unknown format {name!r}; choose one of: {', '.join(names)}")
    offered = ["text/html", *(m for f in RDF_FORMATS for m in f.media_types)]
    best = request.accept_mimetypes.best_match(offered, default="text/html")
    if best in (None, "text/html") or request.accept_mimetypes.best == "*/*":
        return None
    return next(f for f in RDF_FORMATS if best in f.media_types)


def rdf_response(quads: Sequence[ox.Quad], fmt: RdfFormat) -> Response:
    """*quads* serialized canonically in *fmt* (the union graph if it has no graphs)."""
    charset = "" if fmt.media_type.endswith("+xml") else "; charset=utf-8"
    return Response(serialize_quads(quads, fmt), content_type=fmt.media_type + charset)


def alternates(path: str) -> str:
    """A ``Link`` header value naming every RDF form of the page at *path*."""
    return ", ".join(
        f'<{path}?format={f.name}>; rel="alternate"; type="{f.media_type}"'
        for f in RDF_FORMATS
    )


def wants_json() -> bool:
    """True if the client asked for the JSON twin (``?format=json`` or ``Accept``)."""
    return request.args.get("format") == "json" or (
        request.accept_mimetypes.best_match(["text/html", "application/json"])
        == "application/json"
    )


def local_url(iri: str) -> str:
    """Where *iri* is shown on this server: ontology terms on /ontology, other IRIs
    under the base on their resource page, any other IRI as itself."""
    base = state().config.base_iri
    ontology = f"{base}ontology"
    if iri.startswith(ontology + "#"):
        return url_for("pages.ontology") + iri[len(ontology) :]
    if iri == ontology:
        return url_for("pages.ontology")
    if iri.startswith(base) and len(iri) > len(base):
        return url_for("resources.resource", rest=iri[len(base) :])
    return iri


@bp.app_context_processor
def page_helpers() -> dict[str, object]:
    """``local_url`` and ``curie`` in every template."""
    return {"local_url": local_url, "curie": curie}


# --- sources and licences -----------------------------------------------------------
@dataclass(frozen=True)
class SourceInfo:
    """A source the ``sources`` graph describes, and the named graphs built from it."""

    iri: str
    title: str
    license: str
    rights: str
    origin: str
    graphs: tuple[str, ...]


def graph_sources() -> dict[str, list[SourceInfo]]:
    """Every named graph's IRI → the sources it is built from (sorted by IRI)."""
    base = state().config.base_iri
    rows = select("graph-sources", graph_base=ox.NamedNode(f"{base}graph/"))
    by_source: dict[str, dict[str, set[str]]] = {}
    graphs_of: dict[str, set[str]] = {}
    every_graph: set[str] = set()
    for row in rows:
        every_graph.add(row["graph"].value)
        if "source" not in row:
            continue
        iri = row["source"].value
        fields = by_source.setdefault(iri, {})
        for key in ("title", "license", "rights", "origin"):
            if key in row:
                fields.setdefault(key, set()).add(row[key].value)
        graphs_of.setdefault(iri, set()).add(row["graph"].value)
    sources = {
        iri: SourceInfo(
            iri=iri,
            title=min(fields.get("title", {iri.rsplit("/", 1)[-1]})),
            license=" ".join(sorted(fields.get("license", set()))),
            rights=min(fields.get("rights", {""})),
            origin=" ".join(sorted(fields.get("origin", set()))),
            graphs=tuple(sorted(graphs_of[iri])),
        )
        for iri, fields in by_source.items()
    }
    result: dict[str, list[SourceInfo]] = {g: [] for g in sorted(every_graph)}
    for source in sorted(sources.values(), key=lambda s: s.iri):
        for graph in source.graphs:
            result[graph].append(source)
    return result


# --- charts ----------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart: its label, value, link and width in percent."""

    label: str
    value: int
    href: str
    percent: float


def bars(items: Sequence[tuple[str, int, str]]) -> list[Bar]:
    """Bars for ``(label, value, href)`` items, widths relative to the largest.

    >>> [b.percent for b in bars([("a", 4, ""), ("b", 1, "")])]
    [100.0, 25.0]
    """
    top = max((value for _, value, _ in items), default=0) or 1
    return [
        Bar(label, value, href, round(100.0 * value / top, 1))
        for label, value, href in items
    ]


#: How the home page splits each province's institutions: what says they teach
#: medicine (the keys of ``chart-provinces``' ``?evidence``), in the bars' order.
SEGMENTS = ("name-rule", "units-or-hospitals", "no-evidence")
#: The /institutions filter each segment links to.
SEGMENT_FILTERS = {
    "name-rule": "name-rule",
    "units-or-hospitals": "units-or-hospitals",
    "no-evidence": "no",
}


def province_counts() -> list[tuple[str, dict[str, int]]]:
    """Institutions of the MOE list per province (``""`` = not stated), split by
    evidence of medical education (:data:`SEGMENTS`), most institutions first."""
    found: dict[str, dict[str, int]] = {}
    for row in select("chart-provinces"):
        province = row["province"].value if "province" in row else ""
        split = found.setdefault(province, dict.fromkeys(SEGMENTS, 0))
        split[row["evidence"].value] = int(row["n"].value)
    return sorted(found.items(), key=lambda item: (-sum(item[1].values()), item[0]))


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: its key (CSS class), value, link, and where it
    starts and how wide it is, in percent of the longest bar."""

    key: str
    value: int
    href: str
    start: float
    percent: float


@dataclass(frozen=True)
class StackedBar:
    """A bar split into segments."""

    label: str
    total: int
    segments: tuple[Segment, ...]


def stacked_bars(
    items: Sequence[tuple[str, dict[str, int], dict[str, str]]],
) -> list[StackedBar]:
    """Stacked bars for ``(label, values by segment, links by segment)``, widths
    relative to the longest bar.

    >>> bar = stacked_bars([("a", {"x": 1, "y": 3}, {})])[0]
    >>> [(s.key, s.start, s.percent) for s in bar.segments]
    [('x', 0.0, 25.0), ('y', 25.0, 75.0)]
    """
    top = max((sum(v.values()) for _, v, _ in items), default=0) or 1
    out = []
    for label, values, links in items:
        start, segments = 0.0, []
        for key, value in values.items():
            width = round(100.0 * value / top, 1)
            segments.append(Segment(key, value, links.get(key, ""), start, width))
            start = round(start + width, 1)
        out.append(StackedBar(label, sum(values.values()), tuple(segments)))
    return out


_POINT = re.compile(r"^\s*(?:<[^>]*>\s*)?POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*$", re.I)


def province_points() -> dict[str, list[tuple[float, float, int]]]:
    """Province (Chinese) → ``(longitude, latitude, organizations)`` of each point of
    the organizations the graph places there: what names the map's boundaries."""
    found: dict[str, list[tuple[float, float, int]]] = {}
    for row in select("map-province-points"):
        match = _POINT.match(row["wkt"].value)
        if match:
            lng, lat = float(match.group(1)), float(match.group(2))
            found.setdefault(row["province"].value, []).append(
                (lng, lat, int(row["n"].value))
            )
    return found


def province_names(provinces: Iterable[str]) -> dict[str, str]:
    """Latin form (lower case, letters only) → the province of *provinces* (Chinese)
    the place gazetteer gives it: the forms ROR writes and the pinyin, so a map
    boundary named in English (``Xizang``, ``Shaanxi``) finds its province.

    >>> province_names(["陕西省"])["shaanxi"]
    '陕西省'
    """
    gazetteer = default_gazetteer()
    found: dict[str, str] = {}
    for name in provinces:
        for place in gazetteer.places_in(name):
            if place.level == "province":
                for form in gazetteer.latin.get(place, ()):
                    found[re.sub(r"[^a-z]", "", form)] = name
    return found


def category_counts(edition: str) -> list[tuple[str, str, str, int]]:
    """``(category IRI, code, Chinese name, disciplines under it)`` for an edition."""
    base = state().config.base_iri
    rows = select(
        "chart-categories",
        edition=ox.NamedNode(f"{base}id/discipline-catalogue/{edition}"),
    )
    return [
        (
            row["category"].value,
            row["code"].value,
            row["name"].value if "name" in row else "",
            int(row["n"].value),
        )
        for row in rows
    ]


# --- the home page's counts, once per build -----------------------------------------
#: Key of the home page's cache in ``app.extensions``.
HOME_EXTENSION = "mededkg.home"
#: Seconds the counts of a store without a build folder (memory or remote back-end)
#: are kept: a remote load can change them without a new build to notice.
UNVERSIONED_SECONDS = 60.0


@dataclass(frozen=True)
class HomeCounts:
    """What the home page shows, in no particular language."""

    summary: Stats
    sources: dict[str, list[SourceInfo]]
    provinces: list[tuple[str, dict[str, int]]]
    categories: list[tuple[str, str, str, int]]
    points: dict[str, list[tuple[float, float, int]]]
    names: dict[str, str]


@dataclass
class _HomeCache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    key: Hashable = None
    counts: HomeCounts | None = None


def home_counts() -> HomeCounts:
    """The home page's counts for the build the app serves now, computed on the
    first request after each build (they cost most of a second on the real graph)."""
    cache = current_app.extensions.setdefault(HOME_EXTENSION, _HomeCache())
    assert isinstance(cache, _HomeCache)
    store = state().store
    # A new build (a write too) is a new folder: its location is the build's identity.
    key: Hashable = store.location or (
        id(store),
        int(time.monotonic() // UNVERSIONED_SECONDS),
    )
    with cache.lock:
        if cache.counts is None or cache.key != key:
            provinces = province_counts()
            cache.counts = HomeCounts(
                stats(store),
                graph_sources(),
                provinces,
                category_counts(DEFAULT_EDITION),
                province_points(),
                province_names(p for p, _ in provinces if p),
            )
            cache.key = key
        return cache.counts


# --- routes ----------------------------------------------------------------------
@bp.route("/")
def home() -> Response | str:
    """What the graph is: triples per named graph, classes with instance counts,
    sources and licences, and charts of institutions and disciplines."""
    counts = home_counts()
    summary, sources = counts.summary, counts.sources
    provinces, categories = counts.provinces, counts.categories
    if wants_json():
        return jsonify(
            {
                **asdict(summary),
                "sources": {g: [asdict(s) for s in ss] for g, ss in sources.items()},
                "institutions_per_province": dict(provinces),
                "disciplines_per_category": {
                    "edition": DEFAULT_EDITION,
                    "categories": [
                        {"iri": iri, "code": code, "name": name, "disciplines": n}
                        for iri, code, name, n in categories
                    ],
                },
            }
        )
    base = state().config.base_iri
    unique_sources = {s.iri: s for ss in sources.values() for s in ss}
    province_bars = stacked_bars(
        [
            (
                p or tr("unknown_province"),
                split,
                {
                    key: url_for(
                        "browse.institutions", province=p, teaches=SEGMENT_FILTERS[key]
                    )
                    for key in split
                },
            )
            for p, split in provinces
        ]
    )
    category_bars = bars(
        [(f"{code} {name}", n, local_url(iri)) for iri, code, name, n in categories]
    )
    return render_template(
        "home.html",
        stats=summary,
        graph_name=lambda iri: short_graph_name(base, iri),
        sources=sorted(unique_sources.values(), key=lambda s: s.title),
        province_bars=province_bars,
        segments=SEGMENTS,
        category_bars=category_bars,
        edition=DEFAULT_EDITION,
        province_totals={p: sum(split.values()) for p, split in provinces if p},
        province_points=counts.points,
        province_names=counts.names,
    )


@bp.route("/ontology")
def ontology() -> Response:
    """The ontology: documentation for browsers, the ontology graph for RDF clients."""
    store, base = state().store, state().config.base_iri
    rdf = rdf_format_requested()
    if rdf is not None:
        quads = list(store.quads(str(graph_iri(base, ONTOLOGY_GRAPH))))
        response = rdf_response(quads, rdf)
    else:
        doc = describe(
            _graph(store, str(graph_iri(base, ONTOLOGY_GRAPH))),
            _graph(store, str(graph_iri(base, SHAPES_GRAPH))),
        )
        response = Response(
            render_template("ontology.html", doc=doc, base_iri=base),
            content_type="text/html; charset=utf-8",
        )
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = alternates("/ontology")
    return response


def _graph(store: Store, iri: str) -> Graph:
    graph = Graph()
    for quad in store.quads(iri):
        graph.add(
            (
                to_rdflib(quad.subject),
                to_rdflib(quad.predicate),
                to_rdflib(quad.object),
            )
        )
    return graph
