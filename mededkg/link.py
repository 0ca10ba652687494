"""Link discovery: match the graph's entities to the records of an external dataset.

The pipeline is four plain steps (the CLI's ``mededkg link`` chains them):

1. **Entities** — :func:`graph_entities` reads institutions, hospitals or disciplines
   from the project's graphs: their names (``rdfs:label``, ``skos:prefLabel``,
   ``skos:altLabel`` in any language), acronyms, web domains and places.
2. **Target records** — a reader streams the external dataset as
   :class:`TargetRecord` items: :func:`read_ror_json` (a ROR dump, schema v1 or v2, of
   any size: parsed with ``ijson``, never loaded whole), :func:`read_hipo` (the Hipo
   university list), :func:`read_table` (CSV/TSV with name and id columns),
   :func:`read_rdf` (an RDF file) and :func:`read_sparql` (a SPARQL endpoint).
3. **Matching** — :class:`Matcher` indexes the (few) entities by blocking keys (folded
   name tokens, Chinese bigrams, domains), then scores each streamed record against the
   entities it shares a key with: the best name-pair similarity (:mod:`mededkg.names`,
   :mod:`rapidfuzz`), plus web-domain, acronym and place evidence. A pair whose
   places conflict (:func:`mededkg.gazetteer.compare`: Henan / Hunan, Jinzhou /
   Binzhou) is never a candidate.
4. **Decision** — :func:`decide` turns the scored candidates into accepted links
   (``skos:exactMatch``, or ``skos:closeMatch`` to a record that is no longer active),
   review items (below the threshold, ambiguous, conflicting with an existing mapping)
   and unlinked entities; :func:`write_linkset` writes them as an SSSOM file and a
   review file, keeping every row a curator touched.

Every candidate carries its evidence as text, which becomes the SSSOM ``comment``.
"""

from __future__ import annotations

import csv
import datetime
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyoxigraph as ox
from rdflib import RDF, RDFS, SKOS, Graph, Literal, URIRef

from mededkg import gazetteer, names, similarity
from mededkg.errors import LoadError, MedEdKGError
from mededkg.formats import rdf_format_for_path
from mededkg.namespaces import MEDEDKG, PREFIXES, SCHEMA
from mededkg.sssom import COLUMNS, expand, read_sssom, tsv_table, write_sssom

#: The entity kinds ``mededkg link --entities`` accepts, and the classes of each:
#: institutions are every institution of the MOE list and every medical education
#: institution (a medical unit of a university is one without being on the list).
ENTITY_CLASSES: dict[str, tuple[URIRef, ...]] = {
    "institutions": (
        MEDEDKG.HigherEducationInstitution,
        MEDEDKG.MedicalEducationInstitution,
    ),
    "hospitals": (MEDEDKG.Hospital,),
    "disciplines": (MEDEDKG.Discipline,),
}

#: The kinds of target a reader exists for.
TARGET_KINDS = ("ror", "hipo", "table", "rdf", "sparql")

#: ``author_label`` of the rows this tool writes; any other author is a curator.
TOOL_AUTHOR = "mededkg link"
TOOL = "mededkg link"

#: Where Hipo records (which have no identifiers of their own) get their IRIs: the
#: record's main web domain under this namespace.
HIPO_NAMESPACE = "https://w3id.org/mededkg/id/hipo/"

#: The SSSOM columns of a linkset: the project's, and the two a curator sets.
LINK_COLUMNS = (*COLUMNS, "reviewer_label", "predicate_modifier")

REVIEW_COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "confidence",
    "reason",
    "comment",
)

_LABELS = (
    RDFS.label,
    SKOS.prefLabel,
    SKOS.altLabel,
    SCHEMA.name,
    SCHEMA.alternateName,
    URIRef("http://xmlns.com/foaf/0.1/name"),
)
_URLS = (SCHEMA.url, URIRef("http://xmlns.com/foaf/0.1/homepage"))
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&\-]{1,9}$")


class LinkError(MedEdKGError):
    """A target dataset cannot be read, or an output cannot be written as asked.

    Attributes:
        source: the file or endpoint at fault.
    """

    def __init__(self, source: str | Path, message: str) -> None:
        self.source = str(source)
        super().__init__(f"{source}: {message}")


class OverwriteRefused(LinkError):
    """The output exists and the tool's own rows in it would change (use --force)."""


# --- data ------------------------------------------------------------------------
@dataclass(frozen=True)
class Entity:
    """A graph resource to link: its names and the evidence that can corroborate."""

    iri: str
    label: str
    names: tuple[str, ...]
    acronyms: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetRecord:
    """A record of the external dataset, reduced to what matching needs."""

    iri: str
    label: str
    names: tuple[str, ...]
    acronyms: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    active: bool = True
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One entity–record pair with its score and the evidence, as readable text."""

    entity: Entity
    target: TargetRecord
    score: float
    evidence: tuple[str, ...]

    @property
    def confidence(self) -> float:
        """The score as an SSSOM confidence (evidence can push a score past 1)."""
        return min(self.score, 1.0)

    @property
    def justification(self) -> str:
        """The evidence as one sentence."""
        return "; ".join(self.evidence)


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` made of an entity's best candidate."""

    candidate: Candidate
    predicate: str
    accepted: bool
    reason: str = ""


