"""Step 2: readers that stream an external dataset as :class:`TargetRecord` items (ROR
dump, Hipo list, CSV/TSV, RDF file, SPARQL endpoint)."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyoxigraph as ox

from mededkg.matching.link.model import (
    _ACRONYM,
    _LABELS,
    _URLS,
    HIPO_NAMESPACE,
    TARGET_KINDS,
    LinkError,
    TargetRecord,
    _domains,
    _places,
    _unique,
    registered_domain,
    tool_version,
)
from mededkg.query.formats import rdf_format_for_path


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
        kinds=_kinds(item),
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
        kinds=_kinds(item),
    )


def _kinds(item: dict[str, Any]) -> tuple[str, ...]:
    """A ROR record's ``types``, lower case (v1 writes "Education", v2 "education")."""
    return tuple(sorted({str(t).lower() for t in item.get("types") or []}))


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