@dataclass(frozen=True)
class Thresholds:
    """Scores that decide: accept at or above *accept*, review from *review* up;
    a runner-up within *margin* of the best makes the entity ambiguous."""

    accept: float = 0.9
    review: float = 0.7
    margin: float = 0.03


@dataclass(frozen=True)
class LinkResult:
    """Accepted links, review items and the entities with no candidate at all."""

    accepted: tuple[Decision, ...]
    review: tuple[Decision, ...]
    unlinked: tuple[Entity, ...]


@dataclass
class WriteReport:
    """What :func:`write_linkset` did."""

    sssom: Path
    review: Path
    accepted: int = 0
    review_items: int = 0
    curated_kept: int = 0
    tool_rows_replaced: int = 0
    changed: bool = False
    notes: list[str] = field(default_factory=list)


# --- small helpers ---------------------------------------------------------------
def registered_domain(host_or_url: str) -> str:
    """The organisation's domain of a host or URL (``www.`` and sub-domains dropped;
    three labels under ``edu.cn``-style second levels).

    >>> registered_domain("https://www.ahmu.edu.cn/index.html")
    'ahmu.edu.cn'
    >>> registered_domain("mail2.sysu.edu.cn"), registered_domain("www.hku.hk")
    ('sysu.edu.cn', 'hku.hk')
    """
    text = host_or_url.strip().lower()
    host = urlparse(text).hostname if "://" in text else text.split("/")[0]
    if not host:
        return ""
    parts = [p for p in host.rstrip(".").split(".") if p]
    second = {"edu", "com", "org", "ac", "gov", "net"}
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in second:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item:
            seen.setdefault(item, None)
    return tuple(seen)


def _places(*values: str | None) -> tuple[str, ...]:
    return _unique(gazetteer.place_key(v) for v in values if v)


def _domains(*values: str | None) -> tuple[str, ...]:
    return _unique(registered_domain(v) for v in values if v)


def tool_version() -> str:
    """The installed MedEdKG version (``mapping_tool_version``)."""
    try:
        return metadata.version("mededkg")
    except metadata.PackageNotFoundError:
        return "0+unknown"


# --- 1. entities from the graph ---------------------------------------------------
def graph_entities(graph: Graph, kind: str) -> list[Entity]:
    """The resources of *kind* in *graph* (data and ontology merged), sorted by IRI.

    A resource is of the kind when its type is one of the kind's classes or a subclass
    of one (``rdfs:subClassOf*`` in the graph's ontology).

    Raises:
        LinkError: for an unknown kind.
    """
    if kind not in ENTITY_CLASSES:
        raise LinkError(
            kind, f"unknown entity kind; use one of {sorted(ENTITY_CLASSES)}"
        )
    classes = {
        c
        for top in ENTITY_CLASSES[kind]
        for c in graph.transitive_subjects(RDFS.subClassOf, top)
    }
    subjects = sorted(
        {s for c in classes for s in graph.subjects(RDF.type, c)}, key=str
    )
    entities = []
    for subject in subjects:
        if not isinstance(subject, URIRef):
            continue
        labels = [o for p in _LABELS for o in graph.objects(subject, p)]
        # Sorted: graph order differs between runs, and the first of two equally
        # good names is the one the justification quotes.
        texts = _unique(
            sorted(
                {str(o) for o in labels if isinstance(o, Literal)},
                key=lambda t: (not names.is_chinese(t), t),
            )
        )
        if not texts:
            continue
        acronyms = tuple(t for t in texts if _ACRONYM.match(t))
        full = tuple(t for t in texts if t not in acronyms)
        label = _preferred_label(graph, subject) or (full or texts)[0]
        places = _places(
            *sorted(str(o) for o in graph.objects(subject, MEDEDKG.city)),
            *sorted(str(o) for o in graph.objects(subject, MEDEDKG.province)),
        )
        domains = _domains(
            *sorted(str(o) for p in _URLS for o in graph.objects(subject, p))
        )
        entities.append(
            Entity(str(subject), label, full or texts, acronyms, domains, places)
        )
    return entities


def _preferred_label(graph: Graph, subject: URIRef) -> str:
    for prop in (RDFS.label, SKOS.prefLabel):
        found = sorted(
            (o for o in graph.objects(subject, prop) if isinstance(o, Literal)),
            key=lambda o: (o.language != "zh", str(o)),
        )
        if found:
            return str(found[0])
    return ""


# --- 2. readers ------------------------------------------------------------------
def detect_kind(target: str) -> str:
    """Which reader fits *target*: an endpoint URL, or a file by suffix and content.

    Raises:
        LinkError: the file is missing or of no known kind.
    """
    if target.startswith(("http://", "https://")):
        return "sparql"
    path = Path(target)
    if not path.is_file():
        raise LinkError(
            target,
            "no such file (give a ROR or Hipo JSON file, a CSV/TSV, "
            "an RDF file or a SPARQL endpoint URL)",
        )
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "table"
    if rdf_format_for_path(path) is not None and suffix not in (".json",):
        return "rdf"
    if suffix == ".json":
        first = _first_json_item(path)
        if str(first.get("id", "")).startswith("https://ror.org/"):
            return "ror"
        if "domains" in first and "web_pages" in first:
            return "hipo"
        raise LinkError(
            path,
            "a JSON array, but its first item is neither a ROR record (an 'id' under "
            "https://ror.org/) nor a Hipo record ('domains' and 'web_pages')",
        )
    raise LinkError(path, f"unknown target kind for suffix {suffix!r}; use --kind")


def _json_items(path: Path) -> Iterator[dict[str, Any]]:
    import ijson  # type: ignore[import-untyped]

    try:
        with path.open("rb") as handle:
            for item in ijson.items(handle, "item"):
                if not isinstance(item, dict):
                    raise LinkError(path, "expected a JSON array of objects")
                yield item
    except ijson.JSONError as error:
        raise LinkError(path, f"not valid JSON ({error})") from error


def _first_json_item(path: Path) -> dict[str, Any]:
    for item in _json_items(path):
        return item
    raise LinkError(path, "an empty JSON array, or not a JSON array of records")


def read_ror_json(path: Path) -> Iterator[TargetRecord]:
    """Stream the records of a ROR data dump (a JSON array; schema v1 or v2).

    The file is parsed incrementally, so a full multi-gigabyte dump needs memory for
    one record at a time.

    Raises:
        LinkError: the file is not a JSON array of ROR records.
    """
    for item in _json_items(path):
        if not str(item.get("id", "")).startswith("https://ror.org/"):
            raise LinkError(path, f"not a ROR record (no ROR 'id'): {str(item)[:80]}")
        yield _ror_v2(item) if "names" in item else _ror_v1(item)


def _ror_v1(item: dict[str, Any]) -> TargetRecord:
    labels = [x.get("label", "") for x in item.get("labels") or []]
    places: list[str | None] = []
    for address in item.get("addresses") or []:
        places.append(address.get("city"))
        admin1 = (address.get("geonames_city") or {}).get("geonames_admin1") or {}
        places.append(admin1.get("name"))
    return TargetRecord(
        iri=item["id"],
        label=item.get("name") or "",
        names=_unique([item.get("name") or "", *labels, *(item.get("aliases") or [])]),
        acronyms=_unique(item.get("acronyms") or []),
        domains=_domains(*(item.get("links") or []), *(item.get("domains") or [])),
        places=_places(*places),
        active=item.get("status", "active") == "active",
        aliases=_unique(item.get("aliases") or []),
    )


def _ror_v2(item: dict[str, Any]) -> TargetRecord:
    display = ""
    all_names: list[str] = []
    acronyms: list[str] = []
    aliases: list[str] = []
    for entry in item.get("names") or []:
        types = entry.get("types") or []
        if "acronym" in types:
            acronyms.append(entry.get("value", ""))
            continue
        all_names.append(entry.get("value", ""))
        if types == ["alias"]:
            aliases.append(entry.get("value", ""))
        if "ror_display" in types:
            display = entry.get("value", "")
    places: list[str | None] = []
    for location in item.get("locations") or []:
        details = location.get("geonames_details") or {}
        places += [details.get("name"), details.get("country_subdivision_name")]
    links = [x.get("value", "") for x in item.get("links") or []]
    return TargetRecord(
        iri=item["id"],
        label=display or (all_names[0] if all_names else ""),
        names=_unique(all_names),
        acronyms=_unique(acronyms),
        domains=_domains(*links, *(item.get("domains") or [])),
        places=_places(*places),
        active=item.get("status", "active") == "active",
        aliases=_unique(aliases),
    )


def hipo_iri(item: dict[str, Any], namespace: str = HIPO_NAMESPACE) -> str:
    """The IRI a Hipo record gets: its main web page's domain under *namespace*.

    >>> hipo_iri({"web_pages": ["http://www.ahmu.edu.cn/"], "domains": ["ahmu.edu.cn"]})
    'https://w3id.org/mededkg/id/hipo/ahmu.edu.cn'
    """
    pages = item.get("web_pages") or []
    domains = item.get("domains") or []
    key = registered_domain(pages[0]) if pages else ""
    if not key and domains:
        key = registered_domain(domains[0])
    return namespace + key


def read_hipo(
    path: Path, *, namespace: str = HIPO_NAMESPACE, use_domains: bool = True
) -> Iterator[TargetRecord]:
    """Stream the records of a Hipo-style university list (JSON array).

    Args:
        path: the JSON file.
        namespace: where the records' IRIs are minted (see :func:`hipo_iri`).
        use_domains: keep the web domains as evidence (``False`` for evaluation).

    Raises:
        LinkError: the file is not a JSON array of Hipo records.
    """
    seen: set[str] = set()
    for item in _json_items(path):
        if "name" not in item or "domains" not in item:
            raise LinkError(path, f"not a Hipo record (no name/domains): {item!r:.80}")
        iri = hipo_iri(item, namespace)
        base, n = iri, 1
        while iri in seen:
            n += 1
            iri = f"{base}-{n}"
        seen.add(iri)
        domains = item.get("domains") or []
        pages = item.get("web_pages") or []
        yield TargetRecord(
            iri=iri,
            label=item["name"],
            names=(item["name"],),
            domains=_domains(*domains, *pages) if use_domains else (),
            places=_places(item.get("state-province")),
        )


#: Optional columns a table may have, by header name (case-insensitive).
_TABLE_EXTRAS = {
    "aliases": "aliases",
    "labels_en": "names",
    "name_zh": "names",
    "acronyms": "acronyms",
    "domains": "domains",
    "website": "domains",
    "url": "domains",
    "city": "places",
    "province": "places",
    "state-province": "places",
}


def read_table(
    path: Path,
    *,
    id_column: str,
    name_columns: Sequence[str],
    id_prefix: str = "",
    separator: str = ";",
    use_domains: bool = True,
) -> Iterator[TargetRecord]:
    """Stream the rows of a CSV (``,``) or TSV (``.tsv``: tab) file as records.

    Besides *name_columns*, columns named ``aliases``, ``acronyms``, ``domains``,
    ``website``, ``city``, ``province`` or ``status`` are used when present; a cell
    may hold several values joined by *separator*.

    Raises:
        LinkError: the id or a name column is missing (the message lists the columns).
    """
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = reader.fieldnames or []
        missing = [c for c in (id_column, *name_columns) if c not in header]
        if missing:
            raise LinkError(
                path,
                f"no column {', '.join(map(repr, missing))}; the columns are "
                f"{', '.join(header)} (choose with --id-column/--name-column)",
            )
        extras = {
            c: _TABLE_EXTRAS[c.lower()] for c in header if c.lower() in _TABLE_EXTRAS
        }
        for row in reader:
            ident = (row.get(id_column) or "").strip()
            if not ident:
                continue
            found: dict[str, list[str]] = defaultdict(list)
            for column in name_columns:
                found["names"] += (row.get(column) or "").split(separator)
            for column, slot in extras.items():
                if slot == "domains" and not use_domains:
                    continue
                found[slot] += (row.get(column) or "").split(separator)
            all_names = _unique([*found["names"], *found["aliases"]])
            status = (row.get("status") or "active").strip().lower()
            yield TargetRecord(
                iri=ident if "://" in ident else id_prefix + ident,
                label=all_names[0] if all_names else ident,
                names=all_names,
                acronyms=_unique(found["acronyms"]),
                domains=_domains(*found["domains"]),
                places=_places(*found["places"]),
                active=status in ("", "active"),
                aliases=_unique(found["aliases"]),
            )


def read_rdf(path: Path) -> Iterator[TargetRecord]:
    """The labelled resources of an RDF file (any format MedEdKG loads).

    Raises:
        LinkError: a syntax error (with its position) or an unknown format.
    """
    fmt = rdf_format_for_path(path)
    if fmt is None:
        raise LinkError(path, "unknown RDF format; use a known file suffix")
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    label_iris = {str(p) for p in _LABELS}
    url_iris = {str(p) for p in _URLS}
    try:
        for quad in ox.parse(path=path, format=fmt.oxigraph):
            subject, predicate, obj = quad.subject, quad.predicate.value, quad.object
            if not isinstance(subject, ox.NamedNode):
                continue
            if predicate in label_iris and isinstance(obj, ox.Literal):
                found[subject.value]["names"].append(obj.value)
            elif predicate in url_iris:
                found[subject.value]["domains"].append(obj.value)
    except SyntaxError as error:
        raise LinkError(path, f"RDF syntax error: {error}") from error
    for iri in sorted(found):
        texts = _unique(found[iri]["names"])
        if not texts:
            continue
        acronyms = tuple(t for t in texts if _ACRONYM.match(t))
        full = tuple(t for t in texts if t not in acronyms) or texts
        yield TargetRecord(
            iri, full[0], full, acronyms, _domains(*found[iri]["domains"])
        )


DEFAULT_SPARQL = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
SELECT ?item ?name ?url WHERE {
  ?item rdfs:label|skos:prefLabel|skos:altLabel|schema:name ?name .
  OPTIONAL { ?item schema:url ?url }
  FILTER(isIRI(?item))
}"""


def read_sparql(endpoint: str, query: str = DEFAULT_SPARQL) -> Iterator[TargetRecord]:
    """The labelled resources a SPARQL endpoint returns for *query*.

    The query binds ``?item`` and ``?name`` (one row per name) and may bind ``?url``,
    ``?acronym`` and ``?place``.

    Raises:
        LinkError: the endpoint cannot be reached or answers with an error.
    """
    from urllib.error import URLError

    from SPARQLWrapper import JSON, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

    client = SPARQLWrapper(endpoint, agent=f"MedEdKG/{tool_version()} (mededkg link)")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    try:
        result = client.queryAndConvert()
    except (SPARQLWrapperException, URLError, OSError, ValueError) as error:
        raise LinkError(endpoint, f"the SPARQL query failed: {error}") from error
    if not isinstance(result, dict) or "results" not in result:
        raise LinkError(endpoint, "the endpoint did not return SPARQL JSON results")
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for binding in result["results"]["bindings"]:
        item = binding.get("item", {})
        if item.get("type") != "uri":
            continue
        for var, slot in (
            ("name", "names"),
            ("url", "domains"),
            ("acronym", "acronyms"),
            ("place", "places"),
        ):
            if var in binding:
                found[item["value"]][slot].append(binding[var]["value"])
    for iri in sorted(found):
        texts = _unique(sorted(found[iri]["names"]))
        if texts:
            yield TargetRecord(
                iri,
                texts[0],
                texts,
                _unique(found[iri]["acronyms"]),
                _domains(*found[iri]["domains"]),
                _places(*found[iri]["places"]),
            )


# --- 3. matching -----------------------------------------------------------------
class Matcher:
    """Scores streamed target records against an index of the entities.

    The entities (hundreds to a few thousand) are indexed by blocking keys; each
    target record is compared only with the entities it shares a key with, and only
    the best *keep* candidates per entity are kept — so the target can be any size.
    """

    def __init__(
        self,
        entities: Sequence[Entity],
        *,
        keep: int = 5,
        use_domains: bool = True,
    ) -> None:
        self.entities = list(entities)
        self.keep = keep
        self.use_domains = use_domains
        self._keys = [similarity.keys(e.names) for e in self.entities]
        self._places = [_places_of(e.names, e.places) for e in self.entities]
        self._acronyms = [
            {a.upper() for a in e.acronyms}
            | {names.acronym(n) for n in e.names if len(names.acronym(n)) >= 3}
            for e in self.entities
        ]
        self._index: dict[str, set[int]] = defaultdict(set)
        for i, entity in enumerate(self.entities):
            for text in entity.names:
                for token in _blocking_keys(text):
                    self._index[token].add(i)
            if use_domains:
                for domain in entity.domains:
                    self._index["@" + domain].add(i)
        self._found: dict[int, list[Candidate]] = defaultdict(list)
        self.records = 0

    def add(self, record: TargetRecord) -> None:
        """Score one target record against the entities it shares a key with."""
        self.records += 1
        keys: set[str] = set()
        for text in record.names:
            keys |= _blocking_keys(text)
        if self.use_domains:
            keys |= {"@" + d for d in record.domains}
        hits: set[int] = set()
        for key in keys:
            hits |= self._index.get(key, set())
        if not hits:
            return
        record_keys = similarity.keys(record.names)
        aliases = frozenset(names.normalise(a) for a in record.aliases)
        record_places = _places_of(record.names, record.places)
        for i in hits:
            candidate = self._score(i, record, record_keys, aliases, record_places)
            if candidate is None:
                continue
            found = self._found[i]
            found.append(candidate)
            if len(found) > 2 * self.keep:
                found.sort(key=_rank)
                del found[self.keep :]

    def add_all(self, records: Iterable[TargetRecord]) -> Matcher:
        """Add every record; returns the matcher."""
        for record in records:
            self.add(record)
        return self

    def candidates(self) -> dict[str, list[Candidate]]:
        """The best candidates of each entity (by IRI), best first."""
        return {
            self.entities[i].iri: sorted(found, key=_rank)[: self.keep]
            for i, found in sorted(self._found.items())
        }

    def _score(
        self,
        i: int,
        record: TargetRecord,
        record_keys: Sequence[similarity.NameKeys],
        aliases: frozenset[str],
        record_places: tuple[frozenset[gazetteer.Place], frozenset[gazetteer.Place]],
    ) -> Candidate | None:
        entity = self.entities[i]
        named, located = self._places[i]
        places = gazetteer.compare(
            named,
            record_places[0],
            query_located=located,
            candidate_located=record_places[1],
        )
        if places == gazetteer.CONFLICT:
            return None  # the names name places that rule each other out
        named_alike = similarity.best(
            self._keys[i],
            record_keys,
            aliases=aliases,
            places=frozenset(record.places) | frozenset(entity.places),
        )
        score = named_alike.score / 100
        evidence = [named_alike.why] if named_alike.why else []
        if self.use_domains and entity.domains and record.domains:
            shared = sorted(set(entity.domains) & set(record.domains))
            if shared:
                score += 0.25
                evidence.append(f"web domain {', '.join(shared)} in both")
        if score < 0.5:
            return None
        shared_acronyms = sorted(
            self._acronyms[i] & {a.upper() for a in record.acronyms}
        )
        if shared_acronyms and score >= 0.6:
            score += 0.03
            evidence.append(f"acronym {', '.join(shared_acronyms)} in both")
        entity_provinces = set(entity.places) & gazetteer.province_keys()
        record_provinces = set(record.places) & gazetteer.province_keys()
        shared_places = sorted(set(entity.places) & set(record.places))
        if shared_places:
            score += 0.03
            evidence.append(f"both located in {shared_places[0]}")
        elif entity_provinces and record_provinces:
            score -= 0.15
            evidence.append(
                f"provinces differ ({'/'.join(sorted(entity_provinces))} vs "
                f"{'/'.join(sorted(record_provinces))})"
            )
        if not record.active:
            evidence.append("the target record is no longer active")
        return Candidate(entity, record, round(score, 3), tuple(evidence))


def _blocking_keys(text: str) -> frozenset[str]:
    """The keys a name is found by: its folded tokens or Chinese bigrams
    (:func:`mededkg.names.tokens`), its pinyin and its reading's proper part (so a
    Chinese name meets its transliteration and its English name)."""
    found = set(names.tokens(text))
    found.add("^" + similarity.pinyin(text))
    proper = similarity.reading(text)[1]
    if proper:
        found.add("~" + proper)
    return frozenset(found)


def _places_of(
    texts: Iterable[str], places: Iterable[str]
) -> tuple[frozenset[gazetteer.Place], frozenset[gazetteer.Place]]:
    """The gazetteer places some names name, and those some place values name."""
    named: set[gazetteer.Place] = set()
    for text in texts:
        named |= gazetteer.places_in(text)
    located: set[gazetteer.Place] = set()
    for place in places:
        located |= gazetteer.places_in(place)
    return frozenset(named), frozenset(located)


def _rank(candidate: Candidate) -> tuple[float, bool, str]:
    return (-candidate.score, not candidate.target.active, candidate.target.iri)


# --- 4. decision -----------------------------------------------------------------
def decide(
    entities: Sequence[Entity],
    candidates: dict[str, list[Candidate]],
    *,
    thresholds: Thresholds | None = None,
    existing: dict[str, dict[str, str]] | None = None,
) -> LinkResult:
    """Turn candidates into accepted links, review items and unlinked entities.

    Rules, in order: the best candidate must reach ``accept``; a runner-up (another
    record) within ``margin`` makes it ambiguous; a record that is the best of several
    entities goes to the best one only; a subject already mapped (in another mapping
    set, *existing*: subject → {object: file}) to a different record of the same
    namespace goes to review. Accepted links are ``skos:exactMatch``, or
    ``skos:closeMatch`` when the record is no longer active (a former organisation).
    """
    thresholds = thresholds or Thresholds()
    existing = existing or {}
    # Claims are settled best first: an entity whose best record goes to a
    # better-scoring entity falls back on its next record (one record, one entity).
    queue = {e.iri: list(candidates.get(e.iri, [])) for e in entities}
    taken: dict[str, Decision] = {}
    accepted_by_entity: dict[str, Decision] = {}
    review: list[Decision] = []
    lost: dict[str, list[Decision]] = defaultdict(list)
    pending = [e.iri for e in entities if queue[e.iri]]
    while pending:
        proposals: dict[str, Decision] = {}
        for iri in pending:
            decision = _propose(queue[iri], thresholds, existing, lost[iri], review)
            if decision is not None:
                proposals[iri] = decision
        pending = []
        by_target: dict[str, list[Decision]] = defaultdict(list)
        for decision in proposals.values():
            by_target[decision.candidate.target.iri].append(decision)
        for target_iri, claims in sorted(by_target.items()):
            holder = taken.get(target_iri)
            if holder is not None:
                claims.append(holder)
            claims.sort(key=lambda d: _rank(d.candidate))
            top = claims[0].candidate.score
            winners = [d for d in claims if d.candidate.score == top]
            if len(winners) == 1:
                taken[target_iri] = winners[0]
                accepted_by_entity[winners[0].candidate.entity.iri] = winners[0]
                losers = claims[1:]
            else:
                taken.pop(target_iri, None)
                losers = claims
            for loser in losers:
                iri = loser.candidate.entity.iri
                accepted_by_entity.pop(iri, None)
                others = [c.candidate.entity.iri for c in claims if c is not loser]
                lost[iri].append(
                    replace(
                        loser,
                        accepted=False,
                        reason=f"{target_iri} is also the best match of "
                        + ", ".join(others),
                    )
                )
                rest = [c for c in queue[iri] if c.target.iri != target_iri]
                queue[iri] = rest
                if len(winners) == 1 and rest:
                    pending.append(iri)
                else:
                    review.extend(lost.pop(iri))
    for decisions in lost.values():
        if decisions and decisions[0].candidate.entity.iri not in accepted_by_entity:
            review.extend(decisions)
    accepted = list(accepted_by_entity.values())
    linked = {d.candidate.entity.iri for d in (*accepted, *review)}
    return LinkResult(
        tuple(sorted(accepted, key=_decision_key)),
        tuple(sorted(review, key=_decision_key)),
        tuple(e for e in entities if e.iri not in linked),
    )


def _propose(
    found: list[Candidate],
    thresholds: Thresholds,
    existing: dict[str, dict[str, str]],
    lost: list[Decision],
    review: list[Decision],
) -> Decision | None:
    """The entity's claim on its best remaining record, or ``None`` (then what stops
    it is added to *review*, with the records it *lost* to better entities)."""
    if not found:
        review.extend(lost)
        lost.clear()
        return None
    top = found[0]
    predicate = "skos:exactMatch" if top.target.active else "skos:closeMatch"
    rivals = [
        c
        for c in found[1:]
        if c.target.iri != top.target.iri
        and c.score >= top.score - thresholds.margin
        and (c.target.active or not top.target.active)
    ]
    if top.score < thresholds.review:
        review.extend(lost)
        lost.clear()
        return None
    if top.score < thresholds.accept:
        if not lost:
            review.append(Decision(top, predicate, False, "score below the threshold"))
        review.extend(lost)
        lost.clear()
        return None
    if rivals:
        others = ", ".join(c.target.iri for c in rivals)
        review.extend(
            Decision(c, predicate, False, f"ambiguous: also {others}")
            for c in (top, *rivals)
        )
        review.extend(lost)
        lost.clear()
        return None
    conflict = _conflict(top.entity.iri, top.target.iri, existing)
    if conflict:
        review.append(Decision(top, predicate, False, conflict))
        review.extend(lost)
        lost.clear()
        return None
    agrees = existing.get(top.entity.iri, {}).get(top.target.iri)
    if agrees:
        top = replace(
            top, evidence=(*top.evidence, f"agrees with the mapping in {agrees}")
        )
    return Decision(top, predicate, True)


def _decision_key(decision: Decision) -> tuple[str, float, str]:
    c = decision.candidate
    return (c.entity.iri, -c.score, c.target.iri)


def _namespace(iri: str) -> str:
    return re.sub(r"[^/#]*$", "", iri)


def _conflict(subject: str, target: str, existing: dict[str, dict[str, str]]) -> str:
    for other, where in sorted(existing.get(subject, {}).items()):
        if other != target and _namespace(other) == _namespace(target):
            return f"already mapped to {other} in {where}"
    return ""


def existing_mappings(
    links_dir: Path, *, exclude: Path | None = None
) -> dict[str, dict[str, str]]:
    """Subject → {object: file name} of every ``*.sssom.tsv`` in *links_dir* except
    *exclude* (rows a curator negated with ``predicate_modifier: Not`` excepted).

    Raises:
        LoadError: a mapping file is malformed.
    """
    found: dict[str, dict[str, str]] = defaultdict(dict)
    if not links_dir.is_dir():
        return found
    for path in sorted(links_dir.glob("*.sssom.tsv")):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        mapping_set = read_sssom(path)
        for row in mapping_set.rows:
            if row.get("predicate_modifier", "").lower() == "not":
                continue
            try:
                subject = str(expand(row["subject_id"], mapping_set.curie_map))
                obj = str(expand(row["object_id"], mapping_set.curie_map))
            except ValueError as error:
                raise LoadError(path, str(error)) from error
            found[subject][obj] = path.name
    return found


# --- output ----------------------------------------------------------------------
def linkset_paths(links_dir: Path, entities: str, target: str) -> tuple[Path, Path]:
    """Where the SSSOM file and the review file of a linkset go.

    >>> sssom, review = linkset_paths(Path("links"), "institutions", "ror")
    >>> sssom.as_posix(), review.as_posix()
    ('links/institutions-ror.sssom.tsv', 'links/review/institutions-ror.review.tsv')
    """
    stem = f"{entities}-{target}"
    return links_dir / f"{stem}.sssom.tsv", links_dir / "review" / f"{stem}.review.tsv"


def _curie_map(prefixes: dict[str, str]) -> dict[str, str]:
    return {**{k: v for k, v in PREFIXES.items()}, **prefixes}


def compress(iri: str, curie_map: dict[str, str]) -> str:
    """The shortest CURIE for *iri* under *curie_map* (the IRI itself if none fits).

    >>> compress("https://ror.org/013xs5b60", {"ror": "https://ror.org/"})
    'ror:013xs5b60'
    """
    best = ""
    for prefix, namespace in curie_map.items():
        if iri.startswith(namespace) and len(namespace) > len(curie_map.get(best, "")):
            local = iri[len(namespace) :]
            if re.fullmatch(r"[\w.\-]*", local):
                best = prefix
    return f"{best}:{iri[len(curie_map[best]) :]}" if best else iri


def _is_curated(row: dict[str, str]) -> bool:
    return bool(
        row.get("author_label", "") != TOOL_AUTHOR
        or row.get("reviewer_label")
        or row.get("predicate_modifier")
    )


_COMPARED = (
    "subject_id",
    "predicate_id",
    "object_id",
    "mapping_justification",
    "confidence",
    "comment",
)


def write_linkset(
    result: LinkResult,
    *,
    links_dir: Path,
    entities: str,
    target: str,
    description: str,
    prefixes: dict[str, str],
    date: str | None,
    today: str,
    force: bool = False,
) -> WriteReport:
    """Write the accepted links as SSSOM and the uncertain ones as a review TSV.

    Never silently overwrites: rows of an existing file that a curator wrote or
    reviewed (another ``author_label``, or a ``reviewer_label`` or
    ``predicate_modifier``) are kept, and the tool's own row for the same pair is
    dropped (so a curator rejects a link with ``predicate_modifier: Not``); if the
    tool's rows would change, :class:`OverwriteRefused` is raised
    unless *force*. Same inputs → byte-identical files.

    Args:
        date: the ``mapping_date``; ``None`` keeps the existing file's date when the
            tool's rows are unchanged, else *today*.

    Raises:
        OverwriteRefused: the tool rows differ from the existing file's, without force.
    """
    sssom_path, review_path = linkset_paths(links_dir, entities, target)
    report = WriteReport(sssom_path, review_path)
    curie_map = _curie_map(prefixes)
    version = tool_version()
    new_rows = [_row(d, curie_map) for d in result.accepted]
    curated: list[dict[str, str]] = []
    old_tool: list[dict[str, str]] = []
    old_date = ""
    if sssom_path.exists():
        old = read_sssom(sssom_path)
        old_date = old.metadata.get("mapping_date", "")
        for row in old.rows:
            (curated if _is_curated(row) else old_tool).append(row)
    curated_pairs = {(r["subject_id"], r["object_id"]) for r in curated}
    # A curator's row for a pair wins over the tool's row for the same pair.
    kept_new = [
        row
        for row in new_rows
        if (row["subject_id"], row["object_id"]) not in curated_pairs
    ]

    def comparable(rows: Iterable[dict[str, str]]) -> set[tuple[str, ...]]:
        return {tuple(r.get(c, "") for c in _COMPARED) for r in rows}

    unchanged = comparable(old_tool) == comparable(kept_new)
    if sssom_path.exists() and not unchanged:
        if not force:
            raise OverwriteRefused(
                sssom_path,
                f"the tool's links would change ({len(old_tool)} rows now, "
                f"{len(kept_new)} after this run); rows a curator touched are kept "
                "either way — re-run with --force to replace the tool's rows",
            )
        report.tool_rows_replaced = len(old_tool)
    mapping_date = date or (old_date if unchanged and old_date else today)
    for row in kept_new:
        row["mapping_date"] = mapping_date
        row["mapping_tool_version"] = version
    report.changed = not unchanged or not sssom_path.exists()
    report.curated_kept = len(curated)
    report.accepted = len(kept_new)
    used = {
        r[c].partition(":")[0]
        for r in (*curated, *kept_new)
        for c in ("subject_id", "predicate_id", "object_id", "mapping_justification")
    }
    header = {
        "mapping_set_id": f"{PREFIXES['id']}mapping-set/{entities}-{target}",
        "mapping_set_description": description,
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "mapping_date": mapping_date,
        "mapping_tool": TOOL,
        "mapping_tool_version": version,
    }
    text = write_sssom(
        header,
        {p: curie_map[p] for p in sorted(used) if p in curie_map},
        [*curated, *kept_new],
        columns=LINK_COLUMNS,
    )
    sssom_path.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(sssom_path, text)
    review_rows = [_review_row(d, curie_map) for d in result.review]
    report.review_items = len({r["subject_id"] for r in review_rows})
    review_path.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(review_path, tsv_table(REVIEW_COLUMNS, review_rows))
    return report


def _row(decision: Decision, curie_map: dict[str, str]) -> dict[str, str]:
    c = decision.candidate
    return {
        "subject_id": compress(c.entity.iri, curie_map),
        "subject_label": c.entity.label,
        "predicate_id": decision.predicate,
        "object_id": compress(c.target.iri, curie_map),
        "object_label": c.target.label,
        "mapping_justification": justification(c),
        "confidence": f"{c.confidence:.3f}",
        "author_label": TOOL_AUTHOR,
        "mapping_tool": TOOL,
        "comment": c.justification,
    }


#: Evidence besides the names that makes a match composite (SEMAPV).
_CORROBORATION = ("web domain ", "acronym ", "both located in ")


def justification(candidate: Candidate) -> str:
    """The SEMAPV justification of a candidate: names alone are lexical matching;
    names corroborated by a web domain, an acronym or a shared place are composite.
    """
    if any(e.startswith(_CORROBORATION) for e in candidate.evidence):
        return "semapv:CompositeMatching"
    return "semapv:LexicalMatching"


def _review_row(decision: Decision, curie_map: dict[str, str]) -> dict[str, str]:
    row = _row(decision, curie_map)
    row["reason"] = decision.reason
    return row


def _write_if_changed(path: Path, text: str) -> None:
    from mededkg.export import write_atomically

    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return
    write_atomically(path, data)


def today_iso() -> str:
    """Today's date (UTC, ``YYYY-MM-DD``): the default ``mapping_date`` of new links."""
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def records_from(
    target: str,
    kind: str,
    *,
    id_column: str = "id",
    name_columns: Sequence[str] = ("name",),
    id_prefix: str = "",
    sparql_query: str = DEFAULT_SPARQL,
    use_domains: bool = True,
) -> Iterator[TargetRecord]:
    """The reader for *kind* applied to *target* (a path, or an endpoint URL).

    Raises:
        LinkError: an unknown kind, or the reader's own errors.
    """
    if kind == "sparql":
        return read_sparql(target, sparql_query)
    path = Path(target)
    if not path.is_file():
        raise LinkError(target, "no such file")
    if kind == "ror":
        return read_ror_json(path)
    if kind == "hipo":
        return read_hipo(path, use_domains=use_domains)
    if kind == "table":
        return read_table(
            path,
            id_column=id_column,
            name_columns=name_columns,
            id_prefix=id_prefix,
            use_domains=use_domains,
        )
    if kind == "rdf":
        return read_rdf(path)
    raise LinkError(target, f"unknown target kind {kind!r}; use one of {TARGET_KINDS}")


def link(
    entities: Sequence[Entity],
    records: Iterable[TargetRecord],
    *,
    thresholds: Thresholds | None = None,
    existing: dict[str, dict[str, str]] | None = None,
    use_domains: bool = True,
) -> tuple[LinkResult, Matcher]:
    """Match *entities* against the streamed *records* and decide (steps 3 and 4)."""
    matcher = Matcher(entities, use_domains=use_domains).add_all(records)
    return (
        decide(
            entities, matcher.candidates(), thresholds=thresholds, existing=existing
        ),
        matcher,
    )


def default_target_name(target: str, kind: str) -> str:
    """The target's short name in output file names.

    >>> default_target_name("x/ror_dump.json", "ror"), default_target_name(
    ...     "https://query.example.org/sparql", "sparql")
    ('ror', 'query-example-org')
    >>> default_target_name("lists/My Schools.csv", "table")
    'my-schools'
    """
    if kind in ("ror", "hipo"):
        return kind
    if kind == "sparql":
        base = urlparse(target).hostname or "sparql"
    else:
        base = Path(target).name.split(".")[0]
    return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-") or "target"


def union_graph(dataset: Any) -> Graph:
    """All triples of an rdflib ``Dataset`` (every named graph) in one graph."""
    graph = Graph()
    for s, p, o, _g in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


def describe(entities: str, targets: Sequence[str], kind: str, accept: float) -> str:
    """The ``mapping_set_description`` of a linkset (no machine-specific paths)."""
    where = " + ".join(t if kind == "sparql" else Path(t).name for t in targets)
    return (
        f"MedEdKG {entities} to the records of {where} ({kind}), found by "
        f"`mededkg link`: normalised/folded names, aliases, acronyms, places and web "
        f"domains, accepted from score {accept:.2f}; uncertain candidates are in "
        f"review/, not here"
    )
